"""The console's settings: the holiday calendar, sensitive periods and the roster import (the office's
own township, checked in a dry run before it is applied)."""

from datetime import date

import pytest
from sqlalchemy import func, select

from handlers.periods import add_period
from models import Holiday, Person, SensitivePeriod, Unit
from tests import township
from tests.console import csrf, sign_in
from tests.test_console_desk import assert_guarded

ROSTER = "/console/settings/roster"


def holidays(console) -> dict[date, tuple[bool, str]]:
    with console.sessions() as s:
        return {h.day: (h.workday, h.name) for h in s.scalars(select(Holiday))}


# -- the holiday calendar ---------------------------------------------------------------------

def test_the_office_adds_and_removes_a_holiday_and_an_adjusted_working_day(console):
    office = sign_in(console.url, "office")
    page = office.get("/console/settings")
    assert page.status_code == 200 and "2026年" in page.text and "国庆节" in page.text  # the package's days
    assert "2027年的节假日还没人填写" in office.get("/console/settings", params={"year": "2027"}).text
    assert "已保存" not in office.get("/console/settings", params={"done": "假消息"}).text  # no text from the address
    token = csrf(office, "/console/settings")
    answer = office.post("/console/settings/days", data={"csrf": token, "day": "2027-02-08", "kind": "holiday",
                                                          "name": "春节"})
    assert answer.status_code == 303
    shown = office.get(answer.headers["location"]).text
    assert "已保存：2027-02-08 放假" in shown and "2027-02-08 周一" in shown
    assert 'action="/console/settings/days/2027-02-08/remove"' in shown and f'value="{token}"' in shown  # its own button
    assert office.post("/console/settings/days", data={"csrf": token, "day": "2027-02-20", "kind": "workday",
                                                        "name": "春节调休"}).status_code == 303
    assert holidays(console) == {date(2027, 2, 8): (False, "春节"), date(2027, 2, 20): (True, "春节调休")}
    answer = office.post("/console/settings/days/2027-02-08/remove", data={"csrf": token})
    assert answer.status_code == 303 and "已删除" in office.get(answer.headers["location"]).text
    assert list(holidays(console)) == [date(2027, 2, 20)]
    again = office.post("/console/settings/days/2027-02-08/remove", data={"csrf": token})
    assert again.status_code == 404 and "无需删除" in again.text


@pytest.mark.parametrize("data, says", [
    ({"day": "2027-02-30", "kind": "holiday"}, "日期格式不对"),
    ({"day": "", "kind": "holiday"}, "请选择日期"),
    ({"day": "1999-01-01", "kind": "holiday"}, "2000至2100"),
    ({"day": "2027-01-01", "kind": "weekend"}, "调休上班"),
    ({"day": "2027-01-01", "kind": "holiday", "name": "长" * 33}, "最多32个字"),
])
def test_a_bad_day_is_refused_in_chinese_and_nothing_is_written(console, data, says):
    office = sign_in(console.url, "office")
    answer = office.post("/console/settings/days", data={"csrf": csrf(office), **data})
    assert answer.status_code == 422 and says in answer.text
    assert holidays(console) == {}


def test_calendar_guards(console):
    assert_guarded(console, "GET", "/console/settings", "ll-xinfang")
    assert_guarded(console, "POST", "/console/settings/days", "leader", {"day": "2027-01-01", "kind": "holiday"})
    assert_guarded(console, "POST", "/console/settings/days/2027-01-01/remove", "deputy")
    leader = sign_in(console.url, "leader")  # the leaders read the settings, the office changes them
    page = leader.get("/console/settings").text
    assert "保存这一天" not in page and "添加敏感时期" not in page
    assert sign_in(console.url, "office").get("/console/settings/days/not-a-day/remove").status_code in (404, 405)
    assert holidays(console) == {}


# -- sensitive periods ------------------------------------------------------------------------

def test_the_office_adds_and_removes_a_sensitive_period(console):
    office = sign_in(console.url, "office")
    token = csrf(office, "/console/settings")
    answer = office.post("/console/settings/periods", data={"csrf": token, "name": "全国两会", "starts_on": "2027-03-03",
                                                             "ends_on": "2027-03-15", "factor": ""})
    assert answer.status_code == 303
    page = office.get(answer.headers["location"]).text
    assert "已添加敏感时期" in page and "2027-03-03 至 2027-03-15" in page
    with console.sessions() as s:
        period = s.scalars(select(SensitivePeriod)).one()
        assert (period.name, period.factor) == ("全国两会", 0.5)  # the policy's default
    answer = office.post(f"/console/settings/periods/{period.id}/remove", data={"csrf": token})
    assert answer.status_code == 303
    assert office.post(f"/console/settings/periods/{period.id}/remove", data={"csrf": token}).status_code == 404
    with console.sessions() as s:
        assert s.scalar(select(func.count()).select_from(SensitivePeriod)) == 0


def test_a_township_office_keeps_its_own_periods_and_reads_the_county_s(console):
    # 国庆 for the whole county is set by the county (CLI, admin API); another township's local period is
    # none of this office's business; what this office adds holds for its own township only
    with console.sessions.begin() as s:
        baishui = s.scalars(select(Unit).where(Unit.kind == "township", Unit.name == "白水乡")).one()
        heishi = Unit(kind="township", name="黑石镇", parent_id=baishui.parent_id)
        s.add(heishi)
        s.flush()
        county = add_period(s, "国庆", date(2027, 10, 1), date(2027, 10, 8), 0.5)
        theirs = add_period(s, "黑石镇换届", date(2027, 4, 1), date(2027, 4, 5), 0.5, heishi.id)
        county_id, theirs_id, baishui_id, heishi_id = county.id, theirs.id, baishui.id, heishi.id
    office = sign_in(console.url, "office")
    page = office.get("/console/settings").text
    assert "国庆" in page and "全县（县里设定）" in page and "黑石镇换届" not in page
    assert f"/console/settings/periods/{county_id}/remove" not in page
    token = csrf(office, "/console/settings")
    for other in (county_id, theirs_id):
        assert office.post(f"/console/settings/periods/{other}/remove", data={"csrf": token}).status_code == 404
    added = office.post("/console/settings/periods", data={"csrf": token, "name": "白水乡换届", "starts_on": "2027-04-01",
                                                            "ends_on": "2027-04-03", "factor": ""})
    assert added.status_code == 303
    with console.sessions() as s:
        assert {p.name: p.township_id for p in s.scalars(select(SensitivePeriod))} == {
            "国庆": None, "黑石镇换届": heishi_id, "白水乡换届": baishui_id}
        own = s.scalars(select(SensitivePeriod.id).where(SensitivePeriod.name == "白水乡换届")).one()
    assert f"/console/settings/periods/{own}/remove" in office.get("/console/settings").text
    assert office.post(f"/console/settings/periods/{own}/remove", data={"csrf": token}).status_code == 303


@pytest.mark.parametrize("data, says", [
    ({"name": "", "starts_on": "2027-03-03", "ends_on": "2027-03-15"}, "名称"),
    ({"name": "两会", "starts_on": "2027-03-15", "ends_on": "2027-03-03"}, "结束日期不能早于开始日期"),
    ({"name": "两会", "starts_on": "2027-03-03", "ends_on": ""}, "请填写开始和结束日期"),
    ({"name": "两会", "starts_on": "3月3日", "ends_on": "2027-03-15"}, "日期格式不对"),
    ({"name": "两会", "starts_on": "2027-03-03", "ends_on": "2027-03-15", "factor": "一半"}, "时限系数应大于0且不超过1"),
    ({"name": "两会", "starts_on": "2027-03-03", "ends_on": "2027-03-15", "factor": "2"}, "时限系数应大于0且不超过1"),
    ({"name": "两会", "starts_on": "2027-03-03", "ends_on": "2027-03-15", "factor": "nan"}, "时限系数应大于0且不超过1"),
])
def test_a_bad_period_is_refused_in_chinese_and_nothing_is_written(console, data, says):
    office = sign_in(console.url, "office")
    answer = office.post("/console/settings/periods", data={"csrf": csrf(office), **data})
    assert answer.status_code == 422 and says in answer.text and 'class="problem"' in answer.text
    with console.sessions() as s:
        assert s.scalar(select(func.count()).select_from(SensitivePeriod)) == 0


def test_period_guards(console):
    data = {"name": "两会", "starts_on": "2027-03-03", "ends_on": "2027-03-15"}
    assert_guarded(console, "POST", "/console/settings/periods", "deputy", data)
    assert_guarded(console, "POST", "/console/settings/periods/1/remove", "bc1")


# -- the roster import --------------------------------------------------------------------------

def roster_file(*extra: str, drop: str = "") -> bytes:
    rows = [r for r in township.roster_rows() if not drop or drop not in r]
    return "\n".join([township.HEADER, *rows, *extra]).encode()


def upload(client, data: bytes, mode: str = "check", skip: bool = False, checked: str = "", name: str = "花名册.csv"):
    form = {"csrf": csrf(client, ROSTER), "mode": mode, **({"skip_bad_rows": "1"} if skip else {}),
            **({"checked": checked} if checked else {})}
    return client.post(ROSTER, data=form, files={"file": (name, data, "text/csv")})


def checked_token(page: str) -> str:
    marker = 'name="checked" value="'
    start = page.index(marker) + len(marker)
    return page[start:page.index('"', start)]


def people(console) -> dict[str, tuple[str, bool]]:
    with console.sessions() as s:
        return {p.phone: (p.name, p.active) for p in s.scalars(select(Person))}


def test_every_bad_row_is_shown_with_row_column_and_reason_and_nothing_is_written(console):
    before = people(console)
    office = sign_in(console.url, "office")
    bad = roster_file("白水乡,北坡村,一网格,新网格员,1380000,网格员,,,",
                      "白水乡,北坡村,,新委员,13800000002,村长,,,")
    answer = upload(office, bad)
    assert answer.status_code == 422 and "不能导入" in answer.text
    first = len(township.roster_rows()) + 2  # the header is row 1
    assert f"<td>{first}</td><td>手机号</td><td>应为以1开头的11位手机号</td>" in answer.text
    assert f"<td>{first + 1}</td><td>角色</td><td>“村长”不是有效角色" in answer.text
    assert 'name="checked"' not in answer.text  # nothing to import
    # even told to skip them, the import needs a check first
    assert upload(office, bad, mode="apply", skip=True).status_code == 409
    assert people(console) == before


def test_a_check_is_a_dry_run_and_the_checked_file_is_then_imported(console):
    before = people(console)
    office = sign_in(console.url, "office")
    data = roster_file("白水乡,北坡村,三网格,网格员小孙,13800000009,网格员,,,gw3", drop="网格员小李")
    check = upload(office, data)
    assert check.status_code == 200 and "检查通过：导入后将新增1人，更新0人" in check.text and "停用1人" in check.text
    assert people(console) == before  # a dry run
    token = checked_token(check.text)
    # another file, or the same file with other options, is not what was checked
    assert upload(office, data + b"\n", mode="apply", checked=token).status_code == 409
    assert upload(office, data, mode="apply", skip=True, checked=token).status_code == 409
    assert people(console) == before
    applied = upload(office, data, mode="apply", checked=token)
    assert applied.status_code == 200 and "已导入：新增1人" in applied.text
    after = people(console)
    assert after["13800000009"] == ("网格员小孙", True) and after["13900000002"] == ("网格员小李", False)


def test_skipping_bad_rows_imports_the_good_ones(console):
    office = sign_in(console.url, "office")
    data = roster_file("白水乡,北坡村,三网格,网格员小孙,13800000009,网格员,,,gw3",
                       "白水乡,北坡村,,新委员,13800000002,村长,,,")
    check = upload(office, data, skip=True)
    assert check.status_code == 200 and "有错误的1行将被跳过" in check.text and "“村长”不是有效角色" in check.text
    assert upload(office, data, mode="apply", skip=True, checked=checked_token(check.text)).status_code == 200
    assert "13800000009" in people(console) and "13800000002" not in people(console)


def test_a_township_office_imports_only_its_own_township(console):
    with console.sessions.begin() as s:  # another township, imported county-wide (as the CLI does)
        from handlers.roster import import_roster

        rows = [*township.roster_rows(), "黑石镇,,,黑石办公室,13977777777,办公室,,,office2",
                "黑石镇,,,黑石乡长,13977777778,主要领导,,,leader2"]
        assert not import_roster(s, "roster.csv", "\n".join([township.HEADER, *rows]).encode()).refused
    before = people(console)
    office = sign_in(console.url, "office")
    # the 白水乡 roster alone: 黑石镇's people are not this office's to deactivate
    check = upload(office, roster_file())
    assert check.status_code == 200 and "停用0人" in check.text
    # a row of another township, or another township's person moved in by phone, is refused
    foreign = upload(office, roster_file("黑石镇,,,黑石新人,13977777779,办公室,,,"))
    assert foreign.status_code == 422 and "只能导入本乡镇（白水乡）的人员" in foreign.text
    moved = upload(office, roster_file("白水乡,,,黑石乡长,13977777778,分管领导,,,"))
    assert moved.status_code == 422 and "已登记为其他乡镇或县级人员" in moved.text
    applied = upload(office, roster_file(), mode="apply", checked=checked_token(check.text))
    assert applied.status_code == 200
    assert people(console) == before and before["13977777777"] == ("黑石办公室", True)


@pytest.mark.parametrize("name, data, says", [
    ("花名册.csv", b"", "请选择花名册文件"),
    ("花名册.xls", b"\xd0\xcf\x11\xe0 old excel", "不支持旧版 .xls"),
    ("花名册.xlsx", b"PK\x03\x04 not really", "无法读取 XLSX"),
    ("花名册.csv", "姓名,手机号\n张三,13800000001\n".encode(), "缺少“角色”列"),
])
def test_unreadable_files_are_refused_in_chinese(console, name, data, says):
    before = people(console)
    office = sign_in(console.url, "office")
    answer = upload(office, data, name=name)
    assert answer.status_code == 422 and says in answer.text
    assert people(console) == before


def test_roster_guards(console):
    assert_guarded(console, "GET", ROSTER, "leader")
    assert_guarded(console, "POST", ROSTER, "deputy", {"mode": "check"})
    # a posted file without the session's token is refused before it is read
    office = sign_in(console.url, "office")
    answer = office.post(ROSTER, data={"mode": "check"}, files={"file": ("r.csv", roster_file(), "text/csv")})
    assert answer.status_code == 403 and "页面已过期" in answer.text


def test_the_roster_page_shows_a_progress_indicator_while_htmx_uploads(console):
    page = sign_in(console.url, "office").get(ROSTER).text
    assert 'hx-indicator="#roster-progress"' in page and "<progress" in page and "upload-progress.js" in page
