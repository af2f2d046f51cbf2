"""The ledger (台账): the xlsx export (CLI and admin API) and the weekly jobs run by run-due."""

import csv
import os
import shutil
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from io import BytesIO

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app as cli
from models.clock import FixedClock
from app.db import make_engine, session_factory
from app.due import run_due
from app.sandbox import FakeWeChat
from bot.outbound.messages import plain
from handlers import followup, texts, weekly
from handlers.jobs import run_due as run_jobs
from handlers.ledger_book import export
from models import ChatIdentity, Job, OutboxMessage
from tests import township
from tests.casework import POLICY, TZ, act, file, local, person
from tests.conftest import make_settings
from tests.test_intake import ADMIN, CORP
from tests.test_run_due import AGENT, SECRET
from tests.test_run_due import run_due as run_due_cli
from tests.township import liaison, secretary

NOW = local("2026-11-18 19:06")


@pytest.fixture
def ledger_cases(db):
    """Four cases across two weeks, in the states the ledger must tell apart."""
    township.load(db)
    d = file(db, local("2026-11-10 09:00"), "北坡村", "其他", "领导小组办公室", "村口广告牌歪了")
    a = file(db, local("2026-11-16 10:00"), "西岔村", "涉黑涉法", "政法委", "两户打架")
    act(db, secretary("西岔村"), a, "签收", local("2026-11-16 11:00"))
    act(db, liaison("政法委"), a, "办结", local("2026-11-17 15:00"), "双方签了调解协议")
    with db.begin() as s:
        followup.record(s, person(s, "office"), a, "满意", "已电话回访", local("2026-11-18 10:00"), POLICY)
    b = file(db, local("2026-11-17 09:00"), "南沟村", "信访诉求", "信访办", "征地补偿款没到账")
    act(db, "leader", b, "督办", local("2026-11-17 10:00"))
    c = file(db, local("2026-11-18 18:00"), "东山村", "民生环境", "党政办", "垃圾没人拉")
    run_jobs(db, NOW, POLICY)  # the escalations mark b's and d's missed deadlines
    return {"a": a, "b": b, "c": c, "d": d}


def export_cli(database_url, tmp_path, *options):
    out = tmp_path / "台账.xlsx"
    result = CliRunner().invoke(cli, ["ledger", "export", str(out), *options],
                                env={"GRIDLINE_DATABASE_URL": database_url})
    return result, out


def sheet_rows(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_the_exported_ledger(ledger_cases, database_url, tmp_path):
    result, out = export_cli(database_url, tmp_path)
    assert result.exit_code == 0, result.output
    assert texts.T_LEDGER_DONE.format(n=4, file=out) in result.output
    book = load_workbook(out)
    assert book.sheetnames == ["线索台账", "分单位统计"]
    cases, units = book["线索台账"], book["分单位统计"]
    assert cases.freeze_panes == "A2" and units.freeze_panes == "A2"
    rows = sheet_rows(cases)
    assert rows[0] == ["编号", "上报时间", "乡镇", "村", "网格", "类别", "紧急程度", "牵头部门", "情况摘要", "状态",
                       "签收时间", "办结时间", "是否逾期", "督办", "处置结果", "回访满意度"]
    by_code = {row[0]: row for row in rows[1:]}
    assert [row[0] for row in rows[1:]] == [ledger_cases[k] for k in "dabc"]  # filing order
    a = by_code[ledger_cases["a"]]
    # filed by 网格员小王 of 北坡村's 一网格, about 西岔村: the grid is named with its village
    assert a == [ledger_cases["a"], datetime(2026, 11, 16, 10, 0), "白水乡", "西岔村", "北坡村一网格", "涉黑涉法", "一般",
                 "政法委", "两户打架", "已回访", datetime(2026, 11, 16, 11, 0), datetime(2026, 11, 17, 15, 0), "否", "否",
                 "双方签了调解协议", "满意"]
    assert by_code[ledger_cases["d"]][3:5] == ["北坡村", "一网格"]
    assert all(cases[f"{col}2"].is_date and cases[f"{col}2"].number_format == "yyyy-mm-dd hh:mm" for col in "BKL")
    assert cases["I2"].alignment.wrap_text and cases["O2"].alignment.wrap_text
    b = by_code[ledger_cases["b"]]
    assert (b[9], b[10], b[11], b[12], b[13], b[15]) == ("已分派", None, None, "是", "是", None)  # ack 2 h: missed
    assert all(cases.column_dimensions[col].width >= 10 for col in "ABIKLO")
    assert sheet_rows(units)[0] == ["乡镇", "牵头部门", "线索数", "在办", "已办结", "逾期", "督办", "满意", "基本满意",
                                    "不满意"]


def test_figures_per_unit(ledger_cases, db):
    with db() as s:
        data, count = export(s, NOW, TZ, None, None, None)
    rows = sheet_rows(load_workbook(BytesIO(data))["分单位统计"])[1:]
    assert count == 4
    assert rows == [
        ["白水乡", "政法委", 1, 0, 1, 0, 0, 1, 0, 0],
        ["白水乡", "信访办", 1, 1, 0, 1, 1, 0, 0, 0],
        ["白水乡", "党政办", 1, 1, 0, 0, 0, 0, 0, 0],  # filed at 18:00, ack due 20:00: not overdue at 19:06
        ["白水乡", "领导小组办公室", 1, 1, 0, 1, 1, 0, 0, 0],  # a missed deadline puts it under supervision
        ["合计", None, 4, 3, 1, 2, 2, 1, 0, 0],
    ]


@pytest.mark.parametrize("options, expected", [
    (["--from", "2026-11-16", "--to", "2026-11-17"], "ab"),
    (["--from", "2026-11-17"], "bc"),
    (["--to", "2026-11-16"], "da"),
    (["--unit", "西岔村"], "a"),
    (["--unit", "白水乡/南沟村", "--from", "2026-11-01"], "b"),
    (["--unit", "白水乡"], "dabc"),
])
def test_filters(ledger_cases, database_url, tmp_path, options, expected):
    result, out = export_cli(database_url, tmp_path, *options)
    assert result.exit_code == 0, result.output
    codes = [row[0] for row in sheet_rows(load_workbook(out)["线索台账"])[1:]]
    assert codes == [ledger_cases[k] for k in expected]
    totals = sheet_rows(load_workbook(out)["分单位统计"])[-1]
    assert totals[:3] == ["合计", None, len(expected)]


@pytest.mark.parametrize("options, message", [
    (["--from", "2026-13-01"], texts.LEDGER_BAD_DATE.format(value="2026-13-01")),
    (["--from", "2026-11-18", "--to", "2026-11-01"], texts.LEDGER_BAD_RANGE.format(start="2026-11-18", end="2026-11-01")),
    (["--unit", "不存在村"], texts.LEDGER_UNIT_UNKNOWN.format(unit="不存在村")),
    (["--unit", "黑水乡/西岔村"], texts.LEDGER_UNIT_UNKNOWN.format(unit="黑水乡/西岔村")),
])
def test_bad_filters_are_refused(database_url, tmp_path, options, message):
    result, out = export_cli(database_url, tmp_path, *options)
    assert result.exit_code == 2 and message in result.output and not out.exists()


@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice (soffice) is not installed")
def test_libreoffice_opens_the_ledger(ledger_cases, database_url, tmp_path):
    _, out = export_cli(database_url, tmp_path)
    profile = tmp_path / "lo-profile"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(tmp_path / "csv"), str(out)],
                   check=True, capture_output=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)})
    rows = list(csv.reader((tmp_path / "csv" / "台账.csv").read_text(encoding="utf-8").splitlines()))
    assert rows[0] == list(texts.LEDGER_CASE_HEADERS)
    a = next(row for row in rows if row[0] == ledger_cases["a"])
    assert a[1] == "2026-11-16 10:00" and a[10] == "2026-11-16 11:00" and a[14:] == ["双方签了调解协议", "满意"]


def test_the_api_serves_the_ledger(ledger_cases, serve):
    server = serve(admin_token="adm")
    got = httpx.get(server.url + "/api/ledger.xlsx", params={"unit": "西岔村", "from": "2026-11-01"}, headers=ADMIN)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in got.headers["content-disposition"]
    rows = sheet_rows(load_workbook(BytesIO(got.content))["线索台账"])
    assert [row[0] for row in rows[1:]] == [ledger_cases["a"]]
    for bad in ({"from": "2026-11-31"}, {"from": "2026-11-18", "to": "2026-11-01"}, {"unit": "不存在村"}):
        refused = httpx.get(server.url + "/api/ledger.xlsx", params=bad, headers=ADMIN)
        assert refused.status_code == 422, (bad, refused.text)
    assert httpx.get(server.url + "/api/ledger.xlsx").status_code == 401


# -- the weekly jobs ------------------------------------------------------------------------------

@pytest.fixture
def sandbox(db, clock):
    """The WeCom sandbox, knowing every roster userid."""
    township.load(db)
    fake = FakeWeChat(clock, member_limits=False)
    with db() as s:
        fake.add_work_app(CORP, SECRET, AGENT).add_userid(*s.scalars(select(ChatIdentity.external_id)))
    server = fake.serve()
    yield fake, server
    server.stop()


def delivered(fake, marker: str) -> Counter:
    return Counter(d.recipient for d in fake.delivered() if marker in d.text)


def test_friday_each_unit_with_open_cases_gets_its_list_once(sandbox, db, database_url):
    fake, server = sandbox
    fight = file(db, local("2026-11-18 10:00"), "西岔村", "涉黑涉法", "政法委")
    land = file(db, local("2026-11-18 11:00"), "南沟村", "信访诉求", "信访办")
    rubbish = file(db, local("2026-11-18 12:00"), "东山村", "民生环境", "党政办")
    act(db, liaison("党政办"), rubbish, "签收", local("2026-11-18 12:30"))
    act(db, liaison("党政办"), rubbish, "办结", local("2026-11-18 13:00"), "已清运")
    result = run_due_cli(database_url, server, at="2026-11-20T16:00")
    assert result.exit_code == 0, result.output
    got = delivered(fake, "周五台账更新")
    assert got == Counter({secretary("西岔村"): 1, liaison("政法委"): 1, secretary("南沟村"): 1, liaison("信访办"): 1})
    texts_by = {d.recipient: d.text for d in fake.delivered() if "周五台账更新" in d.text}
    assert fight in texts_by[liaison("政法委")] and land not in texts_by[liaison("政法委")]
    assert land in texts_by[secretary("南沟村")] and "1件" in texts_by[secretary("南沟村")]
    assert f"{land} 已分派｜南沟村｜信访诉求｜⚠️逾期" in texts_by[secretary("南沟村")]  # never signed for
    assert rubbish not in str(texts_by)  # closed: nobody is asked about it
    assert "办结 编号" in texts_by[liaison("政法委")] and "办结 编号" not in texts_by[secretary("南沟村")]  # leads close
    for again in ("2026-11-20T16:00", "2026-11-20T17:30"):
        assert "发送0条" in run_due_cli(database_url, server, at=again).output
    assert delivered(fake, "周五台账更新") == got


def test_monday_the_main_leaders_get_the_summary_once(sandbox, db, database_url):
    fake, server = sandbox
    file(db, local("2026-11-12 10:00"), "西岔村", "涉黑涉法", "政法委")  # last week's, still open
    fight = file(db, local("2026-11-18 10:00"), "西岔村", "涉黑涉法", "政法委")
    file(db, local("2026-11-18 11:00"), "南沟村", "信访诉求", "信访办")
    rubbish = file(db, local("2026-11-19 09:00"), "东山村", "民生环境", "党政办")
    act(db, liaison("党政办"), rubbish, "签收", local("2026-11-19 09:10"))
    act(db, liaison("党政办"), rubbish, "办结", local("2026-11-19 10:00"), "已清运")
    act(db, liaison("政法委"), fight, "签收", local("2026-11-18 10:30"))
    file(db, local("2026-11-23 08:00"), "后营村", "民生环境", "党政办")  # this week's: open, not new
    result = run_due_cli(database_url, server, at="2026-11-23T08:30")
    assert result.exit_code == 0, result.output
    assert delivered(fake, "舆情线索周报") == Counter({"leader": 1})
    with db() as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "leader",
                                                    OutboxMessage.idempotency_key.like("weekly_summary:%"))).one()
    assert row.msgtype == "markdown" and row.status == "sent"
    body = row.body
    assert "11月16日—11月22日" in body
    assert "新增 **3** 件　办结 **1** 件" in body
    # open now: three filed before Monday and one on it; overdue: the ack of the two never signed for
    assert "在办 **4** 件，其中逾期 <font color=\"warning\">**2**</font> 件" in body
    assert "政法委　1 / 2 / 1 / 0" in body and "党政办　1 / 1 / 0 / 1" in body and "信访办　1 / 1 / 1 / 0" in body
    assert "民生环境　1 / 1 / 0 / 1" in body and "涉黑涉法　1 / 2 / 1 / 0" in body
    assert "周一汇总0次" in run_due_cli(database_url, server, at="2026-11-23T09:00").output
    assert delivered(fake, "舆情线索周报") == Counter({"leader": 1})


SCHEDULES = {weekly.UPDATE: weekly.Weekly.parse("FRI 16:00"), weekly.SUMMARY: weekly.Weekly.parse("周一 8:30")}


def weekly_jobs(db) -> list[tuple[str, str]]:
    with db() as s:
        return [(j.key, j.status) for j in s.scalars(select(Job).where(Job.key.is_not(None)).order_by(Job.due_at))]


def pass_at(db, at: datetime, schedules=SCHEDULES):
    with db.begin() as s:
        weekly.ensure(s, at, schedules, TZ)
    return run_jobs(db, at, POLICY)


def test_after_downtime_a_missed_week_runs_once(db):
    township.load(db)
    file(db, local("2026-11-18 10:00"), "西岔村", "涉黑涉法", "政法委")
    pass_at(db, local("2026-11-19 12:00"))  # Thursday: the coming Friday and Monday become rows
    assert weekly_jobs(db) == [("weekly_update:2026-11-20T16:00", "pending"), ("weekly_summary:2026-11-23T08:30", "pending")]
    report = pass_at(db, local("2026-11-24 10:00"))  # back on Tuesday: both missed occurrences run, once
    assert (report.done[weekly.UPDATE], report.done[weekly.SUMMARY]) == (1, 1)
    for tick in ("2026-11-24 10:00:30", "2026-11-25 10:00"):
        again = pass_at(db, local(tick))
        assert again.done[weekly.UPDATE] == again.done[weekly.SUMMARY] == 0
    assert weekly_jobs(db) == [("weekly_update:2026-11-20T16:00", "done"), ("weekly_summary:2026-11-23T08:30", "done"),
                               ("weekly_update:2026-11-27T16:00", "pending"), ("weekly_summary:2026-11-30T08:30", "pending")]


def test_a_fresh_database_does_today_but_not_a_past_day(db):
    township.load(db)
    pass_at(db, local("2026-11-21 10:00"))  # first start on a Saturday: yesterday's Friday is not made up
    assert ("weekly_update:2026-11-20T16:00", "pending") not in weekly_jobs(db)
    assert weekly_jobs(db)[0] == ("weekly_summary:2026-11-23T08:30", "pending")


def test_a_changed_setting_cancels_the_old_occurrence(db):
    township.load(db)
    pass_at(db, local("2026-11-18 10:00"))
    pass_at(db, local("2026-11-18 10:01"), {weekly.UPDATE: weekly.Weekly.parse("THU 17:00")})
    assert ("weekly_update:2026-11-20T16:00", "cancelled") in weekly_jobs(db)
    assert ("weekly_update:2026-11-19T17:00", "pending") in weekly_jobs(db)


def test_two_processes_at_friday_16_send_each_list_once(db, database_url):
    township.load(db)
    file(db, local("2026-11-18 10:00"), "西岔村", "涉黑涉法", "政法委")
    settings = make_settings(database_url)
    clock = FixedClock(local("2026-11-20 16:00"))

    def process():
        engine = make_engine(database_url)  # its own engine and pool, as another process would have
        try:
            run_due(settings, session_factory(engine), clock, POLICY)
        finally:
            engine.dispose()

    with ThreadPoolExecutor(2) as pool:  # map re-raises what a process raised
        list(pool.map(lambda _: process(), range(2)))
    with db() as s:
        keys = s.scalars(select(OutboxMessage.recipient).where(OutboxMessage.idempotency_key.like("weekly_update:%")))
        assert sorted(keys) == sorted([secretary("西岔村"), liaison("政法委")])
    assert [k for k, _ in weekly_jobs(db)].count("weekly_update:2026-11-20T16:00") == 1


@pytest.mark.parametrize("value", ["FRIDAY 16:00", "FRI 25:00", "FRI", "16:00 FRI", ""])
def test_bad_weekly_times_stop_start_up(value):
    with pytest.raises(ValueError, match="weekly_update_at"):
        make_settings("sqlite://", weekly_update_at=value)


def test_official_account_leaders_get_the_summary_as_plain_text(db):
    township.load(db)
    with db.begin() as s:
        leader = person(s, "leader")
        for identity in s.scalars(select(ChatIdentity).where(ChatIdentity.person_id == leader.id)):
            identity.active = False
        s.add(ChatIdentity(person_id=leader.id, channel="mp", external_id="o-leader"))
    pass_at(db, local("2026-11-23 08:30"))
    with db() as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "o-leader")).one()
    # Queued as markdown; the Official Account sender turns it into plain text.
    text, _ = plain(row.msgtype, row.body)
    assert row.msgtype == "markdown" and text.startswith("舆情线索周报 11月16日—11月22日")
    assert not any(mark in text for mark in ("**", "<font", "#", "\n> "))


def test_a_long_friday_list_is_cut_short():
    lines = [f"XS-20261120-{n:04d} 已分派｜西岔村｜涉黑涉法" for n in range(1, 41)]
    text = texts.weekly_update(lines, closes=True)
    assert "您负责的40件" in text and "XS-20261120-0015" in text and "XS-20261120-0016" not in text
    assert "另有25件未列出" in text and len(text.encode()) < 2048  # one WeCom text message
