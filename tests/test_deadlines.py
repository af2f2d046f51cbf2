"""Deadlines, reminders and escalation: driven by run-due at chosen instants, on both engines."""

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from handlers import cases, texts, workdays
from handlers.classify import Labels
from handlers.jobs import run_due
from handlers.periods import add_period
from handlers.policy import DEFAULT_POLICY, Policy, PolicyError
from models import Case, CaseEvent, ChatIdentity, Deadline, DeadlineMiss, Job, OutboxMessage, Person, Unit
from tests import township
from tests.township import liaison, secretary

SH = ZoneInfo("Asia/Shanghai")
POLICY = Policy.load(None, SH)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def town(db):
    township.load(db)
    return db


def file(db, when: datetime, *, category="民生环境", lead="党政办", urgent=False, online=False, cadre=False,
         village="西岔村", policy=POLICY) -> str:
    labels = Labels(category=category, lead_department=lead, severity="紧急" if urgent else "一般", urgent=urgent,
                    online=online, involves_cadre=cadre, village=village, platform="抖音" if online else None,
                    screen_name=None, links=())
    with db.begin() as s:
        reporter = _person(s, "gw")
        village_id = s.scalars(select(Unit.id).where(Unit.name == village)).one()
        filing = cases.Filing(reporter=reporter, summary="村里道路坏了很久没人修", labels=labels, village_id=village_id)
        return cases.file_case(s, filing, when, policy).code


def act(db, who: str, code: str, action: str, when: datetime, note: str = "") -> None:
    with db.begin() as s:
        cases.act(s, _person(s, who), code, action, note, when, POLICY)


def _person(s, userid: str) -> Person:
    return s.scalars(select(Person).join(ChatIdentity, ChatIdentity.person_id == Person.id)
                     .where(ChatIdentity.external_id == userid)).one()


def run(db, when: datetime, policy=POLICY):
    return run_due(db, when, policy)


def messages(db, prefix: str) -> dict[str, list[str]]:
    """recipient userid → bodies of the outbox rows whose key starts with `prefix`."""
    found: dict[str, list[str]] = {}
    with db() as s:
        for recipient, body in s.execute(select(OutboxMessage.recipient, OutboxMessage.body)
                                          .where(OutboxMessage.idempotency_key.like(f"{prefix}%"))
                                          .order_by(OutboxMessage.id)):
            found.setdefault(recipient, []).append(body)
    return found


def deadline(db, code: str, kind: str) -> Deadline:
    with db() as s:
        return s.scalars(select(Deadline).join(Case).where(Case.code == code, Deadline.kind == kind)).one()


def due_local(db, code: str, kind: str) -> datetime:
    return deadline(db, code, kind).due_at.astimezone(SH)


# -- the life of a deadline -----------------------------------------------------------------------

def test_reminder_then_escalation_up_the_chain_each_once(town):
    code = file(town, at(2026, 11, 18, 10, 0))  # a Wednesday; ack within 2 h
    assert due_local(town, code, "ack") == at(2026, 11, 18, 12, 0)
    assert run(town, at(2026, 11, 18, 10, 59)).done == {}
    # Half the window and 1 h before fall on the same instant: one reminder, to the responsible.
    assert run(town, at(2026, 11, 18, 11, 0)).done == {"remind": 1}
    reminded = messages(town, "remind:")
    assert set(reminded) == {secretary("西岔村"), liaison("党政办")}
    assert all(len(b) == 1 and code in b[0] and "签收" in b[0] for b in reminded.values())
    assert run(town, at(2026, 11, 18, 11, 30)).done == {}

    assert run(town, at(2026, 11, 18, 12, 0)).done == {"escalate": 1}
    assert deadline(town, code, "ack").status == "missed"
    assert set(messages(town, "overdue:")) == {secretary("西岔村"), liaison("党政办")}
    assert set(messages(town, "escalate:")) == {"bc1"}  # 包村领导甲 covers 西岔村
    with town() as s:
        case = s.scalars(select(Case).where(Case.code == code)).one()
        assert case.supervised
        misses = s.execute(select(Person.name, Unit.name).join(DeadlineMiss, DeadlineMiss.person_id == Person.id)
                           .join(Unit, Unit.id == DeadlineMiss.unit_id)).all()
        assert sorted(misses) == [("党政办联络员", "白水乡"), ("西岔村书记", "西岔村")]

    run(town, at(2026, 11, 18, 14, 0))
    assert set(messages(town, "escalate:")) == {"bc1", "office"}
    run(town, at(2026, 11, 18, 16, 0))
    run(town, at(2026, 11, 18, 16, 5))
    escalated = messages(town, "escalate:")
    assert set(escalated) == {"bc1", "office", "leader"}
    assert all(len(bodies) == 1 for bodies in escalated.values())
    with town() as s:
        actions = s.scalars(select(CaseEvent.action).join(Case).where(Case.code == code).order_by(CaseEvent.id)).all()
    assert actions == ["上报", "分派", "提醒", "逾期", "升级", "升级"]


def test_acknowledging_in_time_stops_its_reminders_and_escalations(town):
    code = file(town, at(2026, 11, 18, 10, 0))
    act(town, secretary("西岔村"), code, "签收", at(2026, 11, 18, 10, 30))
    report = run(town, at(2026, 11, 18, 23, 59))
    assert report.done == {}
    assert deadline(town, code, "ack").status == "met"
    assert messages(town, "remind:") == {} and messages(town, "escalate:") == {}
    with town() as s:
        left = s.scalars(select(Job.kind).where(Job.status == "pending")).all()
    assert sorted(left) == ["escalate"] * 3 + ["remind"] * 2  # the close deadline's, still ahead


def test_a_reminder_run_after_its_deadline_stays_silent(town):
    """After downtime: the reminder would say time is left when it is not; the escalation speaks."""
    code = file(town, at(2026, 11, 18, 10, 0))
    report = run(town, at(2026, 11, 18, 12, 30))
    assert report.done == {"escalate": 1} and report.moot == 1
    assert messages(town, "remind:") == {} and set(messages(town, "overdue:")) == {secretary("西岔村"), liaison("党政办")}
    assert code


def test_met_late_stops_the_rest_of_the_escalation_but_the_miss_stays(town):
    code = file(town, at(2026, 11, 18, 10, 0))
    run(town, at(2026, 11, 18, 12, 0))
    act(town, liaison("党政办"), code, "签收", at(2026, 11, 18, 12, 30))
    run(town, at(2026, 11, 18, 18, 0))
    assert set(messages(town, "escalate:")) == {"bc1"}
    late = deadline(town, code, "ack")
    assert late.status == "missed" and late.met_at is not None


def test_closing_the_case_stops_every_clock(town):
    code = file(town, at(2026, 11, 18, 10, 0), online=True)
    act(town, liaison("党政办"), code, "签收", at(2026, 11, 18, 10, 5))
    act(town, liaison("党政办"), code, "办结", at(2026, 11, 18, 10, 10), note="已修好")
    assert set(run(town, at(2026, 12, 31, 0, 0)).done) == {"followup"}  # the office's visit, nothing else
    with town() as s:
        assert s.scalars(select(Job).where(Job.status == "pending")).all() == []
        assert set(s.scalars(select(Deadline.status))) == {"met"}


def test_involves_cadre_cases_skip_the_village(town):
    code = file(town, at(2026, 11, 18, 10, 0), category="违规违纪", lead="纪委", cadre=True)
    run(town, at(2026, 11, 18, 11, 0))
    run(town, at(2026, 11, 18, 12, 0))
    assert set(messages(town, "remind:")) == {liaison("纪委")}
    assert set(messages(town, "overdue:")) == {liaison("纪委")}
    assert set(messages(town, "escalate:")) == {"bc1"}
    assert secretary("西岔村") not in str(messages(town, ""))
    assert code


def test_urgent_case_has_the_short_clocks(town):
    code = file(town, at(2026, 11, 18, 10, 0), category="信访诉求", lead="信访办", urgent=True)
    kinds = {kind: due_local(town, code, kind) for kind in ("ack", "report_urgent", "meet_people", "close")}
    assert kinds == {"ack": at(2026, 11, 18, 10, 30), "report_urgent": at(2026, 11, 18, 10, 30),
                     "meet_people": at(2026, 11, 19, 10, 0), "close": at(2026, 11, 25, 10, 0)}
    act(town, liaison("信访办"), code, "反馈", at(2026, 11, 18, 10, 20), note="已报告乡长")
    assert deadline(town, code, "report_urgent").status == "met"
    assert deadline(town, code, "ack").status == "met"  # any action of an assignee acknowledges the case


# -- quiet hours ---------------------------------------------------------------------------------

def test_non_urgent_reminders_wait_for_seven_and_late_escalation_messages_too(town):
    code = file(town, at(2026, 11, 18, 20, 30))  # ack due 22:30: its 21:30 reminder is before quiet hours
    run(town, at(2026, 11, 18, 21, 30))
    assert set(messages(town, "remind:")) == {secretary("西岔村"), liaison("党政办")}
    run(town, at(2026, 11, 18, 22, 30))
    assert deadline(town, code, "ack").status == "missed"  # the miss is on time …
    with town() as s:
        held = s.scalars(select(OutboxMessage.next_attempt_at).where(
            OutboxMessage.idempotency_key.like("escalate:%"))).all()
    assert [t.astimezone(SH) for t in held] == [at(2026, 11, 19, 7, 0)]  # … the message waits for 07:00
    # A close window started at 11:00 is half gone on Saturday 23:00: that reminder moves to Sunday 07:00.
    later = file(town, at(2026, 11, 18, 11, 0))
    with town() as s:
        reminders = s.scalars(select(Job.due_at).join(Deadline, Deadline.id == Job.deadline_id).join(Case).where(
            Case.code == later, Deadline.kind == "close", Job.kind == "remind").order_by(Job.due_at)).all()
    assert [t.astimezone(SH) for t in reminders] == [at(2026, 11, 22, 7, 0), at(2026, 11, 25, 10, 0)]


def test_a_reminder_pushed_past_the_deadline_is_dropped(town):
    code = file(town, at(2026, 11, 18, 21, 0))  # ack due 23:00: the 22:00 reminder would go at 07:00
    with town() as s:
        kinds = s.scalars(select(Job.kind).join(Deadline, Deadline.id == Job.deadline_id).where(
            Deadline.kind == "ack")).all()
    assert sorted(kinds) == ["escalate"] * 3
    assert code


def test_urgent_reminders_and_escalations_go_at_night(town):
    file(town, at(2026, 11, 18, 23, 0), category="信访诉求", lead="信访办", urgent=True)
    run(town, at(2026, 11, 18, 23, 15))
    assert set(messages(town, "remind:")) == {secretary("西岔村"), liaison("信访办")}
    run(town, at(2026, 11, 18, 23, 30))
    with town() as s:
        held = set(s.scalars(select(OutboxMessage.next_attempt_at).where(
            OutboxMessage.idempotency_key.like("escalate:%"))))
    assert {t.astimezone(SH) for t in held} == {at(2026, 11, 18, 23, 30)}


# -- working days ---------------------------------------------------------------------------------

def test_two_working_days_from_30_september_end_after_national_day(town):
    code = file(town, at(2026, 9, 30, 10, 0), online=True)
    # 1–7 October are holidays; Thursday the 8th and Friday the 9th are the two working days.
    assert due_local(town, code, "contact_poster") == at(2026, 10, 9, 18, 0)


def test_the_adjusted_working_saturday_counts(town):
    code = file(town, at(2026, 10, 9, 10, 0), online=True)
    # Saturday 10 October 2026 is an adjusted working day (调休上班): it and Monday the 12th.
    assert due_local(town, code, "contact_poster") == at(2026, 10, 12, 18, 0)


def test_a_year_the_calendar_does_not_know_falls_back_to_weekdays_and_warns(town, caplog):
    with caplog.at_level(logging.WARNING, logger="gridline.calendar"):
        code = file(town, at(2026, 12, 31, 10, 0), online=True)
    # 2027 is unknown: Friday 1 January counts as a working day (Monday–Friday), then Monday the 4th.
    assert due_local(town, code, "contact_poster") == at(2027, 1, 4, 18, 0)
    assert any("2027" in r.getMessage() for r in caplog.records)


def test_the_office_calendar_covers_the_unknown_year(town):
    with town.begin() as s:
        workdays.set_day(s, at(2027, 1, 1).date(), workday=False, name="元旦")
    code = file(town, at(2026, 12, 31, 10, 0), online=True)
    assert due_local(town, code, "contact_poster") == at(2027, 1, 5, 18, 0)


def test_the_office_is_told_in_december_once_when_next_year_is_unknown(town):
    run(town, at(2026, 11, 30, 9, 0))
    assert messages(town, "calendar:") == {}
    run(town, at(2026, 12, 1, 9, 0))
    run(town, at(2026, 12, 2, 9, 0))
    told = messages(town, "calendar:")
    assert set(told) == {"office"} and len(told["office"]) == 1 and "2027" in told["office"][0]


def test_no_december_message_once_the_office_entered_the_year(town):
    with town.begin() as s:
        workdays.set_day(s, at(2027, 1, 1).date(), workday=False, name="元旦")
    run(town, at(2026, 12, 1, 9, 0))
    assert messages(town, "calendar:") == {}


# -- sensitive periods ------------------------------------------------------------------------------

def test_a_sensitive_period_halves_windows_and_sends_every_case_to_the_office(town):
    with town.begin() as s:
        add_period(s, "国庆", at(2026, 10, 1).date(), at(2026, 10, 8).date(), 0.5)
    code = file(town, at(2026, 10, 8, 10, 0), online=True)
    assert due_local(town, code, "ack") == at(2026, 10, 8, 11, 0)
    assert due_local(town, code, "close") == at(2026, 10, 11, 22, 0)
    assert due_local(town, code, "contact_poster") == at(2026, 10, 9, 18, 0)  # 2 working days → 1
    assert _office_card(town, code)
    after = file(town, at(2026, 10, 9, 10, 0))
    assert due_local(town, after, "ack") == at(2026, 10, 9, 12, 0)
    assert not _office_card(town, after)


def test_a_township_period_holds_for_its_own_cases_only(town):
    # a local period (a dispute coming to a head) shortens this township's windows, not the county's
    with town.begin() as s:
        here = s.scalars(select(Unit.id)
                         .where(Unit.kind == "township", Unit.name == "白水乡")).one()
        other = Unit(kind="township", name="黑山乡", parent_id=s.get(Unit, here).parent_id)
        s.add(other)
        s.flush()
        add_period(s, "黑山乡换届", at(2026, 11, 16).date(), at(2026, 11, 20).date(), 0.5, other.id)
    elsewhere = file(town, at(2026, 11, 18, 10, 0))
    assert due_local(town, elsewhere, "ack") == at(2026, 11, 18, 12, 0)
    assert not _office_card(town, elsewhere)
    with town.begin() as s:
        add_period(s, "白水乡换届", at(2026, 11, 16).date(), at(2026, 11, 20).date(), 0.5, here)
    own = file(town, at(2026, 11, 18, 10, 0))
    assert due_local(town, own, "ack") == at(2026, 11, 18, 11, 0)
    assert _office_card(town, own)


def _office_card(db, code: str) -> bool:
    with db() as s:
        office = _person(s, "office")
        return s.scalars(select(OutboxMessage.id).where(
            OutboxMessage.idempotency_key == f"card:{code}:{office.id}")).first() is not None


# -- the policy file --------------------------------------------------------------------------------

def test_a_live_case_keeps_the_terms_it_started_with(town, tmp_path):
    old = file(town, at(2026, 11, 18, 10, 0))
    text = POLICY_TEXT.replace('window = "2h"', 'window = "1h"').replace('escalation = ["0m", "2h", "4h"]',
                                                                          'escalation = ["0m"]')
    (tmp_path / "policy.toml").write_text(text, encoding="utf-8")
    edited = Policy.load(tmp_path / "policy.toml", SH)
    new = file(town, at(2026, 11, 18, 10, 0), policy=edited)
    assert due_local(town, old, "ack") == at(2026, 11, 18, 12, 0)
    assert due_local(town, new, "ack") == at(2026, 11, 18, 11, 0)
    run(town, at(2026, 11, 18, 16, 0), policy=edited)
    with town() as s:
        steps = s.execute(select(Case.code, CaseEvent.action).join(CaseEvent).where(
            CaseEvent.action.in_(("逾期", "升级")))).all()
    assert sorted(steps) == sorted([(old, "逾期"), (old, "升级"), (old, "升级"), (new, "逾期")])


POLICY_TEXT = DEFAULT_POLICY.read_text(encoding="utf-8")


@pytest.mark.parametrize(("change", "named"), [
    (('window = "2h"', 'window = "2 hours"'), "deadlines.ack"),
    (('window = "2h"', 'window = "0h"'), "deadlines.ack"),
    (('when = ["online"]', 'when = ["weekend"]'), "deadlines.contact_poster.when"),
    (('responsible = ["lead"]', 'responsible = ["boss"]'), "deadlines.close.responsible"),
    (('reminders = ["half"]', 'reminders = ["+1h"]'), "deadlines.report_urgent"),
    (('escalation = ["0m", "1d", "2d"]', 'escalation = ["-1h"]'), "deadlines.close"),
    (('quiet_hours = ["22:00", "07:00"]', 'quiet_hours = ["late", "07:00"]'), "quiet_hours"),
    (('sensitive_factor = 0.5', 'sensitive_factor = 2'), "sensitive_factor"),
    (('escalate_to = ["包村领导", "办公室", "主要领导"]', 'escalate_to = ["村长"]'), "escalate_to"),
    (("[deadlines.close]", "[deadlines.closing]"), "deadlines.close"),
    (("workday_ends", "workday_ends = 1\nx"), "policy file"),
])
def test_a_bad_policy_file_is_refused_naming_the_key(tmp_path, change, named):
    assert change[0] in POLICY_TEXT
    path = tmp_path / "policy.toml"
    path.write_text(POLICY_TEXT.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(PolicyError) as refused:
        Policy.load(path, SH)
    assert str(path) in str(refused.value) and named in str(refused.value)


def test_a_missing_policy_file_is_refused(tmp_path):
    with pytest.raises(PolicyError, match="not found"):
        Policy.load(tmp_path / "nope.toml", SH)


def test_texts_fit_a_phone():
    assert len(texts.reminder("XS-20261118-0001", "contact_poster", "11月18日12:00", "1天2小时")) < 120
    assert texts.time_left(59) == "59分钟" and texts.time_left(60) == "1小时" and texts.time_left(1500) == "1天1小时"


# -- a job that fails ------------------------------------------------------------------------------

def _job_of_kind(db, kind: str, when: datetime, case_code: str | None = None) -> int:
    with db.begin() as s:
        case_id = s.scalars(select(Case.id).where(Case.code == case_code)).one() if case_code else None
        job = Job(kind=kind, due_at=when, case_id=case_id)
        s.add(job)
        s.flush()
        return job.id


def test_a_job_that_raises_is_retried_with_backoff_then_failed_and_the_office_told(town, monkeypatch):
    from handlers import jobs

    def broken(session, job, now, policy, lookups):
        raise RuntimeError("bug")

    monkeypatch.setitem(jobs.HANDLERS, "broken", broken)
    code = file(town, at(2026, 11, 18, 10, 0))
    bad = _job_of_kind(town, "broken", at(2026, 11, 18, 10, 30), case_code=code)
    report = run(town, at(2026, 11, 18, 11, 0))
    assert report.retried == 1 and report.failed == 0 and report.done == {"remind": 1}  # the others still run
    # Retries 1, 4 and 16 minutes after each failure; not before.
    for minute, retried, failed in ((0, 0, 0), (1, 1, 0), (4, 0, 0), (5, 1, 0), (21, 0, 1)):
        report = run(town, at(2026, 11, 18, 11, minute))
        assert (report.retried, report.failed) == (retried, failed), minute
        with town() as s:
            job = s.get(Job, bad)
            assert job.error == "RuntimeError: bug"
    assert (job.status, job.attempts) == ("failed", jobs.MAX_ATTEMPTS)
    told = messages(town, f"jobfailed:{bad}:")
    assert set(told) == {"office"} and code in told["office"][0]
    assert run(town, at(2026, 11, 19, 11, 0)).failed == 0  # failed for good: never run again
    assert len(messages(town, f"jobfailed:{bad}:")) == len(told)


def test_a_database_error_leaves_the_job_pending_for_the_next_pass(town, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from handlers import jobs

    def deadlocked(session, job, now, policy, lookups):
        raise OperationalError("UPDATE deadlines …", {}, Exception("deadlock detected"))

    monkeypatch.setitem(jobs.HANDLERS, "deadlocked", deadlocked)
    stuck = _job_of_kind(town, "deadlocked", at(2026, 11, 18, 10, 30))
    report = run(town, at(2026, 11, 18, 11, 0))
    assert report.failed == 0
    with town() as s:
        assert s.get(Job, stuck).status == "pending"
    monkeypatch.setitem(jobs.HANDLERS, "deadlocked", lambda session, job, now, policy, lookups: True)
    assert run(town, at(2026, 11, 18, 11, 1)).done == {"deadlocked": 1}
