"""An independent WeChat peer for tests, written from the protocol description alone.

It plays WeChat's servers: signs, encrypts and posts callbacks, and checks and opens
Gridline's replies. It uses `cryptography` directly, never wechatpy, so a bug shared
by wechatpy and Gridline cannot hide here.
"""

import base64
import hashlib
import json
import secrets
import os
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


# One client for every request the tests make: building an httpx client loads the CA bundle (~20 ms of
# CPU, more than the request), and one per message was most of a blind set's time. No keep-alive: each
# request still opens its own connection, as before, and none can meet a server closing an idle one.
HTTP = httpx.Client(timeout=30, limits=httpx.Limits(max_keepalive_connections=0))


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


class Aes:
    """key = b64decode(EncodingAESKey + '='); AES-256-CBC, IV = key[:16]; PKCS#7 to 32 bytes."""

    def __init__(self, encoding_aes_key: str, receive_id: str):
        self.key = base64.b64decode(encoding_aes_key + "=")
        self.receive_id = receive_id

    def encrypt(self, plaintext: str, random16: bytes | None = None, receive_id: str | None = None) -> str:
        msg = plaintext.encode()
        rid = (self.receive_id if receive_id is None else receive_id).encode()
        data = (random16 or os.urandom(16)) + struct.pack(">I", len(msg)) + msg + rid
        pad = 32 - len(data) % 32
        data += bytes([pad]) * pad
        enc = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(enc.update(data) + enc.finalize()).decode()

    def encrypt_raw(self, data: bytes) -> str:
        """Encrypt bytes exactly as given (no layout, no padding): for malformed payloads."""
        enc = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(enc.update(data) + enc.finalize()).decode()

    def decrypt(self, encrypt: str) -> tuple[str, str]:
        dec = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        data = dec.update(base64.b64decode(encrypt)) + dec.finalize()
        data = data[: -data[-1]]
        (length,) = struct.unpack(">I", data[16:20])
        return data[20 : 20 + length].decode(), data[20 + length :].decode()


def xml_doc(fields: dict) -> str:
    parts = []
    for k, v in fields.items():
        parts.append(f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}><![CDATA[{v}]]></{k}>")
    return "<xml>" + "".join(parts) + "</xml>"


def read_xml(text: str) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ET.fromstring(text)}


@dataclass
class Peer:
    """WeChat (mp) or WeCom (work) talking to one Gridline endpoint."""

    base_url: str
    channel: str  # "mp" or "work"
    token: str
    aes: Aes | None = None
    account: str = "gh_gridline"  # ToUserName: MP original id, or the CorpId
    agent_id: str = "1000002"
    timestamp: int = 1_700_000_000
    nonce: str | None = None  # None: a fresh nonce for each request, as WeChat sends
    _msg_id: int = field(default=1_000_000, repr=False)

    @property
    def url(self) -> str:
        return f"{self.base_url}/wechat/{self.channel}"

    # -- building messages ------------------------------------------------------------
    def message(self, sender: str, msg_type: str = "text", msg_id: int | None = None, **fields) -> dict:
        if msg_id is None:
            self._msg_id += 1
            msg_id = self._msg_id
        doc = {"ToUserName": self.account, "FromUserName": sender, "CreateTime": self.timestamp,
               "MsgType": msg_type, **fields, "MsgId": msg_id}
        if self.channel == "work":
            doc["AgentID"] = int(self.agent_id)
        return doc

    def event(self, sender: str, event: str, create_time: int | None = None, **fields) -> dict:
        doc = {"ToUserName": self.account, "FromUserName": sender, "CreateTime": create_time or self.timestamp,
               "MsgType": "event", "Event": event, **fields}
        if self.channel == "work":
            doc["AgentID"] = int(self.agent_id)
        return doc

    # -- sending ----------------------------------------------------------------------
    def query(self, encrypt: str | None = None, *, timestamp: int | None = None, **extra) -> dict:
        ts = str(self.timestamp if timestamp is None else timestamp)
        nonce = self.nonce or str(secrets.randbelow(10**10))
        q = {"timestamp": ts, "nonce": nonce}
        if self.channel == "mp":
            q["signature"] = sign(self.token, ts, nonce)
        if encrypt is not None:
            q["msg_signature"] = sign(self.token, ts, nonce, encrypt)
        q.update(extra)
        return {k: v for k, v in q.items() if v is not None}

    def seal(self, inner: str, *, as_json: bool = False) -> tuple[str, str]:
        """(body, Encrypt) of a safe-mode envelope around `inner`."""
        encrypt = self.aes.encrypt(inner)
        if as_json:
            return json.dumps({"ToUserName": self.account, "Encrypt": encrypt}), encrypt
        outer = {"ToUserName": self.account, "Encrypt": encrypt}
        if self.channel == "work":
            outer["AgentID"] = self.agent_id
        return xml_doc(outer), encrypt

    def post_raw(self, body: bytes | str, query: dict, client: httpx.Client | None = None) -> httpx.Response:
        data = body.encode() if isinstance(body, str) else body
        url = f"{self.url}?{urlencode(query)}"
        if client is not None:
            return client.post(url, content=data)
        return HTTP.post(url, content=data)

    def send(self, doc: dict, client: httpx.Client | None = None) -> httpx.Response:
        """Post one message as WeChat would in the endpoint's mode."""
        inner = xml_doc(doc)
        if self.aes is None:
            return self.post_raw(inner, self.query(), client)
        body, encrypt = self.seal(inner)
        return self.post_raw(body, self.query(encrypt), client)

    def verify(self, echostr: str, **override) -> httpx.Response:
        if self.channel == "work":
            q = self.query(echostr, echostr=echostr)
            q.pop("signature", None)
        else:
            q = self.query(echostr=echostr)
        q.update(override)
        return HTTP.get(self.url, params=q)

    # -- reading replies ----------------------------------------------------------------
    def open_reply(self, resp: httpx.Response) -> dict[str, str] | None:
        """The reply's fields after checking its signature; None for an empty answer."""
        assert resp.status_code == 200, (resp.status_code, resp.text)
        if resp.text in ("", "success"):
            return None
        as_json = resp.text.lstrip().startswith("{")
        if self.aes is None:
            return json.loads(resp.text) if as_json else read_xml(resp.text)
        env = json.loads(resp.text) if as_json else read_xml(resp.text)
        expected = sign(self.token, str(env["TimeStamp"]), str(env["Nonce"]), env["Encrypt"])
        assert env["MsgSignature"] == expected, "reply signature does not verify"
        inner, receive_id = self.aes.decrypt(env["Encrypt"])
        assert receive_id == self.aes.receive_id
        return json.loads(inner) if as_json else read_xml(inner)
