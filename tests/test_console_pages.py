"""Every console page and action goes through the access policy as the signed-in person."""

from io import BytesIO

import openpyxl
import pytest
from sqlalchemy import select

from handlers import cases
from handlers.access import case_scope, sees_reporter, viewer
from handlers.classify import Labels
from models import Case, CaseEvent, Person, Unit, WordingEvent
from tests.casework import POLICY, file, person
from tests.console import csrf, sign_in

SUMMARY = "西岔村低保评定优亲厚友"


def file_cadre_case(console, village: str = "西岔村") -> str:
    """A case accusing a village cadre: the village's committee must find no trace of it."""
    labels = Labels(category="违规违纪", lead_department="纪委", severity="较大", urgent=False, online=False,
                    involves_cadre=True, village=village, platform=None, screen_name=None, links=())
    with console.sessions.begin() as s:
        village_id = s.scalars(select(Unit.id).where(Unit.name == village)).one()
        filing = cases.Filing(reporter=person(s, "gw"), summary="村书记贪污补偿款", labels=labels,
                              village_id=village_id)
        return cases.file_case(s, filing, console.clock.now(), POLICY).code


@pytest.fixture
def filed(console):
    ordinary = file(console.sessions, console.clock.now(), "西岔村", "涉贫政策", "乡村振兴办", SUMMARY)
    petition = file(console.sessions, console.clock.now(), "北坡村", "信访诉求", "信访办", "征地补偿款没发")
    cadre = file_cadre_case(console)
    return {"ordinary": ordinary, "petition": petition, "cadre": cadre}


def events(console, code: str) -> list[tuple[str | None, str, str]]:
    with console.sessions() as s:
        case = s.scalars(select(Case).where(Case.code == code)).one()
        names = dict(s.execute(select(Person.id, Person.name)).all())
        return [(names.get(e.actor_id), e.action, e.note) for e in s.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))]


def test_the_office_sees_every_case_of_its_township(console, filed):
    office = sign_in(console.url, "office")
    inbox = office.get("/console").text
    assert all(code in inbox for code in filed.values())
    page = office.get(f"/console/cases/{filed['cadre']}")
    assert page.status_code == 200 and "村书记贪污补偿款" in page.text


@pytest.mark.parametrize("userid, sees", [
    ("bc1", {"ordinary"}),  # 包村领导 of 西岔村 and 南沟村: not 北坡村, not the cadre case (yet: policy of #11)
    ("bc2", {"petition"}),  # covers 北坡村
    ("ll-xinfang", {"petition"}),  # 信访办 leads the petition
    ("ll-jiwei", {"cadre"}),  # 纪委 is told of every cadre case
    ("ll-zhenxing", {"ordinary"}),
])
def test_people_see_exactly_what_the_policy_lets_them(console, filed, userid, sees):
    client = sign_in(console.url, userid)
    with console.sessions() as s:
        me = person(s, userid)
        expected = {k for k, code in filed.items() if cases.may_see(s, me, cases.find(s, code))}
    assert sees <= expected  # the test's own reading of the roster agrees with the policy
    inbox = client.get("/console").text
    for key, code in filed.items():
        page = client.get(f"/console/cases/{code}")
        if key in expected:
            assert code in inbox and page.status_code == 200
        else:
            assert code not in inbox and page.status_code == 404 and "无权查看" in page.text


def test_the_accused_villages_committee_finds_no_trace(console, filed):
    for userid in ("sj-xicha", "wy-xicha"):
        login_page = sign_in_refused(console, userid)
        assert filed["cadre"] not in login_page and "村书记贪污" not in login_page


def sign_in_refused(console, userid: str) -> str:
    from tests.console import start_login

    login = start_login(console.url)
    answer = login.back(login.scan(userid))
    assert answer.status_code == 403
    return answer.text


def test_the_reporter_is_shown_only_to_those_who_may_know(console, filed):
    office = sign_in(console.url, "office").get(f"/console/cases/{filed['ordinary']}").text
    assert "网格员小王" in office
    leader = sign_in(console.url, "bc1").get(f"/console/cases/{filed['ordinary']}").text
    assert "网格员小王" not in leader and "网格员" in leader


CONSOLE_PEOPLE = ("office", "leader", "deputy", "bc1", "bc2", "ll-jiwei", "ll-xinfang", "ll-zhenxing", "ll-wangxin")


@pytest.mark.parametrize("userid", CONSOLE_PEOPLE)
def test_no_page_names_the_reporter_to_someone_who_may_not_know_them(console, filed, userid):
    """Nor through what was sent to others: the cards of the office, leaders and 纪委 carry the name."""
    with console.sessions() as s:
        me = viewer(s, person(s, userid))
        kept_from = [code for code in filed.values() if not sees_reporter(me, case_scope(s, cases.find(s, code)))]
    assert kept_from or userid in ("office", "leader", "deputy", "ll-jiwei")  # the test has something to check
    client = sign_in(console.url, userid)
    for code in kept_from:
        page = client.get(f"/console/cases/{code}")
        assert page.status_code == 404 or "网格员小王" not in page.text, (userid, code)


def test_the_case_page_shows_who_was_told_what(console, filed):
    page = sign_in(console.url, "office").get(f"/console/cases/{filed['petition']}").text
    assert "北坡村书记" in page and "信访办联络员" in page and "待发送" in page and "【新线索】" in page


def test_supervise_from_the_case_page_is_recorded_under_the_person(console, filed):
    client = sign_in(console.url, "leader")
    token = csrf(client)
    answer = client.post(f"/console/cases/{filed['petition']}/act",
                         data={"csrf": token, "action": "督办", "note": "今天见面"})
    assert answer.status_code == 303
    assert "已列为督办" in client.get(answer.headers["location"]).text
    assert ("乡长", "督办", "今天见面") in events(console, filed["petition"])


def test_a_refused_action_says_why_and_changes_nothing(console, filed):
    client = sign_in(console.url, "leader")
    token = csrf(client)
    answer = client.post(f"/console/cases/{filed['petition']}/act",
                         data={"csrf": token, "action": "办结", "note": "好了"})
    assert answer.status_code == 409 and "由牵头部门" in answer.text  # the refusal says who may
    assert not [e for e in events(console, filed["petition"]) if e[1] == "办结"]
    bogus = client.post(f"/console/cases/{filed['petition']}/act", data={"csrf": token, "action": "删除"})
    assert bogus.status_code == 422


def test_actions_need_the_csrf_token(console, filed):
    client = sign_in(console.url, "office")
    for data, headers in (({"action": "督办"}, {}), ({"action": "督办", "csrf": "forged"}, {}),
                          ({"action": "督办"}, {"X-CSRF-Token": "forged"})):
        answer = client.post(f"/console/cases/{filed['petition']}/act", data=data, headers=headers)
        assert answer.status_code == 403 and "页面已过期" in answer.text
    assert not [e for e in events(console, filed["petition"]) if e[1] == "督办"]
    # htmx sends the token as a header
    answer = client.post(f"/console/cases/{filed['petition']}/act", data={"action": "督办"},
                         headers={"X-CSRF-Token": csrf(client), "HX-Request": "true"})
    assert answer.status_code == 303


def test_no_one_acts_on_a_case_they_may_not_see(console, filed):
    client = sign_in(console.url, "bc2")
    token = csrf(client)
    for path, data in ((f"/console/cases/{filed['cadre']}/act", {"action": "督办"}),
                       (f"/console/cases/{filed['cadre']}/reclassify", {"reason": "x", "category": "其他"}),
                       (f"/console/cases/{filed['cadre']}/followup", {"satisfaction": "满意", "note": "x"})):
        answer = client.post(path, data={"csrf": token, **data})
        assert answer.status_code == 404
    assert [e[1] for e in events(console, filed["cadre"])] == ["上报", "分派"]


def test_the_office_reclassifies_with_a_reason_and_the_case_is_routed_again(console, filed):
    client = sign_in(console.url, "office")
    token = csrf(client)
    path = f"/console/cases/{filed['petition']}/reclassify"
    assert client.post(path, data={"csrf": token, "category": "涉黑涉法", "lead_department": "政法委"}).status_code == 422
    answer = client.post(path, data={"csrf": token, "category": "涉黑涉法", "lead_department": "政法委",
                                     "reason": "有人威胁村民"})
    assert answer.status_code == 303
    with console.sessions() as s:
        case = cases.find(s, filed["petition"])
        assert case.category == "涉黑涉法" and case.lead_department == "政法委"
        assert "政法委联络员" in {p.name for p, _ in cases.members(s, case)}
    actor, action, note = events(console, filed["petition"])[-1]
    assert (actor, action) == ("办公室小赵", "改判") and "有人威胁村民" in note
    # not the office: refused
    liaison = sign_in(console.url, "ll-zhengfa")
    answer = liaison.post(path, data={"csrf": csrf(liaison), "category": "其他", "reason": "x"})
    assert answer.status_code == 403


def test_severity_urgent_carries_urgency_however_the_office_corrects(console, filed):
    client = sign_in(console.url, "office")
    answer = client.post(f"/console/cases/{filed['ordinary']}/reclassify",
                         data={"csrf": csrf(client), "severity": "紧急", "reason": "已有群众聚集"})
    assert answer.status_code == 303
    with console.sessions() as s:
        case = cases.find(s, filed["ordinary"])
        assert (case.severity, case.urgent) == ("紧急", True)


def test_close_then_follow_up_from_the_page(console, filed):
    lead = sign_in(console.url, "ll-xinfang")
    token = csrf(lead)
    code = filed["petition"]
    assert lead.post(f"/console/cases/{code}/act", data={"csrf": token, "action": "签收"}).status_code == 303
    assert lead.post(f"/console/cases/{code}/act", data={"csrf": token, "action": "办结", "note": "已补发"}).status_code == 303
    office = sign_in(console.url, "office")
    page = office.get(f"/console/cases/{code}").text
    assert "记录回访" in page
    answer = office.post(f"/console/cases/{code}/followup",
                         data={"csrf": csrf(office), "satisfaction": "满意", "note": "群众满意"})
    assert answer.status_code == 303
    assert ("办公室小赵", "回访", "满意：群众满意") in events(console, code)


def test_bulk_supervise_goes_case_by_case(console, filed):
    client = sign_in(console.url, "deputy")
    answer = client.post("/console/cases/supervise", data={
        "csrf": csrf(client), "codes": [filed["ordinary"], filed["petition"]], "note": "加快"})
    assert answer.status_code == 303
    assert "已督办2件" in client.get(answer.headers["location"]).text
    none = client.post("/console/cases/supervise", data={"csrf": csrf(client)})
    assert none.status_code == 422


def test_inbox_tabs_filters_and_search(console, filed):
    client = sign_in(console.url, "office")
    code = filed["petition"]
    assert code in client.get("/console", params={"q": code.lower().replace("-", "－")}).text
    found = client.get("/console", params={"q": "低保"}).text
    assert filed["ordinary"] in found and code not in found
    with console.sessions() as s:
        beipo = s.scalars(select(Unit.id).where(Unit.name == "北坡村")).one()
    only = client.get("/console", params={"village": beipo}).text
    assert code in only and filed["ordinary"] not in only
    assert code not in client.get("/console", params={"tab": "overdue"}).text
    assert code not in client.get("/console", params={"tab": "supervised"}).text
    console.clock.advance(hours=3)  # the 2-hour acknowledgement window has passed
    overdue = client.get("/console", params={"tab": "overdue"}).text
    assert code in overdue and "逾期" in overdue and "tone-late" in overdue
    bad = client.get("/console", params={"from": "2026-13-01"})
    assert bad.status_code == 422


def test_dispatch_tab_holds_unacknowledged_urgent_cases(console, filed):
    urgent = file(console.sessions, console.clock.now(), "北坡村", "信访诉求", "信访办", "几十人围堵乡政府", urgent=True)
    page = sign_in(console.url, "office").get("/console", params={"tab": "dispatch"}).text
    assert urgent in page and filed["petition"] not in page


def test_mine_tab_lists_the_persons_own_cases(console, filed):
    page = sign_in(console.url, "ll-xinfang").get("/console", params={"tab": "mine"}).text
    assert filed["petition"] in page and filed["ordinary"] not in page


def test_wording_drafted_approved_by_the_leader_and_published_with_receipts(console, filed):
    office = sign_in(console.url, "office")
    with console.sessions() as s:
        beipo = s.scalars(select(Unit.id).where(Unit.name == "北坡村")).one()
    form = office.get("/console/wordings/new", params={"case": filed["petition"]})
    assert form.status_code == 200 and "基本情况" in form.text
    answer = office.post("/console/wordings", data={
        "csrf": csrf(office), "case": filed["petition"], "title": "北坡村征地补偿说明", "facts": "补偿款已于本周拨付",
        "measures": "已入户说明", "next_steps": "继续跟进", "contact": "乡办公室 0312-1234567",
        "units": [str(beipo)], "roles": ["网格员", "村书记"]})
    assert answer.status_code == 303
    path = answer.headers["location"].split("?")[0]
    number = int(path.rsplit("/", 1)[1])
    assert "草稿" in office.get(path).text
    # the office cannot approve; a 包村领导 cannot even see the draft
    assert "批准</button>" not in office.get(path).text
    assert office.post(f"{path}/approve", data={"csrf": csrf(office)}).status_code == 403
    assert sign_in(console.url, "bc2").get(path).status_code == 404

    leader = sign_in(console.url, "leader")
    assert leader.post(f"{path}/approve", data={"csrf": csrf(leader, path)}).status_code == 303
    with console.sessions() as s:
        approvals = s.scalars(select(WordingEvent.actor_id).where(WordingEvent.action == "批准")).all()
        assert approvals == [person(s, "leader").id]
    again = sign_in(console.url, "deputy").post(f"{path}/approve", data={"csrf": csrf(leader, path)})
    assert again.status_code == 403  # another session's token
    deputy = sign_in(console.url, "deputy")
    assert deputy.post(f"{path}/approve", data={"csrf": csrf(deputy, path)}).status_code == 409

    published = office.post(f"{path}/publish", data={"csrf": csrf(office, path)})
    assert published.status_code == 303
    page = office.get(published.headers["location"]).text
    assert "已发布" in page and "收到 0/" in page and "未回复" in page and "北坡村书记" in page
    assert f"第{number}号" in sign_in(console.url, "bc2").get("/console/wordings").text  # in force in 北坡村


def test_wording_draft_refusals_are_shown(console):
    office = sign_in(console.url, "office")
    answer = office.post("/console/wordings", data={"csrf": csrf(office), "title": "标题", "facts": "事实",
                                                   "measures": "", "next_steps": "", "contact": ""})
    assert answer.status_code == 422 and "发送范围" in answer.text
    liaison = sign_in(console.url, "ll-xinfang")
    assert liaison.get("/console/wordings/new").status_code == 403


def test_ledger_download_holds_only_what_the_person_may_see(console, filed):
    office = sign_in(console.url, "office")
    assert office.get("/console/ledger").status_code == 200
    answer = office.get("/console/ledger.xlsx")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/vnd.openxml")
    book = openpyxl.load_workbook(BytesIO(answer.content))
    codes = {row[0] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
    assert codes == set(filed.values())
    only = openpyxl.load_workbook(BytesIO(office.get("/console/ledger.xlsx", params={"unit": "西岔村"}).content))
    assert {r[0] for r in only.worksheets[0].iter_rows(min_row=2, values_only=True)} == {filed["ordinary"],
                                                                                       filed["cadre"]}
    # a 纪委 liaison's ledger would hold only the cadre case; liaisons do not export (the office does)
    assert sign_in(console.url, "ll-jiwei").get("/console/ledger").status_code == 403
    assert office.get("/console/ledger.xlsx", params={"from": "2026-11-30", "to": "2026-11-01"}).status_code == 422
    assert sign_in(console.url, "bc1").get("/console/ledger.xlsx").status_code == 403


def test_the_demo_clock_is_not_in_production(console):
    client = sign_in(console.url, "office")
    answer = client.post("/console/demo/clock", data={"csrf": csrf(client), "step": "1d"})
    assert answer.status_code in (404, 405)
    assert "拨快" not in client.get("/console").text


def test_another_townships_office_sees_nothing_of_this_one(console, filed):
    from handlers.roster import import_roster
    from tests import township

    rows = [*township.roster_rows(), "黑石镇,,,黑石办公室,13977777777,办公室,,,office2"]
    with console.sessions.begin() as s:
        assert not import_roster(s, "roster.csv", "\n".join([township.HEADER, *rows]).encode()).refused
    console.fake.add_userid("office2")
    other = sign_in(console.url, "office2")
    inbox = other.get("/console").text
    assert "黑石办公室" in inbox and not any(code in inbox for code in filed.values())
    assert all(other.get(f"/console/cases/{code}").status_code == 404 for code in filed.values())
    book = openpyxl.load_workbook(BytesIO(other.get("/console/ledger.xlsx").content))
    assert list(book.worksheets[0].iter_rows(min_row=2, values_only=True)) == []


def test_what_people_typed_is_shown_as_text_never_as_markup(console):
    code = file(console.sessions, console.clock.now(), "北坡村", "其他", "领导小组办公室",
                '<script>alert("x")</script><img src=x onerror=alert(1)>')
    page = sign_in(console.url, "office").get(f"/console/cases/{code}").text
    assert "<script>alert" not in page and "<img src=x" not in page and "&lt;script&gt;" in page


def test_an_expired_session_under_htmx_navigates_the_whole_page_to_sign_in(console, filed):
    import httpx

    answer = httpx.post(console.url + f"/console/cases/{filed['petition']}/act", data={"action": "督办"},
                        headers={"HX-Request": "true"})
    assert answer.status_code == 401 and answer.headers["HX-Redirect"].startswith("/console/login?next=")


def test_malformed_requests_and_unknown_pages_get_chinese_pages_not_json(console, filed):
    client = sign_in(console.url, "office")
    token = csrf(client)
    missing_action = client.post(f"/console/cases/{filed['petition']}/act", data={"csrf": token})
    assert missing_action.status_code == 422 and "没有执行" in missing_action.text
    assert client.get("/console/wordings/not-a-number").status_code == 422
    unknown = client.get("/console/nowhere")
    assert unknown.status_code == 404 and "没有这个页面" in unknown.text
    assert client.get("/console/cases/%00").status_code == 400  # PostgreSQL refuses NUL in text: never asked
    assert client.get("/console", params={"q": "a\x00b"}).status_code == 400
    nul = client.post(f"/console/cases/{filed['petition']}/act", data={"csrf": token, "action": "督办", "note": "\x00"})
    assert nul.status_code == 400 and "无法识别的字符" in nul.text
    # the admin API keeps its JSON answers
    import httpx
    api = httpx.get(console.url + "/api/cases/XS-1", headers={"Authorization": "Bearer admin-token-for-machines"})
    assert api.status_code == 404 and api.json()["detail"]


def test_figures_count_only_what_the_person_may_see(console, filed):
    office = sign_in(console.url, "office")
    page = office.get("/console/figures")
    assert page.status_code == 200 and "<svg" in page.text and "新增1" not in page.text
    assert "新增3" in page.text  # this week's three cases, in the bar's title
    assert "合计" in page.text and "信访办" in page.text and "纪委" in page.text
    assert sign_in(console.url, "bc2").get("/console/figures").status_code == 403


def test_dead_letters_of_the_township_are_shown_and_retried(console, filed):
    from models import OutboxMessage

    with console.sessions.begin() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "sj-beipo")).all()
        assert rows
        for row in rows:
            row.status, row.attempts, row.last_error = "dead", 8, "invaliduser"
        dead_id = rows[0].id
    office = sign_in(console.url, "office")
    page = office.get("/console/delivery").text
    assert "北坡村书记" in page and "invaliduser" in page
    answer = office.post(f"/console/delivery/{dead_id}/retry", data={"csrf": csrf(office, "/console/delivery")})
    assert answer.status_code == 303
    with console.sessions() as s:
        row = s.get(OutboxMessage, dead_id)
        assert (row.status, row.attempts, row.last_error) == ("pending", 0, None)
    again = office.post(f"/console/delivery/{dead_id}/retry", data={"csrf": csrf(office, "/console/delivery")})
    assert again.status_code == 404  # not dead any more
    assert sign_in(console.url, "ll-xinfang").get("/console/delivery").status_code == 403


@pytest.mark.parametrize("params", [{"village": "²"}, {"village": "9" * 30}, {"tab": "nope"}, {"status": "x"},
                                    {"q": "%_\\"}, {"to": "2026-02-30"}, {"wordings": 10 ** 30}])
def test_odd_filters_never_break_the_inbox(console, filed, params):
    client = sign_in(console.url, "office")
    if "wordings" in params:
        assert client.get(f"/console/wordings/{params['wordings']}").status_code in (404, 422)
        return
    assert client.get("/console", params=params).status_code in (200, 422)


def test_a_liaison_lists_no_drafts_it_may_not_open(console):
    from handlers import wording

    with console.sessions.begin() as s:
        beipo = s.scalars(select(Unit.id).where(Unit.name == "北坡村")).one()
        wording.draft(s, person(s, "office"), "草稿标题", "一、基本情况：核实中", wording.Audience((beipo,), ("村书记",)),
                      console.clock.now())
    assert "草稿标题" in sign_in(console.url, "office").get("/console/wordings").text
    assert "草稿标题" not in sign_in(console.url, "ll-xinfang").get("/console/wordings").text
