"""Seeding the demo county: the shipped roster and chats files, through the real importers.

Idempotent, like the importers themselves: seeding twice leaves the same state. People without a
WeCom userid use the Official Account; they are bound to a made-up openid through the real invite
and binding path, as if they had sent `绑定 CODE` already.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from models.clock import Clock
from app.db import make_engine, session_factory
from app.migrate import upgrade
from handlers import binding
from handlers.chats import ChatsReport, import_chats
from handlers.roster import ImportReport, import_roster
from models import ChatIdentity, Person

DATA = Path(__file__).parent
ROSTER, CHATS = DATA / "roster.csv", DATA / "chats.csv"


class DemoDataError(RuntimeError):
    """The shipped demo files were refused: a bug in the package, not in the user's input."""


@dataclass(frozen=True)
class Seeded:
    roster: ImportReport
    chats: ChatsReport
    bound: int  # Official Account people bound in this run


def demo_openid(phone: str) -> str:
    """A stable, openid-shaped id (28 characters) for a demo person's Official Account follower."""
    return "oDemo" + hashlib.sha256(phone.encode()).hexdigest()[:23]


def seed(database_url: str, clock: Clock) -> Seeded:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        return _seed(session_factory(engine), clock)
    finally:
        engine.dispose()


def _seed(sessions: sessionmaker[Session], clock: Clock) -> Seeded:
    with sessions.begin() as session:
        roster = import_roster(session, ROSTER.name, ROSTER.read_bytes())
        chats = import_chats(session, CHATS.name, CHATS.read_bytes())
        for report in (roster, chats):
            if report.refused:
                raise DemoDataError("\n".join(map(str, report.errors)) or report.summary())
        bound = _bind_followers(session, clock)
    return Seeded(roster, chats, bound)


def _bind_followers(session: Session, clock: Clock) -> int:
    with_identity = select(ChatIdentity.person_id).where(ChatIdentity.active)
    unreachable = session.scalars(select(Person).where(Person.active, Person.id.not_in(with_identity))).all()
    now = clock.now()
    for person in unreachable:
        code = binding.invite(session, person, now)
        outcome, _ = binding.bind(session, demo_openid(person.phone), code, now)
        assert outcome is binding.Bind.BOUND, outcome  # a fresh code for an active person always binds
    return len(unreachable)
