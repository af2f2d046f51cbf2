"""The sandbox (fake WeChat / WeCom APIs) driven over real HTTP, as the product's senders will."""

import threading
from datetime import timedelta

import httpx
import pytest

from app.sandbox import ENDPOINTS, FakeWeChat, create_fake
from tests.conftest import LiveServer

APPID, SECRET = "wx1234567890abcdef", "mp-secret"
CORPID, WSECRET, AGENT = "ww1234567890abcdef", "work-secret", 1000002
OPENID = "oGridline0000000000000000001"  # 28 characters, like real openids
OPENID_QUIET = "oGridline0000000000000000002"  # never wrote
OPENID_GONE = "oGridline0000000000000000003"  # unfollowed
TEMPLATE = "tpl-case-card"
ROBOT = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


@pytest.fixture
def fake(clock) -> FakeWeChat:
    f = FakeWeChat(clock)
    f.add_mp_account(APPID, SECRET)
    f.add_openid(OPENID, last_message_at=clock.now())
    f.add_openid(OPENID_QUIET)
    f.add_openid(OPENID_GONE, subscribed=False, last_message_at=clock.now())
    f.add_template(TEMPLATE, keys=["first", "keyword1"])
    f.add_work_app(CORPID, WSECRET, AGENT)
    f.add_work_app(CORPID, "other-app-secret", 1000003)
    f.add_userid("ZhangSan", "lisi", "wangwu")
    f.add_party(7, ["zhaoliu", "lisi"])
    f.add_tag(3, ["qianqi"])
    f.add_appchat("village-chat-1", ["ZhangSan", "lisi"])
    f.add_robot(ROBOT)
    f.add_media("MEDIA_1", b"\xff\xd8\xff\xe0jpeg-bytes", "image/jpeg")
    return f


@pytest.fixture
def server(fake):
    s = LiveServer(fake.app).start()
    yield s
    s.stop()


@pytest.fixture
def http(server):
    with httpx.Client(base_url=server.url, timeout=5) as client:
        yield client


def mp_token(http) -> str:
    r = http.get("/mp/cgi-bin/token", params={"grant_type": "client_credential", "appid": APPID, "secret": SECRET})
    assert r.status_code == 200
    return r.json()["access_token"]


def work_token(http, secret=WSECRET) -> str:
    r = http.get("/work/cgi-bin/gettoken", params={"corpid": CORPID, "corpsecret": secret})
    assert r.json()["errcode"] == 0
    return r.json()["access_token"]


def custom(http, token, touser=OPENID, content="你好", msgtype="text"):
    body = {"touser": touser, "msgtype": msgtype, msgtype: {"content": content}}
    return http.post("/mp/cgi-bin/message/custom/send", params={"access_token": token}, json=body).json()


def template(http, token, touser=OPENID, template_id=TEMPLATE, data=None):
    data = data if data is not None else {"first": {"value": "新案件"}, "keyword1": {"value": "XS-20261118-0001"}}
    body = {"touser": touser, "template_id": template_id, "url": "https://example.org/c/1", "data": data}
    return http.post("/mp/cgi-bin/message/template/send", params={"access_token": token}, json=body).json()


def work_send(http, token, touser="ZhangSan", content="请签收", agentid=AGENT, msgtype="text", **extra):
    body = {"touser": touser, "msgtype": msgtype, "agentid": agentid, **extra}
    if msgtype in ("text", "markdown"):
        body[msgtype] = {"content": content}
    return http.post("/work/cgi-bin/message/send", params={"access_token": token}, json=body).json()


def robot(http, key=ROBOT, content="口径更新", msgtype="text"):
    body = {"msgtype": msgtype, msgtype: {"content": content}}
    return http.post("/work/cgi-bin/webhook/send", params={"key": key}, json=body).json()


# ------------------------------------------------------------------ app and control API --------


def test_create_fake_returns_one_app_with_the_control_object(clock):
    app = create_fake(clock)
    assert isinstance(app.state.fake, FakeWeChat)
    assert app.state.fake.app is app
    assert app.state.fake.clock is clock


def test_unknown_paths_404(http):
    assert http.get("/mp/cgi-bin/nonexistent").status_code == 404
    assert http.get("/elsewhere").status_code == 404


# ------------------------------------------------------------------ MP token -------------------


def test_mp_token_success_is_bare_access_token_and_expires_in(http):
    r = http.get("/mp/cgi-bin/token", params={"grant_type": "client_credential", "appid": APPID, "secret": SECRET})
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"access_token", "expires_in"}
    assert body["expires_in"] == 7200
    assert len(body["access_token"]) >= 64


@pytest.mark.parametrize(
    ("params", "errcode", "errmsg"),
    [
        ({"grant_type": "client_credential", "appid": "wx-unknown", "secret": SECRET}, 40013, "invalid appid"),
        ({"grant_type": "client_credential", "appid": APPID, "secret": "wrong"}, 40125, "invalid appsecret"),
        ({"grant_type": "client_credential", "secret": SECRET}, 41002, "appid missing"),
        ({"grant_type": "client_credential", "appid": APPID}, 41004, "appsecret missing"),
        ({"grant_type": "password", "appid": APPID, "secret": SECRET}, 40002, "invalid grant_type"),
    ],
)
def test_mp_token_errors(http, params, errcode, errmsg):
    body = http.get("/mp/cgi-bin/token", params=params).json()
    assert body["errcode"] == errcode
    assert body["errmsg"].startswith(errmsg + " rid: ")


def test_mp_bad_secret_code_can_be_the_older_40001(clock):
    f = FakeWeChat(clock, mp_bad_secret_errcode=40001).add_mp_account(APPID, SECRET)
    s = LiveServer(f.app).start()
    try:
        r = httpx.get(s.url + "/mp/cgi-bin/token",
                      params={"grant_type": "client_credential", "appid": APPID, "secret": "x"})
        assert r.json()["errcode"] == 40001
    finally:
        s.stop()


def test_mp_token_expires_after_7200_seconds(http, clock):
    token = mp_token(http)
    clock.advance(seconds=7199)
    assert custom(http, token)["errcode"] == 0
    clock.advance(seconds=1)
    assert custom(http, token)["errcode"] == 42001
    assert custom(http, mp_token(http))["errcode"] == 0


def test_mp_new_token_leaves_the_old_one_five_minutes(http, clock, fake):
    old = mp_token(http)
    new = mp_token(http)
    assert new != old
    clock.advance(seconds=299)
    assert custom(http, old)["errcode"] == 0
    clock.advance(seconds=1)
    assert custom(http, old)["errcode"] == 40001
    fake.user_wrote(OPENID)
    assert custom(http, new)["errcode"] == 0


@pytest.mark.parametrize(("token", "errcode"), [(None, 41001), ("", 41001), ("forged-token", 40014)])
def test_missing_and_unknown_tokens(http, token, errcode):
    params = {} if token is None else {"access_token": token}
    body = http.post("/mp/cgi-bin/message/custom/send", params=params,
                     json={"touser": OPENID, "msgtype": "text", "text": {"content": "x"}}).json()
    assert body["errcode"] == errcode
    body = http.post("/work/cgi-bin/message/send", params=params,
                     json={"touser": "lisi", "msgtype": "text", "agentid": AGENT, "text": {"content": "x"}}).json()
    assert body["errcode"] == errcode


def test_tokens_do_not_cross_families(http):
    assert work_send(http, mp_token(http))["errcode"] == 40014
    assert custom(http, work_token(http))["errcode"] == 40014


def test_invalidate_tokens_mid_run(http, fake):
    mp, work = mp_token(http), work_token(http)
    assert fake.invalidate_tokens() == 2
    assert custom(http, mp)["errcode"] == 40001
    assert work_send(http, work)["errcode"] == 40001
    new_work = work_token(http)
    assert new_work != work
    assert work_send(http, new_work)["errcode"] == 0
    assert custom(http, mp_token(http))["errcode"] == 0


def test_invalidate_tokens_of_one_family_with_another_code(http, fake):
    mp, work = mp_token(http), work_token(http)
    assert fake.invalidate_tokens("work", errcode=40014) == 1
    assert work_send(http, work)["errcode"] == 40014
    assert custom(http, mp)["errcode"] == 0


# ------------------------------------------------------------------ MP customer-service send ---


def test_custom_send_delivers(http, fake, clock):
    token = mp_token(http)
    assert custom(http, token, content="案件 XS-20261118-0001 已受理") == {"errcode": 0, "errmsg": "ok"}
    [d] = fake.delivered(OPENID)
    assert (d.recipient, d.recipient_type, d.api, d.msgtype) == (OPENID, "openid", "mp.message.custom.send", "text")
    assert d.content == d.text == "案件 XS-20261118-0001 已受理"
    assert d.at == clock.now() and d.account == APPID and d.msgid is None


def test_custom_send_news(http, fake):
    body = {"touser": OPENID, "msgtype": "news",
            "news": {"articles": [{"title": "统一口径", "description": "请查阅", "url": "https://x", "picurl": ""}]}}
    r = http.post("/mp/cgi-bin/message/custom/send", params={"access_token": mp_token(http)}, json=body)
    assert r.json()["errcode"] == 0
    [d] = fake.delivered(OPENID)
    assert d.msgtype == "news" and "统一口径" in d.text


def test_custom_send_48_hour_window(http, fake, clock):
    token = mp_token(http)
    clock.advance(hours=47, minutes=59)
    fake.invalidate_tokens()
    token = mp_token(http)
    assert custom(http, token)["errcode"] == 0
    clock.advance(minutes=1, seconds=1)
    body = custom(http, token)
    assert body["errcode"] == 45015
    assert body["errmsg"].startswith("response out of time limit or subscription is canceled")
    fake.user_wrote(OPENID)
    assert custom(http, token)["errcode"] == 0


def test_custom_send_to_user_who_never_wrote_or_unfollowed(http):
    token = mp_token(http)
    assert custom(http, token, touser=OPENID_QUIET)["errcode"] == 45015
    assert custom(http, token, touser=OPENID_GONE)["errcode"] == 45015


def test_custom_send_quota_per_user_message(http, fake):
    token = mp_token(http)
    assert [custom(http, token)["errcode"] for _ in range(6)] == [0, 0, 0, 0, 0, 45047]
    assert len(fake.delivered(OPENID)) == 5
    fake.user_wrote(OPENID)
    assert custom(http, token)["errcode"] == 0


def test_custom_quota_can_be_switched_off(clock):
    f = FakeWeChat(clock, custom_quota=None).add_mp_account(APPID, SECRET).add_openid(OPENID, last_message_at=clock.now())
    s = LiveServer(f.app).start()
    try:
        with httpx.Client(base_url=s.url) as h:
            token = mp_token(h)
            assert all(custom(h, token)["errcode"] == 0 for _ in range(12))
    finally:
        s.stop()


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"touser": "oUnknown", "msgtype": "text", "text": {"content": "x"}}, 40003),
        ({"touser": OPENID, "msgtype": "telegram", "telegram": {"content": "x"}}, 40008),
        ({"touser": OPENID, "msgtype": "text", "text": {"content": ""}}, 44004),
        ({"touser": OPENID, "msgtype": "text"}, 47001),
    ],
)
def test_custom_send_errors(http, fake, body, errcode):
    r = http.post("/mp/cgi-bin/message/custom/send", params={"access_token": mp_token(http)}, json=body)
    assert r.json()["errcode"] == errcode
    assert fake.delivered() == []


def test_malformed_json_and_wrong_method(http):
    token = mp_token(http)
    r = http.post("/mp/cgi-bin/message/custom/send", params={"access_token": token}, content=b"{not json")
    assert r.json()["errcode"] == 47001
    r = http.post("/mp/cgi-bin/message/custom/send", params={"access_token": token}, content=b"")
    assert r.json()["errcode"] == 44002
    r = http.get("/mp/cgi-bin/message/custom/send", params={"access_token": token})
    assert r.json()["errcode"] == 43002


# ------------------------------------------------------------------ MP template send -----------


def test_template_send_returns_msgid_and_ignores_the_window(http, fake, clock):
    clock.advance(days=30)
    token = mp_token(http)
    assert custom(http, token)["errcode"] == 45015
    first, second = template(http, token), template(http, token)
    assert first["errcode"] == 0 and first["errmsg"] == "ok"
    assert isinstance(first["msgid"], int) and second["msgid"] > first["msgid"]
    d = fake.delivered(OPENID)[0]
    assert d.msgtype == "template" and d.api == "mp.message.template.send"
    assert d.content["keyword1"]["value"] == "XS-20261118-0001"
    assert d.payload["template_id"] == TEMPLATE and d.msgid == first["msgid"]
    assert "新案件" in d.text
    assert template(http, token, touser=OPENID_QUIET)["errcode"] == 0


@pytest.mark.parametrize(
    ("kwargs", "errcode"),
    [
        ({"template_id": "no-such-template"}, 40037),
        ({"touser": "oUnknown"}, 40003),
        ({"touser": OPENID_GONE}, 43004),
        ({"data": {"first": {"value": "x"}}}, 47003),
        ({"data": {"first": "x", "keyword1": {"value": "y"}}}, 47003),
    ],
)
def test_template_send_errors(http, fake, kwargs, errcode):
    assert template(http, mp_token(http), **kwargs)["errcode"] == errcode
    assert fake.delivered() == []


def test_set_subscribed(http, fake):
    token = mp_token(http)
    fake.set_subscribed(OPENID, False)
    assert template(http, token)["errcode"] == 43004
    fake.set_subscribed(OPENID, True)
    assert template(http, token)["errcode"] == 0


# ------------------------------------------------------------------ media ----------------------


@pytest.mark.parametrize("family", ["mp", "work"])
def test_media_get(http, family):
    token = mp_token(http) if family == "mp" else work_token(http)
    r = http.get(f"/{family}/cgi-bin/media/get", params={"access_token": token, "media_id": "MEDIA_1"})
    assert r.status_code == 200
    assert r.content == b"\xff\xd8\xff\xe0jpeg-bytes"
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["content-disposition"] == 'attachment; filename="MEDIA_1.jpg"'
    r = http.get(f"/{family}/cgi-bin/media/get", params={"access_token": token, "media_id": "nope"})
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["errcode"] == 40007
    r = http.get(f"/{family}/cgi-bin/media/get", params={"access_token": token})
    assert r.json()["errcode"] == 41006


# ------------------------------------------------------------------ WeCom token ----------------


def test_work_gettoken_same_token_while_valid(http, clock):
    r = http.get("/work/cgi-bin/gettoken", params={"corpid": CORPID, "corpsecret": WSECRET}).json()
    assert r["errcode"] == 0 and r["errmsg"] == "ok" and r["expires_in"] == 7200
    clock.advance(seconds=600)
    again = http.get("/work/cgi-bin/gettoken", params={"corpid": CORPID, "corpsecret": WSECRET}).json()
    assert again["access_token"] == r["access_token"]
    assert again["expires_in"] == 6600
    assert work_token(http, "other-app-secret") != r["access_token"]
    clock.advance(seconds=6600)
    assert work_send(http, r["access_token"])["errcode"] == 42001
    assert work_token(http) != r["access_token"]


@pytest.mark.parametrize(
    ("params", "errcode", "errmsg"),
    [
        ({"corpid": "ww-unknown", "corpsecret": WSECRET}, 40013, "invalid corpid"),
        ({"corpid": CORPID, "corpsecret": "wrong"}, 40001, "invalid credential"),
        ({"corpsecret": WSECRET}, 41002, "corpid missing"),
        ({"corpid": CORPID}, 41004, "corpsecret missing"),
    ],
)
def test_work_gettoken_errors(http, params, errcode, errmsg):
    body = http.get("/work/cgi-bin/gettoken", params=params).json()
    assert body["errcode"] == errcode
    assert body["errmsg"].startswith(errmsg + ", hint: [")
    assert body["errmsg"].endswith(f"more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}")


# ------------------------------------------------------------------ WeCom message/send ---------


def test_work_send_text_reports_invaliduser_and_still_sends(http, fake):
    body = work_send(http, work_token(http), touser="zhangsan|Ghost|lisi|NOBODY")
    assert body["errcode"] == 0 and body["errmsg"] == "ok"
    assert body["invaliduser"] == "ghost|nobody"
    assert "invalidparty" not in body and "invalidtag" not in body
    assert isinstance(body["msgid"], str) and body["msgid"]
    assert [d.recipient for d in fake.delivered()] == ["ZhangSan", "lisi"]
    assert fake.delivered("zhangsan")[0].text == "请签收"
    assert {d.msgid for d in fake.delivered()} == {body["msgid"]}


def test_work_send_all_invalid_is_81013(http, fake):
    body = work_send(http, work_token(http), touser="ghost1|ghost2", toparty="99", totag="98")
    assert body["errcode"] == 81013
    assert body["errmsg"].startswith("user & party & tag all invalid")
    assert (body["invaliduser"], body["invalidparty"], body["invalidtag"]) == ("ghost1|ghost2", "99", "98")
    assert fake.delivered() == []


def test_work_send_party_tag_and_all(http, fake):
    token = work_token(http)
    body = work_send(http, token, touser="ZhangSan", toparty="7|8", totag="3")
    assert body["errcode"] == 0 and body["invalidparty"] == "8"
    assert sorted(d.recipient for d in fake.delivered()) == ["ZhangSan", "lisi", "qianqi", "zhaoliu"]
    fake.reset_records()
    assert work_send(http, token, touser="@all")["errcode"] == 0
    assert sorted(d.recipient for d in fake.delivered()) == ["ZhangSan", "lisi", "qianqi", "wangwu", "zhaoliu"]


def test_work_send_1000_userids_limit(http, fake):
    token = work_token(http)
    users = [f"user{i:04d}" for i in range(1001)]
    fake.add_userid(*users)
    body = work_send(http, token, touser="|".join(users))
    assert body["errcode"] == 40032
    assert fake.delivered() == []
    body = work_send(http, token, touser="|".join(users[:1000]))
    assert body["errcode"] == 0 and "invaliduser" not in body
    assert len(fake.delivered()) == 1000


def test_work_send_party_and_tag_list_limits(http):
    token = work_token(http)
    assert work_send(http, token, touser="", toparty="|".join(map(str, range(101))))["errcode"] == 82002
    assert work_send(http, token, touser="", totag="|".join(map(str, range(101))))["errcode"] == 82003
    assert work_send(http, token, touser="", toparty="", totag="")["errcode"] == 82001


def test_work_send_markdown_and_textcard(http, fake):
    token = work_token(http)
    assert work_send(http, token, msgtype="markdown", content="**督办** <font color=\"warning\">逾期</font>")["errcode"] == 0
    card = {"title": "新案件", "description": "<div class=\"gray\">2026年11月18日</div>", "url": "https://x", "btntxt": "详情"}
    assert work_send(http, token, msgtype="textcard", textcard=card)["errcode"] == 0
    md, tc = fake.delivered("ZhangSan")
    assert (md.msgtype, tc.msgtype) == ("markdown", "textcard")
    assert md.content.startswith("**督办**")
    assert tc.content == card and "新案件" in tc.text


def test_textcard_fields_are_checked_and_long_ones_cut(http, fake):
    token = work_token(http)
    card = {"title": "标" * 50, "description": "述" * 200, "url": "https://x", "btntxt": "查看详情页"}
    for missing, errcode in (("title", 41016), ("description", 40058), ("url", 41010)):
        assert work_send(http, token, msgtype="textcard", textcard={**card, missing: ""})["errcode"] == errcode
    assert fake.delivered() == []
    assert work_send(http, token, msgtype="textcard", textcard=card)["errcode"] == 0
    body = {"chatid": "village-chat-1", "msgtype": "textcard", "textcard": card}
    assert http.post("/work/cgi-bin/appchat/send", params={"access_token": token}, json=body).json()["errcode"] == 0
    for got in fake.delivered():  # 150 bytes → 42 whole characters; 600 → 170; 5 characters → 4
        assert got.content == {"title": "标" * 42, "description": "述" * 170, "url": "https://x", "btntxt": "查看详情"}
        assert got.payload["textcard"] == card


def test_a_removed_member_is_an_invalid_user(http, fake):
    fake.remove_userid("LISI")
    answer = work_send(http, work_token(http), touser="ZhangSan|lisi")
    assert (answer["errcode"], answer["invaliduser"]) == (0, "lisi")


@pytest.mark.parametrize(
    ("kwargs", "errcode"),
    [
        ({"agentid": 1000003}, 301002),
        ({"agentid": None}, 41011),
        ({"msgtype": "telegram"}, 40008),
        ({"content": ""}, 44004),
        ({"content": "字" * 683}, 45002),  # 2049 bytes of UTF-8
    ],
)
def test_work_send_errors(http, fake, kwargs, errcode):
    assert work_send(http, work_token(http), **kwargs)["errcode"] == errcode
    assert fake.delivered() == []


def test_work_send_accepts_2048_bytes(http):
    assert work_send(http, work_token(http), content="字" * 682 + "ab")["errcode"] == 0


def test_work_member_frequency_limit_drops_silently(http, fake, clock):
    token = work_token(http)
    results = [work_send(http, token, touser="lisi", content=f"m{i}")["errcode"] for i in range(31)]
    assert results == [0] * 31
    assert len(fake.delivered("lisi")) == 30
    [dropped] = fake.dropped()
    assert dropped.userid == "lisi" and dropped.payload["text"]["content"] == "m30"
    clock.advance(minutes=1)
    assert work_send(http, token, touser="lisi")["errcode"] == 0
    assert len(fake.delivered("lisi")) == 31


# ------------------------------------------------------------------ WeCom appchat --------------


def test_appchat_send(http, fake):
    token = work_token(http)
    body = {"chatid": "village-chat-1", "msgtype": "markdown", "markdown": {"content": "**口径** 已更新"}}
    r = http.post("/work/cgi-bin/appchat/send", params={"access_token": token}, json=body).json()
    assert r == {"errcode": 0, "errmsg": "ok"}
    [d] = fake.delivered("village-chat-1")
    assert (d.recipient_type, d.api, d.msgtype, d.content) == ("chat", "work.appchat.send", "markdown", "**口径** 已更新")
    r = http.post("/work/cgi-bin/appchat/send", params={"access_token": token},
                  json={**body, "chatid": "no-such-chat"}).json()
    assert r["errcode"] == 86003
    r = http.post("/work/cgi-bin/appchat/send", params={"access_token": token},
                  json={"msgtype": "text", "text": {"content": "x"}}).json()
    assert r["errcode"] == 86001


# ------------------------------------------------------------------ WeCom group robot ----------


def test_robot_send_and_bad_key(http, fake):
    assert robot(http) == {"errcode": 0, "errmsg": "ok"}
    assert robot(http, msgtype="markdown", content="# 统一口径")["errcode"] == 0
    text, md = fake.delivered(ROBOT)
    assert (text.recipient_type, text.api, text.content) == ("robot", "work.webhook.send", "口径更新")
    assert md.msgtype == "markdown" and md.account is None
    body = robot(http, key="not-a-key")
    assert body["errcode"] == 93000 and body["errmsg"].startswith("invalid webhook url")
    assert http.post("/work/cgi-bin/webhook/send", json={"msgtype": "text", "text": {"content": "x"}}).json()["errcode"] == 93000
    fake.remove_robot(ROBOT)
    assert robot(http)["errcode"] == 93000


def test_robot_20_per_rolling_minute(http, fake, clock):
    for _ in range(10):
        assert robot(http)["errcode"] == 0
    clock.advance(seconds=30)
    for _ in range(10):
        assert robot(http)["errcode"] == 0
    limited = robot(http)
    assert limited["errcode"] == 45009 and limited["errmsg"].startswith("api freq out of limit")
    clock.advance(seconds=29)
    assert robot(http)["errcode"] == 45009  # still within a minute of the first ten
    clock.advance(seconds=1)
    assert [robot(http)["errcode"] for _ in range(11)] == [0] * 10 + [45009]
    assert len(fake.delivered(ROBOT)) == 30


# ------------------------------------------------------------------ faults ---------------------


def test_fault_rate_is_as_asked_and_reproducible(http, fake):
    token = work_token(http)

    def run() -> list[int]:
        return [robot(http, content=str(i))["errcode"] for i in range(1000)]

    fake.robot_per_minute = 10_000
    fake.fail(0.3, kinds=["errcode-1"], seed=42)
    first = run()
    failed = sum(1 for e in first if e == -1)
    assert 250 <= failed <= 350, failed
    assert set(first) == {0, -1}
    assert len(fake.delivered(ROBOT)) == 1000 - failed
    fake.fail(0.3, kinds=["errcode-1"], seed=42)
    assert run() == first
    fake.fail(0)
    assert work_send(http, token)["errcode"] == 0


def test_fault_mix(http, fake):
    fake.robot_per_minute = 10_000
    fake.fail(0.5, kinds={"http500": 1, "errcode-1": 1, "errcode45009": 1, "errcode45011": 1}, seed=3)
    statuses = []
    for _ in range(400):
        r = http.post("/work/cgi-bin/webhook/send", params={"key": ROBOT}, json={"msgtype": "text", "text": {"content": "x"}})
        statuses.append(r.status_code if r.status_code != 200 else r.json()["errcode"])
    kinds = [k for _, k in fake.faults()]
    assert 150 <= len(kinds) <= 250
    assert statuses.count(500) == kinds.count("http500") > 0
    assert statuses.count(-1) == kinds.count("errcode-1") > 0
    assert statuses.count(45009) == kinds.count("errcode45009") > 0
    assert statuses.count(45011) == kinds.count("errcode45011") > 0
    assert statuses.count(0) == 400 - len(kinds) == len(fake.delivered(ROBOT))
    r500 = next(h for h in fake.history() if h.fault == "http500")
    assert (r500.status, r500.errcode) == (500, None)


def test_fault_http500_is_html(http, fake):
    fake.fail(1.0, kinds=["http500"])
    r = http.get("/work/cgi-bin/gettoken", params={"corpid": CORPID, "corpsecret": WSECRET})
    assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")


def test_fault_only_on_chosen_endpoints(http, fake):
    fake.fail(1.0, kinds=["errcode-1"], endpoints=["work.message.send"])
    token = work_token(http)  # not faulted
    assert work_send(http, token)["errcode"] == -1
    assert robot(http)["errcode"] == 0
    with pytest.raises(ValueError):
        fake.fail(0.5, kinds=["meteor"])
    with pytest.raises(ValueError):
        fake.fail(0.5, endpoints=["work.nothing"])


def test_stall_delivers_but_answers_too_late(http, server, fake):
    token = work_token(http)
    fake.fail(1.0, kinds=["stall"], stall_s=0.6)
    with pytest.raises(httpx.ReadTimeout):
        http.post("/work/cgi-bin/message/send", params={"access_token": token}, timeout=0.2,
                  json={"touser": "lisi", "msgtype": "text", "agentid": AGENT, "text": {"content": "超时但已送达"}})
    assert [d.text for d in fake.delivered("lisi")] == ["超时但已送达"]
    assert fake.faults() == [("work.message.send", "stall")]
    fake.fail(0)
    assert work_send(http, token, touser="lisi", content="retry")["errcode"] == 0
    assert [d.text for d in fake.delivered("lisi")] == ["超时但已送达", "retry"]  # a retry duplicates


def test_stall_undelivered(http, fake):
    token = work_token(http)
    fake.fail(1.0, kinds=["stall_undelivered"], stall_s=0.5)
    with pytest.raises(httpx.ReadTimeout):
        http.post("/work/cgi-bin/message/send", params={"access_token": token}, timeout=0.2,
                  json={"touser": "lisi", "msgtype": "text", "agentid": AGENT, "text": {"content": "x"}})
    assert fake.delivered() == []
    fake.fail(1.0, kinds=["stall_undelivered"], stall_s=0.05)
    assert work_send(http, token)["errcode"] == -1


# ------------------------------------------------------------------ down -----------------------


def test_down_503_and_back(http, fake):
    token = work_token(http)
    fake.down(True)
    assert fake.is_down
    r = http.post("/work/cgi-bin/message/send", params={"access_token": token}, json={})
    assert r.status_code == 503
    assert http.get("/mp/cgi-bin/token").status_code == 503
    assert http.get("/anything").status_code == 503
    assert fake.history()[-1].fault == "down"
    fake.down(False)
    assert work_send(http, token)["errcode"] == 0
    assert fake.calls("work.message.send") == 2


def test_down_refuse_needs_serve(fake):
    with pytest.raises(RuntimeError):
        fake.down(True, mode="refuse")
    assert not fake.is_down


def test_down_refuse_closes_the_port_and_reopens_it(fake):
    server = fake.serve()
    try:
        assert server.mp_base == server.url + "/mp" and server.work_base == server.url + "/work"
        assert server.env() == {"GRIDLINE_WECHAT_API_BASE": server.mp_base,
                                "GRIDLINE_WECOM_API_BASE": server.work_base}
        url = server.url
        assert robot(httpx.Client(base_url=url))["errcode"] == 0
        fake.down(True, mode="refuse")
        with pytest.raises(httpx.ConnectError):
            httpx.post(url + "/work/cgi-bin/webhook/send", params={"key": ROBOT}, timeout=2,
                       json={"msgtype": "text", "text": {"content": "x"}})
        fake.down(False)
        assert server.url == url
        with httpx.Client(base_url=url) as h:
            assert robot(h)["errcode"] == 0
        assert len(fake.delivered(ROBOT)) == 2
    finally:
        server.stop()


# ------------------------------------------------------------------ records --------------------


def test_delivered_order_filters_and_call_counts(http, fake, clock):
    mp, work = mp_token(http), work_token(http)
    custom(http, mp, content="one")
    clock.advance(seconds=1)
    work_send(http, work, touser="lisi|ZhangSan", content="two")
    clock.advance(seconds=1)
    robot(http, content="three")
    template(http, mp)
    custom(http, mp, touser="oUnknown")  # refused: counted, not delivered

    all_ = fake.delivered()
    assert [(d.recipient, d.text) for d in all_][:4] == [
        (OPENID, "one"), ("lisi", "two"), ("ZhangSan", "two"), (ROBOT, "three")]
    assert [d.at for d in all_][:4] == [all_[0].at, all_[0].at + timedelta(seconds=1),
                                        all_[0].at + timedelta(seconds=1), all_[0].at + timedelta(seconds=2)]
    assert [d.msgtype for d in fake.delivered(OPENID)] == ["text", "template"]
    assert [d.msgtype for d in fake.delivered(OPENID, api="mp.message.template.send")] == ["template"]
    assert fake.delivered("ZHANGSAN")[0].text == "two"
    assert set(fake.inboxes()) == {OPENID, "lisi", "ZhangSan", ROBOT}

    assert fake.calls() == {"mp.token": 1, "work.gettoken": 1, "mp.message.custom.send": 2,
                            "work.message.send": 1, "work.webhook.send": 1, "mp.message.template.send": 1}
    assert fake.calls("mp.message.custom.send") == 2 and fake.calls("work.appchat.send") == 0
    assert fake.total_calls() == 7
    assert set(fake.calls()) <= set(ENDPOINTS)
    assert [h.errcode for h in fake.history() if h.endpoint == "mp.message.custom.send"] == [0, 40003]
    assert fake.tokens_issued() == 2

    fake.reset_records()
    assert fake.delivered() == [] and fake.calls() == {} and fake.history() == []


def test_concurrent_senders(http, fake, server):
    token = work_token(http)
    users = [f"worker{i:03d}" for i in range(200)]
    fake.add_userid(*users)
    errors: list[int] = []

    def send(chunk):
        with httpx.Client(base_url=server.url, timeout=10) as h:
            for u in chunk:
                errors.append(work_send(h, token, touser=u, content=u)["errcode"])

    threads = [threading.Thread(target=send, args=(users[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [0] * 200
    assert sorted(d.recipient for d in fake.delivered()) == users
    assert all(d.text == d.recipient for d in fake.delivered())
    assert fake.calls("work.message.send") == 200


def test_register_from_settings(clock):
    from app.settings import Settings

    settings = Settings(_env_file=None, mp_app_id=APPID, mp_app_secret=SECRET, mp_template_id=TEMPLATE,
                        work_corp_id=CORPID, work_agent_id=str(AGENT), work_secret=WSECRET)
    f = FakeWeChat(clock).register_from_settings(settings, openids=[OPENID], userids=["lisi"])
    f.user_wrote(OPENID)
    s = f.serve()
    try:
        with httpx.Client(base_url=s.url) as h:
            assert custom(h, mp_token(h))["errcode"] == 0
            assert template(h, mp_token(h), data={"first": {"value": "x"}})["errcode"] == 0
            assert work_send(h, work_token(h), touser="lisi")["errcode"] == 0
    finally:
        s.stop()


def test_errmsg_suffix_can_be_switched_off(clock):
    f = FakeWeChat(clock, errmsg_suffix=False).add_mp_account(APPID, SECRET)
    s = f.serve()
    try:
        body = httpx.get(s.url + "/mp/cgi-bin/token", params={"grant_type": "client_credential", "appid": "x",
                                                              "secret": "y"}).json()
        assert body == {"errcode": 40013, "errmsg": "invalid appid"}
    finally:
        s.stop()
