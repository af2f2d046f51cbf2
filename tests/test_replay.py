"""Replays: plaintext mode only when allowed, and a seen (timestamp, nonce, signature) good for one body."""

from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from app.due import run_due
from app.main import ConfigError, create_app
from handlers.policy import Policy
from models import CallbackNonce, InboundRecord
from tests.conftest import make_settings
from tests.test_refusals import mp_plain, mp_safe, peer, work  # noqa: F401 - fixtures
from tests.wxclient import xml_doc


def test_plaintext_mode_is_off_unless_allowed(database_url):
    with pytest.raises(ConfigError, match="GRIDLINE_MP_ALLOW_PLAINTEXT"):
        create_app(make_settings(database_url, mp_token="tok"))
    assert "mp" in create_app(make_settings(database_url, mp_token="tok", mp_allow_plaintext=True)).state.channels


def stored(db) -> int:
    with db() as s:
        return s.scalar(select(func.count()).select_from(InboundRecord))


def test_a_seen_url_with_another_body_is_refused(peer, db):  # noqa: F811 - every mode
    query = peer.query() if peer.aes is None else None
    first = peer.message("u1", Content="你好")
    if peer.aes is None:
        body = xml_doc(first)
    else:
        body, encrypt = peer.seal(xml_doc(first))
        query = peer.query(encrypt)
    assert peer.post_raw(body, query).status_code == 200
    # WeChat resending the same request (no answer in time) is answered as the first was …
    assert peer.post_raw(body, query).status_code == 200
    assert stored(db) == 1
    # … but the same signed parameters with another body are a replay.
    forged = xml_doc(peer.message("u1", Content="我要上报：假消息"))
    if peer.aes is not None:
        forged, _ = peer.seal(forged)
    resp = peer.post_raw(forged, query)
    # (In safe mode msg_signature covers the body too: the signature check refuses it first.)
    assert resp.status_code == 403 and resp.text == ("replayed signature" if peer.aes is None else "bad signature")
    assert stored(db) == 1
    with db() as s:  # the cache is kept only where the signature leaves the body open
        assert s.scalar(select(func.count()).select_from(CallbackNonce)) == (1 if peer.aes is None else 0)


def test_url_verification_replayed_with_another_echo_is_refused(mp_plain):  # noqa: F811
    first = mp_plain.query(echostr="echo-1")
    assert httpx.get(mp_plain.url, params=first).text == "echo-1"
    assert httpx.get(mp_plain.url, params=first).status_code == 200  # the same again: harmless
    replayed = {**first, "echostr": "attacker-chosen"}
    assert httpx.get(mp_plain.url, params=replayed).status_code == 403


def test_nonces_are_forgotten_after_twice_the_age_window(mp_plain, db, database_url, clock):  # noqa: F811
    mp_plain.send(mp_plain.message("u1", Content="你好"))
    settings = make_settings(database_url, max_message_age_s=300)
    policy = Policy.load(None, ZoneInfo("Asia/Shanghai"))
    run_due(settings, db, clock, policy)
    with db() as s:
        assert s.scalar(select(func.count()).select_from(CallbackNonce)) == 1
    clock.advance(seconds=601)
    run_due(settings, db, clock, policy)
    with db() as s:
        assert s.scalar(select(func.count()).select_from(CallbackNonce)) == 0

