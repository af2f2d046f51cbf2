"""Telling a person or a group chat something: a row in the outbox, written in the caller's transaction.

A person is reached through WeCom when they have an active userid, else through the
Official Account; someone with neither cannot be reached in chat and is skipped (the
office sees every case in the admin API). A group chat is a ChatTarget: a group robot or a
WeCom app group chat. A message is text, markdown or a card (models/outbox.py); a channel
without markdown or cards gets the nearest it has. The outbound sender fills in the account.
"""

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import Session

from handlers import org, texts
from handlers.orgtree import OrgTree
from handlers.people import addresses, holders
from models import Case, ChatIdentity, ChatTarget, Person, Unit
from models.org import TOWNSHIP
from models.outbox import MSGTYPES, TEXT, TEXTCARD, Card, write_queued

if TYPE_CHECKING:  # a Lookups gathers rows to write them at once (handlers/lookups.py)
    from handlers.lookups import Lookups

CHAT_CHANNEL = {"robot": "robot", "appchat": "appchat"}  # ChatTarget.kind → outbox channel
UNREACHABLE_KEY = "unreachable:"

def notify(session: Session, person: Person, text: str, key: str, now: datetime, msgtype: str = TEXT,
           at: datetime | None = None, case_id: int | None = None, lookups: "Lookups | None" = None) -> bool:
    """Queue `text` (markdown when msgtype says so) for `person` once per `key`, to go at `at`
    (default now), about the case `case_id` if any; False when they have no chat identity.
    With `lookups`, the address is looked up once per person in its life, and the row is gathered
    there when it gathers (handlers/lookups.py)."""
    address = lookups.address(person.id) if lookups else addresses(session, [person.id]).get(person.id)
    if address is None:
        return False
    _queue(session, [(*address, key)], msgtype, text, now, at, case_id, lookups)
    return True


def notify_people(session: Session, people: Iterable[Person], text: str, key: str, now: datetime,
                  msgtype: str = TEXT) -> int:
    """Queue the same `text` for many people (a broadcast) once per `key` and person, in a few
    statements. Returns how many could be reached."""
    found = addresses(session, [p.id for p in people])
    _queue(session, [(channel, account, f"{key}:{pid}") for pid, (channel, account) in found.items()],
           msgtype, text, now)
    return len(found)


def notify_card(session: Session, person: Person, card: Card, key: str, now: datetime) -> bool:
    return notify(session, person, card.body(), key, now, msgtype=TEXTCARD)


def notify_chat(session: Session, target: ChatTarget, text: str, key: str, now: datetime, msgtype: str = TEXT,
                case_id: int | None = None) -> None:
    """Queue `text` for a group chat once per `key` (a card: `card.body()` with msgtype TEXTCARD)."""
    _queue(session, [(CHAT_CHANNEL[target.kind], target.key, key)], msgtype, text, now, case_id=case_id)


def notify_units(session: Session, unit_ids: Iterable[int], text: str, key: str, now: datetime,
                 msgtype: str = TEXT) -> int:
    """Queue `text` for every group chat of these units (exactly these: pass people.subtree() for
    the units below too), once per `key` and chat. Returns how many chats."""
    targets = session.scalars(select(ChatTarget).where(ChatTarget.unit_id.in_(set(unit_ids)))
                              .order_by(ChatTarget.id)).all()
    _queue(session, [(CHAT_CHANNEL[t.kind], t.key, f"{key}:{t.kind}:{t.id}") for t in targets], msgtype, text, now)
    return len(targets)


def report_unknown_userids(session: Session, dead: list[tuple[str, str]], now: datetime) -> int:
    """Messages to these (WeCom userid, outbox key) died because WeCom does not know the userid:
    tell each person's office, in one message per office member naming everyone. A report that
    itself dies is not reported again (two offices with bad userids would tell each other forever).
    Returns how many reports were queued."""
    by_office: dict[int, dict[int, Person]] = {}
    keys: dict[int, list[str]] = {}
    tree = OrgTree.load(session)
    for userid, key in dead:
        if key.startswith(UNREACHABLE_KEY):
            continue
        person = session.scalars(select(Person).join(ChatIdentity, ChatIdentity.person_id == Person.id).where(
            ChatIdentity.channel == "work", ChatIdentity.external_id == userid)).first()
        if person is None:
            continue
        office = tree.home_township(person.unit_id)  # the county, for county-level people
        by_office.setdefault(office, {})[person.id] = person
        keys.setdefault(office, []).append(key)
    queued = 0
    for office, subjects in by_office.items():
        # Same dead rows, same report: a pass that records them twice still tells the office once.
        digest = hashlib.sha256("\n".join(sorted(keys[office])).encode()).hexdigest()[:24]
        text = texts.unreachable([subjects[pid].name for pid in sorted(subjects)])
        for member in _office_members(session, office):
            if member.id not in subjects and notify(session, member, text, f"{UNREACHABLE_KEY}{digest}:{member.id}", now):
                queued += 1
    return queued


def report_failed_job(session: Session, job_id: int, kind: str, case_id: int | None, now: datetime) -> int:
    """A job failed for good: its case's township office hears of it (every office, for a job of no case).
    Returns how many messages were queued."""
    case = session.get(Case, case_id) if case_id else None
    offices = [case.township_id] if case else list(session.scalars(select(Unit.id).where(Unit.kind == TOWNSHIP)))
    text = texts.job_failed(kind, job_id, case.code if case else None)
    return sum(notify(session, member, text, f"jobfailed:{job_id}:{member.id}", now)
               for office in offices for member in _office_members(session, office))


def _office_members(session: Session, unit_id: int) -> list[Person]:
    office = holders(session, org.OFFICE, unit_id)
    if session.get(Unit, unit_id).kind == TOWNSHIP:
        return office
    return [p for p in office if p.unit_id == unit_id]  # the county's own office, not the townships'


def _queue(session: Session, rows: list[tuple[str, str, str]], msgtype: str, body: str, now: datetime,
           at: datetime | None = None, case_id: int | None = None, lookups: "Lookups | None" = None) -> None:
    """(channel, recipient, key) rows, all with this message."""
    if msgtype not in MSGTYPES:
        raise ValueError(f"msgtype must be one of {MSGTYPES}")
    queued = [{
        "idempotency_key": key, "channel": channel, "account": "", "recipient": recipient, "msgtype": msgtype,
        "body": body, "status": "pending", "attempts": 0, "created_at": now, "next_attempt_at": at or now,
        "case_id": case_id,
    } for channel, recipient, key in rows]
    if lookups is not None and lookups.outbox is not None:
        lookups.outbox.extend(queued)
    else:
        write_queued(session, queued)


def addresses_of(session: Session, person_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """person id → every (channel, account) they have or had: where messages to them went."""
    found: dict[int, list[tuple[str, str]]] = {}
    for pid, channel, account in session.execute(
            select(ChatIdentity.person_id, ChatIdentity.channel, ChatIdentity.external_id)
            .where(ChatIdentity.person_id.in_(person_ids))):
        found.setdefault(pid, []).append((channel, account))
    return found
