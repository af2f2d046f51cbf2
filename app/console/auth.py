"""Sign-in through WeCom: /console/login → WeCom (OAuth in its client, QR login elsewhere) → /console/auth."""

import secrets
from datetime import datetime, timedelta

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import delete, func, select
from sqlmodel import Session

from app.deps import DB, get_clock, get_sessions, get_settings, now
from app.console import session as console_session
from app.console.pages import page
from app.console.session import ME, Refused, Signed
from bot.outbound.senders import wecom_token
from bot.outbound.tokens import TokenStore
from bot.wecom_login import LoginRefused, is_wecom_client, oauth_url, qr_login_url, userid_for_code
from handlers import texts
from models import ChatIdentity, LoginState, Person

STATE_VALID = timedelta(minutes=10)
STATE_COOKIE = "gridline_login"
TIMEOUT_S = 10
INVALID_CODE = 40029
MAX_CODE = 512  # "code最大为512字节"

router = APIRouter(prefix="/console", include_in_schema=False)


def _next(path: str | None) -> str:
    """Only our own console pages: never an open redirect."""
    if path and path.startswith("/console") and not path.startswith("//") and len(path) <= 300 \
            and path.isprintable() and "\\" not in path:
        return path
    return "/console"


def _public_url(request: Request) -> str:
    return (get_settings(request).public_url or str(request.base_url)).rstrip("/")


@router.get("/login")
def login(request: Request, next: str | None = None, s: Session = DB, at: datetime = Depends(now)) -> Response:
    if not console_session.enabled(request):
        raise Refused(texts.CONSOLE_OFF, status=503)
    s.execute(delete(LoginState).where(LoginState.expires_at < at))  # forget the abandoned ones
    state = secrets.token_hex(16)  # WeCom takes a-zA-Z0-9 only
    s.add(LoginState(state=state, next_path=_next(next), created_at=at, expires_at=at + STATE_VALID))
    settings = get_settings(request)
    redirect_uri = _public_url(request) + "/console/auth"
    if is_wecom_client(request.headers.get("user-agent", "")):
        url = oauth_url(settings.wecom_oauth_base, settings.work_corp_id, settings.work_agent_id, redirect_uri, state)
    else:
        url = qr_login_url(settings.wecom_sso_base, settings.work_corp_id, settings.work_agent_id, redirect_uri, state)
    response = RedirectResponse(url, status_code=303)
    # The state is also tied to this browser: a callback carrying someone else's state is refused.
    response.set_cookie(STATE_COOKIE, state, max_age=int(STATE_VALID.total_seconds()), httponly=True,
                        samesite="lax", secure=settings.public_url.startswith("https://"), path="/console/auth")
    return response


@router.get("/auth")
def auth(request: Request, code: str | None = None, state: str | None = None, s: Session = DB,
         at: datetime = Depends(now)) -> Response:
    if not console_session.enabled(request):
        raise Refused(texts.CONSOLE_OFF, status=503)
    found = _spend(request, state, at)
    if found is None:
        raise Refused(texts.CONSOLE_STATE_BAD, status=400)
    if not code:
        raise Refused(texts.CONSOLE_CANCELLED, status=400)
    if len(code) > MAX_CODE:
        raise Refused(texts.CONSOLE_CODE_BAD, status=400)
    userid = _exchange(request, code)
    person = _person(s, userid)
    if person is None:
        raise Refused(texts.CONSOLE_NOT_IN_ROSTER, userid=userid)
    if console_session.console_roles(s, person) is None:
        raise Refused(texts.CONSOLE_NO_CONSOLE_ROLE, name=person.name)
    response = RedirectResponse(found.next_path, status_code=303)
    response.delete_cookie(STATE_COOKIE, path="/console/auth")
    console_session.start(request, s, response, person, at)
    return response


def _spend(request: Request, state: str | None, at: datetime) -> LoginState | None:
    """The login this state belongs to, used up in its own transaction (whatever happens next), when
    it came back to the browser that started it, once, in time."""
    if not state or len(state) > 64 or request.cookies.get(STATE_COOKIE) != state:
        return None
    with get_sessions(request).begin() as s:
        found = s.get(LoginState, state)
        # One use: the row goes to whichever request deletes it first.
        if found is None or s.execute(delete(LoginState).where(LoginState.state == state)).rowcount != 1:
            return None
    return found if found.expires_at >= at else None


def _exchange(request: Request, code: str) -> str:
    settings = get_settings(request)
    base = settings.wecom_api_base.rstrip("/")
    with httpx.Client(timeout=TIMEOUT_S) as http:
        # The same cached token as the WeCom sender: one per app, shared by every process.
        tokens = TokenStore(get_sessions(request), get_clock(request), f"work:{settings.work_corp_id}:{settings.work_agent_id}",
                            wecom_token(http, base, settings.work_corp_id, settings.work_secret.get_secret_value()))
        try:
            userid = userid_for_code(http, base, tokens, code)
        except LoginRefused as refused:
            if refused.errcode is None:
                raise Refused(texts.CONSOLE_WECOM_DOWN, status=502) from None
            if refused.errcode == INVALID_CODE:
                raise Refused(texts.CONSOLE_CODE_BAD, status=400) from None
            raise Refused(texts.CONSOLE_WECOM_REFUSED, status=502, errcode=refused.errcode) from None
    if userid is None:
        raise Refused(texts.CONSOLE_NOT_MEMBER)
    return userid


def _person(s: Session, userid: str) -> Person | None:
    """The active person with this active WeCom userid (userids are case-insensitive in WeCom)."""
    return s.scalars(select(Person).join(ChatIdentity, ChatIdentity.person_id == Person.id).where(
        ChatIdentity.channel == "work", func.lower(ChatIdentity.external_id) == userid.lower(),
        ChatIdentity.active, Person.active).limit(1)).one_or_none()


@router.post("/logout")
def logout(request: Request, me: Signed = ME, s: Session = DB) -> Response:
    response = RedirectResponse("/console/bye", status_code=303)
    console_session.end(s, response, me)
    return response


@router.get("/bye")
def bye(request: Request) -> Response:
    # Not a redirect to /login: inside WeCom that would sign the person straight back in.
    return page(request, "message.html", {"title": texts.CONSOLE_SIGNED_OUT[0], "message": texts.CONSOLE_SIGNED_OUT[1],
                                          "again": True})
