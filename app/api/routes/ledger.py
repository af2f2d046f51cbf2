"""The ledger (台账) as an Excel workbook."""

from datetime import date, datetime
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Response

from app.api import lookups
from app.api.params import AsPerson, name_query
from app.deps import NowDep, SessionDep, TzDep
from handlers import texts
from handlers.ledger import LedgerError
from handlers.ledger_book import export

UnitQuery = name_query("township or village name (白水乡/西岔村 when ambiguous)")
router = APIRouter(tags=["ledger"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/ledger.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
def ledger_xlsx(
    s: SessionDep,
    at: NowDep,
    tz: TzDep,
    start: date | None = Query(None, alias="from", description="first filing day, local (YYYY-MM-DD)"),
    end: date | None = Query(None, alias="to", description="last filing day, inclusive"),
    unit: UnitQuery = None,
    as_person: AsPerson = None,
) -> Response:
    who = lookups.one_person(s, as_person) if as_person else None
    try:
        data, _ = export(s, at, tz, start, end, unit, visible_to=who)
    except LedgerError as exc:
        raise HTTPException(422, str(exc)) from None
    return xlsx_download(data, at, tz)


def xlsx_download(data: bytes, at: datetime, tz) -> Response:
    """The ledger workbook as a download named for the local day (the API's and the console's)."""
    name = texts.LEDGER_FILE.format(day=at.astimezone(tz))
    return Response(data, media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"ledger.xlsx\"; filename*=UTF-8''{quote(name)}"})
