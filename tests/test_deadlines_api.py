"""The deadline engine from outside: admin API, command line, and a case's life through chat + run-due."""

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app as cli
from app.sandbox import FakeWeChat
from models import ChatIdentity, Holiday, SensitivePeriod, Unit
from tests import township
from tests.conftest import T0
from tests.test_deadlines import act, at, file, run
from tests.test_intake import CORP, KEY, TOKEN, code_in, say
from tests.test_run_due import AGENT, SECRET
from tests.test_run_due import run_due as cli_run_due
from tests.township import liaison, secretary
from tests.wxclient import Aes, Peer

ADMIN = {"Authorization": "Bearer adm"}


@pytest.fixture
def api(serve, db):
    township.load(db)
    server = serve(admin_token="adm")
    with httpx.Client(base_url=server.url + "/api", headers=ADMIN, timeout=10) as client:
        yield client


# -- accountability ----------------------------------------------------------------------------

def test_overdue_stats_per_unit_and_person_with_the_cases_behind_them(api, db):
    missed = file(db, at(2026, 11, 18, 10, 0))  # nobody acknowledges: ack missed at 12:00
    kept = file(db, at(2026, 11, 18, 10, 0), village="南沟村")
    act(db, secretary("南沟村"), kept, "签收", at(2026, 11, 18, 10, 30))
    run(db, at(2026, 11, 18, 12, 0))
    got = api.get("/stats/overdue", params={"from": "2026-11-18", "to": "2026-11-18"}).json()
    assert (got["deadlines"], got["met"], got["missed"], got["on_time_rate"]) == (2, 1, 1, 0.5)
    units = {u["unit"]: u for u in got["units"]}
    assert units["西岔村"] == {"unit": "西岔村", "deadlines": 1, "missed": 1, "on_time_rate": 0.0, "cases": [missed]}
    assert units["南沟村"]["missed"] == 0 and units["南沟村"]["on_time_rate"] == 1.0
    # The lead department answered for both: one of two on time.
    assert units["白水乡党政办"] == {"unit": "白水乡党政办", "deadlines": 2, "missed": 1, "on_time_rate": 0.5,
                                  "cases": [missed]}
    people = {p["name"]: p for p in got["people"]}
    assert people["西岔村书记"]["cases"] == [missed] and people["南沟村书记"]["missed"] == 0
    assert got["units"][0]["missed"] >= got["units"][-1]["missed"]  # worst first
    # Another range holds none of it.
    empty = api.get("/stats/overdue", params={"from": "2026-11-19", "to": "2026-11-30"}).json()
    assert (empty["deadlines"], empty["units"], empty["on_time_rate"]) == (0, [], None)


@pytest.mark.parametrize("params", [
    {"from": "2026-11-30", "to": "2026-11-01"},
    {"from": "yesterday"},
    {"from": "2024-01-01", "to": "2026-01-01"},
])
def test_overdue_stats_refuse_bad_ranges(api, params):
    assert api.get("/stats/overdue", params=params).status_code == 422


def test_overdue_stats_need_the_admin_token(api):
    assert api.get("/stats/overdue", headers={"Authorization": "Bearer nope"}).status_code == 401


# -- the office calendar and sensitive periods ---------------------------------------------------

def test_the_office_enters_days_the_package_does_not_know(api, db):
    before = api.get("/calendar").json()
    assert before["package_years"][1] == 2026 and before["unknown_years"] == []  # November: 2027 not needed yet
    put = api.put("/calendar/days/2027-02-06", json={"day": "2027-02-06", "workday": True, "name": "春节调休"})
    assert put.status_code == 200 and put.json()["workday"] is True
    listed = api.get("/calendar", params={"year": 2027}).json()
    assert listed["office_years"] == [2027] and listed["items"][0]["name"] == "春节调休"
    assert api.put("/calendar/days/2027-02-06", json={"day": "2027-02-07"}).status_code == 422
    assert api.put("/calendar/days/2027-13-01", json={"day": "2027-13-01"}).status_code == 422
    assert api.delete("/calendar/days/2027-02-06").status_code == 204
    assert api.delete("/calendar/days/2027-02-06").status_code == 404
    with db() as s:
        assert s.scalars(select(Holiday)).all() == []


def test_sensitive_periods_through_the_api(api, db):
    made = api.post("/sensitive-periods", json={"name": "国庆", "starts_on": "2026-10-01", "ends_on": "2026-10-08"})
    assert made.status_code == 201 and made.json()["factor"] == 0.5  # the policy's default
    assert api.get("/sensitive-periods").json()["total"] == 1
    backwards = api.post("/sensitive-periods", json={"name": "x", "starts_on": "2026-10-08", "ends_on": "2026-10-01"})
    assert backwards.status_code == 422 and "结束日期" in backwards.json()["detail"]
    assert api.post("/sensitive-periods", json={"name": "x", "starts_on": "2026-10-01", "ends_on": "2026-10-01",
                                                "factor": 0}).status_code == 422
    assert api.delete(f"/sensitive-periods/{made.json()['id']}").status_code == 204
    assert api.delete(f"/sensitive-periods/{made.json()['id']}").status_code == 404
    with db() as s:
        assert s.scalars(select(SensitivePeriod)).all() == []
        township_id = s.scalars(select(Unit.id).where(Unit.kind == "township")).first()
        village_id = s.scalars(select(Unit.id).where(Unit.kind == "village")).first()
    local = api.post("/sensitive-periods", json={"name": "换届", "starts_on": "2027-04-01", "ends_on": "2027-04-05",
                                                 "township_id": township_id})
    assert local.status_code == 201 and local.json()["township_id"] == township_id
    assert api.get("/sensitive-periods").json()["items"][0]["township_id"] == township_id
    for bad in (village_id, 99999):  # a village is no township
        refused = api.post("/sensitive-periods", json={"name": "x", "starts_on": "2027-04-01", "ends_on": "2027-04-05",
                                                       "township_id": bad})
        assert refused.status_code == 422 and "no township" in refused.json()["detail"]


def test_calendar_commands(db, database_url):
    env = {"GRIDLINE_DATABASE_URL": database_url}
    runner = CliRunner()
    done = runner.invoke(cli, ["calendar", "holiday", "2027-01-01", "--name", "元旦"], env=env)
    assert done.exit_code == 0 and "2027-01-01" in done.output
    shown = runner.invoke(cli, ["calendar", "show", "2027"], env=env)
    assert "元旦" in shown.output and "2027" in shown.output
    assert runner.invoke(cli, ["calendar", "holiday", "2027-1-1x"], env=env).exit_code == 2
    assert runner.invoke(cli, ["calendar", "holiday", "2027-01-02", "--remove"], env=env).exit_code == 1
    added = runner.invoke(cli, ["calendar", "sensitive", "两会", "2027-03-01", "2027-03-15"], env=env)
    assert added.exit_code == 0 and "两会" in added.output
    assert runner.invoke(cli, ["calendar", "sensitive", "反了", "2027-03-15", "2027-03-01"], env=env).exit_code == 2
    assert "两会" in runner.invoke(cli, ["calendar", "sensitive"], env=env).output
    unknown = runner.invoke(cli, ["calendar", "sensitive", "换届", "2027-04-01", "2027-04-05", "--township", "无此乡"], env=env)
    assert unknown.exit_code == 2 and "没有名为“无此乡”的乡镇" in unknown.output
    with db.begin() as s:
        s.add(Unit(kind="township", name="白水乡"))
    local = runner.invoke(cli, ["calendar", "sensitive", "换届", "2027-04-01", "2027-04-05", "--township", "白水乡"], env=env)
    assert local.exit_code == 0, local.output
    listed = runner.invoke(cli, ["calendar", "sensitive"], env=env).output
    assert "两会" in listed and "全县" in listed and "换届" in listed and "白水乡" in listed
    with db() as s:
        assert [h.name for h in s.scalars(select(Holiday))] == ["元旦"]
        assert [(p.factor, p.township_id is None) for p in s.scalars(select(SensitivePeriod))] == [(0.5, True), (0.5, False)]


# -- a case's life, end to end ---------------------------------------------------------------------

def test_a_case_life_through_chat_run_due_and_the_sandbox(serve, db, database_url, clock):
    """Filed in WeCom chat at T0 (19:06 local, Wednesday); run-due at chosen instants delivers exactly
    the reminder, the miss and the escalation steps to the right people, once each."""
    township.load(db)
    server = serve(work_token=TOKEN, work_aes_key=KEY, work_corp_id=CORP)
    wecom = Peer(server.url, "work", TOKEN, Aes(KEY, CORP), account=CORP, timestamp=T0)
    say(wecom, "gw", "西岔村的路灯坏了一个多月，晚上走路不安全，没人来修")
    code = code_in(say(wecom, "gw", "确认"))
    fake = FakeWeChat(clock, member_limits=False)
    with db() as s:
        fake.add_work_app(CORP, SECRET, AGENT).add_userid(
            *s.scalars(select(ChatIdentity.external_id).where(ChatIdentity.channel == "work")))
    sandbox = fake.serve()

    def run_due(when: str) -> dict[str, list[str]]:
        before = len(fake.delivered())
        result = cli_run_due(database_url, sandbox, at=when)
        assert result.exit_code == 0, result.output
        got: dict[str, list[str]] = {}
        for d in fake.delivered()[before:]:
            got.setdefault(d.recipient, []).append(d.text)
        return got

    try:
        cards = run_due("2026-11-18T19:07")  # local time: no offset
        assert secretary("西岔村") in cards and all(code in t[0] for t in cards.values())
        assert run_due("2026-11-18T20:06") == {}
        reminder = run_due("2026-11-18T20:07")  # half of 2 h = 1 h before: one reminder
        assert set(reminder) == {secretary("西岔村"), liaison("党政办")}
        assert all(len(t) == 1 and "⏰" in t[0] for t in reminder.values())
        missed = run_due("2026-11-18T21:07")
        assert set(missed) == {secretary("西岔村"), liaison("党政办"), "bc1"}
        assert "逾期" in missed["bc1"][0] and "西岔村书记" in missed["bc1"][0]
        assert run_due("2026-11-18T21:07") == {}  # nothing twice
        # 23:07 is quiet hours and the case is not urgent: the office's step waits for 07:00.
        assert run_due("2026-11-18T23:07") == {}
        # Acknowledged in chat at 00:30: the last step (main leader, due 01:06) never comes.
        clock.advance(hours=5, minutes=24)
        wecom.timestamp = T0 + 5 * 3600 + 24 * 60
        assert "已签收" in say(wecom, secretary("西岔村"), f"签收 {code}")
        assert run_due("2026-11-19T06:59") == {}
        assert set(run_due("2026-11-19T07:00")) == {"office"}
        assert run_due("2026-11-19T12:00") == {}
    finally:
        sandbox.stop()
