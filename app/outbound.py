"""Wiring the outbound side from settings: tokens, senders, and one delivery pass."""

from datetime import datetime

import httpx
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from models.clock import Clock
from app.settings import Settings
from bot.outbound.delivery import DeadLetter, OnDead, Report, deliver_due
from bot.outbound.senders import (
    INVALID_USER,
    AppChatSender,
    OfficialAccountSender,
    RobotSender,
    WeComSender,
    mp_token,
    wecom_token,
)
from bot.outbound.tokens import TokenStore
from handlers.notify import report_unknown_userids
from models import ChatIdentity

TIMEOUT_S = 10


def build_senders(settings: Settings, sessions: sessionmaker[Session], clock: Clock, http: httpx.Client) -> dict:
    """A sender per configured channel ("work" and its group chats "appchat", "mp") and for group
    robots ("robot"); a pass serves them in this order: people first."""
    senders = {}
    if settings.work_corp_id and settings.work_secret.get_secret_value():
        base = settings.wecom_api_base.rstrip("/")
        fetch = wecom_token(http, base, settings.work_corp_id, settings.work_secret.get_secret_value())
        tokens = TokenStore(sessions, clock, f"work:{settings.work_corp_id}:{settings.work_agent_id}", fetch)
        senders["work"] = WeComSender(http, base, settings.work_agent_id or "0", tokens)
        senders["appchat"] = AppChatSender(http, base, tokens)  # app group chats are the same app's
    if settings.mp_app_id and settings.mp_app_secret.get_secret_value():
        base = settings.wechat_api_base.rstrip("/")
        fetch = mp_token(http, base, settings.mp_app_id, settings.mp_app_secret.get_secret_value())
        tokens = TokenStore(sessions, clock, f"mp:{settings.mp_app_id}", fetch)
        senders["mp"] = OfficialAccountSender(http, base, tokens, settings.mp_template_id, settings.mp_template_field,
                                              last_seen=_last_seen(sessions), clock=clock)
    senders["robot"] = RobotSender(http, settings.wecom_api_base)  # a robot's key is its credential
    return senders


def tell_the_office(clock: Clock) -> OnDead:
    """An unknown WeCom userid is the roster's fault: the person's office hears of it."""
    def on_dead(session: Session, dead: list[DeadLetter]) -> None:
        unknown = [(d.recipient, d.idempotency_key) for d in dead if d.channel == "work" and d.error == INVALID_USER]
        if unknown:
            report_unknown_userids(session, unknown, clock.now())
    return on_dead


def _last_seen(sessions: sessionmaker[Session]):
    """openid → when that follower last wrote to the Official Account (None: not recorded)."""
    def lookup(openids: list[str]) -> dict[str, datetime | None]:
        with sessions() as s:
            return dict(s.execute(select(ChatIdentity.external_id, ChatIdentity.last_message_at).where(
                ChatIdentity.channel == "mp", ChatIdentity.external_id.in_(set(openids)))).all())
    return lookup


def deliver_once(settings: Settings, sessions: sessionmaker[Session], clock: Clock) -> Report:
    with httpx.Client(timeout=TIMEOUT_S) as http:
        return deliver_due(sessions, clock, build_senders(settings, sessions, clock, http),
                           on_dead=tell_the_office(clock))
