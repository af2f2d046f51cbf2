"""WeChat's side of a callback: what WeChat's servers do when a person writes to an account.

``Callbacks`` builds the message WeChat forwards (text, location, menu click), encrypts it for the
account in safe mode, signs it, POSTs it to the account's callback URL over HTTP, and opens the
passive reply (signature checked, then decrypted). The Official Account's callback also carries the
URL ``signature``, ``openid`` and ``encrypt_type=aes``, as WeChat sends them. wechatpy does the
AES and SHA-1, as in WeChat's own SDK samples.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import httpx
from defusedxml.ElementTree import fromstring
from wechatpy.crypto import PrpCrypto as MpPrpCrypto
from wechatpy.crypto import WeChatCrypto as MpCrypto
from wechatpy.enterprise.crypto import PrpCrypto as WorkPrpCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto
from wechatpy.utils import WeChatSigner

WAIT_S = 5  # WeChat gives up on a callback after 5 seconds


class CallbackFailed(Exception):
    """The account's server refused the callback or did not answer in time."""

    def __init__(self, status: int | None):
        super().__init__(f"callback answered {status}" if status else "callback timed out")
        self.status = status


@dataclass(frozen=True)
class Account:
    """One callback endpoint as WeChat knows it: the account's token, AES key and ids."""

    channel: str  # "mp" (Official Account) or "work" (WeCom app)
    token: str
    aes_key: str
    receive_id: str  # the AppId (MP) or CorpId (WeCom) sealed into every payload
    to_user: str  # ToUserName: the MP's original id (gh_…) or the CorpId
    agent_id: str = ""  # WeCom only


def _field(name: str, value: str | int) -> str:
    if isinstance(value, int):
        return f"<{name}>{value}</{name}>"
    # "]]>" would end the section: split it across two, as WeChat's own encoder does.
    return f"<{name}><![CDATA[{value.replace(']]>', ']]]]><![CDATA[>')}]]></{name}>"


def _document(fields: dict[str, str | int]) -> str:
    return "<xml>" + "".join(_field(k, v) for k, v in fields.items()) + "</xml>"


class Callbacks:
    """Messages from people to one account, delivered as WeChat delivers them."""

    def __init__(self, account: Account, callback_path: str):
        self.account = account
        self.path = callback_path
        enterprise = account.channel == "work"
        self._prp = (WorkPrpCrypto if enterprise else MpPrpCrypto)
        self._crypto = (WorkCrypto if enterprise else MpCrypto)(account.token, account.aes_key, account.receive_id)

    # -- what the person did -----------------------------------------------------------
    def text(self, sender: str, at: datetime, msg_id: int, content: str) -> str:
        return self._message(sender, at, "text", {"Content": content, "MsgId": msg_id})

    def location(self, sender: str, at: datetime, msg_id: int, latitude: float, longitude: float,
                 label: str) -> str:
        return self._message(sender, at, "location", {
            "Location_X": str(latitude), "Location_Y": str(longitude), "Scale": 15, "Label": label,
            "MsgId": msg_id})

    def click(self, sender: str, at: datetime, key: str) -> str:
        """A menu click: an event, so no MsgId (Gridline dedupes it by sender and time)."""
        return self._message(sender, at, "event", {"Event": "CLICK", "EventKey": key})

    def _message(self, sender: str, at: datetime, msg_type: str, fields: dict[str, str | int]) -> str:
        doc = {"ToUserName": self.account.to_user, "FromUserName": sender, "CreateTime": int(at.timestamp()),
               "MsgType": msg_type, **fields}
        if self.account.agent_id:
            doc["AgentID"] = int(self.account.agent_id)
        return _document(doc)

    # -- the wire ------------------------------------------------------------------------
    def seal(self, inner: str, sender: str, at: datetime) -> tuple[dict[str, str], str]:
        """(query, body) of the callback carrying `inner`, encrypted and signed."""
        encrypt = self._prp(self._crypto.key).encrypt(inner, self.account.receive_id).decode()
        timestamp, nonce = str(int(at.timestamp())), str(secrets.randbelow(10**10))
        query = {"msg_signature": _sign(self.account.token, timestamp, nonce, encrypt),
                 "timestamp": timestamp, "nonce": nonce}
        outer = {"ToUserName": self.account.to_user, "Encrypt": encrypt}
        if self.account.channel == "mp":
            query.update(signature=_sign(self.account.token, timestamp, nonce), openid=sender, encrypt_type="aes")
        else:
            outer["AgentID"] = self.account.agent_id
        return query, _document(outer)

    def open_reply(self, body: str) -> str | None:
        """The passive reply's text; None when the account answered nothing."""
        if body.strip() in ("", "success"):
            return None
        outer = {child.tag: child.text or "" for child in fromstring(body)}
        inner = self._crypto.decrypt_message(outer, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"])
        fields = {child.tag: child.text or "" for child in fromstring(inner)}
        return fields.get("Content")

    async def post(self, base_url: str, inner: str, sender: str, at: datetime) -> str | None:
        """Deliver `inner` to the account's server at `base_url`; its passive reply, if any."""
        query, body = self.seal(inner, sender, at)
        async with httpx.AsyncClient(timeout=WAIT_S) as http:
            try:
                resp = await http.post(base_url.rstrip("/") + self.path, params=query, content=body.encode(),
                                       headers={"Content-Type": "text/xml"})
            except httpx.TimeoutException:
                raise CallbackFailed(None) from None
        if resp.status_code != 200:
            raise CallbackFailed(resp.status_code)
        return self.open_reply(resp.text)


def _sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature

