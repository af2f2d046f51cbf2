"""Signing in to the office console through WeCom, over real HTTP against the fake WeCom."""

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from app.console.session import COOKIE
from tests.console import ADMIN_TOKEN, AGENT, CORP, STRANGER, csrf, sign_in, start_login

DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120"
IN_WECOM = "Mozilla/5.0 (iPhone) MicroMessenger/8.0 wxwork/4.1.20 Language/zh"


def test_desktop_gets_the_qr_login_and_wecom_client_the_oauth_page(console):
    login = start_login(console.url, DESKTOP)
    url = urlsplit(login.wecom_url)
    assert url.path == "/sso/wwlogin/sso/login"
    q = parse_qs(url.query)
    assert q["login_type"] == ["CorpApp"] and q["appid"] == [CORP] and q["agentid"] == [AGENT]
    assert q["redirect_uri"] == [console.url + "/console/auth"]
    assert q["state"][0].isalnum() and len(q["state"][0]) <= 128

    inside = start_login(console.url, IN_WECOM)
    url = urlsplit(inside.wecom_url)
    assert url.path == "/open/connect/oauth2/authorize" and url.fragment == "wechat_redirect"
    q = parse_qs(url.query)
    assert q["scope"] == ["snsapi_base"] and q["response_type"] == ["code"] and q["agentid"] == [AGENT]
    assert inside.state != login.state
    answer = inside.back(inside.scan("office"))
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    assert "办公室小赵" in inside.client.get("/console").text


def test_signed_in_office_worker_sees_the_inbox_and_the_cookie_is_httponly_and_lax(console):
    login = start_login(console.url)
    answer = login.back(login.scan("office"))
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Max-Age=43200" in cookie
    page = login.client.get("/console")
    assert page.status_code == 200 and "办公室小赵" in page.text and "待分派" in page.text


def test_the_fake_qr_page_lists_people_to_scan_as(console):
    login = start_login(console.url)
    page = httpx.get(login.wecom_url)
    assert page.status_code == 200 and "办公室小赵" in page.text and "扫码" in page.text


def test_a_state_works_once(console):
    login = start_login(console.url)
    auth_url = login.scan("office")
    assert login.back(auth_url).status_code == 303
    replay = login.client.get(auth_url.split("?")[0], params={
        "code": console.fake.login_code("office"), "state": login.state})
    assert replay.status_code == 400 and "登录链接已失效" in replay.text


def test_a_state_expires_after_ten_minutes(console):
    login = start_login(console.url)
    console.clock.advance(minutes=11)
    answer = login.back(login.scan("office"))
    assert answer.status_code == 400 and "登录链接已失效" in answer.text


def test_a_state_from_another_browser_is_refused(console):
    login = start_login(console.url)
    auth_url = login.scan("office")
    other = httpx.Client(base_url=console.url, follow_redirects=False)
    answer = other.get(auth_url)
    assert answer.status_code == 400 and COOKIE not in answer.headers.get("set-cookie", "")
    assert login.back(auth_url).status_code == 303  # its own browser still signs in with it


def test_unknown_missing_and_expired_codes_are_refused(console):
    login = start_login(console.url)
    answer = login.client.get("/console/auth", params={"code": "not-a-code", "state": login.state})
    assert answer.status_code == 400 and "登录码无效或已过期" in answer.text

    login = start_login(console.url)
    auth_url = login.scan("office")
    console.clock.advance(minutes=6)  # WeCom codes live 5 minutes (the state 10)
    answer = login.back(auth_url)
    assert answer.status_code == 400 and "登录码无效或已过期" in answer.text

    login = start_login(console.url)
    calls = console.fake.calls("work.auth.getuserinfo")
    answer = login.client.get("/console/auth", params={"code": "x" * 513, "state": login.state})
    assert answer.status_code == 400 and console.fake.calls("work.auth.getuserinfo") == calls  # not even asked

    login = start_login(console.url)
    answer = login.client.get("/console/auth", params={"state": login.state})  # declined on the QR page
    assert answer.status_code == 400 and "已取消登录" in answer.text


def test_a_code_is_exchanged_once(console):
    login = start_login(console.url)
    auth_url = login.scan("office")
    code = parse_qs(urlsplit(auth_url).query)["code"][0]
    assert login.back(auth_url).status_code == 303
    again = start_login(console.url)
    answer = again.client.get("/console/auth", params={"code": code, "state": again.state})
    assert answer.status_code == 400 and "登录码无效" in answer.text


def test_someone_not_on_the_roster_gets_a_clear_page(console):
    login = start_login(console.url)
    answer = login.back(login.scan(STRANGER))
    assert answer.status_code == 403 and "花名册" in answer.text and STRANGER in answer.text
    assert COOKIE not in answer.headers.get("set-cookie", "")


def test_a_grid_worker_has_no_console_and_is_told_what_to_do_instead(console):
    login = start_login(console.url)
    answer = login.back(login.scan("gw"))
    assert answer.status_code == 403 and "网格员小王" in answer.text and "帮助" in answer.text
    assert COOKIE not in answer.headers.get("set-cookie", "")


def test_a_deactivated_or_demoted_person_is_out_at_once(console):
    from sqlalchemy import delete

    from models import Person, PersonRole
    from tests.casework import person

    client = sign_in(console.url, "bc1")
    assert client.get("/console").status_code == 200
    with console.sessions.begin() as s:
        s.execute(delete(PersonRole).where(PersonRole.person_id == person(s, "bc1").id))
    assert client.get("/console").status_code == 403
    office = sign_in(console.url, "office")
    with console.sessions.begin() as s:
        s.get(Person, person(s, "office").id).active = False
    assert office.get("/console").status_code == 303


def test_older_servers_answering_UserId_sign_in_too(console):
    console.fake.getuserinfo_key = "UserId"
    client = sign_in(console.url, "office")
    assert "办公室小赵" in client.get("/console").text


def test_a_refused_access_token_is_refreshed_and_the_sign_in_goes_through(console):
    sign_in(console.url, "office")  # a token is cached now
    console.fake.invalidate_tokens("work", errcode=40014)
    client = sign_in(console.url, "deputy")
    assert "副乡长" in client.get("/console").text


def test_wecom_unreachable_is_a_page_not_a_crash(console):
    login = start_login(console.url)
    auth_url = login.scan("office")
    console.fake.down(True)
    answer = login.back(auth_url)
    assert answer.status_code == 502 and "企业微信" in answer.text


def test_a_tampered_foreign_or_expired_cookie_signs_nobody_in(console):
    client = sign_in(console.url, "office")
    value = client.cookies[COOKIE]
    for bad in (value[:-2] + ("AA" if not value.endswith("AA") else "BB"),
                URLSafeTimedSerializer("another-key", salt="gridline-console-session").dumps({"p": 1, "c": "x"})):
        forged = httpx.Client(base_url=console.url, follow_redirects=False, cookies={COOKIE: bad})
        answer = forged.get("/console")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login")
    console.clock.advance(hours=12, minutes=1)
    answer = client.get("/console/cases/XS-20261118-0001")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=%2Fconsole%2Fcases%2FXS-20261118-0001"


def test_the_admin_token_is_not_a_console_session(console):
    answer = httpx.get(console.url + "/console", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                       follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login")


def test_after_sign_in_the_browser_returns_where_it_was_going_but_never_off_site(console):
    login = start_login(console.url, next_path="/console/wordings")
    assert login.back(login.scan("office")).headers["location"] == "/console/wordings"
    for bad in ("//evil.example/console", "/console/\x00", "/console\\..\\x"):
        login = start_login(console.url, next_path=bad)
        assert login.back(login.scan("office")).headers["location"] == "/console"


def test_logout_needs_the_csrf_token_and_ends_the_session(console):
    client = sign_in(console.url, "office")
    assert client.post("/console/logout").status_code == 403
    token = csrf(client)
    answer = client.post("/console/logout", data={"csrf": token})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/bye"
    assert client.get("/console").status_code == 303
    assert "已退出" in client.get("/console/bye").text


def test_the_console_is_off_without_a_secret_key(serve, db):
    server = serve(secret_key="")
    answer = httpx.get(server.url + "/console/login", follow_redirects=False)
    assert answer.status_code == 503 and "GRIDLINE_SECRET_KEY" in answer.text
    assert httpx.get(server.url + "/console", follow_redirects=False).status_code == 503


def test_the_htmx_page_is_vendored(console):
    answer = httpx.get(console.url + "/console/static/htmx.min.js")
    assert answer.status_code == 200 and "htmx" in answer.text[:200]


# -- sessions live server-side ------------------------------------------------------------------

def copy_of(client: httpx.Client, console) -> httpx.Client:
    """Another browser holding the same cookie (a stolen or left-behind copy)."""
    return httpx.Client(base_url=console.url, follow_redirects=False, cookies={COOKIE: client.cookies[COOKIE]})


def test_logout_ends_the_session_on_the_server_not_only_in_the_browser(console):
    client = sign_in(console.url, "office")
    stolen = copy_of(client, console)
    assert stolen.get("/console").status_code == 200
    assert client.post("/console/logout", data={"csrf": csrf(client)}).status_code == 303
    answer = stolen.get("/console")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login")


def test_a_well_signed_cookie_without_a_live_session_signs_nobody_in(console):
    from tests.console import SECRET_KEY

    class ConsoleClockSigner(TimestampSigner):  # stamped on the server's clock, so only the session can refuse
        def get_timestamp(self) -> int:
            return int(console.clock.now().timestamp())

    def with_cookie(payload: dict) -> httpx.Client:
        return httpx.Client(base_url=console.url, follow_redirects=False,
                            cookies={COOKIE: serializer.dumps(payload)})

    serializer = URLSafeTimedSerializer(SECRET_KEY, salt="gridline-console-session", signer=ConsoleClockSigner)
    client = sign_in(console.url, "office")
    real = serializer.loads(client.cookies[COOKIE])
    assert with_cookie(real).get("/console").status_code == 200  # made this way, a live session's cookie works
    for payload in ({"p": real["p"], "c": "x"}, {**real, "s": "made-up"}):  # the old format, a guessed token
        assert with_cookie(payload).get("/console").status_code == 303
    assert client.post("/console/logout", data={"csrf": csrf(client)}).status_code == 303
    assert with_cookie(real).get("/console").status_code == 303  # the same cookie, its session ended


def test_the_office_signs_a_person_out_everywhere(console):
    phone, laptop = sign_in(console.url, "bc1"), sign_in(console.url, "bc1")
    office = sign_in(console.url, "office")
    answer = office.post("/console/settings/signout", data={"csrf": csrf(office), "who": "包村领导甲"})
    assert answer.status_code == 200 and "已让包村领导甲在所有设备上退出工作台（结束2处登录）" in answer.text
    assert phone.get("/console").status_code == 303 and laptop.get("/console").status_code == 303
    assert office.get("/console").status_code == 200  # the office's own session stands
    assert sign_in(console.url, "bc1").get("/console").status_code == 200  # signing in again works


@pytest.mark.parametrize("who, says", [("", "请填写"), ("不存在的人", "没有“不存在的人”"), ("黑石办公室", "没有“黑石办公室”")])
def test_sign_out_everywhere_refusals(console, who, says):
    from handlers.roster import import_roster
    from tests import township

    rows = [*township.roster_rows(), "黑石镇,,,黑石办公室,13977777777,办公室,,,office2"]
    with console.sessions.begin() as s:
        assert not import_roster(s, "roster.csv", "\n".join([township.HEADER, *rows]).encode()).refused
    console.fake.add_userid("office2")
    theirs = sign_in(console.url, "office2")
    office = sign_in(console.url, "office")
    answer = office.post("/console/settings/signout", data={"csrf": csrf(office), "who": who})
    assert answer.status_code == 422 and says in answer.text
    assert theirs.get("/console").status_code == 200  # another township's office is not this one's to sign out


def test_signing_oneself_out_everywhere_ends_this_browser_too(console):
    office, other = sign_in(console.url, "office"), sign_in(console.url, "office")
    answer = office.post("/console/settings/signout", data={"csrf": csrf(office), "who": "办公室小赵"})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/bye"
    assert office.get("/console").status_code == 303 and other.get("/console").status_code == 303


def test_sign_out_everywhere_guards(console):
    from tests.test_console_desk import assert_guarded

    assert_guarded(console, "POST", "/console/settings/signout", "leader", {"who": "包村领导甲"})
    bc1 = sign_in(console.url, "bc1")
    assert bc1.get("/console").status_code == 200  # none of the refused attempts signed anyone out
