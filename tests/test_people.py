"""Identities, binding in chat, strangers, the access policy and the people API."""

import httpx
import pytest
from sqlalchemy import select

from handlers import texts
from handlers import org as roles
from handlers.access import CaseScope, can_see, viewer
from handlers.people import holders
from models import ChatIdentity, Person
from tests import orgdata
from tests.conftest import T0
from tests.wxclient import Aes, Peer

TOKEN = "tok"
KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP = "ww1436e0e65a779aee"
ADMIN = "admin-secret"
SETTINGS = dict(work_token=TOKEN, work_aes_key=KEY, work_corp_id=CORP, mp_token=TOKEN, admin_token=ADMIN)
AUTH = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture
def org(db):
    return orgdata.build(db)


@pytest.fixture
def server(serve, org):
    return serve(**SETTINGS)


def mp(server) -> Peer:
    return Peer(server.url, "mp", TOKEN, timestamp=T0)


def work(server) -> Peer:
    return Peer(server.url, "work", TOKEN, Aes(KEY, CORP), account=CORP, timestamp=T0)


def say(peer: Peer, sender: str, text: str) -> str | None:
    reply = peer.open_reply(peer.send(peer.message(sender, Content=text)))
    return reply and reply["Content"]


def invite(server, who: str) -> str:
    resp = httpx.post(server.url + "/api/org/invites", json={"who": who}, headers=AUTH)
    assert resp.status_code == 201, resp.text
    return resp.json()["code"]


# -- binding through the real Official Account callback -------------------------------------

def test_bind_with_invite_code(server, db, org):
    code = invite(server, "网格员甲")
    assert len(code) == 6 and code.isdigit()
    peer = mp(server)
    assert say(peer, "o-jia", "你好") == texts.UNKNOWN_SENDER
    assert say(peer, "o-jia", f"绑定 {code}") == texts.BOUND.format(name="网格员甲")
    assert say(peer, "o-jia", "帮助") == texts.HELP
    assert say(peer, "o-jia", f"绑定 {code}") == texts.ALREADY_BOUND.format(name="网格员甲")
    with db() as s:
        identity = s.scalars(select(ChatIdentity).where(ChatIdentity.channel == "mp")).one()
    assert (identity.person_id, identity.external_id, identity.active) == (org["网格员甲"], "o-jia", True)
    assert identity.last_message_at is not None


def test_invite_by_phone_and_unknown_or_ambiguous(server):
    assert invite(server, "13800000001")
    assert httpx.post(server.url + "/api/org/invites", json={"who": "无此人"}, headers=AUTH).status_code == 404


def test_code_is_single_use(server):
    code = invite(server, "网格员甲")
    peer = mp(server)
    say(peer, "o-jia", f"绑定 {code}")
    assert say(peer, "o-other", f"绑定 {code}") == texts.BIND_USED


def test_code_expires_after_72_hours(server, clock):
    code = invite(server, "网格员甲")
    clock.advance(hours=72, seconds=1)
    assert say(mp(server), "o-jia", f"绑定 {code}") == texts.BIND_EXPIRED


def test_wrong_codes_lock_binding_for_an_hour(server, clock):
    code = invite(server, "网格员甲")
    peer = mp(server)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert say(peer, "o-guess", f"绑定 {wrong}") == texts.BIND_WRONG
    assert say(peer, "o-guess", f"绑定 {code}") == texts.BIND_LOCKED  # even the right code
    assert say(peer, "o-someone-else", f"绑定 {code}") == texts.BOUND.format(name="网格员甲")  # per openid
    clock.advance(hours=1, seconds=1)
    code2 = invite(server, "书记乙")
    assert say(peer, "o-guess", f"绑定 {code2}") == texts.BOUND.format(name="书记乙")


@pytest.mark.parametrize("text", ["绑定", "绑定 12345", "绑定 abcdef", "绑定1234567"])
def test_malformed_bind_command_explains(server, text):
    assert say(mp(server), "o-x", text) == texts.BIND_HOW


def test_subscribe_greets_and_unsubscribe_deactivates(server, db):
    peer = mp(server)
    reply = peer.open_reply(peer.send(peer.event("o-jia", "subscribe")))
    assert reply["Content"] == texts.WELCOME
    say(peer, "o-jia", f"绑定 {invite(server, '网格员甲')}")
    assert peer.open_reply(peer.send(peer.event("o-jia", "unsubscribe", create_time=T0 + 5))) is None
    with db() as s:
        assert s.scalars(select(ChatIdentity.active).where(ChatIdentity.channel == "mp")).one() is False
    assert say(peer, "o-jia", "你好") == texts.UNKNOWN_SENDER  # must bind again after re-subscribing


def test_wecom_roster_people_need_no_binding(server):
    peer = work(server)
    secretary = say(peer, orgdata.userid("书记乙"), "帮助")
    assert secretary.startswith(texts.HELP_HEAD) and "签收 编号" in secretary and "退回 编号" in secretary
    assert "办结 编号" not in secretary and "督办 编号" not in secretary  # the lead closes; leaders supervise
    assert say(peer, "not-in-roster", "你好") == texts.UNKNOWN_WECOM
    assert say(peer, "not-in-roster", "绑定 123456") == texts.UNKNOWN_WECOM  # no binding on WeCom


def test_deactivated_person_is_a_stranger(server, db):
    with db.begin() as s:
        s.scalars(select(Person).where(Person.name == "书记乙")).one().active = False
    assert say(work(server), orgdata.userid("书记乙"), "你好") == texts.UNKNOWN_WECOM


def test_known_person_sending_unsupported_type(server):
    peer = work(server)
    reply = peer.open_reply(peer.send(peer.message(orgdata.userid("书记乙"), "hologram")))
    assert reply["Content"] == texts.UNSUPPORTED


# -- the access policy ------------------------------------------------------------------------

def case(org, village="西岔村", reporter="网格员甲", cadre=False, lead=None, notified=()):
    return CaseScope(
        township_id=org["白水乡"], village_id=org[village] if village else None, reporter_id=org[reporter],
        involves_cadre=cadre, lead_department_id=org[lead] if lead else None,
        notified_department_ids=frozenset(org[d] for d in notified),
    )


def sees(db, org, name, scope) -> bool:
    with db() as s:
        return can_see(viewer(s, s.get(Person, org[name])), scope)


POLICY = [
    # who, case, may see
    ("网格员甲", dict(), True),  # own report
    ("网格员甲", dict(reporter="书记乙"), False),  # someone else's
    ("书记乙", dict(), True),  # their village
    ("委员丙", dict(), True),
    ("书记乙", dict(cadre=True), False),  # involves a cadre of their own village
    ("委员丙", dict(cadre=True), False),
    ("东沟书记", dict(), False),  # another village
    ("包村丁", dict(), True),  # covered village
    ("包村丁", dict(cadre=True), True),  # including involves-cadre
    ("包村丁", dict(village="东沟村"), False),  # not covered
    ("纪委戊", dict(), False),  # not their department
    ("纪委戊", dict(lead="纪委"), True),  # leads it
    ("纪委戊", dict(notified=("纪委",)), True),  # notified of it
    ("办公室己", dict(cadre=True), True),  # the whole township
    ("乡长庚", dict(village="东沟村"), True),
    ("黑石办公室", dict(), False),  # another township
    ("县里辛", dict(cadre=True), True),  # county: everything
]


@pytest.mark.parametrize("who, kwargs, expected", POLICY, ids=[f"{w}-{k}" for w, k, _ in POLICY])
def test_access_policy(db, org, who, kwargs, expected):
    assert sees(db, org, who, case(org, **kwargs)) is expected


def test_secretary_who_reported_a_cadre_case_still_sees_their_own_report(db, org):
    assert sees(db, org, "书记乙", case(org, reporter="书记乙", cadre=True))


def test_holders_of_a_role_under_a_unit(db, org):
    with db() as s:
        names = lambda found: {p.name for p in found}  # noqa: E731
        assert names(holders(s, roles.VILLAGE_SECRETARY, org["白水乡"])) == {"东沟书记", "书记乙"}
        assert names(holders(s, roles.VILLAGE_SECRETARY, org["西岔村"])) == {"书记乙"}
        assert names(holders(s, roles.OFFICE, org["清河县"])) == {"县里辛", "办公室己", "黑石办公室"}
        assert names(holders(s, roles.GRID_WORKER, org["黑石镇"])) == set()


# -- the API ------------------------------------------------------------------------------------

def test_api_needs_the_bearer_token(server, serve):
    assert httpx.get(server.url + "/api/org").status_code == 401
    assert httpx.get(server.url + "/api/org", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert httpx.get(server.url + "/api/org", headers=AUTH).status_code == 200
    closed = serve()  # no admin token configured
    assert httpx.get(closed.url + "/api/org", headers=AUTH).status_code == 403


def test_org_tree(server):
    tree = httpx.get(server.url + "/api/org", headers=AUTH).json()
    (county,) = tree["items"]
    assert county["name"] == "清河县"
    baishui = next(t for t in county["children"] if t["name"] == "白水乡")
    assert baishui["departments"] == ["纪委"]
    assert [v["name"] for v in baishui["children"]] == ["西岔村", "东沟村"]
    assert baishui["children"][0]["children"][0]["name"] == "一网格"


def test_people_filtered_by_role_and_unit(server):
    resp = httpx.get(server.url + "/api/people", params={"role": "村书记", "unit": "白水乡"}, headers=AUTH).json()
    assert resp["total"] == 2 and {p["name"] for p in resp["items"]} == {"书记乙", "东沟书记"}
    page = httpx.get(server.url + "/api/people", params={"limit": 3, "offset": 3}, headers=AUTH).json()
    assert page["total"] == len(orgdata.PEOPLE) and len(page["items"]) == 3
    jiwei = httpx.get(server.url + "/api/people", params={"role": "部门联络员"}, headers=AUTH).json()["items"][0]
    assert (jiwei["department"], jiwei["wecom_userid"], jiwei["mp_bound"]) == ("纪委", "user5", False)
    assert httpx.get(server.url + "/api/people", params={"unit": "无此村"}, headers=AUTH).status_code == 404
