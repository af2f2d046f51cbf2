"""Filing tip-offs in chat, routing, and acting on cases — through the real callback endpoints."""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from handlers import texts
from models import Case, OutboxMessage, Unit
from tests import township
from tests.township import committee, liaison, secretary
from tests.conftest import T0
from tests.wxclient import Aes, Peer

TOKEN = "tok"
KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP = "ww1436e0e65a779aee"
ADMIN = {"Authorization": "Bearer adm"}
CORPUS = Path(__file__).parents[2] / "shared" / "corpus" / "tipoffs-dev.jsonl"


@pytest.fixture
def server(serve, db):
    township.load(db)
    return serve(work_token=TOKEN, work_aes_key=KEY, work_corp_id=CORP, mp_token=TOKEN, mp_allow_plaintext=True,
                 admin_token="adm")


@pytest.fixture
def wecom(server):
    return Peer(server.url, "work", TOKEN, Aes(KEY, CORP), account=CORP, timestamp=T0)


def say(peer: Peer, sender: str, text: str | None = None, msg_type: str = "text", **fields) -> str | None:
    if text is not None:
        fields["Content"] = text
    reply = peer.open_reply(peer.send(peer.message(sender, msg_type, **fields)))
    return reply and reply["Content"]


def code_in(receipt: str) -> str:
    return next(w.rstrip("。，") for w in receipt.split() if w.startswith("XS-"))


def the_case(db, code: str) -> Case:
    with db() as s:
        return s.scalars(select(Case).where(Case.code == code)).one()


def cards(db, code: str) -> dict[str, str]:
    """recipient → body of the case cards queued for this case."""
    with db() as s:
        rows = s.execute(select(OutboxMessage.recipient, OutboxMessage.body)
                         .where(OutboxMessage.idempotency_key.like(f"card:{code}:%"))).all()
    return dict(rows)


def test_a_complete_tip_off_reaches_its_receipt_in_two_messages(wecom, db):
    summary = say(wecom, "gw", "西岔村有人在村委会门口打架，好几个人受伤了，派出所还没到")
    assert summary.endswith(texts.CONFIRM_PROMPT) and "西岔村" in summary
    receipt = say(wecom, "gw", "确认")
    code = code_in(receipt)
    assert code.startswith("XS-20261118-") and "牵头" in receipt and "签收" in receipt
    case = the_case(db, code)
    assert (case.status, case.category, case.lead_department) == ("assigned", "涉黑涉法", "政法委")
    sent = cards(db, code)
    assert {secretary("西岔村"), liaison("政法委"), "bc1"} <= set(sent)  # verify, lead, covering leader
    assert "gw" not in sent and secretary("东山村") not in sent
    assert f"签收 {code}" in sent[secretary("西岔村")] and "知悉" in sent["bc1"]


def test_start_word_then_details(wecom, db):
    assert say(wecom, "gw", "上报") == texts.ASK_WHAT
    # unfairness about the village's 低保 list with nobody named: the one who did it may be a cadre
    assert "村干部" in say(wecom, "gw", "村里低保评定不公平，有钱人家吃低保，真正困难的没评上")
    summary = say(wecom, "gw", "否")
    assert texts.CONFIRM_PROMPT in summary and "北坡村" in summary  # the reporter's own village
    assert code_in(say(wecom, "gw", "确认"))


def test_several_short_messages_make_one_case(wecom, db):
    say(wecom, "gw", "有情况")
    say(wecom, "gw", "南沟村征地补偿款")
    summary = say(wecom, "gw", "到现在还有二十多户没拿到，说下周一起去县里上访")
    assert "南沟村" in summary and "紧急" in summary
    case = the_case(db, code_in(say(wecom, "gw", "确认")))
    assert case.urgent and case.category == "信访诉求" and "二十多户" in case.summary


def test_cancel_and_edit(wecom, db):
    say(wecom, "gw", "东山村垃圾好几天没人拉了")
    assert say(wecom, "gw", "取消") == texts.CANCELLED
    assert say(wecom, "gw", "确认") == texts.NOTHING_TO_CONFIRM
    say(wecom, "gw", "东山村垃圾好几天没人拉了")
    assert say(wecom, "gw", "修改") == texts.ASK_WHAT
    summary = say(wecom, "gw", "后营村的路塌了一个大坑，车过不去")
    assert "后营村" in summary and "垃圾" not in summary


def test_online_lead_without_poster_is_asked_once(wecom, db):
    assert say(wecom, "gw", "有人在网上发帖骂乡里不给修路，转发挺多") == texts.ASK_ONLINE
    summary = say(wecom, "gw", "不清楚")
    assert texts.CONFIRM_PROMPT in summary
    case = the_case(db, code_in(say(wecom, "gw", "确认")))
    assert case.online
    assert liaison("网信办") in cards(db, case.code)  # 网信办 is told of online leads
    # the text names the platform: not asked where it is
    assert texts.CONFIRM_PROMPT in say(wecom, "gw", "有人在抖音上发视频骂乡里不给修路，转发挺多")


def test_petition_claims_ask_about_gathering_once(wecom, db):
    assert say(wecom, "gw", "东山村有几户的征地补偿款一直没到账") == texts.ASK_GATHERING
    summary = say(wecom, "gw", "听说明天要一起去县里上访")
    assert "紧急" in summary
    case = the_case(db, code_in(say(wecom, "gw", "确认")))
    assert case.urgent and case.category == "信访诉求"
    assert say(wecom, "gw", "南沟村两户为宅基地边界吵了半年") == texts.ASK_GATHERING
    assert texts.CONFIRM_PROMPT in say(wecom, "gw", "没有")  # asked once only


def test_link_message_photo_and_voice(wecom, db):
    summary = say(wecom, "gw", msg_type="link", Title="东山村书记大操大办婚宴", Description="八十多桌，全村随礼",
                  Url="https://mp.weixin.qq.com/s/abc")
    assert texts.CONFIRM_PROMPT in summary
    case = the_case(db, code_in(say(wecom, "gw", "确认")))
    assert case.links == ["https://mp.weixin.qq.com/s/abc"] and case.online

    assert say(wecom, "gw", msg_type="image", PicUrl="http://mmbiz/p.jpg", MediaId="m1") == texts.ASK_WHAT
    summary = say(wecom, "gw", msg_type="voice", MediaId="v1", Format="amr",
                  Recognition="后营村的桥裂了一道大缝，学生每天从上面过")
    assert "后营村" in summary
    case = the_case(db, code_in(say(wecom, "gw", "确认")))
    assert [a["kind"] for a in case.attachments] == ["image", "voice"]


def test_location_names_the_village(wecom, db):
    say(wecom, "gw", msg_type="location", Location_X="39.9", Location_Y="116.3", Scale="15", Label="白水乡东山村村委会")
    summary = say(wecom, "gw", "这里的自来水停了三天了，老人没水喝")
    assert "东山村" in summary


def test_involves_cadre_case_bypasses_the_village(wecom, db):
    say(wecom, "gw", "西岔村书记把退耕还林补助款扣着不发，村民的存折上一笔都没进")
    code = code_in(say(wecom, "gw", "确认"))
    case = the_case(db, code)
    assert case.involves_cadre and case.lead_department == "纪委"
    sent = cards(db, code)
    assert not {secretary("西岔村"), committee("西岔村")} & set(sent)  # nobody of the accused's village committee
    assert {liaison("纪委"), "bc1", "leader", "deputy"} <= set(sent)
    for who in (secretary("西岔村"), committee("西岔村")):
        assert say(wecom, who, f"进度 {code}") == texts.NO_SUCH_CASE.format(code=code)
        assert say(wecom, who, f"签收 {code}") == texts.NO_SUCH_CASE.format(code=code)
    assert code in say(wecom, "bc1", f"进度 {code}")


def test_acting_on_a_case(wecom, db):
    say(wecom, "gw", "西岔村两户因为宅基地吵起来了，快动手了")
    code = code_in(say(wecom, "gw", "确认"))
    lead = liaison(the_case(db, code).lead_department)
    refused = say(wecom, "gw", f"签收 {code}")
    assert refused.startswith(f"{code} 的“签收”由核实的村书记或牵头部门") and f"“进度 {code}”" in refused
    assert say(wecom, secretary("西岔村"), f"签收 {code}") == texts.DONE["签收"].format(code=code)
    again = say(wecom, secretary("西岔村"), f"签收 {code}")
    assert again.startswith(f"{code} 当前已签收，不能“签收”") and f"“反馈 {code} 进展”" in again
    assert say(wecom, lead, f"反馈 {code}") == texts.NEEDS_NOTE["反馈"].format(code=code)
    assert say(wecom, lead, f"反馈 {code} 已入户了解情况") == texts.DONE["反馈"].format(code=code)
    assert say(wecom, "leader", f"督办 {code}") == texts.DONE["督办"].format(code=code)
    assert code in say(wecom, lead, "待办")
    refused = say(wecom, secretary("西岔村"), f"办结 {code} 调解好了")
    assert refused.startswith(f"{code} 的“办结”由牵头部门") and "反馈" in refused and "办结 " not in refused
    assert say(wecom, lead, f"办结 {code.lower()} 双方签了调解协议") == texts.DONE["办结"].format(code=code)
    assert code in say(wecom, "gw", "我的") and "已办结" in say(wecom, "gw", "我的")
    progress = say(wecom, "gw", f"进度 {code}")
    assert "已办结" in progress and "督办" in progress and "调解协议" in progress
    with db() as s:
        told = s.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == "gw")).all()
    assert any("已办结" in body for body in told)  # the reporter hears the outcome
    case = the_case(db, code)
    assert case.status == "resolved" and case.supervised
    assert say(wecom, secretary("西岔村"), "签收") == texts.CASE_USAGE.format(action="签收")
    assert say(wecom, "gw", "签收") == texts.FILLER_PROMPT  # not a command of a grid worker's


def test_an_idle_draft_is_kept_and_offered_back(wecom, clock):
    say(wecom, "gw", "北坡村的路灯坏了一半")
    clock.advance(minutes=31)
    wecom.timestamp += 31 * 60
    reply = say(wecom, "gw", "晚上路上黑，老人摔过两回")
    assert reply.startswith(texts.RESUMED) and "路灯" in reply


def test_case_codes_are_unique_under_concurrent_filing(wecom, db):
    senders = ["gw", "gw2"] + [secretary(v) for v in township.VILLAGES]
    for who in senders:
        say(wecom, who, "村里有人私设赌局，每天晚上都有人去")
    with ThreadPoolExecutor(len(senders)) as pool:
        receipts = list(pool.map(lambda who: say(wecom, who, "确认"), senders))
    codes = sorted(code_in(r) for r in receipts)
    assert codes == [f"XS-20261118-{n:04d}" for n in range(1, len(senders) + 1)]


def test_cases_api(server, wecom, db):
    say(wecom, "gw", "西岔村有人在抖音上骂村干部，网名叫“西岔一霸” https://v.douyin.com/x1/")
    code = code_in(say(wecom, "gw", "确认"))
    listed = httpx.get(server.url + "/api/cases", params={"village": "西岔村"}, headers=ADMIN).json()
    assert listed["total"] == 1 and listed["items"][0]["code"] == code
    one = httpx.get(server.url + f"/api/cases/{code}", headers=ADMIN).json()
    assert one["reporter"] == "网格员小王" and one["online"] and one["screen_name"] == "西岔一霸"
    assert {d["kind"] for d in one["deadlines"]} >= {"ack", "contact_poster", "close"}
    assert [e["action"] for e in one["events"]] == ["上报", "分派"]
    assert httpx.get(server.url + "/api/cases", params={"overdue": "true"}, headers=ADMIN).json()["total"] == 0
    assert httpx.get(server.url + "/api/cases/XS-20000101-0001", headers=ADMIN).status_code == 404


def test_office_reclassification_reroutes(server, wecom, db):
    say(wecom, "gw", "东山村垃圾堆了好几天没人拉，臭得很")
    code = code_in(say(wecom, "gw", "确认"))
    before = cards(db, code)
    resp = httpx.patch(server.url + f"/api/cases/{code}", json={"lead_department": "乡村振兴办",
                                                              "category": "涉贫政策"}, headers=ADMIN)
    assert resp.status_code == 200, resp.text
    assert resp.json()["lead_department"] == "乡村振兴办"
    with db() as s:
        bodies = dict(s.execute(select(OutboxMessage.recipient, OutboxMessage.body)
                                .where(OutboxMessage.idempotency_key.like(f"off:{code}:%"))).all())
        new_cards = s.scalars(select(OutboxMessage.recipient).where(
            OutboxMessage.idempotency_key.like(f"card:{code}:%:%"))).all()
    old_lead = liaison("党政办")
    assert old_lead in before and old_lead in bodies and liaison("乡村振兴办") in new_cards
    assert httpx.patch(server.url + f"/api/cases/{code}", json={"severity": "很大"}, headers=ADMIN).status_code == 422


# -- the dev corpus, through the real chat flow ---------------------------------------------

FIELDS = ("category", "lead_department", "urgent", "online", "involves_cadre", "village")


def test_dev_corpus_through_chat(wecom, db, capsys):
    items = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
    right = {f: 0 for f in FIELDS}
    wrong: dict[str, list[str]] = {f: [] for f in FIELDS}
    cadre_asked = []
    for item in items:
        reply = None
        for message in item["messages"]:
            reply = say(wecom, "gw", message)
        for _ in range(3):  # at most the three follow-up questions
            if reply == texts.ASK_ONLINE:
                reply = say(wecom, "gw", "不清楚")
            elif reply == texts.ASK_GATHERING:
                reply = say(wecom, "gw", "没有")
            elif "村干部" in reply and texts.CONFIRM_PROMPT not in reply:
                # the reporter knows whom they accuse: the question is how the detector's doubt is settled
                cadre_asked.append(item["id"])
                reply = say(wecom, "gw", "是" if item["expect"]["involves_cadre"] else "否")
        assert texts.CONFIRM_PROMPT in reply, (item["id"], reply)
        case = the_case(db, code_in(say(wecom, "gw", "确认")))
        with db() as s:
            village = s.get(Unit, case.village_id).name if case.village_id else None
        got = {"category": case.category, "lead_department": case.lead_department, "urgent": case.urgent,
               "online": case.online, "involves_cadre": case.involves_cadre, "village": village}
        expect = dict(item["expect"])
        expect["village"] = expect["village"] or "北坡村"  # none named: the reporter's own
        for f in FIELDS:
            if got[f] == expect[f]:
                right[f] += 1
            else:
                wrong[f].append(f"{item['id']}({got[f]}≠{expect[f]})")
    with capsys.disabled():
        print(f"\ndev corpus through chat ({len(items)} tip-offs):")
        for f in FIELDS:
            print(f"  {f:16s} {right[f] / len(items):6.1%}  {' '.join(wrong[f])}")
        print(f"  asked about a cadre: {len(cadre_asked)} {' '.join(cadre_asked)}")
    for f in FIELDS:
        assert right[f] / len(items) >= 0.95, (f, wrong[f])


def test_a_repeat_of_an_open_case_is_offered_to_the_office(wecom, db):
    say(wecom, "gw", "快手上有人骂乡里 https://v.kuaishou.com/same 网名“老刘”")
    first = code_in(say(wecom, "gw", "确认"))
    say(wecom, "gw2", "这个视频大家都在转 https://v.kuaishou.com/same")
    second = code_in(say(wecom, "gw2", "确认"))
    say(wecom, "gw", "北坡村路灯坏了一半，晚上黑")
    third = code_in(say(wecom, "gw", "确认"))
    with db() as s:
        offers = s.execute(select(OutboxMessage.recipient, OutboxMessage.body)
                           .where(OutboxMessage.idempotency_key.like("duplicate:%"))).all()
    assert offers == [("office", texts.DUPLICATE.format(code=second, other=first))]
    assert third not in str(offers)


def test_filing_through_the_official_account(server, db):
    code = httpx.post(server.url + "/api/org/invites", json={"who": "网格员小王"}, headers=ADMIN).json()["code"]
    mp = Peer(server.url, "mp", TOKEN, timestamp=T0)
    assert say(mp, "o-wang", f"绑定 {code}") == texts.BOUND.format(name="网格员小王")
    summary = say(mp, "o-wang", msg_type="link", Title="南沟村有人聚众赌博", Description="每晚都有", Url="https://mp.weixin.qq.com/s/x")
    assert texts.CONFIRM_PROMPT in summary and "南沟村" in summary
    case = the_case(db, code_in(say(mp, "o-wang", "确认")))
    assert case.category == "涉黑涉法" and case.online


def test_every_reply_fits_a_phone_screen(wecom):
    long_text = "西岔村" + "有人反映情况，" * 200
    for text in (long_text, "确认", "我的", "待办", "帮助"):
        reply = say(wecom, "gw", text[:2000])
        assert reply and len(reply) < 600
