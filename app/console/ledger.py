"""The office's desk: the ledger (台账) download and figures over the cases the person may see, and dead letters."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.deps import DB, get_tz, now
from app.console.pages import DESK_ROLES, page
from app.console.session import ME, Refused, Signed
from app.api.routes.ledger import xlsx_download
from handlers import accountability, dead_letters, ledger, ledger_book, texts, trend



router = APIRouter(prefix="/console", include_in_schema=False)


def _desk_only(request: Request, me: Signed) -> None:
    if not me.roles & DESK_ROLES:
        raise Refused(texts.CONSOLE_DESK_ONLY)


@router.get("/ledger")
def ledger_page(request: Request, me: Signed = ME) -> Response:
    _desk_only(request, me)
    return page(request, "ledger.html", {"values": dict(request.query_params), "problem": None}, me=me)


@router.get("/ledger.xlsx")
def ledger_xlsx(request: Request, unit: str = "", me: Signed = ME, s: Session = DB,
                at: datetime = Depends(now)) -> Response:
    _desk_only(request, me)
    tz = get_tz(request)
    values = dict(request.query_params)
    try:
        start, end = ledger.parse_day(values.get("from")), ledger.parse_day(values.get("to"))
        data, _ = ledger_book.export(s, at, tz, start, end, unit.strip() or None, visible_to=me.person)
    except ledger.LedgerError as exc:
        return page(request, "ledger.html", {"values": values, "problem": str(exc)}, status=422, me=me)
    return xlsx_download(data, at, tz)


@router.get("/figures")
def figures_page(request: Request, me: Signed = ME, s: Session = DB, at: datetime = Depends(now)) -> Response:
    """Per unit (乡镇 × 牵头部门), the last eight weeks, and the accountability tables (per unit and per
    person, over a range of days) — all over the cases the person may see."""
    _desk_only(request, me)
    tz = get_tz(request)
    found = ledger.rows(s, at, visible_to=me.person)
    weeks = trend.weekly(found, at, tz)
    top = max([1, *(max(w.filed, w.closed) for w in weeks)])
    raw = {"from": request.query_params.get("from", ""), "to": request.query_params.get("to", "")}
    problem, stats = None, None
    try:
        first, last = accountability.window(ledger.parse_day(raw["from"]), ledger.parse_day(raw["to"]),
                                            at.astimezone(tz).date())
        stats = accountability.overdue_stats(s, first, last, tz, visible_to=me.person)
        raw = {"from": first.isoformat(), "to": last.isoformat()}
    except ledger.LedgerError as exc:
        problem = str(exc)
    return page(request, "figures.html", {"figures": ledger.figures(found), "keys": ledger.FIGURES,
                                          "headers": texts.LEDGER_FIGURE_HEADERS, "weeks": weeks,
                                          "top": top, "stats": stats, "raw": raw, "problem": problem},
                status=422 if problem else 200, me=me)


@router.get("/delivery")
def delivery_page(request: Request, me: Signed = ME, s: Session = DB) -> Response:
    """Messages that could not be delivered, to people and group chats the office looks after."""
    _desk_only(request, me)
    tz = get_tz(request)
    letters = [{"id": d.row.id, "to": d.to, "channel": texts.CONSOLE_CHANNEL.get(d.row.channel, d.row.channel),
                "body": d.row.body, "error": d.row.last_error or "", "at": d.row.created_at.astimezone(tz)}
               for d in dead_letters.for_person(s, me.person)]
    retried = request.query_params.get("retried")
    return page(request, "delivery.html", {"letters": letters, "retried": retried}, me=me)


@router.post("/delivery/{message_id}/retry")
def retry_letter(request: Request, message_id: Annotated[int, Path(ge=1, le=2**31 - 1)], me: Signed = ME, s: Session = DB,
                 at: datetime = Depends(now)) -> Response:
    _desk_only(request, me)
    if not dead_letters.retry(s, me.person, message_id, at):
        raise Refused(texts.CONSOLE_NOT_FOUND, status=404)
    return RedirectResponse(f"/console/delivery?retried={message_id}", status_code=303)
