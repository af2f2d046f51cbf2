"""Operations per DESIGN: /livez, /readyz, /metrics, /docs without internet, the demo's own database, Docker."""

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app as cli
from app.demo.seed import NotDemoDatabase, seed
from app.main import create_app
from app.settings import Settings
from handlers import texts
from models import Job, OutboxMessage, Person
from tests import township
from tests.conftest import T0, LiveServer
from tests.test_intake import ADMIN, CORP, KEY, TOKEN, code_in, say
from tests.wxclient import Aes, Peer

ROOT = Path(__file__).parents[1]


def test_livez_needs_no_database_and_readyz_does():
    settings = Settings(_env_file=None, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    server = LiveServer(create_app(settings)).start()
    try:
        assert httpx.get(server.url + "/livez").json() == {"status": "ok"}
        resp = httpx.get(server.url + "/readyz", timeout=30)
        assert resp.status_code == 503 and resp.json() == {"status": "database unavailable"}
    finally:
        server.stop()


def test_readyz_when_the_database_is_up(serve):
    assert httpx.get(serve().url + "/readyz").json() == {"status": "ok"}


def _metric(text: str, name: str, **labels) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if labels else "") + r" (\S+)"
    found = re.search(r"^" + pattern + "$", text, re.M)
    assert found, (name, labels)
    return float(found.group(1))


def test_metrics_count_requests_callbacks_and_what_the_database_holds(serve, db, clock):
    township.load(db)
    server = serve(work_token=TOKEN, work_aes_key=KEY, work_corp_id=CORP, admin_token="adm")
    wecom = Peer(server.url, "work", TOKEN, Aes(KEY, CORP), account=CORP, timestamp=T0)
    say(wecom, "gw", "西岔村有人在村委会门口打架，好几个人受伤了")
    code = code_in(say(wecom, "gw", "确认"))
    bad = httpx.post(server.url + "/wechat/work", params={"timestamp": "1", "nonce": "1", "msg_signature": "x"},
                     content="<xml><Encrypt>eA==</Encrypt></xml>")
    assert bad.status_code == 403
    httpx.get(server.url + f"/api/cases/{code}", headers=ADMIN)
    with db.begin() as s:
        s.add(Job(kind="remind", due_at=clock.now() - timedelta(minutes=1)))
        s.add(Job(kind="remind", due_at=clock.now(), status="failed"))
        pending = len(s.scalars(select(OutboxMessage.id).where(OutboxMessage.status == "pending")).all())
    resp = httpx.get(server.url + "/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    assert _metric(text, "gridline_http_requests_total", method="GET", route="/api/cases/{code}", status="200") >= 1
    assert _metric(text, "gridline_callbacks_total", channel="work", outcome="replied") >= 2
    assert _metric(text, "gridline_callbacks_total", channel="work", outcome="refused_403") >= 1
    assert _metric(text, "gridline_outbox_messages", status="pending") == pending > 0
    assert _metric(text, "gridline_jobs_due") >= 1 and _metric(text, "gridline_jobs_failed") == 1
    assert _metric(text, "gridline_cases_open") == 1 and _metric(text, "gridline_cases_overdue") == 0
    assert "gridline_wechat_api_errors_total" in text or "gridline_wechat_api_errors" in text
    assert "?" not in "".join(re.findall(r'route="([^"]*)"', text))  # routes, not URLs: no query strings


def test_wechat_api_errors_are_counted_by_errcode():
    from app import metrics

    before = metrics.WECHAT_ERRORS.labels("45009")._value.get()
    metrics.count_send_errors({"errcode 45009": 3, "http 502": 1, "ConnectError": 2, "bad body: x": 1})
    assert metrics.WECHAT_ERRORS.labels("45009")._value.get() == before + 3
    assert metrics.WECHAT_ERRORS.labels("http_502")._value.get() >= 1
    assert metrics.WECHAT_ERRORS.labels("network")._value.get() >= 2


def test_docs_render_from_local_assets_only(serve):
    server = serve()
    page = httpx.get(server.url + "/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    assert "http://" not in page.text and "https://" not in page.text
    for asset in assets:
        resp = httpx.get(server.url + asset)
        assert resp.status_code == 200 and len(resp.content) > 100, asset
    assert "SwaggerUIBundle" in httpx.get(server.url + "/docs/assets/swagger-ui-bundle.js").text
    assert httpx.get(server.url + "/openapi.json").json()["paths"]["/api/cases"]
    assert httpx.get(server.url + "/redoc").status_code == 404  # ReDoc would load from a CDN


def test_the_demo_refuses_a_database_with_people_not_its_own(db, database_url, clock):
    township.load(db)  # a real county's roster
    with db() as s:
        before = [(p.name, p.active) for p in s.scalars(select(Person).order_by(Person.id))]
    with pytest.raises(NotDemoDatabase):
        seed(database_url, clock)
    with db() as s:
        assert [(p.name, p.active) for p in s.scalars(select(Person).order_by(Person.id))] == before


def test_gridline_demo_exits_with_a_clear_message_on_a_real_database(db, database_url):
    township.load(db)
    result = CliRunner().invoke(cli, ["demo", "--database", database_url, "--port", "18391"])
    assert result.exit_code == 1
    assert texts.T_DEMO_NOT_DEMO_DB.split("{n}")[1] in result.output


def test_the_dockerfile_keeps_var_on_a_volume_and_the_readme_mounts_it():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r'^VOLUME \["/srv/gridline/var"\]$', dockerfile, re.M)
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"docker run [^`]*-v [^`]*:/srv/gridline/var", readme)


def test_jobs_api_lists_failed_jobs(serve, db, clock):
    server = serve(admin_token="adm")
    with db.begin() as s:
        s.add(Job(kind="remind", due_at=clock.now(), status="failed", attempts=4, error="RuntimeError: bug"))
        s.add(Job(kind="escalate", due_at=clock.now()))
    failed = httpx.get(server.url + "/api/jobs", params={"status": "failed"}, headers=ADMIN).json()
    assert failed["total"] == 1 and failed["items"][0]["attempts"] == 4
    assert failed["items"][0]["error"] == "RuntimeError: bug"
    assert httpx.get(server.url + "/api/jobs", headers=ADMIN).json()["total"] == 2
    assert httpx.get(server.url + "/api/jobs", params={"status": "x"}, headers=ADMIN).status_code == 422
