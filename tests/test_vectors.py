"""The official crypto vectors, through the real endpoints over HTTP and through our envelope."""

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from handlers import texts
from bot.wirecrypto import Envelope
from models import InboundRecord
from tests.wxclient import Aes, Peer, read_xml, sign, xml_doc

VECTORS = json.loads((Path(__file__).parents[2] / "shared/vectors/wechat-crypto.json").read_text())["vectors"]


def vectors(**match):
    # Reply-direction vectors are checked by test_envelope_reproduces_every_ciphertext.
    chosen = [v for v in VECTORS if all(v[k] == want for k, want in match.items()) and "reply" not in v["name"]]
    assert chosen, match
    return pytest.mark.parametrize("vector", chosen, ids=[v["name"] for v in chosen])


def work_server(serve, v):
    return serve(work_token=v["token"], work_aes_key=v["aes_key"], work_corp_id=v["receive_id"])


@vectors(platform="wecom", kind="echostr")
def test_wecom_url_verification(serve, vector):
    server = work_server(serve, vector)
    resp = server_get(server, "/wechat/work", msg_signature=vector["msg_signature"], timestamp=vector["timestamp"],
                      nonce=vector["nonce"], echostr=vector["encrypt"])
    assert resp.status_code == 200
    assert resp.text == vector["plaintext"]


def server_get(server, path, **params):
    import httpx

    return httpx.get(server.url + path, params=params, timeout=30)


@vectors(platform="wecom", kind="xml")
def test_wecom_message(serve, db, vector):
    server = work_server(serve, vector)
    inner = read_xml(vector["plaintext"])
    body = xml_doc({"ToUserName": vector["receive_id"], "Encrypt": vector["encrypt"], "AgentID": inner["AgentID"]})
    peer = Peer(server.url, "work", vector["token"], Aes(vector["aes_key"], vector["receive_id"]),
                account=vector["receive_id"])
    resp = peer.post_raw(body, {"msg_signature": vector["msg_signature"], "timestamp": vector["timestamp"],
                                "nonce": vector["nonce"]})
    reply = peer.open_reply(resp)
    assert reply["ToUserName"] == inner["FromUserName"]
    assert reply["FromUserName"] == vector["receive_id"]
    assert reply["MsgType"] == "text" and reply["Content"] == texts.UNKNOWN_WECOM  # not in the roster
    with db() as s:
        record = s.scalars(select(InboundRecord)).one()
    assert record.dedupe_key == inner["MsgId"]
    assert record.sender == inner["FromUserName"]
    assert record.payload["Content"] == inner["Content"]


@vectors(name="mp-docs-url-verification")
def test_mp_url_verification(serve, vector):
    server = serve(mp_token=vector["token"], mp_allow_plaintext=True)
    resp = server_get(server, "/wechat/mp", signature=vector["signature"], timestamp=vector["timestamp"],
                      nonce=vector["nonce"], echostr=vector["echostr"])
    assert resp.status_code == 200
    assert resp.text == vector["echostr"]


@vectors(name="mp-docs-plaintext-post")
def test_mp_plaintext_post(serve, vector):
    server = serve(mp_token=vector["token"], mp_allow_plaintext=True)
    peer = Peer(server.url, "mp", vector["token"], timestamp=int(vector["timestamp"]), nonce=vector["nonce"])
    query = {"signature": vector["signature"], "timestamp": vector["timestamp"], "nonce": vector["nonce"]}
    assert peer.query() == query  # our peer signs as the published vector does
    reply = peer.open_reply(peer.post_raw(xml_doc(peer.message("o-user-1", Content="你好")), query))
    assert reply["ToUserName"] == "o-user-1" and reply["Content"] == texts.UNKNOWN_SENDER


@vectors(name="mp-sample-compat-message-xml")
def test_mp_compat_mode(serve, db, vector):
    server = serve(mp_token=vector["token"], mp_aes_key=vector["aes_key"], mp_app_id=vector["receive_id"])
    peer = Peer(server.url, "mp", vector["token"], Aes(vector["aes_key"], vector["receive_id"]))
    resp = peer.post_raw(vector["envelope"], {"msg_signature": vector["msg_signature"],
                                              "timestamp": vector["timestamp"], "nonce": vector["nonce"]})
    reply = peer.open_reply(resp)
    assert reply["ToUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    with db() as s:
        assert s.scalars(select(InboundRecord.dedupe_key)).all() == ["6054768590064713728"]


@vectors(name="mp-docs-safe-mode-json")
def test_mp_safe_mode_json(serve, db, vector):
    server = serve(mp_token=vector["token"], mp_aes_key=vector["aes_key"], mp_app_id=vector["receive_id"])
    peer = Peer(server.url, "mp", vector["token"], Aes(vector["aes_key"], vector["receive_id"]))
    body = json.dumps({"ToUserName": "gh_97417a04a28d", "Encrypt": vector["encrypt"]})
    resp = peer.post_raw(body, {"signature": vector["signature"], "msg_signature": vector["msg_signature"],
                                "timestamp": vector["timestamp"], "nonce": vector["nonce"]})
    assert resp.status_code == 200
    assert resp.text == "success"  # an event Gridline has nothing to say to
    with db() as s:
        record = s.scalars(select(InboundRecord)).one()
    assert record.kind == "debug_demo" and record.payload["debug_str"] == "hello world"


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["random_hex"]], ids=lambda v: v["name"])
def test_envelope_reproduces_every_ciphertext(vector):
    """Encrypting the plaintext with the vector's random prefix gives its ciphertext byte for byte."""
    random16 = bytes.fromhex(vector["random_hex"])
    envelope = Envelope(vector["aes_key"], vector["receive_id"], enterprise=vector["platform"] == "wecom")
    assert envelope.encrypt(vector["plaintext"], random16) == vector["encrypt"]
    assert envelope.decrypt(vector["encrypt"]) == vector["plaintext"]
    # and the independent test peer agrees, so it can be trusted to judge the server
    aes = Aes(vector["aes_key"], vector["receive_id"])
    assert aes.encrypt(vector["plaintext"], random16) == vector["encrypt"]
    assert aes.decrypt(vector["encrypt"]) == (vector["plaintext"], vector["receive_id"])


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["msg_signature"]], ids=lambda v: v["name"])
def test_peer_signs_like_wechat(vector):
    assert sign(vector["token"], vector["timestamp"] or "", vector["nonce"] or "", vector["encrypt"]) == vector[
        "msg_signature"]
