"""Settings the office keeps: the holiday calendar, sensitive periods and the roster import.

The office and its leaders read them; the office changes them. The calendar and the periods go through
handlers/workdays.py and handlers/periods.py (as the CLI and the admin API do); the roster through
handlers/roster.py, confined to the office's own township, checked in a dry run before it is applied.
"""

import hashlib
from datetime import date, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.console.pages import DESK_ROLES, page
from app.console import session as console_session
from app.console.session import ME, Refused, Signed
from app.deps import DB, get_policy, get_tz, now
from handlers import org, people, periods, texts, workdays
from handlers.access import viewer
from handlers.ledger import LedgerError, parse_day
from handlers.roster import RowError, import_roster
from models import Person, Unit

router = APIRouter(prefix="/console/settings", include_in_schema=False)
YEARS = range(2000, 2101)
NAME_MAX = 32
DayPath = Annotated[date, Path()]


def _reader(me: Signed) -> None:
    if not me.roles & DESK_ROLES:
        raise Refused(texts.SETTINGS_OFFICE_ONLY)


def _keeper(me: Signed) -> None:
    if org.OFFICE not in me.roles:
        raise Refused(texts.SETTINGS_OFFICE_ONLY)


# -- the holiday calendar and sensitive periods ----------------------------------------------

@router.get("")
def settings_page(request: Request, year: str = "", me: Signed = ME, s: Session = DB,
                  at: datetime = Depends(now)) -> Response:
    _reader(me)
    return _settings_view(request, s, me, at, year=year)


def _settings_view(request: Request, s: Session, me: Signed, at: datetime, *, year: str = "",
                   done: str | None = None, problem: str | None = None, status: int = 200,
                   values: dict | None = None) -> Response:
    today = at.astimezone(get_tz(request)).date()
    shown = int(year) if year.isdecimal() and int(year) in YEARS else today.year
    if done is None:
        done = _done(request.query_params)
    township = _township(s, me.person)
    here = township.id if township else periods.EVERYWHERE
    held = periods.periods(s, here)  # the county's and this township's (every one, for county-level people)
    return page(request, "settings.html", {
        "year": shown, "office_days": workdays.office_days(s, shown), "known": workdays.Workdays.load(s).known(shown),
        "package_days": [(d, workday, texts.HOLIDAY_NAMES.get(name, name))
                         for d, workday, name in workdays.package_days(shown)],
        "coverage": workdays.coverage(s, today), "periods": held, "today": today,
        "own_periods": {p.id for p in held if township is None or p.township_id == here},
        "townships": {p.township_id: s.get(Unit, p.township_id).name for p in held if p.township_id},
        "may_change": org.OFFICE in me.roles, "default_factor": get_policy(request).sensitive_factor,
        "done": done, "problem": problem, "values": values or {},
    }, status=status, me=me)


def _done(query) -> str | None:
    """What the redirect after a change says: by a key, never text taken from the address."""
    try:
        day = date.fromisoformat(query.get("day", ""))
    except ValueError:
        day = None
    key = query.get("done")
    if key == "day" and day:
        return texts.CALENDAR_SAVED.format(day=day, kind=texts.DAY_KIND[query.get("kind") == "workday"])
    if key == "day_removed" and day:
        return texts.CALENDAR_REMOVED.format(day=day)
    return {"period": texts.PERIOD_SAVED, "period_removed": texts.PERIOD_REMOVED}.get(key)


def _refuse(request: Request, s: Session, me: Signed, at: datetime, problem: str, values: dict) -> Response:
    return _settings_view(request, s, me, at, problem=problem, status=422, values=values)


def _back(done: str, **values) -> Response:
    return RedirectResponse("/console/settings?" + urlencode({"done": done, **values}), status_code=303)


@router.post("/days")
def add_day(request: Request, day: str = Form(""), kind: str = Form(""), name: str = Form(""), me: Signed = ME,
            s: Session = DB, at: datetime = Depends(now)) -> Response:
    _keeper(me)
    values = {"day": day, "kind": kind, "name": name}
    try:
        when = parse_day(day)
    except LedgerError as exc:
        return _refuse(request, s, me, at, str(exc), values)
    name = name.strip()
    problem = (texts.CALENDAR_DAY_NEEDED if when is None else
               texts.CALENDAR_YEAR_BAD if when.year not in YEARS else
               texts.CALENDAR_KIND_BAD if kind not in ("holiday", "workday") else
               texts.CALENDAR_NAME_LONG if len(name) > NAME_MAX else None)
    if problem:
        return _refuse(request, s, me, at, problem, values)
    workdays.set_day(s, when, kind == "workday", name)
    return _back("day", day=when.isoformat(), kind=kind, year=when.year)


@router.post("/days/{day}/remove")
def remove_day(request: Request, day: DayPath, me: Signed = ME, s: Session = DB,
               at: datetime = Depends(now)) -> Response:
    _keeper(me)
    if not workdays.remove_day(s, day):
        return _settings_view(request, s, me, at, year=str(day.year),
                              problem=texts.CALENDAR_NOT_THERE.format(day=day), status=404)
    return _back("day_removed", day=day.isoformat(), year=day.year)


@router.post("/periods")
def add_period(request: Request, name: str = Form(""), starts_on: str = Form(""), ends_on: str = Form(""),
               factor: str = Form(""), me: Signed = ME, s: Session = DB, at: datetime = Depends(now)) -> Response:
    _keeper(me)
    values = {"name": name, "starts_on": starts_on, "ends_on": ends_on, "factor": factor}
    try:
        first, last = parse_day(starts_on), parse_day(ends_on)
    except LedgerError as exc:
        return _refuse(request, s, me, at, str(exc), values)
    if first is None or last is None:
        return _refuse(request, s, me, at, texts.PERIOD_DATE_NEEDED, values)
    if len(name.strip()) > NAME_MAX:
        return _refuse(request, s, me, at, texts.CALENDAR_NAME_LONG, values)
    try:
        multiplier = float(factor) if factor.strip() else get_policy(request).sensitive_factor
    except ValueError:
        return _refuse(request, s, me, at, texts.PERIOD_FACTOR, values)
    township = _township(s, me.person)  # a township's office sets its own; county-level people the county's
    try:
        periods.add_period(s, name, first, last, multiplier, township.id if township else periods.EVERYWHERE)
    except periods.PeriodError as exc:
        return _refuse(request, s, me, at, str(exc), values)
    return _back("period")


@router.post("/periods/{period_id}/remove")
def remove_period(request: Request, period_id: Annotated[int, Path(ge=1, le=2**31 - 1)], me: Signed = ME,
                  s: Session = DB, at: datetime = Depends(now)) -> Response:
    _keeper(me)
    township = _township(s, me.person)
    if not periods.remove_period(s, period_id, township.id if township else periods.EVERYWHERE):
        # the county's or another township's period is not this office's to remove: as if it were not there
        return _settings_view(request, s, me, at, problem=texts.PERIOD_NOT_THERE, status=404)
    return _back("period_removed")


# -- 全部退出: a person signed out of every browser --------------------------------------------

@router.post("/signout")
def sign_out_everywhere(request: Request, who: str = Form(""), me: Signed = ME, s: Session = DB,
                        at: datetime = Depends(now)) -> Response:
    """The office ends every console session of one of its people (a lost phone, a shared computer)."""
    _keeper(me)
    values = {"who": who}
    township = _township(s, me.person)
    inside = people.subtree(s, township.id) if township else None
    found = [p for p in people.find(s, who[:64]) if inside is None or p.unit_id in inside] if who.strip() else []
    if len(found) != 1:
        problem = (texts.SIGNOUT_WHO_NEEDED if not who.strip() else
                   texts.SIGNOUT_NOT_FOUND.format(who=who.strip()[:64]) if not found else
                   texts.SIGNOUT_AMBIGUOUS.format(who=who.strip()[:64], n=len(found)))
        return _refuse(request, s, me, at, problem, values)
    person = found[0]
    ended = console_session.end_everywhere(s, person.id)
    if person.id == me.person.id:  # this browser too
        response = RedirectResponse("/console/bye", status_code=303)
        console_session.end(s, response, me)
        return response
    return _settings_view(request, s, me, at, done=texts.SIGNOUT_DONE.format(name=person.name, n=ended))


# -- the roster import ---------------------------------------------------------------------

def _township(s: Session, person: Person) -> Unit | None:
    """The township whose roster the person keeps; None for county-level people (the whole roster)."""
    seen = viewer(s, person)
    return None if seen.county or seen.township_id is None else s.get(Unit, seen.township_id)


def _fingerprint(data: bytes, skip_bad_rows: bool) -> str:
    """What was checked: the file and the choice to skip bad rows. Applying needs the same."""
    return hashlib.sha256(b"%d:" % skip_bad_rows + data).hexdigest()


@router.get("/roster")
def roster_page(request: Request, me: Signed = ME, s: Session = DB) -> Response:
    _keeper(me)
    return _roster_view(request, s, me)


def _roster_view(request: Request, s: Session, me: Signed, *, report=None, checked: str = "",
                 applied: bool = False, problem: str | None = None, status: int = 200,
                 skip_bad_rows: bool = False) -> Response:
    township = _township(s, me.person)
    summary = None
    if report is not None and not report.refused:
        counts = {k: getattr(report, k) for k in ("created", "updated", "unchanged", "deactivated")}
        summary = (texts.ROSTER_APPLIED if applied else texts.ROSTER_CHECK_OK).format(**counts)
        if report.errors:
            summary += texts.ROSTER_CHECK_SKIPS.format(n=report.bad_rows)
    elif report is not None:
        problem = texts.ROSTER_CHECK_REFUSED.format(n=len(report.errors))
    return page(request, "roster.html", {
        "township": township.name if township else None, "errors": _rows(report.errors) if report else [],
        "summary": summary, "checked": checked, "applied": applied, "problem": problem,
        "skip_bad_rows": skip_bad_rows,
    }, status=status, me=me)


def _rows(errors: list[RowError]) -> list[dict]:
    return [{"row": e.row or "", "column": e.column, "reason": e.reason} for e in errors]


@router.post("/roster")
def roster_import(request: Request, file: UploadFile | None = File(None), mode: str = Form("check"),
                  skip_bad_rows: str = Form(""), checked: str = Form(""), me: Signed = ME,
                  s: Session = DB) -> Response:
    """检查 (a dry run: every bad row, and what importing would do) or 导入 (the checked file, applied)."""
    _keeper(me)
    skip = skip_bad_rows == "1"
    data = file.file.read() if file is not None and file.filename else b""
    if not data:
        return _roster_view(request, s, me, problem=texts.ROSTER_FILE_NEEDED, status=422, skip_bad_rows=skip)
    fingerprint = _fingerprint(data, skip)
    apply = mode == "apply"
    if apply and checked != fingerprint:
        return _roster_view(request, s, me, problem=texts.ROSTER_NOT_CHECKED, status=409, skip_bad_rows=skip)
    report = import_roster(s, file.filename, data, skip_bad_rows=skip, township=_township(s, me.person),
                           dry_run=not apply)
    return _roster_view(request, s, me, report=report, applied=apply and not report.refused,
                        checked=fingerprint if not apply and not report.refused else "",
                        status=422 if report.refused else 200, skip_bad_rows=skip)
