"""From callback bytes to fields to an InboundMessage, refusing anything malformed.

WeChat sends XML (or JSON when an Official Account chose that data format). Both are
read into one flat dict of top-level fields; wechatpy's message classes then give the
fields their types, exactly as its own parse_message does.
"""

import json
import re
from datetime import UTC, datetime
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring
from wechatpy.enterprise.messages import MESSAGE_TYPES as WORK_MESSAGES
from wechatpy.messages import MESSAGE_TYPES as MP_MESSAGES
from wechatpy.messages import UnknownMessage

from bot.inbound import InboundMessage, Link, Location
from bot.refusals import Malformed

# XML 1.0 forbids these; JSON strings should not carry them either.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_MAX_ID = 128


def decode(body: bytes) -> str:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("invalid utf-8") from None
    return clean(text)


def clean(text: str) -> str:
    if _CONTROL.search(text):
        raise Malformed("control characters")
    return text


def read_fields(text: str) -> dict[str, str]:
    """Top-level fields of a WeChat document (XML <xml>…</xml> or a JSON object)."""
    if text.lstrip().startswith("{"):
        return _json_fields(text)
    return _xml_fields(text)


def _xml_fields(text: str) -> dict[str, str]:
    try:
        root = safe_fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise Malformed("xml with dtd or entities") from None
    except (ParseError, ValueError):
        raise Malformed("malformed xml") from None
    if root.tag != "xml":
        raise Malformed("root is not <xml>")
    fields: dict[str, str] = {}
    for child in root:
        if child.tag in fields:
            raise Malformed(f"duplicate field {child.tag}")
        # Nested elements (e.g. SendPicsInfo) are kept as their text; none of ours needs them.
        fields[child.tag] = (child.text or "").strip() if len(child) else (child.text or "")
    return fields


def _json_fields(text: str) -> dict[str, str]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise Malformed("malformed json") from None
    if not isinstance(data, dict):
        raise Malformed("json is not an object")
    return {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in data.items()}


def to_inbound(fields: dict[str, str], *, channel: str, enterprise: bool) -> InboundMessage:
    for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType"):
        if not fields.get(name):
            raise Malformed(f"missing {name}")
    sender = fields["FromUserName"]
    if len(sender) > _MAX_ID or len(fields["ToUserName"]) > _MAX_ID:
        raise Malformed("id too long")
    try:
        sent_at = datetime.fromtimestamp(int(fields["CreateTime"]), UTC)
    except (ValueError, OverflowError, OSError):
        raise Malformed("bad CreateTime") from None

    account = fields["ToUserName"]
    if enterprise:
        account = f"{account}:{fields.get('AgentID', '')}"
    msg_type = fields["MsgType"].lower()
    messages = WORK_MESSAGES if enterprise else MP_MESSAGES
    base = dict(channel=channel, account=account[:64], sender=sender, sent_at=sent_at, raw=fields)

    if msg_type == "event":
        event = fields.get("Event", "").lower()
        return InboundMessage(kind="event", event=event, event_key=fields.get("EventKey") or None, **base)

    msg_id = fields.get("MsgId", "")
    if not msg_id.isascii() or not msg_id.isdigit() or len(msg_id) > 32:
        raise Malformed("missing or bad MsgId")
    base["msg_id"] = msg_id
    wx = messages.get(msg_type, UnknownMessage)(fields)
    match msg_type:
        case "text":
            return InboundMessage(kind="text", text=wx.content or "", **base)
        case "image":
            return InboundMessage(kind="image", media_id=wx.media_id, pic_url=wx.image, **base)
        case "voice":
            return InboundMessage(kind="voice", media_id=wx.media_id, text=wx.recognition or "", **base)
        case "video" | "shortvideo":
            return InboundMessage(kind="video", media_id=wx.media_id, **base)
        case "location":
            return InboundMessage(kind="location", location=_location(wx), **base)
        case "link":
            link = Link(title=wx.title or "", description=wx.description or "", url=wx.url or "")
            return InboundMessage(kind="link", link=link, **base)
    return InboundMessage(kind="unknown", **base)


def _location(wx) -> Location:
    try:
        lat, lng = float(wx.location_x), float(wx.location_y)
        scale = int(wx.scale) if wx.scale else None
    except (TypeError, ValueError):
        raise Malformed("bad location") from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise Malformed("bad location")
    return Location(latitude=lat, longitude=lng, scale=scale, label=wx.label or "")

