"""Filing at county scale: the org read once (handlers/lookups.py), duplicates through an index,
deadline jobs inserted in bulk — each still doing what the slower code did."""

import itertools
import re
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import event, select, update

from app.demo.seed import seed
from bot.conversation import Chat
from bot.dispatcher import Dispatcher, _Job
from bot.inbound import InboundMessage
from handlers import access, binding, cases, jobs, org, people, texts
from handlers.classify import Classifier, Labels
from handlers.lookups import Lookups
from models import Case, CaseEvent, ChatIdentity, Job, OutboxMessage, Person, PersonRole, Unit
from models.clock import FixedClock
from models.org import COUNTY, TOWNSHIP, VILLAGE
from tests import township
from tests.casework import POLICY, file, local, person

AT = local("2026-11-20T10:00:00")
SUMMARY = "北坡村东头河道有人倾倒建筑垃圾，臭味很大"


def events(db, code: str, action: str) -> list[str]:
    with db() as s:
        case_id = s.scalars(select(Case.id).where(Case.code == code)).one()
        return list(s.scalars(select(CaseEvent.note).where(CaseEvent.case_id == case_id, CaseEvent.action == action)))


def test_the_twin_is_found_among_many_open_cases_through_the_index(db):
    township.load(db)
    twin = file(db, AT, "北坡村", "民生环境", "乡村振兴办", SUMMARY)
    # Many open cases since: the same village and category about other things, and other villages.
    for n in range(30):
        file(db, AT + timedelta(minutes=n), "北坡村", "民生环境", "乡村振兴办", f"第{n}号路灯不亮了，晚上很黑看不见路{n}")
    for n, village in zip(range(40), itertools.cycle(township.VILLAGES[1:])):
        file(db, AT + timedelta(minutes=n), village, "民生环境", "乡村振兴办", SUMMARY.replace("北坡村", village))
    again = file(db, AT + timedelta(hours=2), "北坡村", "民生环境", "乡村振兴办", SUMMARY + "，又来了")
    assert events(db, again, "疑似重复") == [twin]
    with db() as s:
        offers = s.scalars(select(OutboxMessage.idempotency_key).where(
            OutboxMessage.idempotency_key.like(f"duplicate:{again}:%"))).all()
    assert offers  # the office is asked to merge


def test_the_duplicate_query_is_an_index_search(db):
    """The candidates query filing really sends (caught on the engine), explained with its parameters."""
    township.load(db)
    file(db, AT, "北坡村", "民生环境", "乡村振兴办", SUMMARY)
    sent = []

    def catch(conn, cursor, statement, parameters, context, executemany):
        if "FROM cases" in statement and "category" in statement and "LIMIT" in statement.upper():
            sent.append((statement, parameters))

    engine = db.kw["bind"]
    event.listen(engine, "before_cursor_execute", catch)
    try:
        file(db, AT + timedelta(minutes=5), "北坡村", "民生环境", "乡村振兴办", SUMMARY + "，又来了")
    finally:
        event.remove(engine, "before_cursor_execute", catch)
    assert len(sent) == 1, sent  # one candidates query, no scan of the township
    statement, parameters = sent[0]
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: ask whether the index can serve
            plan = " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
    assert "ix_cases_duplicates" in plan, plan


def test_a_twin_across_the_cadre_boundary_is_never_paired(db):
    township.load(db)
    labels = Labels(category="违规违纪", lead_department="纪委", severity="一般", urgent=False, online=False,
                    involves_cadre=True, village="北坡村", platform=None, screen_name=None, links=())
    with db.begin() as s:
        village_id = s.scalars(select(Unit.id).where(Unit.name == "北坡村")).one()
        accused = cases.file_case(s, cases.Filing(reporter=person(s, "gw"), summary=SUMMARY, labels=labels,
                                                  village_id=village_id), AT, POLICY).code
        plain = cases.file_case(s, cases.Filing(reporter=person(s, "gw"), summary=SUMMARY,
                                                labels=replace(labels, involves_cadre=False), village_id=village_id),
                                AT + timedelta(minutes=5), POLICY).code
        cadre_again = cases.file_case(s, cases.Filing(reporter=person(s, "gw2"), summary=SUMMARY + "。", labels=labels,
                                                      village_id=village_id), AT + timedelta(minutes=9), POLICY).code
    assert events(db, plain, "疑似重复") == []  # the same text, but one accuses a cadre
    assert events(db, cadre_again, "疑似重复") == [accused]  # its own side of the boundary: paired


def test_bulk_inserted_jobs_run_exactly_once(db):
    township.load(db)
    code = file(db, AT, "北坡村", "民生环境", "乡村振兴办", SUMMARY)
    with db() as s:
        case_id = s.scalars(select(Case.id).where(Case.code == code)).one()
        planned = s.execute(select(Job.id, Job.kind, Job.deadline_id, Job.status).where(Job.case_id == case_id)).all()
    assert planned and all(kind in ("remind", "escalate") and deadline and status == "pending"
                           for _, kind, deadline, status in planned)
    later = AT + timedelta(days=30)
    first = jobs.run_due(db, later, POLICY)
    second = jobs.run_due(db, later, POLICY)
    assert sum(first.done.values()) + first.moot == len(planned)
    assert sum(second.done.values()) + second.moot == 0
    with db() as s:
        assert set(s.scalars(select(Job.status).where(Job.case_id == case_id))) == {"done"}
        keys = s.scalars(select(OutboxMessage.idempotency_key).where(OutboxMessage.case_id == case_id)).all()
    assert len(keys) == len(set(keys))


def _below(s, unit_id: int) -> set[int]:
    """The unit and every unit under it, asking each level for its children: no OrgTree."""
    found = level = {unit_id}
    while level:
        level = set(s.scalars(select(Unit.id).where(Unit.parent_id.in_(level)))) - found
        found = found | level
    return found


def _holders(s, role: str | None, unit_id: int) -> list[Person]:
    query = select(Person).where(Person.active, Person.unit_id.in_(_below(s, unit_id))).order_by(Person.id)
    if role is not None:
        query = query.where(Person.id.in_(select(PersonRole.person_id).where(PersonRole.role == role)))
    return list(s.scalars(query))


def _placed(s, person: Person) -> tuple:
    """Where a person sits, by walking parents one unit at a time: county?, township, village."""
    kinds, unit = {}, s.get(Unit, person.unit_id)
    home = unit.kind if unit else None
    while unit is not None:
        kinds.setdefault(unit.kind, unit.id)
        unit = s.get(Unit, unit.parent_id) if unit.parent_id else None
    return home == COUNTY, kinds.get(TOWNSHIP), kinds.get(VILLAGE)


def test_lookups_answer_as_the_database_does_on_the_demo_org(database_url, db, clock):
    seed(database_url, clock)
    with db() as s:
        units = s.scalars(select(Unit)).all()
        everyone = s.scalars(select(Person).where(Person.active)).all()
        roles = sorted(set(s.scalars(select(PersonRole.role))))
        lookups = Lookups(s)
        for unit in units:
            assert lookups.tree.subtree(unit.id) == _below(s, unit.id)
            for role in [*roles, None]:
                assert ([p.id for p in lookups.holders(role, unit.id)]
                        == [p.id for p in _holders(s, role, unit.id)]), (role, unit.name)
        for p in everyone:
            seen = lookups.viewer(p)
            assert (seen.county, seen.township_id, seen.village_id) == _placed(s, p), p.name
            assert seen == access.viewer(s, p), p.name


def test_routing_with_lookups_is_routing_by_the_database_on_the_demo_org(database_url, db, clock):
    """Every village, with and without a cadre accused, online, urgent, confidential: the people route()
    puts on the case are those the routing table names by plain queries, less those the policy excludes."""
    seed(database_url, clock)
    with db.begin() as s:
        villages = s.scalars(select(Unit).where(Unit.kind == VILLAGE).order_by(Unit.id)).all()
        reporter = s.scalars(select(Person).join(PersonRole, PersonRole.person_id == Person.id)
                             .where(PersonRole.role == org.GRID_WORKER).order_by(Person.id)).first()
        checked = 0
        for village, (cadre, online, urgent, confidential) in itertools.product(
                villages, itertools.product((False, True), repeat=4)):
            township_id = village.parent_id
            case = Case(code=f"T-{checked}", status="提交", category="其他", severity="一般", lead_department="纪委",
                        township_id=township_id, village_id=village.id, reporter_id=reporter.id, urgent=urgent,
                        online=online, involves_cadre=cadre or confidential, confidential=confidential,
                        summary="x", created_at=AT)
            s.add(case)
            s.flush()
            routed = {p.id: duty for p, duty in cases.route(s, case, Lookups(s))}
            assert routed == _route_by_queries(s, case), (village.name, cadre, online, urgent, confidential)
            checked += 1
        assert checked == len(villages) * 16 and checked > 0


def _route_by_queries(s, case: Case) -> dict[int, str]:
    """ROUTES walked with plain queries (no OrgTree, no Lookups), then the policy as access.viewer has it."""
    facts = cases.case_facts(case)
    picked: dict[int, tuple[Person, str]] = {}
    for row in cases.ROUTES:
        if not cases._applies(row, facts):
            continue
        kind, what = row.who
        if kind == "village":
            found = _holders(s, what, case.village_id)
        elif kind == "township":
            found = _holders(s, what, case.township_id)
        elif kind == "covering":
            found = people.covering_leaders(s, case.village_id)
        else:
            name = case.lead_department if what == cases.LEAD_DEPARTMENT else what
            dept = access.township_departments(s, case.township_id).get(name)
            found = (_holders(s, org.OFFICE, case.township_id) if dept is None
                     else [p for p in _holders(s, org.LIAISON, case.township_id) if p.department_id == dept])
        for p in found:
            if p.id not in picked or cases.DUTY_RANK[row.duty] < cases.DUTY_RANK[picked[p.id][1]]:
                picked[p.id] = (p, row.duty)
    scope = access.case_scope(s, case)
    return {p.id: duty for p, duty in picked.values()
            if p.id != case.reporter_id and access.can_see(access.viewer(s, p), scope)}


def test_counts_are_what_they_were(db):
    """The bulk insert writes one escalation row per step, and one reminder per distinct reminder instant."""
    township.load(db)
    code = file(db, AT, "北坡村", "民生环境", "乡村振兴办", SUMMARY, urgent=True)
    with db() as s:
        case_id = s.scalars(select(Case.id).where(Case.code == code)).one()
        rows = s.execute(select(Job.kind, Job.due_at, Job.deadline_id).where(Job.case_id == case_id)).all()
    rules = [r for r in POLICY.rules if r.starts == cases.ASSIGN and r.applies({"urgent"})]
    assert rules
    escalations = [r for r in rows if r.kind == "escalate"]
    reminders = [r for r in rows if r.kind == "remind"]
    assert len(escalations) == sum(len(rule.escalation) for rule in rules)
    assert len({(r.deadline_id, r.due_at) for r in reminders}) == len(reminders)  # never two on one instant
    assert 0 < len(reminders) <= sum(len(rule.reminders) for rule in rules)


def test_a_binding_within_a_batch_is_seen_by_the_batchs_next_filings(db):
    """The dispatcher's batch shares one Lookups (one transaction): a secretary without a chat identity gets no
    card for the first filing; once they bind in the same batch, the next filing's card reaches them."""
    township.load(db)
    with db.begin() as s:
        secretary = person(s, township.secretary("北坡村"))
        s.execute(update(ChatIdentity).where(ChatIdentity.person_id == secretary.id).values(active=False))
        code = binding.invite(s, secretary, AT)
    chat = Chat(Classifier.load(None), POLICY)
    dispatcher = Dispatcher(db, FixedClock(AT), chat, budget_s=1e9, workers=0)

    def text(n: int, channel: str, sender: str, body: str) -> _Job:
        msg = InboundMessage(channel=channel, account="acct", sender=sender, kind="text", sent_at=AT,
                             msg_id=f"9{n:05d}", text=body)
        return _Job(msg, None, None)

    replies = dispatcher._together([
        text(1, "work", "gw", "北坡村东头河道有人倾倒建筑垃圾，臭味很大，已经堆了三天"),
        text(2, "work", "gw", "确认"),
        text(3, "mp", "openid-sj", f"绑定 {code}"),
        text(4, "work", "gw2", "北坡村小学门口路灯坏了一排，晚上学生放学很黑"),
        text(5, "work", "gw2", "确认"),
    ])
    first, second = (re.search(r"XS-\d{8}-\d{4}", replies[i])[0] for i in (1, 4))
    assert replies[2] == texts.BOUND.format(name=secretary.name)
    with db() as s:
        to_secretary = s.scalars(select(OutboxMessage.idempotency_key)
                                 .where(OutboxMessage.recipient == "openid-sj")).all()
    assert any(key.startswith(f"card:{second}:") for key in to_secretary), to_secretary
    assert not any(key.startswith(f"card:{first}:") for key in to_secretary)
