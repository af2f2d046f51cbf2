"""The ledger as an .xlsx workbook: the cases, then the figures per unit.

Times are written as real dates in local time (Excel has no time zones), header rows are frozen
and filterable, and columns are wide enough for what they hold.
"""

from collections import Counter
from datetime import date, datetime
from io import BytesIO
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import Session

from handlers import ledger, sheets, texts
from handlers.ledger import FIGURES, Row
from models import Person

DATE_FORMAT = "yyyy-mm-dd hh:mm"
BOLD = Font(name="Calibri", size=11, bold=True)  # named: a nameless font renders as a serif in LibreOffice
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
WRAP = Alignment(wrap_text=True, vertical="top")
CENTRE = Alignment(horizontal="center")
# Column widths in characters, in the order of the headers in texts (a Chinese character counts about two).
CASE_WIDTHS = (18, 18, 10, 10, 10, 10, 10, 15, 40, 9, 18, 18, 10, 7, 40, 12)
WRAPPED = 40  # a column this wide holds running text (情况摘要, 处置结果): wrapped
FIGURE_WIDTHS = (12, 15, 9, 7, 9, 7, 7, 7, 10, 9)


def export(session: Session, now: datetime, tz: ZoneInfo, start: date | None, end: date | None,
           unit: str | None, visible_to: Person | None = None) -> tuple[bytes, int]:
    """The workbook of the cases filed from `start` to `end` in `unit` (each optional), and how many;
    with `visible_to`, only what the access policy lets that person see."""
    where = ledger.period(start, end, tz) + (ledger.in_unit(session, unit) if unit else [])
    found = ledger.rows(session, now, *where, visible_to=visible_to)
    return workbook(found, ledger.figures(found), tz, texts.ledger_title(unit, start, end)), len(found)


def workbook(found: list[Row], figures: list[tuple[str, str, Counter]], tz: ZoneInfo, title: str) -> bytes:
    book = Workbook()
    cases = book.active
    cases.title = texts.LEDGER_SHEET_CASES
    _header(cases, texts.LEDGER_CASE_HEADERS, CASE_WIDTHS)
    for row in found:
        sheets.append(cases, [
            row.code, _local(row.created_at, tz), row.township, row.village or "", row.grid or "", row.category,
            row.severity, row.lead_department, row.summary, texts.STATUS[row.status], _local(row.acknowledged_at, tz),
            _local(row.closed_at, tz), _yes(row.overdue), _yes(row.supervised), row.outcome or "",
            row.satisfaction or "",
        ])
    for column, width in zip(cases.iter_cols(min_row=2), CASE_WIDTHS):
        dated = any(isinstance(cell.value, datetime) for cell in column)  # its empty cells too, for typing in
        for cell in column:
            if dated:
                cell.number_format = DATE_FORMAT
            if width >= WRAPPED:
                cell.alignment = WRAP
    cases.auto_filter.ref = cases.dimensions
    units = book.create_sheet(texts.LEDGER_SHEET_FIGURES)
    _header(units, texts.LEDGER_FIGURE_HEADERS, FIGURE_WIDTHS)
    for township, department, counts in figures:
        sheets.append(units, [township, department, *(counts[k] for k in FIGURES)])
    for row in units.iter_rows(min_row=2, min_col=3):
        for cell in row:
            cell.alignment = CENTRE
    for cell in units[units.max_row]:  # the total
        cell.font = BOLD
    book.properties.title = title
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _header(sheet: Worksheet, headers: tuple[str, ...], widths: tuple[int, ...]) -> None:
    sheets.append(sheet, headers)
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
        cell = sheet.cell(row=1, column=i)
        cell.font, cell.fill, cell.alignment = BOLD, HEADER_FILL, CENTRE
    sheet.freeze_panes = "A2"
    # Offices print the ledger: landscape, one page wide, the header on every page.
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:1"


def _local(at: datetime | None, tz: ZoneInfo) -> datetime | None:
    return at.astimezone(tz).replace(tzinfo=None) if at else None


def _yes(flag: bool) -> str:
    return texts.YES if flag else texts.NO
