"""Invite codes, and binding an Official Account openid to a person with one."""

import secrets
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import func, select
from sqlmodel import Session

from models import BindFailure, ChatIdentity, Invite, Person

INVITE_VALID = timedelta(hours=72)
LOCK_AFTER = 5  # wrong codes …
LOCK_WINDOW = timedelta(hours=1)  # … within this long lock binding for as long again


class Bind(Enum):
    BOUND = "bound"
    WRONG = "wrong"
    EXPIRED = "expired"
    USED = "used"
    LOCKED = "locked"


def invite(session: Session, person: Person, now: datetime) -> str:
    """A fresh 6-digit code for `person`, unique among the codes still usable."""
    while True:
        code = f"{secrets.randbelow(10**6):06d}"
        clash = session.scalars(
            select(Invite.id).where(Invite.code == code, Invite.used_at.is_(None), Invite.expires_at > now)
        ).first()
        if clash is None:
            break
    session.add(Invite(code=code, person_id=person.id, created_at=now, expires_at=now + INVITE_VALID))
    session.flush()
    return code


def bind(session: Session, openid: str, code: str, now: datetime) -> tuple[Bind, Person | None]:
    """Bind `openid` to the person the code was issued for."""
    failures = session.scalar(
        select(func.count()).select_from(BindFailure)
        .where(BindFailure.openid == openid, BindFailure.at > now - LOCK_WINDOW)
    )
    if failures >= LOCK_AFTER:
        return Bind.LOCKED, None
    found = session.scalars(select(Invite).where(Invite.code == code).order_by(Invite.id.desc())).first()
    outcome = _check(found, now)
    if outcome is not Bind.BOUND:
        session.add(BindFailure(openid=openid, at=now))
        return outcome, None
    person = session.get(Person, found.person_id)
    if person is None or not person.active:
        session.add(BindFailure(openid=openid, at=now))
        return Bind.WRONG, None
    found.used_at = now
    identity = session.scalars(
        select(ChatIdentity).where(ChatIdentity.channel == "mp", ChatIdentity.external_id == openid)
    ).one_or_none()
    if identity is None:
        identity = ChatIdentity(person_id=person.id, channel="mp", external_id=openid)
        session.add(identity)
    identity.person_id, identity.active, identity.last_message_at = person.id, True, now
    return Bind.BOUND, person


def _check(found: Invite | None, now: datetime) -> Bind:
    if found is None:
        return Bind.WRONG
    if found.used_at is not None:
        return Bind.USED
    if found.expires_at <= now:
        return Bind.EXPIRED
    return Bind.BOUND


def unsubscribed(session: Session, openid: str) -> None:
    identity = session.scalars(
        select(ChatIdentity).where(ChatIdentity.channel == "mp", ChatIdentity.external_id == openid)
    ).one_or_none()
    if identity is not None:
        identity.active = False
