"""The two WeChat channel adapters: verify, decrypt and parse a callback; render the reply.

An adapter turns a callback (query + body) into an InboundMessage and a Replier that
knows how that message must be answered (XML or JSON, plain or encrypted).
"""

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from wechatpy.replies import TextReply

from models.clock import Clock
from bot.inbound import InboundMessage
from bot.refusals import Forbidden, Malformed
from bot.wire import clean, decode, read_fields, to_inbound
from bot.wirecrypto import Envelope, check_signature, sign


@dataclass
class Replier:
    msg: InboundMessage
    timestamp: int
    envelope: Envelope | None
    token: str
    as_json: bool
    empty: str  # what "no reply" looks like on this channel

    def render(self, text: str | None) -> tuple[str, str]:
        """(body, media type) answering the message with `text`, or with nothing."""
        if text is None:
            return self.empty, "text/plain"
        to_account = self.msg.raw["ToUserName"]
        if self.as_json:
            body = json.dumps(
                {"ToUserName": self.msg.sender, "FromUserName": to_account, "CreateTime": self.timestamp,
                 "MsgType": "text", "Content": text},
                ensure_ascii=False,
            )
        else:
            # wechatpy writes CDATA unescaped; split any "]]>" so text cannot end the section.
            safe = text.replace("]]>", "]]]]><![CDATA[>")
            body = TextReply(source=to_account, target=self.msg.sender, content=safe, time=self.timestamp).render()
        if self.envelope is None:
            return body, "application/json" if self.as_json else "application/xml"
        return self._seal(body)

    def _seal(self, body: str) -> tuple[str, str]:
        encrypt = self.envelope.encrypt(body)
        nonce = str(secrets.randbelow(10**10))
        ts = str(self.timestamp)
        signature = sign(self.token, ts, nonce, encrypt)
        if self.as_json:
            sealed = {"Encrypt": encrypt, "MsgSignature": signature, "TimeStamp": self.timestamp, "Nonce": nonce}
            return json.dumps(sealed), "application/json"
        return (
            f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt><MsgSignature><![CDATA[{signature}]]></MsgSignature>"
            f"<TimeStamp>{ts}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        ), "application/xml"


class Channel:
    """What both adapters share: the token, the optional AES envelope, the age check."""

    name: str
    enterprise: bool
    empty_reply: str

    def __init__(self, token: str, envelope: Envelope | None, clock: Clock, max_age_s: int):
        self.token = token
        self.envelope = envelope
        self.clock = clock
        self.max_age_s = max_age_s

    def _timestamp(self, query: Mapping[str, str]) -> tuple[str, str]:
        ts, nonce = query.get("timestamp"), query.get("nonce")
        if not ts or nonce is None:
            raise Forbidden("missing timestamp or nonce")
        if self.max_age_s:
            try:
                age = abs(self.clock.now().timestamp() - int(ts))
            except ValueError:
                raise Forbidden("bad timestamp") from None
            if age > self.max_age_s:
                raise Forbidden("timestamp out of range")
        return ts, nonce

    def _open_sealed(self, query: Mapping[str, str], outer: dict[str, str], ts: str, nonce: str) -> str:
        encrypt = outer.get("Encrypt")
        check_signature(query.get("msg_signature"), self.token, ts, nonce, encrypt or "")
        if not encrypt:
            raise Malformed("missing Encrypt")
        return clean(self.envelope.decrypt(encrypt))

    def _message(self, plain: str, as_json: bool) -> tuple[InboundMessage, Replier]:
        msg = to_inbound(read_fields(plain), channel=self.name, enterprise=self.enterprise)
        timestamp = int(self.clock.now().timestamp())
        replier = Replier(msg, timestamp, self.envelope, self.token, as_json, self.empty_reply)
        return msg, replier


class OfficialAccount(Channel):
    """微信公众号: plaintext mode, or safe mode (AES) when an EncodingAESKey is set."""

    name = "mp"
    enterprise = False
    empty_reply = "success"

    def verify_url(self, query: Mapping[str, str]) -> str:
        ts, nonce = self._timestamp(query)
        check_signature(query.get("signature"), self.token, ts, nonce)
        return query.get("echostr", "")

    def open(self, query: Mapping[str, str], body: bytes) -> tuple[InboundMessage, Replier]:
        ts, nonce = self._timestamp(query)
        if self.envelope is None:
            check_signature(query.get("signature"), self.token, ts, nonce)
        text = decode(body)
        as_json = text.lstrip().startswith("{")
        if self.envelope is not None:
            # Safe mode signs the payload with msg_signature; the URL signature is checked too when sent.
            if query.get("signature"):
                check_signature(query["signature"], self.token, ts, nonce)
            text = self._open_sealed(query, read_fields(text), ts, nonce)
        return self._message(text, as_json)


class WeComApp(Channel):
    """企业微信自建应用: always AES, signed with msg_signature."""

    name = "work"
    enterprise = True
    empty_reply = ""

    def verify_url(self, query: Mapping[str, str]) -> str:
        ts, nonce = self._timestamp(query)
        echostr = query.get("echostr", "")
        check_signature(query.get("msg_signature"), self.token, ts, nonce, echostr)
        return self.envelope.decrypt(echostr)

    def open(self, query: Mapping[str, str], body: bytes) -> tuple[InboundMessage, Replier]:
        ts, nonce = self._timestamp(query)
        plain = self._open_sealed(query, read_fields(decode(body)), ts, nonce)
        return self._message(plain, as_json=False)
