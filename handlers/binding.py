"""Invite codes, and binding an Official Account openid to a person with one.

A code is 6 digits (a million): guessing is held back per openid and, since a stranger can have many
accounts, across all of them — past GLOBAL_LOCK_AFTER failures in an hour nobody binds until the hour
has passed. Every failure gets the same answer, so a guess tells nothing about which codes exist.
A code binds once: its use is a conditional update, which two simultaneous binds cannot both win.
"""

import logging
import secrets
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import func, select, update
from sqlmodel import Session

from models import BindFailure, ChatIdentity, Invite, Person

INVITE_VALID = timedelta(hours=72)
LOCK_AFTER = 5  # failed binds of one openid …
GLOBAL_LOCK_AFTER = 20  # … or of all openids together …
LOCK_WINDOW = timedelta(hours=1)  # … within this long lock binding for as long again

log = logging.getLogger("gridline.binding")


class Bind(Enum):
    BOUND = "bound"
    REFUSED = "refused"  # a wrong, used or expired code, or too many failures: one answer for all


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
    recent = BindFailure.at > now - LOCK_WINDOW
    mine = session.scalar(select(func.count()).select_from(BindFailure).where(BindFailure.openid == openid, recent))
    everyone = session.scalar(select(func.count()).select_from(BindFailure).where(recent))
    if mine >= LOCK_AFTER or everyone >= GLOBAL_LOCK_AFTER:
        if everyone == GLOBAL_LOCK_AFTER:
            log.warning("binding locked for everyone: too many failed invite codes", extra={"event": "bind_locked"})
        return _failed(session, openid, now)
    found = session.scalars(select(Invite).where(Invite.code == code).order_by(Invite.id.desc())).first()
    person = session.get(Person, found.person_id) if found is not None else None
    if person is None or not person.active or not _use(session, found, now):
        return _failed(session, openid, now)
    identity = session.scalars(
        select(ChatIdentity).where(ChatIdentity.channel == "mp", ChatIdentity.external_id == openid)
    ).one_or_none()
    if identity is None:
        identity = ChatIdentity(person_id=person.id, channel="mp", external_id=openid)
        session.add(identity)
    identity.person_id, identity.active, identity.last_message_at = person.id, True, now
    return Bind.BOUND, person


def _use(session: Session, invite: Invite, now: datetime) -> bool:
    """Mark the code used, if it still is usable: of two binds at once, one wins (the other waits for the row
    on PostgreSQL, then finds it used)."""
    used = session.execute(update(Invite).where(Invite.id == invite.id, Invite.used_at.is_(None), Invite.expires_at > now)
                           .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    return used == 1


def _failed(session: Session, openid: str, now: datetime) -> tuple[Bind, None]:
    session.add(BindFailure(openid=openid, at=now))
    return Bind.REFUSED, None


def unsubscribed(session: Session, openid: str) -> None:
    identity = session.scalars(
        select(ChatIdentity).where(ChatIdentity.channel == "mp", ChatIdentity.external_id == openid)
    ).one_or_none()
    if identity is not None:
        identity.active = False
