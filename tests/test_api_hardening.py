"""Bad input gets a clear refusal, never a 5xx: the admin API's validation and the callbacks' timestamps.

Each test here reproduces a 500 (or a silent no-op) that a probe found, through the real HTTP endpoints.
"""

import httpx
import pytest
from sqlalchemy import select

from handlers import texts
from models import Case, Deadline, Unit
from models.org import TOWNSHIP, VILLAGE
from tests import township
from tests.test_intake import ADMIN, code_in, say
from tests.test_intake import server, wecom  # noqa: F401 - the same served township and WeCom peer
from tests.wxclient import HTTP


def file_case(wecom) -> str:
    say(wecom, "gw", "东山村垃圾堆了好几天没人拉，臭得很")
    return code_in(say(wecom, "gw", "确认"))


def api(server, method: str, path: str, **kwargs) -> httpx.Response:
    return HTTP.request(method, server.url + path, headers=ADMIN, **kwargs)


# -- numbers that are not numbers ------------------------------------------------------------------

@pytest.mark.parametrize("unit", ["²", "٣", "99999999999", "0"])
def test_a_unit_that_only_looks_like_an_id_is_looked_up_by_name(server, unit):
    resp = api(server, "GET", "/api/people", params={"unit": unit})
    assert resp.status_code == 404, resp.text


@pytest.mark.parametrize("path", ["/api/outbox/99999999999/retry", "/api/outbox/0/retry"])
def test_ids_past_the_database_range_are_refused(server, path):
    assert api(server, "POST", path).status_code == 422


@pytest.mark.parametrize("path", ["/api/wordings/99999999999", "/api/wordings/1?version=99999999999",
                                  "/api/cases?offset=99999999999999999999", "/api/sensitive-periods/99999999999"])
def test_out_of_range_numbers_in_paths_and_queries_are_422(server, path):
    method = "DELETE" if path.startswith("/api/sensitive-periods/") else "GET"
    assert api(server, method, path).status_code == 422


@pytest.mark.parametrize("params", [{"unit": "西岔\x00村"}, {"role": "网格员\x00"}])
def test_nul_characters_in_a_query_are_refused(server, params):
    assert api(server, "GET", "/api/people", params=params).status_code == 422


def test_nul_in_a_json_body_is_refused(server):
    assert api(server, "POST", "/api/org/invites", json={"who": "网格员\x00小王"}).status_code == 422


@pytest.mark.parametrize("channel", ["mp", "work"])
@pytest.mark.parametrize("timestamp", ["9" * 400, "²", "-1", "1e9"])
def test_a_timestamp_that_is_not_seconds_is_403_not_500(server, channel, timestamp):
    query = {"timestamp": timestamp, "nonce": "1", "signature": "x", "msg_signature": "x", "echostr": "e"}
    assert httpx.get(f"{server.url}/wechat/{channel}", params=query).status_code == 403
    assert httpx.post(f"{server.url}/wechat/{channel}", params=query, content=b"<xml/>").status_code == 403


def test_wording_lookup_with_a_unicode_digit_is_answered(wecom):
    # int("²") raised inside the handler: the message failed, and so did every resend of it.
    assert say(wecom, "gw", "口径 ²") == texts.WORDING_USAGE
    assert say(wecom, "gw", "口径 99999999999") == texts.WORDING_USAGE  # no wording has such a number


# -- PATCH /api/cases/{code} -----------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    {"involvesCadre": True},  # a typo answered 200 and changed nothing
    {"urgent": True},  # not in the contract: severity 紧急 says it
    {"category": "违规违纪" * 20},  # a 500 on PostgreSQL (varchar(16))
    {"category": "别的"},
    {"lead_department": "公安局"},
    {"severity": "很大"},
    {"online": "maybe"},
    {"village": ""},
])
def test_patch_refuses_unknown_keys_and_values(server, wecom, body):
    code = file_case(wecom)
    before = api(server, "GET", f"/api/cases/{code}").json()
    resp = api(server, "PATCH", f"/api/cases/{code}", json=body)
    assert resp.status_code == 422, resp.text
    assert api(server, "GET", f"/api/cases/{code}").json() == before


def test_patch_refuses_a_village_of_another_township(server, wecom, db):
    code = file_case(wecom)
    with db.begin() as s:
        other = Unit(kind=TOWNSHIP, name="黑山乡", parent_id=None)
        s.add(other)
        s.flush()
        s.add(Unit(kind=VILLAGE, name="黑山村", parent_id=other.id))
        s.flush()
        grid = s.scalars(select(Unit.id).where(Unit.kind != VILLAGE, Unit.kind != TOWNSHIP)).first()
        foreign = s.scalars(select(Unit.id).where(Unit.name == "黑山村")).one()
    for village in ("黑山村", str(foreign), "白水乡", str(grid)):
        resp = api(server, "PATCH", f"/api/cases/{code}", json={"village": village})
        assert resp.status_code == 422, (village, resp.text)
    resp = api(server, "PATCH", f"/api/cases/{code}", json={"village": "西岔村"})
    assert resp.status_code == 200 and resp.json()["village"] == "西岔村"


def test_patch_severity_sets_urgent_with_it(server, wecom, db):
    code = file_case(wecom)
    resp = api(server, "PATCH", f"/api/cases/{code}", json={"severity": "紧急"})
    assert resp.status_code == 200
    with db() as s:
        case = s.scalars(select(Case).where(Case.code == code)).one()
        assert case.urgent and case.severity == "紧急"


def test_patch_on_a_closed_case_is_409_and_starts_no_deadline(server, wecom, db):
    code = file_case(wecom)
    with db() as s:
        lead = township.liaison(s.scalars(select(Case.lead_department).where(Case.code == code)).one())
    say(wecom, lead, f"签收 {code}")
    assert say(wecom, lead, f"办结 {code} 已清运") == texts.DONE["办结"].format(code=code)
    with db() as s:
        case = s.scalars(select(Case).where(Case.code == code)).one()
        assert case.status == "resolved"
        before = s.scalars(select(Deadline.kind).where(Deadline.case_id == case.id)).all()
    resp = api(server, "PATCH", f"/api/cases/{code}", json={"severity": "紧急", "online": True})
    assert resp.status_code == 409, resp.text
    with db() as s:
        assert s.scalars(select(Deadline.kind).where(Deadline.case_id == case.id)).all() == before


def test_list_filters_take_only_the_guides_values(server):
    assert api(server, "GET", "/api/cases", params={"status": "open"}).status_code == 422
    assert api(server, "GET", "/api/cases", params={"category": "x" * 100}).status_code == 422
    assert api(server, "GET", "/api/cases", params={"status": "submitted", "category": "其他"}).status_code == 200


def test_a_value_the_database_refuses_is_422_not_500(database_url):
    """The backstop behind the edge's validation (app/errors.py)."""
    from sqlalchemy.exc import DataError

    from app.main import create_app
    from tests.conftest import LiveServer, make_settings

    app = create_app(make_settings(database_url))

    @app.get("/boom")
    def boom():
        raise DataError("SELECT :x", {"x": "secret"}, ValueError("integer out of range"))

    server = LiveServer(app).start()
    try:
        resp = httpx.get(server.url + "/boom")
    finally:
        server.stop()
    assert resp.status_code == 422 and "secret" not in resp.text
