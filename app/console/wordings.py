"""Wording pages: the guided draft, approval by the signed-in leader, publishing, and who replied 收到.

All through handlers/wording.py as the signed-in person: its refusals (role, area, state) are shown.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlmodel import Session

from app.deps import DB, get_policy, get_tz, now
from app.console.pages import visible_case, page
from app.console.session import ME, Refused, Signed
from handlers import org, texts, wording
from models import Case, Person, Unit, Wording, WordingVersion
from models.org import COUNTY, TOWNSHIP, VILLAGE

router = APIRouter(prefix="/console/wordings", include_in_schema=False)
Number = Annotated[int, Path(ge=1, le=2**31 - 1)]  # a row id: anything larger is not one (and overflows SQLite)
STATUS = {wording.Refusal.FORBIDDEN: 403, wording.Refusal.STATE: 409, wording.Refusal.INPUT: 422,
          wording.Refusal.MISSING: 404}


@router.get("")
def wordings_page(request: Request, me: Signed = ME, s: Session = DB) -> Response:
    managed = [v for v in wording.managed(s, me.person, limit=50) if wording.may_see(s, me.person, v)]
    in_force = [v for v in wording.in_force(s, me.person) if v.id not in {m.id for m in managed}]
    tally = wording.counts(s, [v.id for v in managed + in_force])
    return page(request, "wordings.html", {"managed": managed, "in_force": in_force, "tally": tally,
                                           "may_draft": bool(me.roles & wording.DRAFTERS)}, me=me)


def _area(s: Session, person: Person) -> list[Unit]:
    """The units a drafter may address: their township and its villages (county staff: the county's townships too)."""
    home = s.get(Unit, person.unit_id)
    if home.kind == COUNTY:
        townships = list(s.scalars(select(Unit).where(Unit.kind == TOWNSHIP).order_by(Unit.id)))
        return [home, *townships]
    township = home if home.kind == TOWNSHIP else s.get(Unit, home.parent_id)
    return [township, *s.scalars(select(Unit).where(Unit.kind == VILLAGE, Unit.parent_id == township.id)
                                 .order_by(Unit.id))]


def _form(request: Request, s: Session, me: Signed, values: dict, problem: str | None = None,
          status: int = 200) -> Response:
    if not me.roles & wording.DRAFTERS:
        raise Refused((texts.CONSOLE_TITLE, texts.WORDING_ONLY["拟口径"]))
    return page(request, "wording_new.html", {
        "area": _area(s, me.person), "roles": org.ROLES, "questions": texts.WORDING_QUESTIONS,
        "values": values, "problem": problem, "max_title": wording.MAX_TITLE, "max_body": wording.MAX_BODY,
    }, status=status, me=me)


@router.get("/new")
def new_page(request: Request, case: str = "", me: Signed = ME, s: Session = DB) -> Response:
    if case:
        visible_case(s, me, case)
    return _form(request, s, me, {"case": case, "units": [], "roles": list(wording.DEFAULT_ROLES)})


@router.post("")
def create(request: Request, title: str = Form(""), facts: str = Form(""), measures: str = Form(""),
           next_steps: str = Form(""), contact: str = Form(""), units: list[str] = Form(default=[]),
           roles: list[str] = Form(default=[]), case: str = Form(""), me: Signed = ME, s: Session = DB,
           at: datetime = Depends(now)) -> Response:
    values = {"title": title, "facts": facts, "measures": measures, "next_steps": next_steps, "contact": contact,
              "units": units, "roles": roles, "case": case}
    on_case = visible_case(s, me, case) if case else None
    allowed = {str(u.id): u.id for u in _area(s, me.person)}
    unit_ids = tuple(allowed[u] for u in units if u in allowed)
    if not unit_ids:
        return _form(request, s, me, values, texts.CONSOLE_WORDING_NO_AUDIENCE, 422)
    body = texts.wording_body(facts.strip(), measures.strip(), next_steps.strip(), contact.strip())
    try:
        version = wording.draft(s, me.person, title, body, wording.audience(unit_ids, roles), at, case=on_case)
    except wording.Refusal as refusal:
        return _form(request, s, me, values, str(refusal), STATUS[refusal.kind])
    return RedirectResponse(f"/console/wordings/{version.wording_id}?done=draft", status_code=303)


def _shown(s: Session, me: Signed, number: int) -> WordingVersion:
    version = wording.shown(s, me.person, number)
    if version is None:
        raise Refused(texts.CONSOLE_WORDING_NOT_FOUND, status=404, number=number)
    return version


def _view(request: Request, s: Session, me: Signed, version: WordingVersion, done: str | None = None,
          problem: str | None = None, status: int = 200) -> Response:
    tz = get_tz(request)
    rows = wording.recipients(s, version)
    events = wording.history(s, version)
    names = dict(s.execute(select(Person.id, Person.name)).all())
    case_id = s.get(Wording, version.wording_id).case_id
    return page(request, "wording.html", {
        "v": version, "units": wording.unit_names(s, version.unit_ids),
        "case": s.get(Case, case_id) if case_id else None,
        "recipients": [{"name": p.name, "acked": r.acknowledged_at.astimezone(tz) if r.acknowledged_at else None,
                        "reminded": r.reminded_at is not None, "reachable": r.reachable} for p, r in rows],
        "acked": sum(1 for _, r in rows if r.acknowledged_at),
        "events": [{"at": e.at.astimezone(tz), "who": names.get(e.actor_id, texts.CONSOLE_SYSTEM), "action": e.action,
                    "note": e.note} for e in events],
        "may_approve": version.status == "draft" and bool(me.roles & wording.APPROVERS),
        "may_publish": version.status == "approved" and bool(me.roles & wording.PUBLISHERS),
        "may_remind": version.status == "published" and bool(me.roles & wording.PUBLISHERS)
        and any(r.acknowledged_at is None and r.reachable for _, r in rows),
        "done": done, "problem": problem,
    }, status=status, me=me)


@router.get("/{number}")
def wording_page(request: Request, number: Number, me: Signed = ME, s: Session = DB) -> Response:
    version = _shown(s, me, number)
    done = request.query_params.get("done")
    message = texts.CONSOLE_WORDING_DONE.get(done) if done in ("draft", "approve") else None
    if done == "publish" and request.query_params.get("people", "").isdigit():
        message = texts.CONSOLE_WORDING_DONE["publish"].format(people=request.query_params["people"],
                                                       chats=request.query_params.get("chats", "0"))
    if done == "remind" and request.query_params.get("n", "").isdigit():
        message = texts.CONSOLE_WORDING_DONE["remind"].format(
            n=request.query_params["n"], minutes=int(wording.REMIND_AGAIN_AFTER.total_seconds() // 60))
    return _view(request, s, me, version, done=message)


def _act(request: Request, s: Session, me: Signed, number: int, act: Callable[[], str]) -> Response:
    """Do one wording action as the signed-in person (after checking they may see it): a refusal is shown
    on the wording's page with its status; done, back to the page with `act`'s query saying what was done."""
    version = _shown(s, me, number)
    try:
        query = act()
    except wording.Refusal as refusal:
        return _view(request, s, me, version, problem=str(refusal), status=STATUS[refusal.kind])
    return RedirectResponse(f"/console/wordings/{number}?{query}", status_code=303)


@router.post("/{number}/approve")
def approve(request: Request, number: Number, me: Signed = ME, s: Session = DB, at: datetime = Depends(now)) -> Response:
    def act() -> str:
        wording.approve(s, number, me.person, at)  # recorded under the leader who clicked
        return "done=approve"
    return _act(request, s, me, number, act)


@router.post("/{number}/publish")
def publish(request: Request, number: Number, me: Signed = ME, s: Session = DB, at: datetime = Depends(now)) -> Response:
    def act() -> str:
        sent = wording.publish(s, number, me.person, at, get_policy(request))
        return f"done=publish&people={sent.people}&chats={sent.chats}"
    return _act(request, s, me, number, act)


@router.post("/{number}/remind")
def remind(request: Request, number: Number, me: Signed = ME, s: Session = DB, at: datetime = Depends(now)) -> Response:
    """提醒未确认: the wording reminder, now, to whoever has not replied 收到 (handlers/wording.py)."""
    return _act(request, s, me, number,
                lambda: f"done=remind&n={wording.remind_pending(s, number, me.person, at, get_policy(request))}")
