"""A conflict of interest found late: the office re-classifies a case as accusing a village cadre
(or it is a 举报) after people of that village may already have had it.

In the re-classification's transaction: every outbox row about the case for someone who has lost
the right to see it (and for the village's group chats) that is not known to be sent is cancelled —
pending, dead (so no one can retry it to them) and in flight (a claim's outcome is recorded only on a
row still `sending`, so it is never retried) — they are told nothing, and the township office is told
exactly who had already received what.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlmodel import Session

from handlers import org, texts
from handlers.access import CaseScope, excluded, viewer
from handlers.notify import CHAT_CHANNEL, addresses_of, notify
from handlers.people import holders, subtree
from models import Case, CaseEvent, ChatIdentity, ChatTarget, OutboxMessage, Person

CANCELLED = "cancelled"
UNSENT = ("pending", "dead", "sending")  # what may still go out: waiting, retryable, or in flight
DELIVERED = ("sent", "sending")  # sending: claimed by a delivery pass, may have gone out


def _about(case: Case):
    """Outbox rows about the case: written for it, or naming it (the weekly lists)."""
    return or_(OutboxMessage.case_id == case.id, OutboxMessage.body.contains(case.code))


def shut_out(session: Session, case: Case, scope: CaseScope, members_before: set[int]) -> dict[int, Person]:
    """Everyone who was on the case or was sent anything about it and is now shut out of it by the
    conflict of interest (not those who merely lost it to another department)."""
    rows = session.execute(select(OutboxMessage.channel, OutboxMessage.recipient).where(_about(case))).all()
    reached = set(session.scalars(select(ChatIdentity.person_id).where(
        or_(*[(ChatIdentity.channel == c) & (ChatIdentity.external_id == r) for c, r in set(rows)]))) if rows else [])
    ids = members_before | reached
    people = session.scalars(select(Person).where(Person.id.in_(ids))).all() if ids else []
    return {p.id: p for p in people if excluded(viewer(session, p), scope)}


def report(session: Session, case: Case, lost: dict[int, Person], now: datetime, tz: ZoneInfo) -> None:
    """Cancel what is pending for `lost` (and the village's group chats), tell the office who had what."""
    owner: dict[tuple[str, str], str] = {}
    for pid, addresses in addresses_of(session, list(lost)).items():
        for address in addresses:
            owner[address] = lost[pid].name
    for village_id in sorted(case.shut_out_villages):
        for target in session.scalars(select(ChatTarget).where(ChatTarget.unit_id.in_(subtree(session, village_id)))):
            owner[(CHAT_CHANNEL[target.kind], target.key)] = texts.VILLAGE_CHAT
    rows = session.scalars(select(OutboxMessage).where(_about(case)).order_by(OutboxMessage.id)).all()
    mine = [r for r in rows if (r.channel, r.recipient) in owner]
    was = {r.id: r.status for r in mine}  # before the cancel: an in-flight row may have gone out
    cancel = [r.id for r in mine if r.status in UNSENT]
    if cancel:
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(cancel), OutboxMessage.status.in_(UNSENT))
                        .values(status=CANCELLED).execution_options(synchronize_session=False))
    received: dict[str, list[str]] = {name: [] for name in sorted(set(owner.values()) - {texts.VILLAGE_CHAT})}
    for r in mine:
        if was[r.id] in DELIVERED:
            what = texts.EXPOSURE_WHAT.get(r.idempotency_key.split(":", 1)[0], texts.EXPOSURE_OTHER)
            received.setdefault(owner[(r.channel, r.recipient)], []).append(
                f"{what}（{texts.moment(r.sent_at or r.created_at, tz)}）")
    withdrawn = sum(was[i] != "sending" for i in cancel)  # in flight: reported above as maybe received
    text = texts.exposure_report(case.code, received, withdrawn)
    session.add(CaseEvent(case_id=case.id, at=now, actor_id=None, action=texts.EXPOSURE_EVENT,
                          note="、".join(sorted(p.name for p in lost.values()))))
    for person in holders(session, org.OFFICE, case.township_id):
        notify(session, person, text, f"exposure:{case.code}:{person.id}:{now.isoformat()}", now, case_id=case.id)

