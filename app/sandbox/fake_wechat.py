"""The sandbox: an in-memory fake of the WeChat Official Account and WeCom HTTP APIs.

One ASGI app serves both families: ``/mp/cgi-bin/...`` is https://api.weixin.qq.com/cgi-bin/...
and ``/work/cgi-bin/...`` is https://qyapi.weixin.qq.com/cgi-bin/..., so pointing
``GRIDLINE_WECHAT_API_BASE`` at ``http://host:port/mp`` and ``GRIDLINE_WECOM_API_BASE`` at
``http://host:port/work`` sends the product here. Error codes, messages and their sources are in
``app/sandbox/errcodes.py``.

Endpoints faked (request and answer shapes as documented; see errcodes.py for the pages)::

  MP    GET  /cgi-bin/token?grant_type=client_credential&appid&secret
             → {"access_token","expires_in":7200} | 40002 41002 41004 40013 40125
        POST /cgi-bin/message/custom/send?access_token   {touser,msgtype,<msgtype>:{...}}
             → {"errcode":0,"errmsg":"ok"} | 40003 unknown openid | 45015 outside 48 h or unsubscribed
               | 45047 quota (5 per user message) | 40008 msgtype | 44004 empty text | 47001 bad JSON
        POST /cgi-bin/message/template/send?access_token {touser,template_id,url?,data:{k:{value}}}
             → {"errcode":0,"errmsg":"ok","msgid":N} | 40037 | 40003 | 43004 unsubscribed | 47003
        GET  /cgi-bin/media/get?access_token&media_id → the bytes | 40007
  WeCom GET  /cgi-bin/gettoken?corpid&corpsecret → {"errcode":0,"errmsg":"ok","access_token","expires_in"}
             | 41002 41004 40013 40001 — the same token while it is valid (documented behaviour)
        POST /cgi-bin/message/send?access_token {touser:"a|b",toparty,totag,msgtype,agentid,...}
             → {"errcode":0,"errmsg":"ok","msgid":"...", "invaliduser":"x|y"?...} | 81013 all invalid
               | 40032 > 1000 userids | 82002/82003 > 100 parties/tags | 82001 none | 301002 agentid
        POST /cgi-bin/appchat/send?access_token {chatid,msgtype,...} → ok | 86003 | 86001
             textcard (message/send and appchat/send): {title,description,url,btntxt?} → 41016 no title
             | 40058 no description | 41010 no url; title > 128 bytes, description > 512 bytes and
             btntxt > 4 characters are cut short, not refused (what the member sees is recorded)
        POST /cgi-bin/webhook/send?key=KEY {msgtype,text|markdown...} → ok | 93000 | 45009 (> 20/min)
        GET  /cgi-bin/media/get?access_token&media_id → the bytes | 40007
  Any token-taking API: 41001 missing, 40014 unknown (or other family's), 42001 expired,
  40001 revoked (``invalidate_tokens``) or superseded for more than 5 minutes (MP only).

Tokens: MP answers a fresh token on every fetch and the previous one keeps working for 5 minutes
(documented); WeCom answers the same token while it is valid. Expiry is 7200 s on the injected clock.

Faults (``fail``) are drawn per API call from a seeded ``random.Random``, so a sequential run is
reproducible. Kinds: ``"http500"`` (HTML 500, nothing done), ``"errcode-1"`` (system busy, nothing
done), ``"errcode45009"`` / ``"errcode45011"`` (rate limit, nothing done), ``"stall"`` (the call
takes effect — the message IS delivered — then the answer is held ``stall_s`` seconds: the client
times out on a message that went through; the nasty case for "never sent twice"),
``"stall_undelivered"`` (held ``stall_s`` seconds, then -1, nothing done).

``down(True)`` answers every request with HTTP 503 (what a gateway in front of a dead backend says);
``down(True, mode="refuse")`` stops listening altogether, so connecting fails with ECONNREFUSED —
the faithful "unreachable", which needs the socket, hence only for a fake started with ``serve()``
(``app/sandbox/server.py``); ``down(False)`` listens again on the same port.

Everything delivered is recorded (``delivered()``), every API call is counted per endpoint
(``calls()``) and logged (``history()``). All state sits behind one lock: the control API may be
called from any thread while the server runs in another.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import random
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from models.clock import Clock, SystemClock
from app.sandbox.errcodes import MP_ERRMSG, WORK_ERRMSG

TOKEN_TTL = timedelta(seconds=7200)
MP_SUPERSEDED_GRACE = timedelta(minutes=5)
CUSTOM_WINDOW = timedelta(hours=48)
CUSTOM_QUOTA = 5  # customer-service messages per user message (official page, 2024)
ROBOT_PER_MINUTE = 20
MEMBER_PER_MINUTE = 30  # WeCom app messages to one member, then silently dropped
MEMBER_PER_HOUR = 1000
MAX_USERIDS = 1000
MAX_PARTIES = 100
MAX_TAGS = 100
MAX_TEXT_BYTES = 2048
TEXTCARD_TITLE_BYTES, TEXTCARD_DESCRIPTION_BYTES, TEXTCARD_BUTTON_CHARS = 128, 512, 4

FAULT_KINDS = ("http500", "stall", "stall_undelivered", "errcode-1", "errcode45009", "errcode45011")
DEFAULT_FAULT_KINDS = ("http500", "stall", "errcode-1", "errcode45009")

MP_MSGTYPES = {
    "text", "image", "voice", "video", "music", "news", "mpnews", "mpnewsarticle", "msgmenu",
    "wxcard", "miniprogrampage", "link",
}
WORK_MSGTYPES = {
    "text", "image", "voice", "video", "file", "textcard", "news", "mpnews", "markdown",
    "miniprogram_notice", "template_card",
}
APPCHAT_MSGTYPES = {"text", "image", "voice", "video", "file", "textcard", "news", "mpnews", "markdown"}
ROBOT_MSGTYPES = {"text", "markdown", "markdown_v2", "image", "news", "file", "voice", "template_card"}

ENDPOINTS = (
    "mp.token", "mp.message.custom.send", "mp.message.template.send", "mp.media.get",
    "work.gettoken", "work.message.send", "work.appchat.send", "work.webhook.send", "work.media.get",
)

_HTML = "<html>\r\n<head><title>{0}</title></head>\r\n<body>\r\n<center><h1>{0}</h1></center>\r\n</body>\r\n</html>\r\n"


# ---------------------------------------------------------------- records ---------------------


@dataclass(frozen=True)
class Delivery:
    """One message as one recipient got it."""

    recipient: str  # openid, userid, chat id or robot key
    recipient_type: str  # "openid" | "userid" | "chat" | "robot"
    api: str  # endpoint name, e.g. "work.message.send"
    msgtype: str  # "text", "markdown", "textcard", "news", ..., "template" for MP templates
    content: Any  # text/markdown: the string; template: the data dict; others: the msgtype object
    payload: dict  # the whole request body
    at: datetime
    account: str | None  # appid / corpid; None for robots
    msgid: str | int | None = None

    @property
    def text(self) -> str:
        """Best-effort plain text, for assertions on what a person read."""
        c = self.content
        if isinstance(c, str):
            return c
        if self.msgtype == "template" and isinstance(c, dict):
            return "\n".join(str(v.get("value", "")) if isinstance(v, dict) else str(v) for v in c.values())
        if isinstance(c, dict):
            if "articles" in c:
                return "\n".join(
                    " ".join(str(a.get(k, "")) for k in ("title", "description", "digest") if a.get(k))
                    for a in c.get("articles") or []
                    if isinstance(a, dict)
                )
            return "\n".join(str(c[k]) for k in ("title", "description", "content") if c.get(k))
        return "" if c is None else str(c)


@dataclass(frozen=True)
class CallRecord:
    """One API call as the fake saw it."""

    endpoint: str
    method: str
    at: datetime
    status: int  # HTTP status sent (0: connection refused never reaches here)
    errcode: int | None  # None for binary answers and HTML errors
    fault: str | None  # injected fault kind, "down" in 503 mode


@dataclass(frozen=True)
class Dropped:
    """A WeCom app message the per-member frequency limit swallowed (the API still said ok)."""

    userid: str
    agentid: int
    at: datetime
    payload: dict


# ---------------------------------------------------------------- state -----------------------


@dataclass
class _Token:
    value: str
    family: str  # "mp" | "work"
    account: str  # appid | corpid
    agentid: int | None
    issued: datetime
    expires: datetime
    revoked_code: int | None = None
    superseded_at: datetime | None = None


@dataclass
class _MpUser:
    openid: str
    subscribed: bool = True
    last_message_at: datetime | None = None
    sent_since_message: int = 0


@dataclass
class _MpAccount:
    appid: str
    secret: str
    users: dict[str, _MpUser] = field(default_factory=dict)
    templates: dict[str, tuple[str, ...] | None] = field(default_factory=dict)


@dataclass
class _Corp:
    corpid: str
    apps: dict[int, str] = field(default_factory=dict)  # agentid → secret
    users: dict[str, str] = field(default_factory=dict)  # lower-case → as registered
    parties: dict[str, set[str]] = field(default_factory=dict)
    tags: dict[str, set[str]] = field(default_factory=dict)
    chats: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class _Media:
    data: bytes
    content_type: str
    filename: str


@dataclass
class _FaultPlan:
    rate: float
    kinds: tuple[str, ...]
    weights: tuple[float, ...]
    rng: random.Random
    stall_s: float
    endpoints: frozenset[str] | None


@dataclass
class _Call:
    endpoint: str
    family: str
    method: str
    params: Mapping[str, str]
    body: bytes
    ip: str
    now: datetime


class _Answer:
    """What a handler decided: a JSON dict or raw bytes, plus the HTTP status."""

    def __init__(self, body: dict | bytes, *, status: int = 200, headers: dict | None = None,
                 media_type: str | None = None):
        self.body = body
        self.status = status
        self.headers = headers or {}
        self.media_type = media_type


# ---------------------------------------------------------------- the fake --------------------


class FakeWeChat:
    """The fake's state, its control API, and the ASGI app at ``.app``."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        custom_quota: int | None = CUSTOM_QUOTA,
        robot_per_minute: int = ROBOT_PER_MINUTE,
        member_limits: bool = True,
        errmsg_suffix: bool = True,
        mp_bad_secret_errcode: int = 40125,
    ):
        """``custom_quota``: MP customer-service messages allowed per user message (None: no cap).
        ``member_limits``: WeCom drops app messages beyond 30/min, 1000/h per member (silently).
        ``errmsg_suffix``: add the real APIs' ``rid:`` / ``hint: [...]`` tail to error messages.
        ``mp_bad_secret_errcode``: 40125 (what the API answers today) or 40001 (older docs)."""
        self.clock: Clock = clock or SystemClock()
        self.custom_quota = custom_quota
        self.robot_per_minute = robot_per_minute
        self.member_limits = member_limits
        self.errmsg_suffix = errmsg_suffix
        self.mp_bad_secret_errcode = mp_bad_secret_errcode

        self._lock = threading.RLock()
        self._seq = itertools.count(1)
        self._mp: dict[str, _MpAccount] = {}
        self._corps: dict[str, _Corp] = {}
        self._robots: dict[str, deque[datetime]] = {}
        self._media: dict[str, dict[str, _Media]] = {"mp": {}, "work": {}}
        self._tokens: dict[str, _Token] = {}
        self._member_sends: dict[tuple[str, int, str], deque[datetime]] = {}
        self._deliveries: list[Delivery] = []
        self._dropped: list[Dropped] = []
        self._calls: Counter[str] = Counter()
        self._history: list[CallRecord] = []
        self._faults: _FaultPlan | None = None
        self._fault_log: list[tuple[str, str]] = []
        self._down: str | None = None
        self._server = None  # a SandboxServer when started with serve()
        self._template_msgid = itertools.count(2_000_000_001)
        self.app = self._build_app()

    # ------------------------------------------------------------ registration ----------------

    def add_mp_account(self, appid: str, secret: str) -> FakeWeChat:
        with self._lock:
            self._mp.setdefault(appid, _MpAccount(appid, secret)).secret = secret
        return self

    def add_openid(
        self,
        *openids: str,
        appid: str | None = None,
        subscribed: bool = True,
        last_message_at: datetime | None = None,
    ) -> FakeWeChat:
        """Known followers of the account (``subscribed=False``: known but unfollowed).
        ``last_message_at``: when the user last wrote (the 48-hour rule); None: never."""
        with self._lock:
            account = self._mp_account(appid)
            for openid in openids:
                account.users[openid] = _MpUser(openid, subscribed, last_message_at)
        return self

    def user_wrote(self, openid: str, at: datetime | None = None, *, appid: str | None = None) -> FakeWeChat:
        """The user sent the account a message: opens the 48-hour window and refills the quota."""
        with self._lock:
            user = self._mp_user(openid, appid)
            user.last_message_at = at or self.clock.now()
            user.sent_since_message = 0
        return self

    def set_subscribed(self, openid: str, subscribed: bool, *, appid: str | None = None) -> FakeWeChat:
        with self._lock:
            self._mp_user(openid, appid).subscribed = subscribed
        return self

    def add_template(self, template_id: str, keys: Iterable[str] | None = None, *,
                     appid: str | None = None) -> FakeWeChat:
        """A template the account may use; ``keys``: the data keys it requires (None: any)."""
        with self._lock:
            self._mp_account(appid).templates[template_id] = tuple(keys) if keys is not None else None
        return self

    def add_work_app(self, corpid: str, secret: str, agentid: int | str) -> FakeWeChat:
        with self._lock:
            self._corps.setdefault(corpid, _Corp(corpid)).apps[int(agentid)] = secret
        return self

    def add_userid(self, *userids: str, corpid: str | None = None) -> FakeWeChat:
        with self._lock:
            corp = self._corp(corpid)
            for userid in userids:
                corp.users[userid.lower()] = userid
        return self

    def remove_userid(self, *userids: str, corpid: str | None = None) -> FakeWeChat:
        """The members left the corp (or were never there): their userids are invalid from now on."""
        with self._lock:
            corp = self._corp(corpid)
            for userid in userids:
                corp.users.pop(userid.lower(), None)
        return self

    def add_party(self, partyid: str | int, userids: Iterable[str], *, corpid: str | None = None) -> FakeWeChat:
        return self._add_group("parties", partyid, userids, corpid)

    def add_tag(self, tagid: str | int, userids: Iterable[str], *, corpid: str | None = None) -> FakeWeChat:
        return self._add_group("tags", tagid, userids, corpid)

    def _add_group(self, kind: str, group_id: str | int, userids: Iterable[str], corpid: str | None) -> FakeWeChat:
        with self._lock:
            corp = self._corp(corpid)
            members = set(userids)
            for userid in members:
                corp.users.setdefault(userid.lower(), userid)
            getattr(corp, kind)[str(group_id)] = members
        return self

    def add_appchat(self, chatid: str, members: Iterable[str] = (), *, corpid: str | None = None) -> FakeWeChat:
        with self._lock:
            self._corp(corpid).chats[chatid] = tuple(members)
        return self

    def add_robot(self, *keys: str) -> FakeWeChat:
        with self._lock:
            for key in keys:
                self._robots.setdefault(key, deque())
        return self

    def remove_robot(self, key: str) -> FakeWeChat:
        """The robot was removed from its group: its key answers 93000 from now on."""
        with self._lock:
            self._robots.pop(key, None)
        return self

    def add_media(self, media_id: str, data: bytes, content_type: str = "image/jpeg",
                  filename: str | None = None, *, family: str | None = None) -> FakeWeChat:
        """A downloadable file; ``family`` "mp" or "work" (None: both)."""
        ext = {"image/jpeg": "jpg", "image/png": "png", "audio/amr": "amr", "audio/speex": "speex",
               "video/mp4": "mp4"}.get(content_type, "bin")
        media = _Media(data, content_type, filename or f"{media_id}.{ext}")
        with self._lock:
            for fam in (family,) if family else ("mp", "work"):
                self._media[fam][media_id] = media
        return self

    def register_from_settings(self, settings, *, openids: Iterable[str] = (),
                               userids: Iterable[str] = ()) -> FakeWeChat:
        """Register the accounts a ``app.settings.Settings`` is configured with (demo helper)."""
        if settings.mp_app_id:
            self.add_mp_account(settings.mp_app_id, settings.mp_app_secret.get_secret_value())
            if settings.mp_template_id:
                self.add_template(settings.mp_template_id, appid=settings.mp_app_id)
            if openids:
                self.add_openid(*openids, appid=settings.mp_app_id)
        if settings.work_corp_id and settings.work_agent_id:
            self.add_work_app(settings.work_corp_id, settings.work_secret.get_secret_value(),
                              settings.work_agent_id)
            if userids:
                self.add_userid(*userids, corpid=settings.work_corp_id)
        return self

    # ------------------------------------------------------------ tokens ----------------------

    def invalidate_tokens(self, family: str | None = None, *, errcode: int = 40001) -> int:
        """Revoke every live token (of ``family`` "mp"/"work", or both), as WeChat may do at any
        time; calls with them answer ``errcode`` (40001 "invalid credential" by default; 40014 and
        42001 are the other codes clients must refresh on). Returns how many were revoked."""
        now = self.clock.now()
        n = 0
        with self._lock:
            for tok in self._tokens.values():
                if (family is None or tok.family == family) and tok.revoked_code is None and now < tok.expires:
                    tok.revoked_code = errcode
                    n += 1
        return n

    def tokens_issued(self, family: str | None = None) -> int:
        with self._lock:
            return sum(1 for t in self._tokens.values() if family is None or t.family == family)

    # ------------------------------------------------------------ faults ----------------------

    def fail(
        self,
        rate: float,
        kinds: Sequence[str] | Mapping[str, float] = DEFAULT_FAULT_KINDS,
        seed: int | None = None,
        *,
        stall_s: float = 30.0,
        endpoints: Iterable[str] | None = None,
    ) -> FakeWeChat:
        """Make ``rate`` (0..1) of API calls fail. ``kinds``: a list (equal shares) or a mapping
        kind → weight, from ``FAULT_KINDS``. ``stall_s``: how long a stalled answer is held — set
        it above the client's timeout (and small in tests). ``endpoints``: only these (names as in
        ``ENDPOINTS``); None: all. ``fail(0)`` stops failing."""
        if not 0 <= rate <= 1:
            raise ValueError("rate must be within 0..1")
        if isinstance(kinds, Mapping):
            names, weights = tuple(kinds), tuple(float(w) for w in kinds.values())
        else:
            names = tuple(kinds)
            weights = tuple(1.0 for _ in names)
        unknown = set(names) - set(FAULT_KINDS)
        if unknown or not names:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; choose from {FAULT_KINDS}")
        eps = frozenset(endpoints) if endpoints is not None else None
        if eps and eps - set(ENDPOINTS):
            raise ValueError(f"unknown endpoints {sorted(eps - set(ENDPOINTS))}")
        with self._lock:
            self._faults = None if rate == 0 else _FaultPlan(rate, names, weights, random.Random(seed),
                                                              stall_s, eps)
        return self

    def faults(self) -> list[tuple[str, str]]:
        """(endpoint, kind) of every fault injected so far, in order."""
        with self._lock:
            return list(self._fault_log)

    def down(self, is_down: bool = True, mode: str = "503") -> FakeWeChat:
        """Simulate WeChat being unreachable. ``mode="503"``: every request gets HTTP 503.
        ``mode="refuse"``: the listening socket is closed (connection refused); needs a fake
        started with ``serve()``. ``down(False)`` restores service."""
        if mode not in ("503", "refuse"):
            raise ValueError("mode is '503' or 'refuse'")
        with self._lock:
            was = self._down
            self._down = mode if is_down else None
        if mode == "refuse" and is_down and was != "refuse":
            if self._server is None:
                with self._lock:
                    self._down = was
                raise RuntimeError("mode='refuse' needs a fake started with FakeWeChat.serve()")
            self._server.pause()
        if not is_down and was == "refuse" and self._server is not None:
            self._server.resume()
        return self

    @property
    def is_down(self) -> bool:
        return self._down is not None

    # ------------------------------------------------------------ records ---------------------

    def delivered(self, recipient: str | None = None, *, api: str | None = None) -> list[Delivery]:
        """Every message delivered, in order; or only those ``recipient`` (openid, userid — any
        case —, chat id or robot key) got; ``api`` narrows to one endpoint."""
        with self._lock:
            out = list(self._deliveries)
        if recipient is not None:
            low = recipient.lower()
            out = [d for d in out if d.recipient == recipient
                   or (d.recipient_type == "userid" and d.recipient.lower() == low)]
        if api is not None:
            out = [d for d in out if d.api == api]
        return out

    def inboxes(self) -> dict[str, list[Delivery]]:
        """recipient → what it got, in order."""
        boxes: dict[str, list[Delivery]] = {}
        for d in self.delivered():
            boxes.setdefault(d.recipient, []).append(d)
        return boxes

    def dropped(self) -> list[Dropped]:
        """WeCom app messages silently dropped by the per-member frequency limit."""
        with self._lock:
            return list(self._dropped)

    def calls(self, endpoint: str | None = None) -> dict[str, int] | int:
        """API calls received per endpoint (every attempt: faulted and 503-answered ones too)."""
        with self._lock:
            if endpoint is not None:
                return self._calls[endpoint]
            return dict(self._calls)

    def total_calls(self) -> int:
        with self._lock:
            return sum(self._calls.values())

    def history(self) -> list[CallRecord]:
        with self._lock:
            return list(self._history)

    def reset_records(self) -> FakeWeChat:
        """Forget deliveries, drops, call counts, history and the fault log (not accounts)."""
        with self._lock:
            self._deliveries.clear()
            self._dropped.clear()
            self._calls.clear()
            self._history.clear()
            self._fault_log.clear()
        return self

    # ------------------------------------------------------------ serving ---------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0):
        """Run the fake under uvicorn in a thread; returns the started ``SandboxServer``
        (``.url``, ``.mp_base``, ``.work_base``, ``.env()``, ``.stop()``)."""
        from app.sandbox.server import SandboxServer

        self._server = SandboxServer(self.app, host, port).start()
        return self._server

    # ------------------------------------------------------------ internals: lookup -----------

    def _mp_account(self, appid: str | None) -> _MpAccount:
        if appid is None:
            if len(self._mp) != 1:
                raise ValueError(f"name the appid: the fake has {len(self._mp)} MP accounts")
            return next(iter(self._mp.values()))
        if appid not in self._mp:
            raise KeyError(f"no MP account {appid!r}: add_mp_account first")
        return self._mp[appid]

    def _mp_user(self, openid: str, appid: str | None) -> _MpUser:
        accounts = [self._mp_account(appid)] if appid or len(self._mp) == 1 else list(self._mp.values())
        for account in accounts:
            if openid in account.users:
                return account.users[openid]
        raise KeyError(f"unknown openid {openid!r}: add_openid first")

    def _corp(self, corpid: str | None) -> _Corp:
        if corpid is None:
            if len(self._corps) != 1:
                raise ValueError(f"name the corpid: the fake has {len(self._corps)} WeCom corps")
            return next(iter(self._corps.values()))
        if corpid not in self._corps:
            raise KeyError(f"no WeCom corp {corpid!r}: add_work_app first")
        return self._corps[corpid]

    # ------------------------------------------------------------ internals: answers ----------

    def _error(self, call: _Call, code: int, detail: str = "", **extra) -> _Answer:
        table = MP_ERRMSG if call.family == "mp" else WORK_ERRMSG
        msg = table.get(code, "error") + detail
        if self.errmsg_suffix:
            n = next(self._seq)
            ts = int(call.now.timestamp())
            if call.family == "mp":
                msg += f" rid: {ts & 0xFFFFFFFF:08x}-{n:08x}-{(n * 2654435761) & 0xFFFFFFFF:08x}"
            else:
                msg += (f", hint: [{ts}{n:07d}{n * 7919:011d}], from ip: {call.ip}, more info at "
                        f"https://open.work.weixin.qq.com/devtool/query?e={code}")
        return _Answer({"errcode": code, "errmsg": msg, **extra})

    @staticmethod
    def _ok(**extra) -> _Answer:
        return _Answer({"errcode": 0, "errmsg": "ok", **extra})

    def _token_and_json(self, call: _Call) -> tuple | _Answer:
        """The call's access token and JSON body, or the error WeChat answers for the first that is wrong."""
        tok = self._check_token(call)
        if isinstance(tok, _Answer):
            return tok
        payload = self._json_body(call)
        if isinstance(payload, _Answer):
            return payload
        return tok, payload

    def _json_body(self, call: _Call) -> dict | _Answer:
        if not call.body.strip():
            return self._error(call, 44002 if call.family == "mp" else 47001)
        try:
            data = json.loads(call.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return self._error(call, 47001)
        if not isinstance(data, dict):
            return self._error(call, 47001)
        return data

    def _check_token(self, call: _Call) -> _Token | _Answer:
        value = call.params.get("access_token")
        if not value:
            return self._error(call, 41001)
        tok = self._tokens.get(value)
        if tok is None or tok.family != call.family:
            return self._error(call, 40014)
        if tok.revoked_code is not None:
            return self._error(call, tok.revoked_code)
        if call.now >= tok.expires:
            return self._error(call, 42001)
        if tok.superseded_at is not None and call.now >= tok.superseded_at + MP_SUPERSEDED_GRACE:
            return self._error(call, 40001)
        return tok

    def _new_token(self, family: str, account: str, agentid: int | None, now: datetime) -> _Token:
        raw = f"{family}|{account}|{agentid}|{next(self._seq)}|{now.isoformat()}".encode()
        value = hashlib.sha256(raw).hexdigest()
        value = (value + hashlib.sha256(value.encode()).hexdigest())[:100]
        tok = _Token(value, family, account, agentid, now, now + TOKEN_TTL)
        self._tokens[value] = tok
        return tok

    def _deliver(self, call: _Call, recipient: str, rtype: str, msgtype: str, content: Any,
                 payload: dict, account: str | None, msgid: str | int | None = None) -> None:
        self._deliveries.append(Delivery(recipient, rtype, call.endpoint, msgtype, content, payload,
                                         call.now, account, msgid))

    @staticmethod
    def _content(msgtype: str, payload: dict) -> Any:
        body = payload.get(msgtype)
        if msgtype in ("text", "markdown", "markdown_v2") and isinstance(body, dict):
            return body.get("content")
        if msgtype == "textcard":  # what the member sees: WeCom cuts long fields instead of refusing
            card = dict(body)
            card["title"] = _cut(card["title"], TEXTCARD_TITLE_BYTES)
            card["description"] = _cut(card["description"], TEXTCARD_DESCRIPTION_BYTES)
            if isinstance(card.get("btntxt"), str):
                card["btntxt"] = card["btntxt"][:TEXTCARD_BUTTON_CHARS]
            return card
        return body

    def _check_msg(self, call: _Call, payload: dict, allowed: set[str]) -> str | _Answer:
        msgtype = payload.get("msgtype")
        if not isinstance(msgtype, str) or msgtype not in allowed:
            return self._error(call, 40008)
        body = payload.get(msgtype)
        if not isinstance(body, dict):
            return self._error(call, 47001 if call.family == "mp" else 40008)
        if msgtype in ("text", "markdown", "markdown_v2"):
            content = body.get("content")
            if not isinstance(content, str) or not content:
                return self._error(call, 44004)
            limit = 4096 if msgtype == "markdown_v2" else MAX_TEXT_BYTES
            if call.family == "work" and len(content.encode("utf-8")) > limit:
                return self._error(call, 45002)
        if msgtype == "textcard":
            for key, code in (("title", 41016), ("description", 40058), ("url", 41010)):
                if not isinstance(body.get(key), str) or not body[key]:
                    return self._error(call, code)
        return msgtype

    # ------------------------------------------------------------ handlers: MP ----------------

    def _mp_token(self, call: _Call) -> _Answer:
        if call.params.get("grant_type") != "client_credential":
            return self._error(call, 40002)
        appid, secret = call.params.get("appid"), call.params.get("secret")
        if not appid:
            return self._error(call, 41002)
        if not secret:
            return self._error(call, 41004)
        account = self._mp.get(appid)
        if account is None:
            return self._error(call, 40013)
        if secret != account.secret:
            return self._error(call, self.mp_bad_secret_errcode)
        for tok in self._tokens.values():
            if tok.family == "mp" and tok.account == appid and tok.superseded_at is None:
                tok.superseded_at = call.now
        tok = self._new_token("mp", appid, None, call.now)
        return _Answer({"access_token": tok.value, "expires_in": int(TOKEN_TTL.total_seconds())})

    def _mp_custom_send(self, call: _Call) -> _Answer:
        checked = self._token_and_json(call)
        if isinstance(checked, _Answer):
            return checked
        tok, payload = checked
        account = self._mp[tok.account]
        user = account.users.get(payload.get("touser") or "")
        if user is None:
            return self._error(call, 40003)
        if not user.subscribed:
            return self._error(call, 45015)
        if user.last_message_at is None or call.now - user.last_message_at > CUSTOM_WINDOW:
            return self._error(call, 45015)
        msgtype = self._check_msg(call, payload, MP_MSGTYPES)
        if isinstance(msgtype, _Answer):
            return msgtype
        if self.custom_quota is not None and user.sent_since_message >= self.custom_quota:
            return self._error(call, 45047)
        user.sent_since_message += 1
        self._deliver(call, user.openid, "openid", msgtype, self._content(msgtype, payload), payload,
                      account.appid)
        return self._ok()

    def _mp_template_send(self, call: _Call) -> _Answer:
        checked = self._token_and_json(call)
        if isinstance(checked, _Answer):
            return checked
        tok, payload = checked
        account = self._mp[tok.account]
        template_id = payload.get("template_id")
        if not isinstance(template_id, str) or template_id not in account.templates:
            return self._error(call, 40037)
        user = account.users.get(payload.get("touser") or "")
        if user is None:
            return self._error(call, 40003)
        if not user.subscribed:
            return self._error(call, 43004)
        data = payload.get("data")
        if not isinstance(data, dict):
            return self._error(call, 47003, " data invalid")
        for key, item in data.items():
            if not isinstance(item, dict) or not isinstance(item.get("value"), str):
                return self._error(call, 47003, f" data.{key}.value invalid")
        for key in account.templates[template_id] or ():
            if key not in data or not data[key].get("value"):
                return self._error(call, 47003, f" data.{key}.value empty")
        msgid = next(self._template_msgid)
        self._deliver(call, user.openid, "openid", "template", data, payload, account.appid, msgid)
        return self._ok(msgid=msgid)

    def _media_get(self, call: _Call) -> _Answer:
        tok = self._check_token(call)
        if isinstance(tok, _Answer):
            return tok
        media_id = call.params.get("media_id")
        if not media_id:
            return self._error(call, 41006)
        media = self._media[call.family].get(media_id)
        if media is None:
            return self._error(call, 40007)
        return _Answer(media.data, media_type=media.content_type, headers={
            "Content-disposition": f'attachment; filename="{media.filename}"',
            "Cache-Control": "no-cache, must-revalidate",
        })

    # ------------------------------------------------------------ handlers: WeCom -------------

    def _work_gettoken(self, call: _Call) -> _Answer:
        corpid, secret = call.params.get("corpid"), call.params.get("corpsecret")
        if not corpid:
            return self._error(call, 41002)
        if not secret:
            return self._error(call, 41004)
        corp = self._corps.get(corpid)
        if corp is None:
            return self._error(call, 40013)
        agentid = next((a for a, s in corp.apps.items() if s == secret), None)
        if agentid is None:
            return self._error(call, 40001)
        for tok in self._tokens.values():
            if (tok.family == "work" and tok.account == corpid and tok.agentid == agentid
                    and tok.revoked_code is None and call.now < tok.expires):
                remaining = int((tok.expires - call.now).total_seconds())
                return self._ok(access_token=tok.value, expires_in=remaining)
        tok = self._new_token("work", corpid, agentid, call.now)
        return self._ok(access_token=tok.value, expires_in=int(TOKEN_TTL.total_seconds()))

    @staticmethod
    def _split(value: Any) -> list[str]:
        if value is None:
            return []
        if isinstance(value, (list, tuple)):
            items = [str(v) for v in value]
        else:
            items = str(value).split("|")
        return [i.strip() for i in items if i.strip()]

    def _member_allowed(self, corpid: str, agentid: int, userid: str, now: datetime) -> bool:
        if not self.member_limits:
            return True
        sends = self._member_sends.setdefault((corpid, agentid, userid.lower()), deque())
        while sends and now - sends[0] >= timedelta(hours=1):
            sends.popleft()
        last_minute = sum(1 for t in sends if now - t < timedelta(minutes=1))
        if last_minute >= MEMBER_PER_MINUTE or len(sends) >= MEMBER_PER_HOUR:
            return False
        sends.append(now)
        return True

    def _work_message_send(self, call: _Call) -> _Answer:
        checked = self._token_and_json(call)
        if isinstance(checked, _Answer):
            return checked
        tok, payload = checked
        corp = self._corps[tok.account]
        agentid = payload.get("agentid")
        if agentid in (None, ""):
            return self._error(call, 41011)
        try:
            agentid = int(agentid)
        except (TypeError, ValueError):
            return self._error(call, 301002)
        if agentid != tok.agentid:
            return self._error(call, 301002)
        users = self._split(payload.get("touser"))
        parties = self._split(payload.get("toparty"))
        tags = self._split(payload.get("totag"))
        if users == ["@all"]:
            parties, tags = [], []
        elif len(users) > MAX_USERIDS:
            return self._error(call, 40032)
        if len(parties) > MAX_PARTIES:
            return self._error(call, 82002)
        if len(tags) > MAX_TAGS:
            return self._error(call, 82003)
        if not users and not parties and not tags:
            return self._error(call, 82001)
        msgtype = self._check_msg(call, payload, WORK_MSGTYPES)
        if isinstance(msgtype, _Answer):
            return msgtype

        recipients: list[str] = []
        invalid_users: list[str] = []
        if users == ["@all"]:
            recipients = list(corp.users.values())
        else:
            for u in users:
                canon = corp.users.get(u.lower())
                if canon is None:
                    invalid_users.append(u.lower())
                else:
                    recipients.append(canon)
        invalid_parties = [p for p in parties if p not in corp.parties]
        invalid_tags = [t for t in tags if t not in corp.tags]
        for p in parties:
            recipients.extend(sorted(corp.parties.get(p, ())))
        for t in tags:
            recipients.extend(sorted(corp.tags.get(t, ())))
        extra = {}
        if invalid_users:
            extra["invaliduser"] = "|".join(invalid_users)
        if invalid_parties:
            extra["invalidparty"] = "|".join(invalid_parties)
        if invalid_tags:
            extra["invalidtag"] = "|".join(invalid_tags)
        unique = list(dict.fromkeys(recipients))
        if not unique:
            return self._error(call, 81013, **extra)

        msgid = hashlib.sha256(f"msg|{next(self._seq)}".encode()).hexdigest()[:64]
        content = self._content(msgtype, payload)
        for userid in unique:
            if self._member_allowed(corp.corpid, agentid, userid, call.now):
                self._deliver(call, userid, "userid", msgtype, content, payload, corp.corpid, msgid)
            else:
                self._dropped.append(Dropped(userid, agentid, call.now, payload))
        return self._ok(**extra, msgid=msgid)

    def _work_appchat_send(self, call: _Call) -> _Answer:
        checked = self._token_and_json(call)
        if isinstance(checked, _Answer):
            return checked
        tok, payload = checked
        corp = self._corps[tok.account]
        chatid = payload.get("chatid")
        if not isinstance(chatid, str) or not chatid:
            return self._error(call, 86001)
        if chatid not in corp.chats:
            return self._error(call, 86003)
        msgtype = self._check_msg(call, payload, APPCHAT_MSGTYPES)
        if isinstance(msgtype, _Answer):
            return msgtype
        self._deliver(call, chatid, "chat", msgtype, self._content(msgtype, payload), payload, corp.corpid)
        return self._ok()

    def _work_webhook_send(self, call: _Call) -> _Answer:
        key = call.params.get("key") or ""
        window = self._robots.get(key)
        if window is None:
            return self._error(call, 93000)
        payload = self._json_body(call)
        if isinstance(payload, _Answer):
            return payload
        msgtype = self._check_msg(call, payload, ROBOT_MSGTYPES)
        if isinstance(msgtype, _Answer):
            return msgtype
        while window and call.now - window[0] >= timedelta(minutes=1):
            window.popleft()
        if len(window) >= self.robot_per_minute:
            return self._error(call, 45009)
        window.append(call.now)
        self._deliver(call, key, "robot", msgtype, self._content(msgtype, payload), payload, None)
        return self._ok()

    # ------------------------------------------------------------ dispatch --------------------

    def _draw_fault(self, endpoint: str) -> tuple[str | None, float]:
        plan = self._faults
        if plan is None or (plan.endpoints is not None and endpoint not in plan.endpoints):
            return None, 0.0
        if plan.rng.random() >= plan.rate:
            return None, 0.0
        kind = plan.rng.choices(plan.kinds, plan.weights)[0]
        self._fault_log.append((endpoint, kind))
        return kind, plan.stall_s

    async def _dispatch(self, endpoint: str, family: str, method: str, request: Request,
                        handler: Callable[[_Call], _Answer]) -> Response:
        body = await request.body()
        ip = request.client.host if request.client else "127.0.0.1"
        with self._lock:
            now = self.clock.now()
            self._calls[endpoint] += 1
            call = _Call(endpoint, family, request.method, dict(request.query_params), body, ip, now)
            if self._down is not None:
                return self._record(call, _Answer(_HTML.format("503 Service Unavailable").encode(),
                                                  status=503, media_type="text/html"), "down")
            fault, stall_s = self._draw_fault(endpoint)
            if fault == "http500":
                return self._record(call, _Answer(_HTML.format("500 Internal Server Error").encode(),
                                                  status=500, media_type="text/html"), fault)
            if fault in ("errcode-1", "errcode45009", "errcode45011"):
                return self._record(call, self._error(call, int(fault[len("errcode"):])), fault)
            if fault == "stall_undelivered":
                answer = self._error(call, -1)
            elif request.method != method:
                answer = self._error(call, 43001 if method == "GET" else 43002)
            else:
                answer = handler(call)
            response = self._record(call, answer, fault)
        if fault in ("stall", "stall_undelivered"):
            await asyncio.sleep(stall_s)
        return response

    def _record(self, call: _Call, answer: _Answer, fault: str | None) -> Response:
        errcode = answer.body.get("errcode", 0) if isinstance(answer.body, dict) else None
        self._history.append(CallRecord(call.endpoint, call.method, call.now, answer.status, errcode, fault))
        if isinstance(answer.body, dict):
            media_type = "application/json; encoding=utf-8" if call.family == "mp" \
                else "application/json; charset=UTF-8"
            return Response(json.dumps(answer.body, ensure_ascii=False).encode("utf-8"),
                            status_code=answer.status, media_type=media_type, headers=answer.headers)
        return Response(answer.body, status_code=answer.status, media_type=answer.media_type,
                        headers=answer.headers)

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="Gridline sandbox: fake WeChat / WeCom APIs", docs_url=None, redoc_url=None,
                      openapi_url=None)
        app.state.fake = self
        routes = [
            ("mp", "/token", "mp.token", "GET", self._mp_token),
            ("mp", "/message/custom/send", "mp.message.custom.send", "POST", self._mp_custom_send),
            ("mp", "/message/template/send", "mp.message.template.send", "POST", self._mp_template_send),
            ("mp", "/media/get", "mp.media.get", "GET", self._media_get),
            ("work", "/gettoken", "work.gettoken", "GET", self._work_gettoken),
            ("work", "/message/send", "work.message.send", "POST", self._work_message_send),
            ("work", "/appchat/send", "work.appchat.send", "POST", self._work_appchat_send),
            ("work", "/webhook/send", "work.webhook.send", "POST", self._work_webhook_send),
            ("work", "/media/get", "work.media.get", "GET", self._media_get),
        ]
        for family in ("mp", "work"):
            router = APIRouter(prefix=f"/{family}/cgi-bin")
            for fam, path, endpoint, method, handler in routes:
                if fam == family:
                    router.add_api_route(path, self._route(endpoint, fam, method, handler),
                                         methods=["GET", "POST"], include_in_schema=False)
            app.include_router(router)

        @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"],
                       include_in_schema=False)
        async def elsewhere(path: str) -> Response:
            if self._down is not None:
                return Response(_HTML.format("503 Service Unavailable"), status_code=503, media_type="text/html")
            return Response(_HTML.format("404 Not Found"), status_code=404, media_type="text/html")

        return app

    def _route(self, endpoint: str, family: str, method: str, handler: Callable[[_Call], _Answer]):
        async def route(request: Request) -> Response:
            return await self._dispatch(endpoint, family, method, request, handler)

        route.__name__ = endpoint.replace(".", "_")
        return route


def _cut(text: str, limit: int) -> str:
    """At most `limit` bytes of UTF-8, never half a character."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def create_fake(clock: Clock | None = None, **options) -> FastAPI:
    """The sandbox as one ASGI app; its ``FakeWeChat`` (the control API) is ``app.state.fake``.
    ``options`` go to ``FakeWeChat`` (custom_quota, robot_per_minute, member_limits, ...)."""
    return FakeWeChat(clock, **options).app
