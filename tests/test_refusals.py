"""Every bad input is refused with the right status, and nothing of it is stored."""

import base64
import struct

import httpx
import pytest
from sqlalchemy import func, select

from handlers import texts
from models import InboundRecord
from tests.conftest import T0
from tests.wxclient import Aes, Peer, xml_doc

TOKEN = "gridline-token"
MP_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
MP_APPID = "wx2c2769f8efd9abc2"
WORK_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP = "ww1436e0e65a779aee"


@pytest.fixture
def work(serve):
    server = serve(work_token=TOKEN, work_aes_key=WORK_KEY, work_corp_id=CORP, max_message_age_s=300)
    return Peer(server.url, "work", TOKEN, Aes(WORK_KEY, CORP), account=CORP, timestamp=T0)


@pytest.fixture
def mp_safe(serve):
    server = serve(mp_token=TOKEN, mp_aes_key=MP_KEY, mp_app_id=MP_APPID, max_message_age_s=300)
    return Peer(server.url, "mp", TOKEN, Aes(MP_KEY, MP_APPID), timestamp=T0)


@pytest.fixture
def mp_plain(serve):
    server = serve(mp_token=TOKEN, mp_allow_plaintext=True, max_message_age_s=300)
    return Peer(server.url, "mp", TOKEN, timestamp=T0)


@pytest.fixture(params=["work", "mp_safe", "mp_plain"])
def peer(request, database_url):
    return request.getfixturevalue(request.param)


@pytest.fixture(params=["work", "mp_safe"])
def sealed(request, database_url):
    return request.getfixturevalue(request.param)


def stored(db) -> int:
    with db() as s:
        return s.scalar(select(func.count()).select_from(InboundRecord))


def text_msg(peer: Peer) -> str:
    return xml_doc(peer.message("u1", Content="有情况"))


def post_sealed(peer: Peer, inner: str | None = None, *, encrypt: str | None = None, **query) -> httpx.Response:
    """Post a safe-mode envelope whose msg_signature is valid for whatever Encrypt it carries."""
    if encrypt is None:
        encrypt = peer.aes.encrypt(inner)
    outer = {"ToUserName": peer.account, "Encrypt": encrypt}
    return peer.post_raw(xml_doc(outer), {**peer.query(encrypt), **query})


# -- 403: signatures and time ------------------------------------------------------------

def test_good_message_is_answered(peer, db):
    assert peer.open_reply(peer.send(peer.message("u1", Content="你好")))["Content"]
    assert stored(db) == 1


@pytest.mark.parametrize("mode, param", [
    (mode, param) for mode in ("work", "mp_safe", "mp_plain")
    for param in {"work": ("msg_signature", "timestamp", "nonce"),
                  "mp_safe": ("msg_signature", "timestamp", "nonce"),
                  "mp_plain": ("signature", "timestamp", "nonce")}[mode]
])
def test_missing_signature_parameter(request, database_url, db, mode, param):
    peer = request.getfixturevalue(mode)
    body, encrypt = (peer.seal(text_msg(peer)) if peer.aes else (text_msg(peer), None))
    query = peer.query(encrypt)
    del query[param]
    assert peer.post_raw(body, query).status_code == 403
    assert stored(db) == 0


def test_safe_mode_url_signature_is_optional(mp_safe, db):
    """msg_signature authenticates a safe-mode payload; WeChat's own compatible-mode sample sends no
    URL signature, so its absence is accepted — but a wrong one is not."""
    body, encrypt = mp_safe.seal(text_msg(mp_safe))
    query = mp_safe.query(encrypt)
    del query["signature"]
    assert mp_safe.post_raw(body, query).status_code == 200
    query["signature"] = "0" * 40
    assert mp_safe.post_raw(body, query).status_code == 403


def test_wrong_signature(peer, db):
    body, encrypt = (peer.seal(text_msg(peer)) if peer.aes else (text_msg(peer), None))
    query = peer.query(encrypt)
    key = "msg_signature" if peer.aes else "signature"
    query[key] = query[key][:-1] + ("0" if query[key][-1] != "0" else "1")
    assert peer.post_raw(body, query).status_code == 403
    assert stored(db) == 0


def test_signature_over_other_payload(sealed, db):
    body, _ = sealed.seal(text_msg(sealed))
    other = sealed.aes.encrypt("<xml/>")
    assert sealed.post_raw(body, sealed.query(other)).status_code == 403
    assert stored(db) == 0


@pytest.mark.parametrize("skew", [-301, 301, -10**6])
def test_timestamp_out_of_range(peer, db, skew):
    peer.timestamp = T0 + skew
    assert peer.send(peer.message("u1", Content="x")).status_code == 403
    assert stored(db) == 0


def test_timestamp_just_in_range(peer, db):
    peer.timestamp = T0 - 299
    assert peer.send(peer.message("u1", Content="x")).status_code == 200


def test_url_verification_checks_age_and_signature(peer):
    echostr = peer.aes.encrypt("echo-123") if peer.channel == "work" else "echo-123"
    assert peer.verify(echostr).text == "echo-123"
    peer.timestamp = T0 - 1000
    assert peer.verify(echostr).status_code == 403
    peer.timestamp = T0
    bad = {"msg_signature": "0" * 40} if peer.channel == "work" else {"signature": "0" * 40}
    assert peer.verify(echostr, **bad).status_code == 403


def test_non_numeric_timestamp(peer):
    q = peer.query(timestamp="soon")
    assert peer.post_raw(text_msg(peer), q).status_code == 403


def test_unconfigured_channel_is_404(serve):
    server = serve()  # no credentials at all
    assert httpx.post(server.url + "/wechat/mp", content=b"<xml/>").status_code == 404
    assert httpx.get(server.url + "/wechat/work").status_code == 404


# -- 413 ---------------------------------------------------------------------------------

def test_body_over_64k(peer, db):
    doc = peer.message("u1", Content="长" * 30000)  # 90 000 bytes of UTF-8
    assert peer.send(doc).status_code == 413
    assert stored(db) == 0


def test_body_over_64k_without_content_length(peer, db):
    def chunks():
        for _ in range(70):
            yield b"x" * 1024

    resp = httpx.post(peer.url, params=peer.query(), content=chunks(), timeout=30)
    assert resp.status_code == 413
    assert stored(db) == 0


# -- 400: malformed ----------------------------------------------------------------------

MALFORMED_XML = {
    "not xml": "hello",
    "truncated": "<xml><ToUserName><![CDATA[x]]></ToUserName><Encrypt>",
    "other root": "<html><body/></html>",
    "dtd": '<!DOCTYPE xml [<!ELEMENT xml ANY>]><xml><MsgType>text</MsgType></xml>',
    "entity": '<!DOCTYPE xml [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>',
    "billion laughs": ('<!DOCTYPE xml [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                       '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><Content>&c;</Content></xml>'),
    "external entity": '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Content>&x;</Content></xml>',
    "control character": "<xml><Content>a\x01b</Content></xml>",
    "duplicate field": "<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>",
    "json array": "[1, 2]",
    "broken json": '{"Encrypt": ',
}


@pytest.mark.parametrize("body", MALFORMED_XML.values(), ids=MALFORMED_XML.keys())
def test_malformed_envelope(peer, db, body):
    # Sign whatever Encrypt the body may hold, so only the malformation is wrong.
    query = peer.query("a" if "<Encrypt>a" in body else "") if peer.aes else peer.query()
    assert peer.post_raw(body, query).status_code in (400, 403)
    if peer.aes is None or "Encrypt" in body:
        assert peer.post_raw(body, query).status_code == 400
    assert stored(db) == 0


def test_invalid_utf8(peer, db):
    body = text_msg(peer).encode().replace("有情况".encode(), b"\xff\xfe\xfd")
    if peer.aes is None:
        assert peer.post_raw(body, peer.query()).status_code == 400
    else:
        assert peer.post_raw(b"<xml>\xff</xml>", peer.query("")).status_code == 400
        # invalid UTF-8 inside the encrypted payload too
        data = b"0123456789abcdef" + struct.pack(">I", 3) + b"\xff\xfe\xfd" + peer.aes.receive_id.encode()
        data += bytes([32 - len(data) % 32]) * (32 - len(data) % 32)
        assert post_sealed(peer, encrypt=peer.aes.encrypt_raw(data)).status_code == 400
    assert stored(db) == 0


@pytest.mark.parametrize("inner", [
    "<xml><Content>a\x02b</Content></xml>",
    '<!DOCTYPE xml [<!ENTITY a "x">]><xml><Content>&a;</Content></xml>',
    "<xml><MsgType>text</MsgType>",
    "<xml><MsgType>text</MsgType><FromUserName>u</FromUserName></xml>",  # fields missing
], ids=["control char", "entity", "truncated", "missing fields"])
def test_malformed_inside_the_envelope(sealed, db, inner):
    assert post_sealed(sealed, inner).status_code == 400
    assert stored(db) == 0


@pytest.mark.parametrize("encrypt", [
    "not base64!!",
    "YWJj",  # valid base64, 3 bytes: not whole AES blocks
    base64.b64encode(b"x" * 40).decode(),  # 40 bytes: not whole blocks
    "QUJDREVGR0hJSktMTU5PUA",  # missing padding '='
], ids=["junk", "short", "not blocks", "unpadded"])
def test_bad_base64(sealed, db, encrypt):
    assert post_sealed(sealed, encrypt=encrypt).status_code == 400
    assert stored(db) == 0


def test_truncated_ciphertext(sealed, db):
    encrypt = sealed.aes.encrypt(text_msg(sealed))
    raw = base64.b64decode(encrypt)
    assert post_sealed(sealed, encrypt=base64.b64encode(raw[:-16]).decode()).status_code == 400
    assert stored(db) == 0


def test_bad_padding(sealed, db):
    data = b"0123456789abcdef" + struct.pack(">I", 6) + b"<xml/>" + sealed.aes.receive_id.encode()
    data += b"\x00" * (32 - len(data) % 32)  # zero is never a valid PKCS#7 pad
    assert post_sealed(sealed, encrypt=sealed.aes.encrypt_raw(data)).status_code == 400


def test_length_prefix_beyond_payload(sealed, db):
    data = b"0123456789abcdef" + struct.pack(">I", 10_000) + b"<xml/>"
    data += bytes([32 - len(data) % 32]) * (32 - len(data) % 32)
    assert post_sealed(sealed, encrypt=sealed.aes.encrypt_raw(data)).status_code == 400


def test_payload_for_another_account(sealed, db):
    encrypt = sealed.aes.encrypt(text_msg(sealed), receive_id="wx0000000000000000")
    resp = post_sealed(sealed, encrypt=encrypt)
    assert resp.status_code == 400
    assert "another account" in resp.text
    assert stored(db) == 0


def test_plaintext_sent_to_safe_mode(mp_safe, db):
    """Safe mode takes nothing unencrypted, even correctly signed."""
    assert mp_safe.post_raw(text_msg(mp_safe), mp_safe.query("")).status_code == 400
    assert stored(db) == 0


@pytest.mark.parametrize("fields", [
    {"CreateTime": "yesterday"},
    {"MsgId": "abc"},
    {"MsgId": ""},
    {"FromUserName": "u" * 200},
    {"Location_X": "north"},
], ids=["time", "msgid", "no msgid", "long sender", "location"])
def test_bad_field_values(peer, db, fields):
    msg_type = "location" if "Location_X" in fields else "text"
    doc = peer.message("u1", msg_type, Content="x", Location_Y="1", Label="", Scale="1")
    doc.update(fields)
    assert peer.send(doc).status_code == 400
    assert stored(db) == 0


# -- benign ------------------------------------------------------------------------------

def test_unknown_message_type_gets_a_benign_reply(peer, db):
    reply = peer.open_reply(peer.send(peer.message("u1", "hologram", Content="?")))
    assert reply["Content"] in (texts.UNKNOWN_SENDER, texts.UNKNOWN_WECOM)  # a stranger: how to get access
    assert stored(db) == 1


def test_refusals_are_logged_without_secrets(work, caplog):
    caplog.set_level("INFO")
    work.post_raw("<xml>", work.query(""))
    refusal = [r for r in caplog.records if getattr(r, "reason", None) == "malformed xml"]
    assert refusal and refusal[0].status == 400
    text = "\n".join(str(vars(r)) for r in caplog.records)
    assert TOKEN not in text and WORK_KEY not in text
