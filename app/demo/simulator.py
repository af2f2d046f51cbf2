"""The /sandbox chat simulator: chat as anyone on the roster, in a page that looks like WeChat.

What a person types reaches Gridline as WeChat would deliver it: a signed, encrypted callback
POSTed over HTTP to the server's own /wechat/work (people with a WeCom userid) or /wechat/mp
(everyone else), built by the sandbox (app/sandbox/callbacks.py). Each person's chat shows what
they sent, Gridline's passive reply, and everything Gridline pushed to them through the fake
WeChat APIs (the sandbox's delivery record).

    GET  /sandbox                           the page
    GET  /sandbox/api/people                {"items": [person], "total"}
    GET  /sandbox/api/people/{id}/messages  {"items": [message], "total"}
    POST /sandbox/api/people/{id}/messages  {"type": "text", "text"}
                                            | {"type": "location", "label", "latitude", "longitude"}
                                            | {"type": "click", "key"}   → {"reply", "items", "total"}
    GET  /sandbox/api/chats                 the group chats: village robots and app group chats
    GET  /sandbox/api/chats/{key}/messages  what Gridline pushed to one of them

Bad input is refused with a 4xx and a Chinese `detail`; nothing of it reaches Gridline.
"""

import itertools
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from models.clock import Clock
from app.demo.directory import Contact, contacts, group_chats
from app.sandbox import FakeWeChat
from app.sandbox.callbacks import CallbackFailed, Callbacks

PAGE = Path(__file__).with_name("sandbox.html")
MAX_BODY = 16 * 1024
MAX_TEXT = 2000  # characters; WeChat's own input box stops about there
MAX_LABEL = 100
MENU_KEY = re.compile(r"^[A-Za-z0-9_]{1,64}$")
# No WeChat client can type these (XML cannot carry them), nor a lone surrogate (UTF-8 cannot).
UNTYPABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

# The simulator's own refusals (the page shows `detail`).
UNKNOWN_PERSON = "没有编号为 {id} 的人员（或此人没有聊天身份）"
UNKNOWN_CHAT = "没有这个群"
BODY_TOO_LARGE = f"请求太大（最多 {MAX_BODY // 1024} KiB）"
NOT_JSON = "请求体应为 JSON 对象"
BAD_TYPE = "type 应为 text、location 或 click"
EMPTY_TEXT = "消息不能为空"
TEXT_TOO_LONG = f"消息太长（最多 {MAX_TEXT} 字）"
UNTYPABLE_CHARS = "消息含有无法输入的字符（控制字符等）"
BAD_LOCATION = f"位置须有名称（最多 {MAX_LABEL} 字）和有效的纬度（-90～90）、经度（-180～180）"
BAD_KEY = "菜单 key 应为 1～64 个字母、数字或下划线"
GATEWAY_REFUSED = "Gridline 拒收了这条回调（HTTP {status}）"
GATEWAY_SILENT = "Gridline 没有在 5 秒内应答"


@dataclass(frozen=True)
class Said:
    """One thing a person did in chat, checked."""

    type: str  # "text" | "location" | "click"
    text: str = ""  # the text, the location's label, or the menu key
    latitude: float = 0.0
    longitude: float = 0.0


class Simulator:
    """The people's side of the chats: what each sent and got back, and the sandbox's record of pushes.

    The log lives in memory: a restarted demo starts with empty chats (the database keeps the cases)."""

    def __init__(self, fake: FakeWeChat, callbacks: dict[str, Callbacks], clock: Clock, tz: ZoneInfo):
        self.fake, self.callbacks, self.clock, self.tz = fake, callbacks, clock, tz
        self.log: dict[int, list[dict]] = {}
        # WeChat's MsgIds never repeat; starting from the clock keeps them new across demo restarts.
        self._msg_ids = itertools.count(int(clock.now().timestamp() * 1000) * 1000)

    async def say(self, base_url: str, contact: Contact, said: Said) -> str | None:
        """Deliver what the person did to Gridline as WeChat would; Gridline's passive reply."""
        at = self.clock.now()
        if contact.channel == "mp":
            self._opened_window(contact.external_id, at)
        callbacks = self.callbacks[contact.channel]
        sender = contact.external_id
        if said.type == "text":
            inner = callbacks.text(sender, at, next(self._msg_ids), said.text)
        elif said.type == "location":
            inner = callbacks.location(sender, at, next(self._msg_ids), said.latitude, said.longitude, said.text)
        else:
            inner = callbacks.click(sender, at, said.text)
        reply = await callbacks.post(base_url, inner, sender, at)
        mine = self.log.setdefault(contact.id, [])
        mine.append({"at": at, "kind": "sent", "type": said.type, "text": said.text})
        if reply is not None:
            mine.append({"at": self.clock.now(), "kind": "reply", "via": contact.channel, "text": reply})
        return reply

    def _opened_window(self, openid: str, at: datetime) -> None:
        """The follower wrote: WeChat opens the 48-hour customer-service window."""
        try:
            self.fake.user_wrote(openid, at)
        except KeyError:  # bound after the demo started
            self.fake.add_openid(openid, last_message_at=at)

    def chat(self, contact: Contact) -> list[dict]:
        """The person's conversation, oldest first; at equal times what they said comes first."""
        items = self.log.get(contact.id, []) + self.pushed(contact.external_id)
        return [self._shown(item) for item in sorted(items, key=lambda item: item["at"])]

    def pushed(self, recipient: str) -> list[dict]:
        return [{"at": d.at, "kind": "push", "via": d.api, "text": d.text} for d in self.fake.delivered(recipient)]

    def group(self, key: str) -> list[dict]:
        return [self._shown(item) for item in self.pushed(key)]

    def received(self) -> dict[str, int]:
        """How many pushes each recipient got."""
        return {recipient: len(got) for recipient, got in self.fake.inboxes().items()}

    def _shown(self, item: dict) -> dict:
        local = item["at"].astimezone(self.tz)
        return {**item, "at": local.isoformat(), "time": local.strftime("%H:%M")}


def parse(body: bytes) -> Said:
    """The request body, checked; HTTPException (4xx) for anything a person could not have sent."""
    if len(body) > MAX_BODY:
        raise HTTPException(413, BODY_TOO_LARGE)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, NOT_JSON) from None
    if not isinstance(data, dict):
        raise HTTPException(400, NOT_JSON)
    match data.get("type", "text"):
        case "text":
            text = data.get("text")
            if not isinstance(text, str) or not text.strip():
                raise HTTPException(422, EMPTY_TEXT)
            if len(text) > MAX_TEXT:
                raise HTTPException(413, TEXT_TOO_LONG)
            if UNTYPABLE.search(text):
                raise HTTPException(422, UNTYPABLE_CHARS)
            return Said("text", text)
        case "location":
            label, lat, lng = data.get("label"), data.get("latitude"), data.get("longitude")
            if not (isinstance(label, str) and 0 < len(label.strip()) <= MAX_LABEL and not UNTYPABLE.search(label)
                    and _number(lat, 90) and _number(lng, 180)):
                raise HTTPException(422, BAD_LOCATION)
            return Said("location", label.strip(), float(lat), float(lng))
        case "click":
            key = data.get("key")
            if not isinstance(key, str) or not MENU_KEY.match(key):
                raise HTTPException(422, BAD_KEY)
            return Said("click", key)
    raise HTTPException(422, BAD_TYPE)


def _number(value, bound: float) -> bool:
    # NaN and infinities fail the comparison; so does an integer too big for a float, without converting it.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and -bound <= value <= bound


def _own_url(request: Request) -> str:
    """This server as the connection reached it: Gridline's callbacks are served right here."""
    host, port = request.scope["server"]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def router(sim: Simulator) -> APIRouter:
    api = APIRouter(prefix="/sandbox", include_in_schema=False)
    page = PAGE.read_text(encoding="utf-8")

    async def read(request: Request, query):
        def run():
            with request.app.state.sessions() as session:
                return query(session)
        return await run_in_threadpool(run)

    async def person(request: Request, person_id: int) -> Contact:
        found = next((c for c in await read(request, contacts) if c.id == person_id), None)
        if found is None:
            raise HTTPException(404, UNKNOWN_PERSON.format(id=person_id))
        return found

    @api.get("")
    @api.get("/")
    async def show_page() -> HTMLResponse:
        return HTMLResponse(page)

    @api.get("/api/people")
    async def list_people(request: Request) -> dict:
        counts = sim.received()
        items = [{"id": c.id, "name": c.name, "roles": c.roles, "note": c.note, "group": c.group,
                  "channel": c.channel, "received": counts.get(c.external_id, 0)}
                 for c in await read(request, contacts)]
        return {"items": items, "total": len(items)}

    @api.get("/api/people/{person_id}/messages")
    async def read_chat(request: Request, person_id: int) -> dict:
        items = sim.chat(await person(request, person_id))
        return {"items": items, "total": len(items)}

    @api.post("/api/people/{person_id}/messages")
    async def send(request: Request, person_id: int) -> dict:
        contact = await person(request, person_id)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:  # refused before it is read
            raise HTTPException(413, BODY_TOO_LARGE)
        said = parse(await request.body())
        try:
            reply = await sim.say(_own_url(request), contact, said)
        except CallbackFailed as failed:
            if failed.status is None:
                raise HTTPException(504, GATEWAY_SILENT) from None
            raise HTTPException(502, GATEWAY_REFUSED.format(status=failed.status)) from None
        items = sim.chat(contact)
        return {"reply": reply, "items": items, "total": len(items)}

    @api.get("/api/chats")
    async def list_chats(request: Request) -> dict:
        counts = sim.received()
        items = [{"key": g.key, "kind": g.kind, "group": g.group, "received": counts.get(g.key, 0)}
                 for g in await read(request, group_chats)]
        return {"items": items, "total": len(items)}

    @api.get("/api/chats/{key}/messages")
    async def read_group(request: Request, key: str) -> dict:
        if not any(g.key == key for g in await read(request, group_chats)):
            raise HTTPException(404, UNKNOWN_CHAT)
        items = sim.group(key)
        return {"items": items, "total": len(items)}

    return api
