"""A case's life: filing, routing, deadlines, and the actions people take on it.

Who gets a case is data (duties below); what may happen next is one transition table.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session

from handlers import exposure, learning, org, texts
from handlers.access import CYBER, DISCIPLINE, CaseScope, can_see, case_scope, sees_reporter, viewer
from handlers.classify import Labels
from handlers.classify.rules import URGENT as URGENT_SEVERITY
from handlers.classify.rules import Classifier
from handlers.deadlines import on_event, sensitive_period, start
from handlers.intake import committee_names, villages_in_play
from handlers.lookups import Lookups
from handlers.notify import notify
from handlers.orgtree import OrgTree
from handlers.people import holders, member, place_name
from handlers.policy import Policy
from handlers.questions import yes_no
from handlers.workdays import Workdays
from models import Case, CaseCounter, CaseEvent, CaseMember, Deadline, Job, Person, Unit
from models.cases import ACKNOWLEDGED, ASSIGNED, IN_PROGRESS, OPEN, RESOLVED, REVIEWED, SUBMITTED, WITHDRAWN
from models.dml import per_dialect
from models.learning import OFFICE_PATCH, OFFICE_REDISPATCH

# -- lifecycle ---------------------------------------------------------------------------

ASSIGN, ACK, FEEDBACK, MEET, CLOSE, SUPERVISE = "分派", "签收", "反馈", "约见", "办结", "督办"
RETURN, MERGE, PROGRESS = "退回", "合并", "进度"  # hand a misrouted case back to the office; the office merges a duplicate
REPORT_CONFIDENTIAL = "举报"
RECLASSIFY = "改判"  # the office corrects the labels (PATCH, chat, console)
FOLLOW_UP, REOPEN = "回访", "重办"  # handlers/followup.py: the office's visit after closing, and its 不满意
_WORKING = (ASSIGNED, ACKNOWLEDGED, IN_PROGRESS)
# action → {from status: to status}; an action missing for a status is not allowed then.
# Only an assignee's action (verify, lead) moves the status: a 反馈 of someone informed changes nothing.
TRANSITIONS: dict[str, dict[str, str]] = {
    ACK: {ASSIGNED: ACKNOWLEDGED},
    FEEDBACK: {s: IN_PROGRESS for s in _WORKING},
    MEET: {s: IN_PROGRESS for s in _WORKING},
    CLOSE: {s: RESOLVED for s in _WORKING},
    SUPERVISE: {s: s for s in (SUBMITTED, *_WORKING)},
    RETURN: {s: SUBMITTED for s in _WORKING},  # back to the office, waiting to be dispatched again
    MERGE: {s: s for s in (SUBMITTED, *_WORKING)},  # of the case merged into: it stays as it is
    ASSIGN: {SUBMITTED: ASSIGNED},  # 分派 in chat: the office dispatches a case handed back
    FOLLOW_UP: {RESOLVED: REVIEWED},
    REOPEN: {RESOLVED: IN_PROGRESS},
}
# The actions of a case command in chat, in the order cards and help offer them.
CASE_ACTIONS = (ACK, FEEDBACK, MEET, CLOSE, RETURN, ASSIGN, SUPERVISE)
FOLLOW_UP_JOB = "followup"  # the jobs row that asks the office to visit; run by handlers/followup.py

# -- duties ------------------------------------------------------------------------------
VERIFY, LEAD, INFORM = "verify", "lead", "inform"
# Who may take an action: case members with these duties, or holders of these roles who can see it.
MAY_BY_DUTY = {ACK: {VERIFY, LEAD}, FEEDBACK: {VERIFY, LEAD, INFORM}, MEET: {VERIFY, LEAD}, CLOSE: {LEAD},
               RETURN: {VERIFY, LEAD}}
MAY_BY_ROLE = {
    ACK: set(),
    FEEDBACK: {org.OFFICE},
    MEET: set(),
    CLOSE: {org.OFFICE},
    SUPERVISE: {org.MAIN_LEADER, org.LEADER_IN_CHARGE, org.VILLAGE_LEADER, org.OFFICE},
    RETURN: set(),
    MERGE: {org.OFFICE},
    ASSIGN: {org.OFFICE},  # 分派: the office dispatches again what was handed back
}
ASSIGNEES = {VERIFY, LEAD}  # their action moves the case on and meets the acknowledge clock
# The roles that may hold a duty on some case (see route): whose 帮助 offers the duty's commands.
DUTY_ROLES = {
    VERIFY: {org.VILLAGE_SECRETARY},
    LEAD: {org.LIAISON, org.OFFICE},
    INFORM: {org.VILLAGE_LEADER, org.LIAISON, org.LEADER_IN_CHARGE, org.MAIN_LEADER, org.OFFICE},
}


def may(action: str, duty: str | None, roles: frozenset[str]) -> bool:
    """May someone with this duty on a case (None: none) and these roles take `action` on it?"""
    return duty in MAY_BY_DUTY.get(action, ()) or bool(roles & MAY_BY_ROLE.get(action, set()))


def offered(duty: str | None, roles: frozenset[str], status: str) -> list[str]:
    """The case actions this person may take on a case in `status`: what cards and refusals offer."""
    return [a for a in CASE_ACTIONS if status in TRANSITIONS[a] and may(a, duty, roles)]


def roles_for(action: str) -> frozenset[str]:
    """Every role that may take `action` on some case."""
    by_duty = {role for duty in MAY_BY_DUTY.get(action, ()) for role in DUTY_ROLES[duty]}
    return frozenset(by_duty | MAY_BY_ROLE.get(action, set()))

OFFICE_DEPARTMENT = "领导小组办公室"


@dataclass(frozen=True)
class Filing:
    """What intake hands over: a confirmed tip-off."""

    reporter: Person
    summary: str
    labels: Labels
    village_id: int | None
    links: tuple[str, ...] = ()
    attachments: tuple[dict, ...] = ()
    confidential: bool = False  # 举报
    # The reporter's own village and every village the text names (intake.villages_in_play): when the case
    # involves a cadre, any of them may be the accused's — a bare title or a nickname settles no village.
    in_play: tuple[str, ...] = ()


@dataclass(frozen=True)
class Filed:
    """A case just filed, with who is on it and its clocks: what the receipt says, without reading them back."""

    case: Case
    members: list[tuple[Person, str]]
    clocks: list[Deadline]  # by due time


def file_case(session: Session, filing: Filing, now: datetime, policy: Policy, lookups: Lookups | None = None) -> Case:
    return file(session, filing, now, policy, lookups).case


def file(session: Session, filing: Filing, now: datetime, policy: Policy, lookups: Lookups | None = None) -> Filed:
    """Create the case, route it, start its deadlines and queue the case cards; `lookups`: the
    transaction's (handlers/lookups.py), so the org is read once for intake and filing."""
    lookups = lookups or Lookups(session)
    reporter, labels = filing.reporter, filing.labels
    township_id, grid_id = _township_and_grid(lookups.tree, reporter, filing.village_id)
    case = Case(
        # Written as dispatched (route() below puts people on it in this transaction): no second write of it.
        code=next_code(session, now, policy.tz), sensitive=sensitive_period(session, now, policy, township_id, lookups) is not None, status=ASSIGNED, category=labels.category, severity=labels.severity,
        lead_department=labels.lead_department, township_id=township_id, village_id=filing.village_id,
        grid_id=grid_id, reporter_id=reporter.id, urgent=labels.urgent, online=labels.online,
        involves_cadre=labels.involves_cadre or filing.confidential, confidential=filing.confidential,
        summary=filing.summary, platform=labels.platform,
        screen_name=labels.screen_name, links=list(filing.links), attachments=list(filing.attachments),
        accused_village_ids=[],  # given, not defaulted: pydantic inspects a default factory on every call
        created_at=now,
    )
    if case.involves_cadre:  # fails closed: every village in play is shut out, not only the case's
        named = lookups.tree.villages(township_id)
        case.accused_village_ids = sorted({named[v] for v in (*labels.cadre_villages, *filing.in_play) if v in named}
                                          - {filing.village_id})
    _insert_case(session, case)
    events = [_event_row(case, reporter.id, REPORT_CONFIDENTIAL if filing.confidential else "上报",
                         filing.summary[:200], now)]
    with lookups.gathering():  # the cards and the duplicate notice: one outbox statement
        members = route(session, case, lookups, new=True)
        events.append(_event_row(case, None, ASSIGN, "、".join(sorted({p.name for p, _ in members})), now))
        clocks = sorted(start(session, case, ASSIGN, now, policy, new=True, lookups=lookups),  # a new case has no clock to meet
                        key=lambda d: d.due_at)
        _send_cards(session, case, members, "", now, policy, lookups, clocks)
        events += _flag_duplicate(session, case, now, lookups)
    session.connection().execute(_EVENTS, events)  # in order: the history reads them by id
    return Filed(case, members, clocks)


_CASE_COLUMNS = [c.name for c in Case.__table__.columns if c.name != "id"]
_INSERT_CASE = Case.__table__.insert().returning(Case.__table__.c.id)


def _insert_case(session: Session, case: Case) -> None:
    """A new case in one INSERT … RETURNING, then the session's as if flushed: the ORM's flush of it costs
    several times the statement."""
    case.id = session.connection().execute(_INSERT_CASE, {c: getattr(case, c) for c in _CASE_COLUMNS}).scalar_one()
    make_transient_to_detached(case)
    session.add(case)


DUPLICATE_WINDOW = timedelta(hours=72)
DUPLICATE_CANDIDATES = 50  # the most recent open cases of the village and category compared by text
SIMILAR = 0.5  # share of the shorter summary's character pairs found in the other one
_cases = Case.__table__
# With the columns of its scope (access.scope_of): the twin found is not loaded again.
_CANDIDATE = select(_cases.c.id, _cases.c.code, _cases.c.village_id, _cases.c.category, _cases.c.summary,
                    _cases.c.links, _cases.c.township_id, _cases.c.reporter_id, _cases.c.involves_cadre,
                    _cases.c.confidential, _cases.c.accused_village_ids, _cases.c.lead_department, _cases.c.online)


# Built once (building a statement costs more than running it): open cases of the township on the same side
# of the cadre and confidential boundaries, of the last 72 hours; the same matter: of one village and category.
_ALIKE = _CANDIDATE.where(
    _cases.c.township_id == bindparam("township"), _cases.c.status.in_(OPEN), _cases.c.id != bindparam("case"),
    _cases.c.involves_cadre == bindparam("cadre"), _cases.c.confidential == bindparam("confidential"),
    _cases.c.created_at >= bindparam("since"))
_SAME_MATTER, _SAME_MATTER_NO_VILLAGE = (
    _ALIKE.where(village, _cases.c.category == bindparam("category"))
    .order_by(_cases.c.created_at.desc(), _cases.c.id.desc()).limit(DUPLICATE_CANDIDATES)
    for village in (_cases.c.village_id == bindparam("village"), _cases.c.village_id.is_(None)))


def _flag_duplicate(session: Session, case: Case, now: datetime, lookups: Lookups) -> list[dict]:
    """Same link, or the same matter in the same village, as an open case of the last 72 hours:
    note it on the case and offer the pair to the township office to merge. Never across the cadre
    boundary: merging would put a cadre case in front of the people the other case goes to.
    Candidates come from the index ix_cases_duplicates (township, village, category, created_at),
    not a scan of the township's cases; only a case with links also looks township-wide for them.
    Returns the case's event rows to write (none, or the one that names the twin)."""
    values = {"township": case.township_id, "case": case.id, "cadre": case.involves_cadre,
              "confidential": case.confidential, "since": now - DUPLICATE_WINDOW}
    same_matter = _SAME_MATTER_NO_VILLAGE if case.village_id is None else _SAME_MATTER
    found = {row.id: row for row in session.execute(
        same_matter, {**values, "village": case.village_id, "category": case.category})}
    if case.links:
        found.update({row.id: row for row in session.execute(_ALIKE, values) if set(row.links or ()) & set(case.links)})
    twin = next((other for _, other in sorted(found.items(), reverse=True)
                 if set(other.links or ()) & set(case.links)
                 or (other.village_id == case.village_id and other.category == case.category
                     and _similarity(other.summary, case.summary) >= SIMILAR)), None)
    if twin is None:
        return []
    scopes = (lookups.scope(case), lookups.scope(twin))
    for person in lookups.holders(org.OFFICE, case.township_id):
        seen = lookups.viewer(person)
        if all(can_see(seen, scope) for scope in scopes):
            notify(session, person, texts.DUPLICATE.format(code=case.code, other=twin.code),
                   f"duplicate:{case.code}:{person.id}", now, case_id=case.id, lookups=lookups)
    return [_event_row(case, None, "疑似重复", twin.code, now)]


def _similarity(a: str, b: str) -> float:
    pairs = [{x[i:i + 2] for i in range(len(x) - 1)} for x in ("".join(a.split()), "".join(b.split()))]
    shorter = min(pairs, key=len)
    return len(pairs[0] & pairs[1]) / len(shorter) if shorter else 0.0


def next_code(session: Session, now: datetime, tz: ZoneInfo) -> str:
    """XS-YYYYMMDD-NNNN on the local date; one atomic upsert keeps it unique under concurrent filing."""
    day = now.astimezone(tz).date()
    db = session.connection()
    number = db.execute(_NEXT_NUMBER[db.dialect.name], {"day": day, "last": 1}).scalar_one()
    return f"XS-{day:%Y%m%d}-{number:04d}"


_counters = CaseCounter.__table__
_NEXT_NUMBER = per_dialect(lambda insert: insert(_counters).on_conflict_do_update(
    index_elements=[_counters.c.day], set_={"last": _counters.c.last + 1}).returning(_counters.c.last))


# -- routing: one table, walked by route() -------------------------------------------------------
# A case's facts (case_facts) decide which rows apply: a row applies when the case has every fact in
# `when`; "!fact" means the case must not have it. `who` names people: ("village", role) holders of the
# role in the case's village, ("township", role) in its township, ("department", name) a department's
# liaisons (LEAD_DEPARTMENT: the case's lead department), ("covering", "") the village's 包村领导.
# Whatever the table says, route() keeps only people the access policy lets see the case: the
# conflict-of-interest exclusion is applied there, once.
LEAD_DEPARTMENT = "牵头部门"


@dataclass(frozen=True)
class Route:
    when: tuple[str, ...]
    who: tuple[str, str]
    duty: str


ROUTES: tuple[Route, ...] = (
    # the village secretary verifies on the ground — never where a cadre is accused
    Route(("village", "!cadre"), ("village", org.VILLAGE_SECRETARY), VERIFY),
    Route((), ("department", LEAD_DEPARTMENT), LEAD),
    Route(("village", "!confidential"), ("covering", ""), INFORM),
    Route(("online",), ("department", CYBER), INFORM),
    Route(("cadre",), ("department", DISCIPLINE), INFORM),
    Route(("cadre", "!confidential"), ("township", org.LEADER_IN_CHARGE), INFORM),
    Route(("cadre", "!confidential"), ("township", org.MAIN_LEADER), INFORM),
    Route(("confidential",), ("township", org.OFFICE), INFORM),
    Route(("urgent",), ("township", org.MAIN_LEADER), INFORM),
    Route(("sensitive",), ("township", org.OFFICE), INFORM),  # 敏感时期: the office sees every case at once
)
DUTY_RANK = {LEAD: 0, VERIFY: 1, INFORM: 2}  # one duty per person: the strongest


def case_facts(case: Case) -> set[str]:
    return {name for name, on in (("village", case.village_id is not None), ("cadre", case.involves_cadre),
                                  ("confidential", case.confidential), ("online", case.online),
                                  ("urgent", case.urgent), ("sensitive", case.sensitive)) if on}


def _applies(route: Route, facts: set[str]) -> bool:
    return all((w[1:] not in facts) if w.startswith("!") else (w in facts) for w in route.when)


def _who(lookups: Lookups, case: Case, who: tuple[str, str]) -> list[Person]:
    kind, what = who
    if kind == "village":
        return lookups.holders(what, case.village_id)
    if kind == "township":
        return lookups.holders(what, case.township_id)
    if kind == "covering":
        return lookups.covering(case.village_id)
    return _department_people(lookups, case.township_id, case.lead_department if what == LEAD_DEPARTMENT else what)


def route(session: Session, case: Case, lookups: Lookups | None = None, new: bool = False) -> list[tuple[Person, str]]:
    """Who is on the case and why (ROUTES), written as members; `new`: a case just filed has none to replace."""
    lookups = lookups or Lookups(session)
    facts = case_facts(case)
    picked: dict[int, tuple[Person, str]] = {}
    for row in ROUTES:
        if not _applies(row, facts):
            continue
        for p in _who(lookups, case, row.who):
            if p.id not in picked or DUTY_RANK[row.duty] < DUTY_RANK[picked[p.id][1]]:
                picked[p.id] = (p, row.duty)
    # Never the reporter's own card, and never anyone the policy would not let see it.
    scope = lookups.scope(case)
    seen = lookups.viewers([p for p, _ in picked.values()])
    members = [(p, duty) for p, duty in picked.values()
               if p.id != case.reporter_id and can_see(seen[p.id], scope)]
    if not new:
        session.execute(CaseMember.__table__.delete().where(CaseMember.case_id == case.id))
    if members:  # one statement for all of them
        session.connection().execute(_MEMBERS, [{"case_id": case.id, "person_id": person.id, "duty": duty}
                                                for person, duty in members])
    return members


def _send_cards(session: Session, case: Case, people: list[tuple[Person, str]], stamp: str, now: datetime,
                policy: Policy, lookups: Lookups | None = None, clocks: list[Deadline] | None = None) -> None:
    lookups = lookups or Lookups(session)
    clocks = deadlines(session, case) if clocks is None else sorted(clocks, key=lambda d: d.due_at)
    lookups.addresses([p.id for p, _ in people])  # one query for all of them
    for person, duty in people:
        notify(session, person, card(session, case, person, duty, policy, lookups, clocks),
               f"card:{case.code}:{person.id}{stamp}", now, case_id=case.id, lookups=lookups)


def reporter_name(session: Session, seen, scope: CaseScope) -> str:
    """The reporter as this viewer may read them: their name, or 网格员."""
    if sees_reporter(seen, scope):
        return session.get(Person, scope.reporter_id).name
    return texts.REPORTER_HIDDEN


RECLASSIFIABLE = ("category", "lead_department", "severity", "urgent", "online", "involves_cadre", "village_id")


def reclassify(session: Session, case: Case, changes: dict, actor: Person | None, now: datetime,
               policy: Policy, rules: Classifier, reason: str = "", source: str = OFFICE_PATCH) -> Case:
    """The office corrects the labels (saying why, in the console): re-route, and tell whoever gained or
    lost the case — except people who lost it to a conflict of interest: in the same transaction, what is
    still pending for them about the case is cancelled, they are told nothing, and the office learns what
    they had already received. A case handed back (退回) is dispatched again: everyone on it gets the card
    and the clocks restart. `rules`: the county's rule table, to read the case's text as intake did."""
    before = {p.id: (p, duty) for p, duty in members(session, case)}
    if "severity" in changes:  # 紧急 is what urgent means: the one follows the other, whoever corrects
        changes = {**changes, "urgent": changes["severity"] == URGENT_SEVERITY}
    changed = {k: v for k, v in changes.items() if k in RECLASSIFIABLE and getattr(case, k) != v}
    returned = case.status == SUBMITTED
    if not changed and not returned:
        return case
    if changed.get("involves_cadre") is False and case.confidential:
        changed.pop("involves_cadre")  # a 举报 stays away from the village whatever it is about
    for key, value in changed.items():
        setattr(case, key, value)
    if changed.get("involves_cadre"):  # as at filing: every village whose committee the text names is shut out
        case.accused_village_ids = accused_villages(session, case, rules)
    actor_id = actor.id if actor else None
    if changed:
        note = "、".join(f"{texts.FIELD.get(k, k)}→{_shown(session, k, v)}" for k, v in changed.items())
        if reason:
            note += texts.RECLASSIFY_REASON.format(reason=reason)
        _event(session, case, actor_id, RECLASSIFY, note, now)
        # A person's decision about the labels: the classifier learns from it (handlers/learning.py).
        learning.record_case(session, case, [k.removesuffix("_id") for k in changed], source, actor_id, now)
    after = {p.id: (p, duty) for p, duty in route(session, case)}
    if returned:
        case.status = ASSIGNED
        _event(session, case, actor_id, ASSIGN, "、".join(sorted(p.name for p, _ in after.values())), now)
    # A case that became urgent or online gains those clocks; a re-dispatched one starts them all again.
    start(session, case, ASSIGN, now, policy, again=returned)
    stamp = ":" + now.isoformat()
    _send_cards(session, case, [(p, duty) for pid, (p, duty) in after.items()
                                if returned or pid not in before or before[pid][1] != duty], stamp, now, policy)
    shut_out = exposure.shut_out(session, case, case_scope(session, case), set(before))
    for pid, (person, _) in before.items():
        if pid not in after and pid not in shut_out:
            notify(session, person, texts.OFF_CASE.format(code=case.code), f"off:{case.code}:{pid}{stamp}", now,
                   case_id=case.id)
    # A village's chats may hold rows about the case although no one of it is shut out by name: when
    # the case comes to accuse its cadres, or a cadre case moves to it.
    moved_in = "village_id" in changed and (case.involves_cadre or case.confidential)
    if shut_out or ((changed.get("involves_cadre") or moved_in) and case.village_id is not None):
        exposure.report(session, case, shut_out, now, policy.tz)
    return case


def _shown(session: Session, key: str, value) -> str:
    if key == "village_id":
        return session.get(Unit, value).name if value else "无"
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def may_see(session: Session, person: Person, case: Case) -> bool:
    return can_see(viewer(session, person), case_scope(session, case))


class Refusal(Exception):
    """An action the person may not take, or the case's state does not allow: the reason is Chinese."""


def act(session: Session, person: Person, code: str, action: str, note: str, now: datetime, policy: Policy) -> Case:
    """Take `action` on the case with `code`, or raise Refusal with the reason (and what they may do)."""
    # The case row first, as run-due does: then a chat command and a run-due batch never hold each
    # other's rows in opposite orders (no deadlock on PostgreSQL).
    case = find(session, code, lock=True)
    if case is None or not may_see(session, person, case):
        raise Refusal(texts.NO_SUCH_CASE.format(code=code))
    duty = duty_of(session, case, person)
    roles = member(session, person).roles
    if not may(action, duty, roles):
        raise Refusal(texts.not_yours(action, code, _who_may(case, action), offered(duty, roles, case.status)))
    target = TRANSITIONS[action].get(case.status)
    if target is None:
        raise Refusal(texts.not_now(action, code, case.status, offered(duty, roles, case.status)))
    if action in texts.NEEDS_NOTE and not note:
        raise Refusal(texts.NEEDS_NOTE[action].format(code=code))
    assignee = duty in ASSIGNEES
    # Only an assignee moves the case on; closing by the office (role) does too.
    if assignee or action == CLOSE:
        case.status = target
    if action == SUPERVISE:
        case.supervised = True
    _event(session, case, person.id, action, note, now)
    if assignee or action == CLOSE:  # any assignee action meets the acknowledge clock (policy met_by)
        on_event(session, case, action, now, policy)
    if action == CLOSE:
        _tell_reporter(session, case, texts.CLOSED_FOR_REPORTER.format(code=case.code, note=note), now)
        _schedule_follow_up(session, case, now, policy)
    if action == SUPERVISE:
        for on_case, _ in members(session, case):
            if on_case.id != person.id:
                notify(session, on_case, texts.supervised(case.code, person.name, note),
                       f"supervise:{case.code}:{on_case.id}:{now.isoformat()}", now, case_id=case.id)
    if action == RETURN:
        for office in holders(session, org.OFFICE, case.township_id):
            notify(session, office, texts.returned(case.code, person.name, note),
                   f"return:{case.code}:{office.id}:{now.isoformat()}", now, case_id=case.id)
    return case


def card(session: Session, case: Case, person: Person, duty: str, policy: Policy, lookups: Lookups | None = None,
         clocks: list[Deadline] | None = None) -> str:
    """The case card for one person: the case, their task and its deadline, and what they may send.
    `clocks`: the case's deadlines by due time, when the caller has them."""
    lookups = lookups or Lookups(session)
    mine = next((d for d in (deadlines(session, case) if clocks is None else clocks)
                 if d.status == "pending" and duty in d.terms.get("responsible", ())), None)
    due = (texts.moment(mine.due_at, policy.tz), mine.kind) if mine else None
    reporter = reporter_name(session, lookups.viewer(person), lookups.scope(case))
    return texts.case_card(case, duty, lookups.place_name(case.township_id, case.village_id),
                           offered(duty, lookups.member(person).roles, case.status), due, reporter)


def dispatch(session: Session, person: Person, code: str, department: str, now: datetime, policy: Policy,
             rules: Classifier) -> Case:
    """The office (re-)dispatches a case in chat to a lead department: `分派 CODE 部门`."""
    case = find(session, code, lock=True)
    if case is None or not may_see(session, person, case):
        raise Refusal(texts.NO_SUCH_CASE.format(code=code))
    roles = member(session, person).roles
    duty = duty_of(session, case, person)
    if not may(ASSIGN, duty, roles):
        raise Refusal(texts.not_yours(ASSIGN, code, _who_may(case, ASSIGN), offered(duty, roles, case.status)))
    if case.status not in TRANSITIONS[ASSIGN]:
        raise Refusal(texts.not_now(ASSIGN, code, case.status, offered(duty, roles, case.status)))
    if department not in org.DEPARTMENTS:
        raise Refusal(texts.DISPATCH_USAGE.format(code=code, departments="、".join(org.DEPARTMENTS)))
    return reclassify(session, case, {"lead_department": department}, person, now, policy, rules,
                      source=OFFICE_REDISPATCH)


def mark_cadre(session: Session, person: Person, code: str, value: str, now: datetime, policy: Policy,
               rules: Classifier) -> Case:
    """The office, in chat: `涉及村干部 CODE 是|否` re-classifies the case (late discovery, see reclassify)."""
    case = find(session, code, lock=True)
    if case is None or not may_see(session, person, case):
        raise Refusal(texts.NO_SUCH_CASE.format(code=code))
    if org.OFFICE not in member(session, person).roles:
        raise Refusal(texts.CADRE_MARK_OFFICE.format(code=code))
    answer = yes_no(value)
    if answer is None:
        raise Refusal(texts.CADRE_MARK_USAGE.format(code=code))
    return reclassify(session, case, {"involves_cadre": answer}, person, now, policy, rules)


def merge(session: Session, person: Person, first_code: str, second_code: str, now: datetime,
          policy: Policy) -> Case:
    """The office merges a duplicate: the second case ends, pointing to the first; its reporter is told."""
    if first_code == second_code:
        raise Refusal(texts.MERGE_SAME)
    # Both rows locked in one order (by code), so two merges of the same pair never deadlock.
    locked = {code: find(session, code, lock=True) for code in sorted((first_code, second_code))}
    first, second = locked[first_code], locked[second_code]
    for code, case in ((first_code, first), (second_code, second)):
        if case is None or not may_see(session, person, case):
            raise Refusal(texts.NO_SUCH_CASE.format(code=code))
    if not may(MERGE, None, member(session, person).roles):
        raise Refusal(texts.not_yours(MERGE, second_code, _who_may(second, MERGE), ()))
    for case in (first, second):
        if case.status not in TRANSITIONS[MERGE]:
            raise Refusal(texts.not_now(MERGE, case.code, case.status, ()))
    if (first.involves_cadre, first.confidential) != (second.involves_cadre, second.confidential):
        # One side bypasses the village, the other does not: merged, one audience would learn of the other.
        raise Refusal(texts.MERGE_ACROSS_CADRE.format(first=first.code, second=second.code))
    second.status = WITHDRAWN
    _event(session, second, person.id, MERGE, texts.MERGED_INTO.format(code=first.code), now)
    _event(session, first, person.id, MERGE, texts.MERGED_FROM.format(code=second.code), now)
    on_event(session, second, MERGE, now, policy)  # its clocks end
    session.execute(update(Job).where(Job.case_id == second.id, Job.status == "pending")
                    .values(status="cancelled").execution_options(synchronize_session=False))
    _tell_reporter(session, second, texts.merged_for_reporter(second.code, first.code), now)
    on_first = {p.id for p, _ in members(session, first)}
    for on_case, _ in members(session, second):
        if on_case.id not in on_first:
            notify(session, on_case, texts.merged_for_member(second.code, first.code),
                   f"merged:{second.code}:{on_case.id}", now, case_id=second.id)
    return first


def duty_of(session: Session, case: Case, person: Person) -> str | None:
    return session.scalars(select(CaseMember.duty).where(
        CaseMember.case_id == case.id, CaseMember.person_id == person.id)).one_or_none()


def _who_may(case: Case, action: str) -> list[str]:
    """Who may take `action` on this case, as a refusal names them."""
    duties = [texts.DUTY_WHO[d].format(lead=case.lead_department) for d in (VERIFY, LEAD, INFORM)
              if d in MAY_BY_DUTY.get(action, ())]
    return duties + [r for r in org.ROLES if r in MAY_BY_ROLE.get(action, ())]


def _schedule_follow_up(session: Session, case: Case, now: datetime, policy: Policy) -> None:
    """The office is asked to visit (回访) on a working day after closing (policy: next working day)."""
    at = Workdays.load(session).add(now, policy.followup_after, policy.followup_at, policy.tz)
    session.add(Job(kind=FOLLOW_UP_JOB, due_at=at, case_id=case.id))


def my_reports(session: Session, person: Person, limit: int = 10) -> list[Case]:
    return list(session.scalars(select(Case).where(Case.reporter_id == person.id)
                                .order_by(Case.id.desc()).limit(limit)))


def history(session: Session, case: Case) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))


def deadlines(session: Session, case: Case) -> list[Deadline]:
    return list(session.scalars(select(Deadline).where(Deadline.case_id == case.id).order_by(Deadline.due_at)))


# Core inserts of rows nobody reads back as objects: the ORM's bulk path costs more than the statement.
_EVENTS, _MEMBERS = CaseEvent.__table__.insert(), CaseMember.__table__.insert()


def _event(session: Session, case: Case, actor_id: int | None, action: str, note: str, now: datetime) -> None:
    session.add(CaseEvent(**_event_row(case, actor_id, action, note, now)))


def _event_row(case: Case, actor_id: int | None, action: str, note: str, now: datetime) -> dict:
    return {"case_id": case.id, "at": now, "actor_id": actor_id, "action": action, "note": note}


# A case code as people type it: any case, full-width letters and digits, odd dashes or none.
TYPED_CODE = re.compile(r"^\s*XS\s*[-—–‐‑―]?\s*(\d{8})\s*[-—–‐‑―]?\s*(\d{4})\s*$")


def normal_code(typed: str) -> str | None:
    """XS-YYYYMMDD-NNNN from a code as typed (chat, console, API), or None when it is not one."""
    m = TYPED_CODE.match(unicodedata.normalize("NFKC", typed).upper())
    return f"XS-{m[1]}-{m[2]}" if m else None


def typed_code(typed: str) -> str:
    """The code as Gridline writes it when `typed` is one (normal_code), else the text as typed, trimmed and
    upper-cased — what a reply names when no such case exists."""
    return normal_code(typed) or typed.strip().upper()


def find(session: Session, code: str, lock: bool = False) -> Case | None:
    """The case of a code however it was typed (see normal_code)."""
    query = select(Case).where(Case.code == typed_code(code))
    return session.scalars(query.with_for_update() if lock else query).one_or_none()


def members(session: Session, case: Case) -> list[tuple[Person, str]]:
    """The people on the case and their duties."""
    rows = session.execute(select(Person, CaseMember.duty).join(CaseMember, CaseMember.person_id == Person.id)
                           .where(CaseMember.case_id == case.id).order_by(CaseMember.id))
    return [(person, duty) for person, duty in rows]


def _tell_reporter(session: Session, case: Case, text: str, now: datetime) -> None:
    reporter = session.get(Person, case.reporter_id)
    notify(session, reporter, text, f"reporter:{case.code}:{case.status}", now, case_id=case.id)


def _department_people(lookups: Lookups, township_id: int, department: str) -> list[Person]:
    if department == OFFICE_DEPARTMENT:
        return lookups.holders(org.OFFICE, township_id)
    dept = lookups.departments(township_id).get(department)
    if dept is None:  # no liaison on the roster for it: the office takes it
        return lookups.holders(org.OFFICE, township_id)
    return [p for p in lookups.holders(org.LIAISON, township_id) if p.department_id == dept]


def accused_villages(session: Session, case: Case, rules: Classifier) -> list[int]:
    """The villages besides the case's that a case found late to accuse a cadre shuts out, as filing would
    have: those whose committee members its text names, the reporter's own and every village it names."""
    tree = OrgTree.load(session)
    villages = tree.villages(case.township_id)
    in_play = villages_in_play(tree, session.get(Person, case.reporter_id), case.summary, rules)
    named = rules.cadre.judge(case.summary, committee_names(session, villages)).villages
    return sorted({villages[v] for v in (*named, *in_play) if v in villages} - {case.village_id})


def _township_and_grid(tree: OrgTree, reporter: Person, village_id: int | None) -> tuple[int, int | None]:
    home = tree.units[reporter.unit_id]
    grid_id = home.id if home.kind == "grid" else None
    return tree.home_township(village_id if village_id is not None else reporter.unit_id), grid_id


def place(session: Session, case: Case) -> str:
    return place_name(session, case.township_id, case.village_id)


def timeline(session: Session, person: Person, case: Case, tz: ZoneInfo) -> list[tuple[str, str, str, str]]:
    """The case's history as `person` may read it: (local time, who, action, note); the reporter is
    网格员 to those who may not know them (access.sees_reporter)."""
    events = history(session, case)
    names = dict(session.execute(select(Person.id, Person.name).where(
        Person.id.in_({e.actor_id for e in events if e.actor_id}))).all())
    if not sees_reporter(viewer(session, person), case_scope(session, case)):
        names[case.reporter_id] = texts.REPORTER_HIDDEN
    return [(e.at.astimezone(tz).strftime("%m-%d %H:%M"), names.get(e.actor_id, ""), e.action, e.note) for e in events]
