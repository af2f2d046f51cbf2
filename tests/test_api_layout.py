"""The admin API's layout (app/api/routes/<resource>.py, one app/deps.py) keeps every path it had."""

import re
from pathlib import Path

import httpx

from app.main import create_app
from app.settings import Settings
from tests.wxclient import HTTP

ROOT = Path(__file__).parents[1]
# Every operation before the move to app/api/routes/, and the ones added since.
BEFORE = {
    ("DELETE", "/api/calendar/days/{day}"), ("DELETE", "/api/sensitive-periods/{period_id}"),
    ("GET", "/api/calendar"), ("GET", "/api/cases"), ("GET", "/api/cases/{code}"), ("GET", "/api/ledger.xlsx"),
    ("GET", "/api/org"), ("GET", "/api/outbox"), ("GET", "/api/people"), ("GET", "/api/sensitive-periods"),
    ("GET", "/api/stats/overdue"), ("GET", "/api/wordings"), ("GET", "/api/wordings/{number}"),
    ("GET", "/api/wordings/{number}/recipients"), ("GET", "/healthz"), ("GET", "/wechat/mp"), ("GET", "/wechat/work"),
    ("PATCH", "/api/cases/{code}"), ("POST", "/api/cases/{code}/followup"), ("POST", "/api/org/import"),
    ("POST", "/api/org/invites"), ("POST", "/api/outbox/{message_id}/retry"), ("POST", "/api/sensitive-periods"),
    ("POST", "/api/wordings"), ("POST", "/api/wordings/{number}/approve"), ("POST", "/api/wordings/{number}/publish"),
    ("POST", "/api/wordings/{number}/versions"), ("POST", "/wechat/mp"), ("POST", "/wechat/work"),
    ("PUT", "/api/calendar/days/{day}"),
}
ADDED = {("GET", "/api/jobs"), ("GET", "/livez"), ("GET", "/readyz"), ("GET", "/metrics")}


def test_every_path_is_kept():
    paths = create_app(Settings(_env_file=None, database_url="sqlite://")).openapi()["paths"]
    assert {(method.upper(), path) for path, ops in paths.items() for method in ops} == BEFORE | ADDED


def test_only_deps_reads_the_app_state():
    readers = [str(p.relative_to(ROOT)) for p in (ROOT / "app").rglob("*.py")
               if re.search(r"request\.app\.state|\.app\.state\.", p.read_text()) and "sandbox" not in p.parts]
    assert readers == ["app/deps.py"]


def test_every_api_route_needs_the_token(serve):
    server = serve(admin_token="adm")
    paths = httpx.get(server.url + "/openapi.json").json()["paths"]
    for path, ops in paths.items():
        if not path.startswith("/api/"):
            continue
        for method in ops:
            url = server.url + path.replace("{", "").replace("}", "")
            assert HTTP.request(method, url).status_code == 401, (method, path)
