"""Unified wording (统一口径): draft → approved → published → superseded, recipients and 收到.

Office staff draft, a leader (分管领导 / 主要领导) approves, the office or the spokesperson
publishes. Publishing sends the text to every person of the chosen roles at or under the
chosen units and to those units' group chats, supersedes the version in force before it
(telling everyone who had that one), and schedules one reminder for whoever has not replied
收到 two hours later, outside quiet hours. Each transition is a WordingEvent.

A wording's number is `Wording.id`; actions by number take its latest version.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlmodel import Session

from handlers import org, texts
from handlers.lookups import Lookups
from handlers.orgtree import OrgTree
from handlers.access import Viewer, WordingScope, can_see_wording, case_scope, excluded, manages_wording, viewer
from handlers.deadlines import quiet_shifted
from handlers.notify import notify, notify_chat
from handlers.numbers import as_id
from handlers.people import member
from handlers.policy import Policy
from models import Case, ChatTarget, Job, Person, PersonRole, Unit, VillageCover
from models.org import COUNTY
from models.wording import (
    APPROVED, DRAFT, PUBLISHED, SUPERSEDED, Wording, WordingEvent, WordingRecipient, WordingVersion,
)

DRAFTERS = frozenset({org.OFFICE})
APPROVERS = frozenset({org.LEADER_IN_CHARGE, org.MAIN_LEADER})
PUBLISHERS = frozenset({org.OFFICE, org.SPOKESPERSON})
# An audience without roles: the grid workers and cadres of the area.
DEFAULT_ROLES = (org.GRID_WORKER, org.VILLAGE_COMMITTEE, org.VILLAGE_SECRETARY, org.VILLAGE_LEADER)
MAX_TITLE = 40
MAX_BODY = 500  # with the header, one WeCom text message (2,048 bytes)
REMIND = "wording_remind"
REMIND_AFTER = timedelta(hours=2)
REMIND_AGAIN_AFTER = timedelta(minutes=30)  # the office's button: no one reminded twice within this
DRAFTED, APPROVE, PUBLISH, SUPERSEDE, REMINDED = "起草", "批准", "发布", "作废", "提醒"


class Refusal(Exception):
    """Why the action cannot happen, in Chinese; `kind` tells the admin API which status to answer."""

    FORBIDDEN, STATE, INPUT, MISSING = "forbidden", "state", "input", "missing"

    def __init__(self, reason: str, kind: str):
        super().__init__(reason)
        self.kind = kind


@dataclass(frozen=True)
class Audience:
    unit_ids: tuple[int, ...]
    roles: tuple[str, ...]


def scope(session: Session, version: WordingVersion) -> WordingScope:
    tree = OrgTree.load(session)
    return _scope(tree, version.unit_ids)


def _scope(tree: OrgTree, unit_ids) -> WordingScope:
    townships = {tree.township_of(u) for u in unit_ids if u in tree.units}
    return WordingScope(unit_ids=frozenset(tree.below(unit_ids)), township_ids=frozenset(townships - {None}),
                        county_wide=any(tree.units[u].kind == COUNTY for u in unit_ids if u in tree.units))


def resolve_units(session: Session, names: list[str], within: int | None = None) -> tuple[int, ...]:
    """Unit ids for names (or ids given as digits), looked up at or under `within` (None: anywhere)."""
    tree = OrgTree.load(session)
    candidates = tree.below([within]) if within is not None else set(tree.units)
    found, unknown = [], []
    for name in (n.strip() for n in names):
        if not name:
            continue
        matches = [as_id(name)] if as_id(name) in candidates else \
            [u for u in candidates if tree.units[u].name == name]
        if len(matches) > 1:
            raise Refusal(texts.WORDING_AMBIGUOUS_UNIT.format(name=name), Refusal.INPUT)
        if matches:
            found.append(matches[0])
        else:
            unknown.append(name)
    if unknown:
        raise Refusal(texts.WORDING_UNKNOWN_UNITS.format(names="、".join(unknown)), Refusal.INPUT)
    if not found:
        raise Refusal(texts.WORDING_NO_UNITS, Refusal.INPUT)
    return tuple(dict.fromkeys(found))


def audience(unit_ids: tuple[int, ...], roles: list[str]) -> Audience:
    unknown = [r for r in roles if r not in org.ROLES]
    if unknown:
        raise Refusal(texts.WORDING_UNKNOWN_ROLES.format(names="、".join(unknown)), Refusal.INPUT)
    return Audience(unit_ids, tuple(dict.fromkeys(roles)) or DEFAULT_ROLES)


def unit_names(session: Session, unit_ids) -> list[str]:
    names = dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(list(unit_ids)))).all())
    return [names[u] for u in unit_ids if u in names]


def check_text(title: str, body: str) -> None:
    if not 0 < len(title) <= MAX_TITLE:
        raise Refusal(texts.WORDING_TITLE_BAD.format(limit=MAX_TITLE), Refusal.INPUT)
    if not 0 < len(body) <= MAX_BODY:
        raise Refusal(texts.WORDING_BODY_BAD.format(limit=MAX_BODY), Refusal.INPUT)


# -- lifecycle ---------------------------------------------------------------------------------

def draft(session: Session, actor: Person | None, title: str, body: str, audience: Audience, now: datetime,
          case: Case | None = None, revises: int | None = None) -> WordingVersion:
    """A new wording (or, with `revises`, a new version of that wording) as a draft. Versions of
    it not yet published are superseded at once; a published one stays in force until the new
    version is published."""
    if actor is not None:
        _require_role(session, actor, DRAFTERS, "修订口径" if revises else "拟口径")
    title, body = title.strip(), body.strip()
    check_text(title, body)
    tree = OrgTree.load(session)
    if not audience.unit_ids or any(u not in tree.units for u in audience.unit_ids):
        raise Refusal(texts.WORDING_NO_UNITS, Refusal.INPUT)
    where = _scope(tree, audience.unit_ids)
    _require_area(session, actor, where)
    earlier: list[WordingVersion] = []
    if revises is None:
        wording = Wording(case_id=case.id if case else None, created_at=now)
        session.add(wording)
        session.flush()
    else:
        wording = _locked(session, revises)
        earlier = versions(session, wording.id)
        _require_area(session, actor, _scope(tree, earlier[0].unit_ids))
    number = earlier[0].version + 1 if earlier else 1
    version = WordingVersion(wording_id=wording.id, version=number, status=DRAFT, title=title, body=body,
                             unit_ids=list(audience.unit_ids), roles=list(audience.roles), created_at=now)
    session.add(version)
    session.flush()
    for old in earlier:
        if old.status in (DRAFT, APPROVED):
            old.status = SUPERSEDED
            _event(session, old, actor, SUPERSEDE, f"由第{number}版替代", now)
    _event(session, version, actor, DRAFTED, "", now)
    who = actor.name if actor else "办公室"
    for leader in _staff(session, APPROVERS, where, actor):
        notify(session, leader, texts.wording_for_approval(wording.id, number, title, who),
               f"wording_draft:{version.id}:{leader.id}", now)
    return version


def approve(session: Session, number: int, actor: Person, now: datetime) -> WordingVersion:
    _require_role(session, actor, APPROVERS, "批准口径")
    wording = _locked(session, number)
    version = versions(session, wording.id)[0]
    where = scope(session, version)
    _require_area(session, actor, where)
    _expect(version, DRAFT, APPROVE)
    version.status = APPROVED
    _event(session, version, actor, APPROVE, "", now)
    for person in _staff(session, PUBLISHERS, where, actor):
        notify(session, person, texts.wording_for_publishing(number, version.version, version.title, actor.name),
               f"wording_approved:{version.id}:{person.id}", now)
    return version


@dataclass(frozen=True)
class Published:
    version: WordingVersion
    people: int
    chats: int


def publish(session: Session, number: int, actor: Person | None, now: datetime, policy: Policy) -> Published:
    """Send the approved latest version to its audience and supersede the one in force."""
    if actor is not None:
        _require_role(session, actor, PUBLISHERS, "发布口径")
    wording = _locked(session, number)
    every = versions(session, wording.id)
    version = every[0]
    tree = OrgTree.load(session)
    where = _scope(tree, version.unit_ids)
    _require_area(session, actor, where)
    _expect(version, APPROVED, PUBLISH)
    previous = next((v for v in every if v.status == PUBLISHED), None)
    had = set(session.scalars(select(WordingRecipient.person_id).where(
        WordingRecipient.version_id == previous.id))) if previous else set()
    old_chats = _chats(session, _scope(tree, previous.unit_ids)) if previous else []

    case = session.get(Case, wording.case_id) if wording.case_id else None
    # A wording tied to a cadre case skips the shut-out villages' committees and group chats (access
    # policy) — for the new version and for the notice that the old one is out of force alike.
    scope = case_scope(session, case) if case is not None else None
    shut_chats = tree.below(sorted(case.shut_out_villages)) if case is not None else set()

    def shut_out(person: Person) -> bool:
        return scope is not None and excluded(viewer(session, person), scope)

    def village_chat(target: ChatTarget) -> bool:
        return target.unit_id in shut_chats  # a group chat of a shut-out village: its committee sits in it

    people = [p for p in _audience_people(session, version, where) if not shut_out(p)]
    for person in people:
        replaced = previous.version if person.id in had else None
        text = texts.wording_push(number, version.version, version.title, version.body, replaced, ask=True)
        reachable = notify(session, person, text, f"wording:{version.id}:{person.id}", now, case_id=wording.case_id)
        session.add(WordingRecipient(version_id=version.id, person_id=person.id, sent_at=now, reachable=reachable))
    chats = [t for t in _chats(session, where) if not village_chat(t)]
    for target in chats:
        replaced = previous.version if target in old_chats else None
        notify_chat(session, target, texts.wording_push(number, version.version, version.title, version.body,
                                                        replaced, ask=False),
                    f"wording:{version.id}:{target.kind}:{target.id}", now, case_id=wording.case_id)
    version.status, version.published_at = PUBLISHED, now
    _event(session, version, actor, PUBLISH, f"{len(people)}人，{len(chats)}个群", now)
    if previous is not None:
        only_old = session.scalars(select(Person).where(Person.id.in_(had - {p.id for p in people}))
                                   .order_by(Person.id)).all()
        _supersede(session, previous, version, [p for p in only_old if not shut_out(p)],
                   [t for t in old_chats if t not in chats and not village_chat(t)], actor, now, wording.case_id)
    session.add(Job(kind=REMIND, due_at=quiet_shifted(now + REMIND_AFTER, policy), case_id=wording.case_id,
                    payload={"version_id": version.id}, key=f"{REMIND}:{version.id}"))
    return Published(version, len(people), len(chats))


def _supersede(session: Session, old: WordingVersion, new: WordingVersion, only_old: list[Person],
               old_chats: list[ChatTarget], actor: Person | None, now: datetime, case_id: int | None) -> None:
    """The old version is out of force; those who had it and do not get the new one are told so
    (those who do get it read the same in its text)."""
    old.status = SUPERSEDED
    _event(session, old, actor, SUPERSEDE, f"由第{new.version}版替代", now)
    text = texts.wording_superseded(old.wording_id, old.version, new.version, old.title)
    for person in only_old:
        notify(session, person, text, f"wording_superseded:{old.id}:{person.id}", now, case_id=case_id)
    for target in old_chats:
        notify_chat(session, target, text, f"wording_superseded:{old.id}:{target.kind}:{target.id}", now,
                    case_id=case_id)


def acknowledge(session: Session, person: Person, now: datetime) -> WordingVersion | None:
    """收到: the person's latest wording in force they have not acknowledged yet, now acknowledged."""
    row = session.execute(
        select(WordingRecipient, WordingVersion).join(WordingVersion, WordingVersion.id == WordingRecipient.version_id)
        .where(WordingRecipient.person_id == person.id, WordingRecipient.acknowledged_at.is_(None),
               WordingVersion.status == PUBLISHED)
        .order_by(WordingRecipient.sent_at.desc(), WordingRecipient.id.desc()).limit(1)).first()
    if row is None:
        return None
    recipient, version = row
    recipient.acknowledged_at = now
    return version


def remind(session: Session, job: Job, now: datetime, policy: Policy,
           lookups: Lookups | None = None) -> bool:
    """The job two hours after publishing: one reminder to each reachable person yet to reply 收到."""
    version = session.get(WordingVersion, job.payload["version_id"])
    if version is None or version.status != PUBLISHED:
        return False
    return _remind(session, version, None, now, policy, again_after=None, lookups=lookups) > 0


def remind_pending(session: Session, number: int, actor: Person, now: datetime, policy: Policy) -> int:
    """The office's 提醒未确认: the same reminder, now, to each reachable person of the version in force
    yet to reply 收到 — but not to anyone reminded less than REMIND_AGAIN_AFTER ago. How many were reminded."""
    _require_role(session, actor, PUBLISHERS, "提醒口径")
    wording = _locked(session, number)  # two clicks at once: the second waits and finds them reminded
    version = next((v for v in versions(session, wording.id) if v.status == PUBLISHED), None)
    if version is None:
        raise Refusal(texts.WORDING_NOTHING_TO_REMIND.format(number=number), Refusal.STATE)
    _require_area(session, actor, scope(session, version))
    reminded = _remind(session, version, actor, now, policy, again_after=REMIND_AGAIN_AFTER)
    if not reminded:
        raise Refusal(texts.WORDING_REMINDED_RECENTLY.format(minutes=int(REMIND_AGAIN_AFTER.total_seconds() // 60)),
                      Refusal.STATE)
    return reminded


def _remind(session: Session, version: WordingVersion, actor: Person | None, now: datetime, policy: Policy,
            again_after: timedelta | None, lookups: Lookups | None = None) -> int:
    """Remind the version's reachable, active recipients yet to reply 收到 (not those the access policy
    now shuts out of its case); `again_after` None: only those never reminded, else also those reminded
    longer ago than that. Recorded on each recipient and as one event."""
    pending = session.execute(
        select(WordingRecipient, Person).join(Person, Person.id == WordingRecipient.person_id)
        .where(WordingRecipient.version_id == version.id, WordingRecipient.acknowledged_at.is_(None),
               WordingRecipient.reachable, Person.active)
        .order_by(Person.id)).all()
    pending = [(r, p) for r, p in pending
               if r.reminded_at is None or (again_after is not None and r.reminded_at <= now - again_after)]
    case_id = session.scalar(select(Wording.case_id).where(Wording.id == version.wording_id))
    if case_id is not None:  # the case may have turned out to accuse a cadre since publishing
        scope = case_scope(session, session.get(Case, case_id))
        pending = [(r, p) for r, p in pending if not excluded(viewer(session, p), scope)]
    if not pending:
        return 0
    text = texts.wording_reminder(version.wording_id, version.version, version.title)
    at = quiet_shifted(now, policy)  # neither a late job nor an evening click wakes people
    for recipient, person in pending:
        # The first reminder keeps the job's key (one per person whoever sends it); later ones their time.
        key = f"{REMIND}:{version.id}:{person.id}" + (f":{int(now.timestamp())}" if recipient.reminded_at else "")
        notify(session, person, text, key, now, at=at, case_id=case_id,
               lookups=lookups)
        recipient.reminded_at = now
    _event(session, version, actor, REMINDED, f"{len(pending)}人", now)
    return len(pending)


# -- reading -----------------------------------------------------------------------------------

def versions(session: Session, number: int) -> list[WordingVersion]:
    """Every version of the wording, newest first."""
    return list(session.scalars(select(WordingVersion).where(WordingVersion.wording_id == number)
                                .order_by(WordingVersion.version.desc())))


def may_see(session: Session, person: Person, version: WordingVersion) -> bool:
    return _visible(viewer(session, person), scope(session, version), version.status)


def _visible(who: Viewer, where: WordingScope, status: str) -> bool:
    """Published wordings: their area (the access policy); unpublished: the staff who manage it."""
    if status in (PUBLISHED, SUPERSEDED):
        return can_see_wording(who, where)
    return bool(who.member.roles & set(org.TOWNSHIP_WIDE)) and manages_wording(who, where)


def _filter(session: Session, person: Person, found) -> list[WordingVersion]:
    """The versions the person may read: by the wording's area, and, for a wording tied to a case,
    not if the access policy shuts them out of that case (a cadre case's village committee)."""
    who, tree = viewer(session, person), OrgTree.load(session)
    found = [v for v in found if _visible(who, _scope(tree, v.unit_ids), v.status)]
    cases = dict(session.execute(select(Wording.id, Wording.case_id).where(
        Wording.id.in_({v.wording_id for v in found}), Wording.case_id.is_not(None))).all()) if found else {}
    allowed = {cid: not excluded(who, case_scope(session, session.get(Case, cid))) for cid in set(cases.values())}
    return [v for v in found if v.wording_id not in cases or allowed[cases[v.wording_id]]]


def shown(session: Session, person: Person, number: int) -> WordingVersion | None:
    """What `口径 N` shows this person: staff the latest unpublished version, everyone the one in force."""
    found = _filter(session, person, [v for v in versions(session, number) if v.status != SUPERSEDED])
    return found[0] if found else None


def in_force(session: Session, person: Person) -> list[WordingVersion]:
    """Published wordings for the person's area, newest first."""
    return _filter(session, person, session.scalars(
        select(WordingVersion).where(WordingVersion.status == PUBLISHED)
        .order_by(WordingVersion.published_at.desc(), WordingVersion.id.desc())))


def for_case(session: Session, person: Person, case: Case) -> WordingVersion | None:
    """The wording in force for a case, if the person may see it."""
    published = session.scalars(
        select(WordingVersion).join(Wording, Wording.id == WordingVersion.wording_id)
        .where(Wording.case_id == case.id, WordingVersion.status == PUBLISHED)
        .order_by(WordingVersion.published_at.desc()))
    found = _filter(session, person, published)
    return found[0] if found else None


def managed(session: Session, person: Person, limit: int = 10) -> list[WordingVersion]:
    """The latest version of each wording the person's staff roles manage, newest wording first."""
    who, tree = viewer(session, person), OrgTree.load(session)
    latest = select(WordingVersion.wording_id, func.max(WordingVersion.version).label("v")) \
        .group_by(WordingVersion.wording_id).subquery()
    rows = session.scalars(select(WordingVersion).join(latest, (latest.c.wording_id == WordingVersion.wording_id)
                                                       & (latest.c.v == WordingVersion.version))
                           .order_by(WordingVersion.wording_id.desc()))
    return [v for v in rows if manages_wording(who, _scope(tree, v.unit_ids))][:limit]


def counts(session: Session, version_ids: list[int]) -> dict[int, tuple[int, int]]:
    """version id → (acknowledged, recipients)."""
    rows = session.execute(
        select(WordingRecipient.version_id, func.count(WordingRecipient.acknowledged_at), func.count())
        .where(WordingRecipient.version_id.in_(version_ids)).group_by(WordingRecipient.version_id))
    return {vid: (acked, total) for vid, acked, total in rows}


def recipients(session: Session, version: WordingVersion) -> list[tuple[Person, WordingRecipient]]:
    rows = session.execute(select(Person, WordingRecipient).join(WordingRecipient, WordingRecipient.person_id == Person.id)
                           .where(WordingRecipient.version_id == version.id).order_by(Person.id))
    return [(p, r) for p, r in rows]


def history(session: Session, version: WordingVersion) -> list[WordingEvent]:
    return list(session.scalars(select(WordingEvent).where(WordingEvent.version_id == version.id)
                                .order_by(WordingEvent.id)))


def may(session: Session, person: Person, roles: frozenset[str]) -> bool:
    return bool(member(session, person).roles & roles)


# -- helpers -----------------------------------------------------------------------------------

def _locked(session: Session, number: int) -> Wording:
    """The wording row, locked on PostgreSQL so its versions change one transaction at a time."""
    wording = session.scalars(select(Wording).where(Wording.id == number).with_for_update()).one_or_none()
    if wording is None:
        raise Refusal(texts.NO_SUCH_WORDING.format(what=number), Refusal.MISSING)
    return wording


def _require_role(session: Session, actor: Person, roles: frozenset[str], action: str) -> None:
    if not may(session, actor, roles):
        raise Refusal(texts.WORDING_ONLY[action], Refusal.FORBIDDEN)


def _require_area(session: Session, actor: Person | None, where: WordingScope) -> None:
    """The actor's staff roles must reach the whole audience (no actor: the admin API, the office itself)."""
    if actor is not None and not manages_wording(viewer(session, actor), where):
        raise Refusal(texts.WORDING_OUTSIDE.format(name=actor.name), Refusal.FORBIDDEN)


def _expect(version: WordingVersion, status: str, action: str) -> None:
    if version.status != status:
        raise Refusal(texts.WORDING_NOT_NOW.format(number=version.wording_id, version=version.version,
                                                   status=texts.WORDING_STATUS[version.status], action=action),
                      Refusal.STATE)


def _staff(session: Session, roles: frozenset[str], where: WordingScope, besides: Person | None) -> list[Person]:
    """Active holders of these roles who manage the area (not `besides`, who is acting). County-level
    staff manage every township's wordings but are only asked about county-wide ones."""
    found = session.scalars(select(Person).where(
        Person.active, Person.id.in_(select(PersonRole.person_id).where(PersonRole.role.in_(roles))))
        .order_by(Person.id))
    chosen = []
    for person in found:
        who = viewer(session, person)
        if (besides is None or person.id != besides.id) and manages_wording(who, where) \
                and (where.county_wide or not who.county):
            chosen.append(person)
    return chosen


def _audience_people(session: Session, version: WordingVersion, where: WordingScope) -> list[Person]:
    """Active holders of the roles at or under the units; 包村领导 also for the villages they cover."""
    holds = Person.id.in_(select(PersonRole.person_id).where(PersonRole.role.in_(version.roles)))
    inside = Person.unit_id.in_(where.unit_ids)
    if org.VILLAGE_LEADER in version.roles:
        covers = Person.id.in_(select(VillageCover.person_id).where(VillageCover.village_id.in_(where.unit_ids)))
        leads = Person.id.in_(select(PersonRole.person_id).where(PersonRole.role == org.VILLAGE_LEADER))
        inside = or_(inside, covers & leads)
    return list(session.scalars(select(Person).where(Person.active, holds, inside).order_by(Person.id)))


def _chats(session: Session, where: WordingScope) -> list[ChatTarget]:
    return list(session.scalars(select(ChatTarget).where(ChatTarget.unit_id.in_(where.unit_ids))
                                .order_by(ChatTarget.id)))


def _event(session: Session, version: WordingVersion, actor: Person | None, action: str, note: str,
           now: datetime) -> None:
    session.add(WordingEvent(version_id=version.id, at=now, actor_id=actor.id if actor else None, action=action,
                             note=note))
