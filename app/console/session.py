"""The console's session: a signed, HttpOnly, SameSite=Lax cookie naming the person, with a CSRF token.

The cookie carries the person's id, a session token and a per-session CSRF token, signed with
GRIDLINE_SECRET_KEY and stamped by the injectable clock (itsdangerous' timestamps, read from our clock).
The session also lives server-side (table console_sessions, keyed by the token's SHA-256): logout and
全部退出 delete the rows, and a cookie whose row is gone signs nobody in, however well signed. Every
request loads the person again: someone deactivated or stripped of their console role is out at once.
Every POST must carry the session's CSRF token (form field `csrf`, or header X-CSRF-Token for htmx).
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Depends, Request
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from starlette.datastructures import FormData
from sqlalchemy import delete, select
from sqlmodel import Session

from app.deps import DB, get_clock, get_settings
from handlers import org, texts
from handlers.people import member
from models import ConsoleSession, Person, Unit
from models.org import COUNTY

COOKIE = "gridline_console"
SALT = "gridline-console-session"
# Who may use the console; village roles (网格员, 村两委, 村书记) work in chat.
CONSOLE_ROLES = frozenset({org.OFFICE, org.LEADER_IN_CHARGE, org.MAIN_LEADER, org.SPOKESPERSON, org.LIAISON,
                           org.VILLAGE_LEADER})


@dataclass(frozen=True)
class Signed:
    person: Person
    roles: frozenset[str]
    csrf: str
    token_hash: str


class SignInNeeded(Exception):
    """No valid session: the browser goes to /console/login (and back here afterwards)."""


class Refused(Exception):
    """A page the person may not use: (title, message) from handlers/texts.py, and the status."""

    def __init__(self, page: tuple[str, str], status: int = 403, **values):
        super().__init__(page[0])
        self.title, self.message, self.status = page[0], page[1].format(**values), status


def _serializer(request: Request) -> URLSafeTimedSerializer:
    clock = get_clock(request)

    class ClockSigner(TimestampSigner):  # signed and checked on the one injectable clock
        def get_timestamp(self) -> int:
            return int(clock.now().timestamp())

    key = get_settings(request).secret_key.get_secret_value()
    return URLSafeTimedSerializer(key, salt=SALT, signer=ClockSigner)


def max_age_s(request: Request) -> int:
    return int(get_settings(request).console_session_hours * 3600)


def enabled(request: Request) -> bool:
    settings = get_settings(request)
    return bool(settings.secret_key.get_secret_value() and settings.work_corp_id
                and settings.work_secret.get_secret_value())


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(request: Request, session: Session, response, person: Person, now: datetime) -> None:
    """Sign the person in: a fresh server-side session, a cookie naming it with a fresh CSRF token."""
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))  # forget the lapsed ones
    token = secrets.token_urlsafe(32)
    session.add(ConsoleSession(token_hash=_hash(token), person_id=person.id, created_at=now,
                               expires_at=now + timedelta(seconds=max_age_s(request))))
    value = _serializer(request).dumps({"p": person.id, "s": token, "c": secrets.token_urlsafe(24)})
    response.set_cookie(COOKIE, value, max_age=max_age_s(request), httponly=True, samesite="lax",
                        secure=get_settings(request).public_url.startswith("https://"), path="/console")


def end(session: Session, response, me: "Signed") -> None:
    """Sign this browser out: its session row goes, so a copy of the cookie is worth nothing either."""
    session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == me.token_hash))
    response.delete_cookie(COOKIE, path="/console")


def end_everywhere(session: Session, person_id: int) -> int:
    """Sign the person out of every browser; how many sessions ended."""
    return session.execute(delete(ConsoleSession).where(ConsoleSession.person_id == person_id)).rowcount


def console_roles(session: Session, person: Person) -> frozenset[str] | None:
    """The person's roles when they may use the console (county-level people may), else None."""
    roles = member(session, person).roles
    if roles & CONSOLE_ROLES or session.scalar(select(Unit.kind).where(Unit.id == person.unit_id)) == COUNTY:
        return roles
    return None


def _read(request: Request) -> dict | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer(request).loads(raw, max_age=max_age_s(request))
    except BadSignature:  # tampered, signed with another key, or expired (SignatureExpired)
        return None
    valid = isinstance(data, dict) and isinstance(data.get("p"), int) and all(
        isinstance(data.get(k), str) for k in ("s", "c"))
    return data if valid else None


async def _posted_token(request: Request) -> str:
    """The CSRF token a POST carries (htmx sends the header, a plain form the `csrf` field), once the
    request is known to hold no NUL: PostgreSQL refuses it in text, and no one types it."""
    if "\x00" in request.url.path or any("\x00" in k + v for k, v in request.query_params.multi_items()):
        raise Refused(texts.CONSOLE_UNTYPABLE, status=400)
    if request.method != "POST":
        return ""
    try:
        form = await request.form()  # parsed once: the route's own Form fields read the same
    except Exception:  # not a form at all (malformed multipart, wrong type): no token
        form = FormData()
    if any(isinstance(v, str) and "\x00" in v for _, v in form.multi_items()):
        raise Refused(texts.CONSOLE_UNTYPABLE, status=400)
    token = request.headers.get("x-csrf-token") or form.get("csrf")
    return token if isinstance(token, str) else ""


def signed_in(request: Request, posted: str = Depends(_posted_token), s: Session = DB) -> Signed:
    """The signed-in person of a live server-side session, still active and still holding a console
    role; a POST must carry the session's CSRF token."""
    if not enabled(request):
        raise Refused(texts.CONSOLE_OFF, status=503)
    data = _read(request)
    token_hash = _hash(data["s"]) if data else ""
    live = s.get(ConsoleSession, token_hash) if data else None
    if live is None or live.person_id != data["p"] or live.expires_at <= get_clock(request).now():
        raise SignInNeeded()
    person = s.get(Person, data["p"])
    if person is None or not person.active:
        raise SignInNeeded()
    roles = console_roles(s, person)
    if roles is None:
        raise Refused(texts.CONSOLE_NO_CONSOLE_ROLE, name=person.name)
    if request.method == "POST" and not hmac.compare_digest(posted.encode(), data["c"].encode()):
        raise Refused(texts.CONSOLE_CSRF_BAD)
    return Signed(person, roles, data["c"], token_hash)


ME = Depends(signed_in)
