"""The console's newer desk pages and actions: reminding who has not replied 收到, the ledger's extra
columns, the accountability tables. Each is checked for sign-in, role, CSRF and bad input."""

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from handlers import texts as domain_texts
from handlers import wording
from models import OutboxMessage, Unit, WordingEvent, WordingRecipient
from tests.casework import POLICY, person
from tests.console import csrf, sign_in


def published_wording(console, village: str = "北坡村", roles=("网格员", "村书记")) -> int:
    with console.sessions.begin() as s:
        unit = s.scalars(select(Unit.id).where(Unit.name == village)).one()
        number = wording.draft(s, person(s, "office"), "征地补偿说明", "一、基本情况：补偿款已拨付",
                               wording.Audience((unit,), roles), console.clock.now()).wording_id
        wording.approve(s, number, person(s, "leader"), console.clock.now())
        wording.publish(s, number, person(s, "office"), console.clock.now(), POLICY)
    return number


def reminders(console, number: int) -> list[str]:
    """The recipients' userids of every reminder queued for the wording, in order."""
    text = domain_texts.wording_reminder(number, 1, "征地补偿说明")
    with console.sessions() as s:
        return list(s.scalars(select(OutboxMessage.recipient).where(OutboxMessage.body == text)
                              .order_by(OutboxMessage.id)))


def assert_guarded(console, method: str, path: str, refused_userid: str, data: dict | None = None,
                   allowed_userid: str = "office") -> None:
    """Not signed in → the sign-in page; signed in without the role → a 403 page; a POST without the
    session's CSRF token → refused."""
    anonymous = httpx.request(method, console.url + path, data=data, follow_redirects=False)
    if method == "GET":
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/console/login?next=")
    else:  # a form posted without a session: the page is sent to sign in (htmx navigates on HX-Redirect)
        assert anonymous.status_code == 401 and anonymous.headers["HX-Redirect"].startswith("/console/login?next=")
    other = sign_in(console.url, refused_userid)
    if method == "POST":
        answer = other.post(path, data={**(data or {}), "csrf": csrf(other)})
    else:
        answer = other.get(path)
    assert answer.status_code == 403 and "<h1>" in answer.text, answer.text
    if method == "POST":
        allowed = sign_in(console.url, allowed_userid)
        forged = allowed.post(path, data={**(data or {}), "csrf": "forged"})
        assert forged.status_code == 403 and "页面已过期" in forged.text


# -- 提醒未确认 ----------------------------------------------------------------------------

def test_the_office_reminds_who_has_not_replied_and_not_twice_in_half_an_hour(console):
    number = published_wording(console)
    path = f"/console/wordings/{number}"
    with console.sessions.begin() as s:  # the secretary has replied 收到
        wording.acknowledge(s, person(s, "sj-beipo"), console.clock.now())
    office = sign_in(console.url, "office")
    page = office.get(path).text
    assert "提醒未确认" in page
    answer = office.post(f"{path}/remind", data={"csrf": csrf(office, path)})
    assert answer.status_code == 303
    assert "已提醒2人" in office.get(answer.headers["location"]).text
    assert sorted(reminders(console, number)) == ["gw", "gw2"]
    with console.sessions() as s:
        event = s.scalars(select(WordingEvent).where(WordingEvent.action == "提醒")).one()
        assert (event.actor_id, event.note) == (person(s, "office").id, "2人")

    again = office.post(f"{path}/remind", data={"csrf": csrf(office, path)})
    assert again.status_code == 409 and "30分钟内不重复提醒" in again.text
    assert len(reminders(console, number)) == 2
    console.clock.advance(minutes=31)
    assert office.post(f"{path}/remind", data={"csrf": csrf(office, path)}).status_code == 303
    assert sorted(reminders(console, number)) == ["gw", "gw", "gw2", "gw2"]


def test_the_scheduled_reminder_skips_whom_the_office_has_just_reminded(console):
    from models import Job

    number = published_wording(console)
    office = sign_in(console.url, "office")
    path = f"/console/wordings/{number}"
    assert office.post(f"{path}/remind", data={"csrf": csrf(office, path)}).status_code == 303
    with console.sessions.begin() as s:
        job = s.scalars(select(Job).where(Job.kind == wording.REMIND)).one()
        assert wording.remind(s, job, console.clock.now() + timedelta(hours=2), POLICY) is False
    assert len(reminders(console, number)) == 3  # gw, gw2, the secretary: once each


def test_remind_refusals(console):
    number = published_wording(console)
    path = f"/console/wordings/{number}"
    # the leader approves but does not publish or chase; a 包村领导 reads the wording in force only
    assert_guarded(console, "POST", f"{path}/remind", "leader")
    bc2 = sign_in(console.url, "bc2")
    assert bc2.get(path).status_code == 200 and "提醒未确认" not in bc2.get(path).text
    assert bc2.post(f"{path}/remind", data={"csrf": csrf(bc2)}).status_code == 403
    office = sign_in(console.url, "office")
    assert office.post("/console/wordings/999/remind", data={"csrf": csrf(office)}).status_code == 404
    with console.sessions.begin() as s:  # a draft: nobody to remind yet
        unit = s.scalars(select(Unit.id).where(Unit.name == "北坡村")).one()
        draft = wording.draft(s, person(s, "office"), "草稿", "一、基本情况：核实中",
                              wording.Audience((unit,), ("网格员",)), console.clock.now()).wording_id
    answer = office.post(f"/console/wordings/{draft}/remind", data={"csrf": csrf(office)})
    assert answer.status_code == 409 and "还没有发布" in answer.text
    assert reminders(console, number) == []
    with console.sessions() as s:
        assert s.scalar(select(func.count()).select_from(WordingRecipient)
                        .where(WordingRecipient.reminded_at.is_not(None))) == 0


# -- the ledger's 情况摘要 and 网格 -------------------------------------------------------------

def test_the_console_ledger_carries_summary_and_grid_of_what_the_person_may_see(console):
    from io import BytesIO

    import openpyxl

    from tests.casework import file
    from tests.test_console_pages import file_cadre_case

    code = file(console.sessions, console.clock.now(), "北坡村", "信访诉求", "信访办", "征地补偿款没发")
    cadre = file_cadre_case(console)
    book = openpyxl.load_workbook(BytesIO(sign_in(console.url, "office").get("/console/ledger.xlsx").content))
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    header = rows[0]
    by_code = {r[0]: dict(zip(header, r)) for r in rows[1:]}
    assert by_code[code]["情况摘要"] == "征地补偿款没发" and by_code[code]["网格"] == "一网格"
    assert by_code[cadre]["情况摘要"] == "村书记贪污补偿款"
    # the 信访办 liaison has no ledger; the 纪委 liaison neither: the desk's download is the office's
    assert_guarded(console, "GET", "/console/ledger.xlsx", "ll-jiwei")


# -- accountability per unit and per person --------------------------------------------------

def test_figures_show_accountability_per_unit_and_person_over_visible_cases(console):
    from handlers.jobs import run_due
    from handlers.roster import import_roster
    from tests import township
    from tests.casework import file
    from tests.test_console_pages import file_cadre_case

    late = file(console.sessions, console.clock.now(), "西岔村", "涉贫政策", "乡村振兴办", "低保评定不公开")
    cadre = file_cadre_case(console)
    console.clock.advance(hours=3)  # nobody signed for either within two hours
    run_due(console.sessions, console.clock.now(), POLICY)
    office = sign_in(console.url, "office")
    page = office.get("/console/figures")
    assert page.status_code == 200 and "问责追责" in page.text
    section = page.text[page.text.index('id="accountability"'):]
    assert "分单位" in section and "分人员" in section
    assert "西岔村书记" in section and "乡村振兴办联络员" in section and "纪委联络员" in section
    assert f'href="/console/cases/{late}"' in section and f'href="/console/cases/{cadre}"' in section
    row = re.search(r"<tr><td>西岔村书记</td>.*?</tr>", section, re.S)[0]  # the person row: missed all they had
    assert "<td>0%</td>" in row and 'class="red"' in row
    # a range holding none of it
    empty = office.get("/console/figures", params={"from": "2026-10-01", "to": "2026-10-31"}).text
    assert "这段时间没有到期的时限" in empty and late not in empty[empty.index('id="accountability"'):]

    # another township's office counts nothing of this one's
    rows = [*township.roster_rows(), "黑石镇,,,黑石办公室,13977777777,办公室,,,office2"]
    with console.sessions.begin() as s:
        assert not import_roster(s, "roster.csv", "\n".join([township.HEADER, *rows]).encode()).refused
    console.fake.add_userid("office2")
    other = sign_in(console.url, "office2").get("/console/figures").text
    assert late not in other and cadre not in other and "西岔村书记" not in other
    assert "这段时间没有到期的时限" in other


@pytest.mark.parametrize("params, says", [
    ({"from": "2026-13-01"}, "日期格式不对"),
    ({"from": "2026-11-18", "to": "2026-11-01"}, "晚于结束日期"),
    ({"from": "2024-01-01", "to": "2026-01-01"}, "最多统计一年"),
])
def test_figures_refuse_a_bad_range_in_chinese(console, params, says):
    answer = sign_in(console.url, "office").get("/console/figures", params=params)
    assert answer.status_code == 422 and says in answer.text


def test_figures_are_the_desks(console):
    assert_guarded(console, "GET", "/console/figures", "ll-xinfang")
