"""No secret, token, webhook key or tip-off text in any log line (DESIGN: Operations).

All logs of a full delivery pass (WeCom app, app group chat, Official Account, group robot, with a token
refresh and failures) and of a failing chat handler are captured as production writes them — every
logger at DEBUG through app/logs.py's one root handler — and searched for each secret.
"""

import io
import logging
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select, text

from app import logs
from app.db import make_engine, session_factory
from app.due import run_due
from app.sandbox import FakeWeChat
from handlers.policy import Policy
from models import AccessToken, OutboxMessage
from tests.conftest import T0, make_settings
from tests.wxclient import Aes, Peer

CORP, AGENT, WORK_SECRET = "wwlogtest0001", "1000002", "work-secret-9f8e7d6c5b4a"
APPID, MP_SECRET = "wxlogtest0001", "mp-secret-1a2b3c4d5e6f"
ROBOT_KEY, CHAT_ID = "robot-key-7c1e2f3a-4b5c", "appchat-xicha-01"
CALLBACK_TOKEN, AES_KEY, ADMIN = "cb-token-5e6f7a8b", "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", "admin-token-0c9d8e7f"
TIPOFF = "王会计挪用了低保金三万元据说转给了他小舅子"


@pytest.fixture
def captured():
    """Logging as production sets it up, into a buffer; the test's own handlers put back afterwards."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    access = logging.getLogger("uvicorn.access").disabled
    stream = io.StringIO()
    logs.configure("DEBUG", stream)
    yield stream
    root.handlers[:] = saved
    root.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = access


def secrets_in(log: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s and s in log]


def test_a_full_delivery_pass_logs_no_secret(captured, db, database_url, clock):
    fake = FakeWeChat(clock)
    fake.add_work_app(CORP, WORK_SECRET, AGENT).add_userid("u-one", "u-two")
    fake.add_mp_account(APPID, MP_SECRET).add_openid("o-one", last_message_at=clock.now())
    fake.add_robot(ROBOT_KEY).add_appchat(CHAT_ID, corpid=CORP)
    fake.fail(0.5, kinds=["http500", "errcode-1"], seed=3)  # retries and error logs too
    server = fake.serve()
    now = clock.now()
    rows = [("work", "u-one"), ("work", "u-two"), ("work", "u-gone"), ("mp", "o-one"), ("robot", ROBOT_KEY),
            ("robot", "robot-unknown-key-55aa"), ("appchat", CHAT_ID)]
    with db.begin() as s:
        for n, (channel, recipient) in enumerate(rows):
            s.add(OutboxMessage(idempotency_key=f"k{n}", channel=channel, account="", recipient=recipient,
                                body=f"通知{n}", created_at=now, next_attempt_at=now))
    settings = make_settings(database_url, log_level="DEBUG", work_corp_id=CORP, work_agent_id=AGENT,
                             work_secret=WORK_SECRET, mp_app_id=APPID, mp_app_secret=MP_SECRET,
                             mp_template_id="tpl-1", wechat_api_base=server.mp_base, wecom_api_base=server.work_base)
    logs.redact_values(s.get_secret_value() for s in settings.secrets())
    try:
        for _ in range(3):
            run_due(settings, db, clock, Policy.load(None, ZoneInfo(settings.timezone)))
            fake.invalidate_tokens()  # the next pass refreshes: a token request with the secret in its URL
            clock.advance(minutes=10)
    finally:
        server.stop()
    with db() as s:
        tokens = [t for t in s.scalars(select(AccessToken.token)) if t]
    assert tokens and fake.delivered()
    log = captured.getvalue()
    assert "HTTP Request" in log  # httpx did log every call …
    assert secrets_in(log, [WORK_SECRET, MP_SECRET, ROBOT_KEY, "robot-unknown-key-55aa", *tokens]) == []  # … blind


def test_a_failing_handler_logs_neither_the_tip_off_nor_sql_parameters(captured, serve, db):
    def failing(session, msg, now, lookups):
        if "SQL" in msg.text:  # a database error carrying the text as a parameter
            session.execute(text("INSERT INTO units (kind, name, parent_id) VALUES (:kind, :name, 999999)"),
                            {"kind": "village", "name": msg.text[:60]})
            session.flush()
        raise ValueError(f"cannot read {msg.text!r}")

    server = serve(handler=failing, work_token=CALLBACK_TOKEN, work_aes_key=AES_KEY, work_corp_id=CORP,
                   admin_token=ADMIN, log_level="DEBUG")
    peer = Peer(server.url, "work", CALLBACK_TOKEN, Aes(AES_KEY, CORP), account=CORP, timestamp=T0)
    for body in (TIPOFF, "SQL " + TIPOFF):
        resp = peer.send(peer.message("gw", Content=body))
        assert resp.status_code == 200
    httpx.get(server.url + "/api/cases", headers={"Authorization": f"Bearer {ADMIN}"})
    httpx.get(server.url + "/wechat/work", params={"timestamp": "1", "nonce": "n", "msg_signature": CALLBACK_TOKEN})
    log = captured.getvalue()
    assert "handler failed" in log and "ValueError" in log  # the failure is logged …
    assert secrets_in(log, [TIPOFF, TIPOFF[:12], CALLBACK_TOKEN, AES_KEY, ADMIN]) == []  # … without what it read


@pytest.mark.parametrize("line", [
    "GET http://x/cgi-bin/gettoken?corpid=ww1&corpsecret=S3CRET-VALUE HTTP/1.1",
    "POST /cgi-bin/webhook/send?key=S3CRET-VALUE",
    "(psycopg.errors.ForeignKeyViolation) ... [SQL: INSERT ...]\n[parameters: {'name': 'S3CRET-VALUE'}]",
    "DETAIL:  Key (name)=(S3CRET-VALUE) is not present",
])
def test_scrub(line):
    assert "S3CRET-VALUE" not in logs.scrub(line)


def test_the_engines_hide_sql_parameters(database_url):
    engine = make_engine(database_url)
    try:
        with session_factory(engine).begin() as s:
            s.execute(text("INSERT INTO units (kind, name, parent_id) VALUES ('village', :name, 999999)"),
                      {"name": TIPOFF})
    except Exception as exc:  # a foreign key violation
        assert TIPOFF not in str(exc)
    else:
        pytest.fail("the insert should have failed")
    finally:
        engine.dispose()



def test_a_logger_with_its_own_handler_is_redacted_too(captured):
    own = io.StringIO()
    logger = logging.getLogger("thirdparty.standalone")
    logger.propagate, logger.handlers[:] = False, [logging.StreamHandler(own)]
    logs.configure("DEBUG", captured)
    logger.warning("GET https://api.example/cgi-bin/gettoken?corpsecret=S3CRET-VALUE")
    assert "S3CRET-VALUE" not in own.getvalue() and "gettoken?***" in own.getvalue()
