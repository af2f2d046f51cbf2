"""The sandbox's fake WeCom sign-in: the OAuth and QR pages, and auth/getuserinfo's codes."""

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from models.clock import FixedClock
from app.sandbox import FakeWeChat

CORP, SECRET, AGENT = "wwfake0001", "s3cret", "1000002"
BACK = "https://gridline.example/console/auth"


@pytest.fixture
def fake():
    fake = FakeWeChat(FixedClock(datetime(2026, 11, 18, 3, 0, tzinfo=UTC)))
    fake.add_work_app(CORP, SECRET, AGENT).add_userid("ZhangSan", "lisi").name_members({"zhangsan": "张三"})
    return fake


@pytest.fixture
def http(fake):
    server = fake.serve()  # real HTTP, as the product calls it
    with httpx.Client(base_url=server.url) as client:
        yield client
    server.stop()


def token(http) -> str:
    return http.get("/work/cgi-bin/gettoken", params={"corpid": CORP, "corpsecret": SECRET}).json()["access_token"]


def qr(http, **extra):
    params = {"login_type": "CorpApp", "appid": CORP, "agentid": AGENT, "redirect_uri": BACK, "state": "abc123",
              **extra}
    return http.get("/sso/wwlogin/sso/login?" + urlencode(params), follow_redirects=False)


def test_the_qr_page_lists_members_by_name_and_scanning_redirects_with_a_code(http):
    page = qr(http)
    assert page.status_code == 200 and "张三" in page.text and "lisi" in page.text and "取消登录" in page.text
    back = qr(http, as_userid="zhangsan")
    assert back.status_code == 302
    location = urlsplit(back.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == BACK
    q = parse_qs(location.query)
    assert q["state"] == ["abc123"] and len(q["code"][0]) > 20


def test_the_oauth_page_redirects_with_a_code_too(http):
    params = {"appid": CORP, "redirect_uri": BACK, "response_type": "code", "scope": "snsapi_base", "state": "s1",
              "agentid": AGENT, "as_userid": "lisi"}
    back = http.get("/open/connect/oauth2/authorize?" + urlencode(params), follow_redirects=False)
    assert back.status_code == 302 and "code=" in back.headers["location"]


@pytest.mark.parametrize("change", [{"appid": "wwnobody"}, {"agentid": "999"}, {"redirect_uri": "javascript:x"},
                                    {"state": "s" * 129}, {"login_type": "ServiceApp"}])
def test_bad_parameters_get_an_error_page_and_no_redirect(http, change):
    answer = qr(http, as_userid="lisi", **change)
    assert answer.status_code == 200 and "location" not in answer.headers
    assert "参数错误" in answer.text or "无法访问" in answer.text


def test_oauth_needs_response_type_code_and_a_known_scope(http):
    params = {"appid": CORP, "redirect_uri": BACK, "response_type": "token", "scope": "snsapi_base", "as_userid": "lisi"}
    answer = http.get("/open/connect/oauth2/authorize?" + urlencode(params), follow_redirects=False)
    assert answer.status_code == 200 and "参数错误" in answer.text


def test_a_code_names_the_member_once_within_five_minutes(fake, http):
    code = fake.login_code("zhangsan")
    t = token(http)
    first = http.get("/work/cgi-bin/auth/getuserinfo", params={"access_token": t, "code": code}).json()
    assert first == {"errcode": 0, "errmsg": "ok", "userid": "ZhangSan"}  # as registered
    again = http.get("/work/cgi-bin/auth/getuserinfo", params={"access_token": t, "code": code}).json()
    assert again["errcode"] == 40029 and again["errmsg"].startswith("invalid code")

    late = fake.login_code("lisi")
    fake.clock.advance(minutes=5, seconds=1)
    t = token(http)
    assert http.get("/work/cgi-bin/auth/getuserinfo", params={"access_token": t, "code": late}).json()["errcode"] == 40029


def test_getuserinfo_errcodes(fake, http):
    code = fake.login_code("lisi")
    assert http.get("/work/cgi-bin/auth/getuserinfo", params={"code": code}).json()["errcode"] == 41001
    assert http.get("/work/cgi-bin/auth/getuserinfo", params={"access_token": "nope", "code": code}).json()["errcode"] == 40014
    t = token(http)
    assert http.get("/work/cgi-bin/auth/getuserinfo", params={"access_token": t}).json()["errcode"] == 41008
    fake.clock.advance(hours=3)  # the token is 7200 s old
    assert http.get("/work/cgi-bin/auth/getuserinfo", params={"access_token": t, "code": code}).json()["errcode"] == 42001
    assert fake.calls("work.auth.getuserinfo") == 4


def test_someone_who_left_the_corp_gets_an_openid_not_a_userid(fake, http):
    code = fake.login_code("lisi")
    fake.remove_userid("lisi")
    answer = http.get("/work/cgi-bin/auth/getuserinfo", params={"access_token": token(http), "code": code}).json()
    assert answer["errcode"] == 0 and "userid" not in answer and answer["openid"]
    assert fake.login_code("lisi") is None
