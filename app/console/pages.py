"""The console's pages: rendering, refusals as pages, the inbox and the case page with its actions.

Every page loads the signed-in person (app/console/session.py) and asks the domain through the same
handler functions as chat: `cases.may_see` for what is shown, `cases.act` / `cases.reclassify` /
`followup.record` for what is done — recorded under the person's name.
"""

from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import or_, select
from starlette.exceptions import HTTPException as StarletteHTTPException
from sqlmodel import Session

from app.deps import DB, get_clock, get_demo_clock, get_policy, get_rules, get_tz, now
from app.console.session import ME, Refused, Signed, SignInNeeded
from handlers import cases, followup, inbox, org, texts, wording
from handlers.access import case_scope, sees_reporter, viewer
from handlers.ledger import SATISFACTION, LedgerError, parse_day
from handlers.org import CATEGORIES, DEPARTMENTS, SEVERITIES
from models import Case, ChatIdentity, ChatTarget, Job, OutboxMessage, Person, Unit
from models.cases import OPEN
from models.org import COUNTY, VILLAGE
from models.learning import OFFICE_CONSOLE
from models.outbox import TEXTCARD, Card

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
CASE_ACTIONS = (cases.ACK, cases.FEEDBACK, cases.MEET, cases.CLOSE, cases.SUPERVISE)
RECLASSIFY, FOLLOW_UP = cases.RECLASSIFY, cases.FOLLOW_UP
# The office's desk (ledger, figures, dead letters): the office and its leaders.
DESK_ROLES = frozenset({org.OFFICE, org.LEADER_IN_CHARGE, org.MAIN_LEADER})

router = APIRouter(prefix="/console", include_in_schema=False)


def page(request: Request, name: str, context: dict, status: int = 200, me: Signed | None = None) -> HTMLResponse:
    values = {"texts": texts, "me": me, "demo_clock": get_demo_clock(request),
              "at_the_desk": me is not None and bool(me.roles & DESK_ROLES),
              "local_now": get_clock(request).now().astimezone(get_tz(request)), **context}
    return templates.TemplateResponse(request, name, values, status_code=status)


def install(app) -> None:
    """Mount the console: its static files (htmx, CSS — vendored, no CDN) and its refusal pages."""
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")

    async def sign_in(request: Request, _exc: SignInNeeded) -> Response:
        target = "/console/login?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""),
                                                safe="")
        if request.method == "GET" and "hx-request" not in request.headers:
            return RedirectResponse(target, status_code=303)
        # htmx follows no cross-site redirect: it navigates the whole page instead.
        return HTMLResponse("", status_code=401, headers={"HX-Redirect": target})

    async def refused(request: Request, exc: Refused) -> Response:
        return page(request, "message.html", {"title": exc.title, "message": exc.message}, status=exc.status)

    async def malformed(request: Request, exc: RequestValidationError) -> Response:
        if not request.url.path.startswith("/console"):  # the admin API keeps FastAPI's JSON 422
            return await request_validation_exception_handler(request, exc)
        return page(request, "message.html", {"title": texts.CONSOLE_INPUT_BAD[0], "message": texts.CONSOLE_MALFORMED}, status=422)

    async def missing(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code != 404 or not request.url.path.startswith("/console"):
            return await http_exception_handler(request, exc)
        return page(request, "message.html", {"title": texts.CONSOLE_NOT_FOUND[0], "message": texts.CONSOLE_NOT_FOUND[1]}, status=404)

    app.add_exception_handler(SignInNeeded, sign_in)
    app.add_exception_handler(Refused, refused)
    app.add_exception_handler(RequestValidationError, malformed)
    app.add_exception_handler(StarletteHTTPException, missing)


# -- inbox ------------------------------------------------------------------------------------

@router.get("")
def inbox_page(request: Request, tab: str = "all", village: str = "", category: str = "", status: str = "",
               q: str = "",
               me: Signed = ME, s: Session = DB, at: datetime = Depends(now)) -> Response:
    start, end = request.query_params.get("from", ""), request.query_params.get("to", "")  # reserved words
    problem = None
    try:
        filters = inbox.Filters(
            tab=tab if tab in inbox.TABS else "all",
            village_id=int(village) if village.isdecimal() and len(village) < 10 else None,
            category=category if category in CATEGORIES else None,
            status=status if status in texts.STATUS else None,
            start=parse_day(start), end=parse_day(end), words=q[:100])
        rows, more = inbox.listing(s, me.person, filters, at, get_tz(request))
    except LedgerError as exc:  # a bad date: say which, show nothing
        problem, rows, more = str(exc), [], False
        filters = inbox.Filters(tab=tab if tab in inbox.TABS else "all")
    return page(request, "inbox.html", {
        "rows": [_row(s, r, at) for r in rows], "more": more, "filters": filters, "problem": problem,
        "villages": _villages(s, me.person), "categories": CATEGORIES,
        "may_supervise": bool(me.roles & cases.MAY_BY_ROLE[cases.SUPERVISE]), "raw": {"from": start, "to": end, "q": q},
        "done": texts.CONSOLE_BULK_DONE.format(n=request.query_params["n"]) if request.query_params.get("n", "").isdigit() else None,
    }, status=422 if problem else 200, me=me)


def _row(s: Session, row: inbox.Row, at: datetime) -> dict:
    return {"case": row.case, "place": cases.place(s, row.case), "overdue": row.overdue,
            **_left(row.next_deadline, at)}


def _left(deadline, at: datetime) -> dict:
    """The time left on a deadline, and its colour: red past due, amber under a quarter of the window."""
    if deadline is None:
        return {"left": texts.CONSOLE_NO_DEADLINE, "tone": "none", "kind": None}
    seconds = (deadline.due_at - at).total_seconds()
    window = (deadline.due_at - (deadline.started_at or deadline.due_at)).total_seconds()
    if seconds < 0:
        tone, text = "late", texts.CONSOLE_OVERDUE_BY.format(left=texts.time_left(int(abs(seconds) // 60)))
    else:
        tone = "soon" if window <= 0 or seconds < window / 4 else "ok"
        text = texts.CONSOLE_LEFT.format(left=texts.time_left(int(abs(seconds) // 60)))
    return {"left": text, "tone": tone, "kind": texts.DEADLINE_KIND.get(deadline.kind, deadline.kind)}


def _villages(s: Session, person: Person) -> list[Unit]:
    """The villages of the person's township (county-level people: all)."""
    home = s.get(Unit, person.unit_id)
    query = select(Unit).where(Unit.kind == VILLAGE).order_by(Unit.id)
    if home.kind != COUNTY:
        township = home.id if home.kind == "township" else home.parent_id
        query = query.where(Unit.parent_id == township)
    return list(s.scalars(query))


@router.post("/cases/supervise")
def bulk_supervise(request: Request, codes: list[str] = Form(default=[]), note: str = Form(""), me: Signed = ME,
                   s: Session = DB, at: datetime = Depends(now)) -> Response:
    """督办 several cases at once; each goes through the same checks as one, the refusals are listed."""
    if not codes:
        return page(request, "message.html", {"title": texts.CONSOLE_TABS["supervised"], "message": texts.CONSOLE_BULK_NONE,
                                              "back": "/console"}, status=422, me=me)
    done, refused = 0, []
    for code in dict.fromkeys(codes):
        try:
            cases.act(s, me.person, code, cases.SUPERVISE, note.strip()[:500], at, get_policy(request))
            done += 1
        except cases.Refusal as refusal:
            refused.append(texts.CONSOLE_BULK_REFUSED.format(code=code, reason=refusal))
    if refused:
        return page(request, "message.html", {"title": texts.CONSOLE_BULK_DONE.format(n=done), "message": "\n".join(refused),
                                              "back": "/console?tab=supervised"}, status=409, me=me)
    return RedirectResponse(f"/console?tab=supervised&n={done}", status_code=303)


# -- the case page ------------------------------------------------------------------------------

def visible_case(s: Session, me: Signed, code: str) -> Case:
    code = cases.typed_code(code)
    case = cases.find(s, code)
    if case is None or not cases.may_see(s, me.person, case):
        raise Refused(texts.CONSOLE_CASE_NOT_FOUND, status=404, code=code)
    return case


@router.get("/cases/{code}")
def case_page(request: Request, code: str, me: Signed = ME, s: Session = DB, at: datetime = Depends(now)) -> Response:
    case = visible_case(s, me, code)
    done = request.query_params.get("done")
    return _case_view(request, s, me, case, at, done=texts.CONSOLE_DONE.get(done) if done else None)


def _case_view(request: Request, s: Session, me: Signed, case: Case, at: datetime, *, done: str | None = None,
               problem: str | None = None, status: int = 200) -> Response:
    tz = get_tz(request)
    names = dict(s.execute(select(Person.id, Person.name)).all())
    hide = not sees_reporter(viewer(s, me.person), case_scope(s, case))

    def who(person_id: int | None) -> str:
        if person_id is None:
            return texts.CONSOLE_SYSTEM
        if hide and person_id == case.reporter_id:
            return texts.REPORTER_HIDDEN
        return names.get(person_id, "?")

    deadlines = [{"d": d, "due": d.due_at.astimezone(tz), **(_left(d, at) if d.status == "pending" else {})}
                 for d in cases.deadlines(s, case)]
    in_force = wording.for_case(s, me.person, case)
    return page(request, "case.html", {
        "case": case, "place": cases.place(s, case), "reporter": who(case.reporter_id),
        "events": [{"at": e.at.astimezone(tz), "who": who(e.actor_id), "action": e.action, "note": e.note}
                   for e in cases.history(s, case)],
        "deadlines": deadlines, "members": [(p.name, texts.DUTY.get(d, d)) for p, d in cases.members(s, case)],
        "told": _told(s, case, tz, who, me.person.id if hide else None), "actions": _actions(s, me, case), "done": done, "problem": problem,
        "categories": CATEGORIES, "departments": DEPARTMENTS, "severities": SEVERITIES,
        "villages": _villages_of(s, case), "satisfaction": SATISFACTION, "wording": in_force,
        "may_draft": bool(me.roles & wording.DRAFTERS), "reclassify": RECLASSIFY, "follow_up": FOLLOW_UP,
    }, status=status, me=me)


def _villages_of(s: Session, case: Case) -> list[Unit]:
    return list(s.scalars(select(Unit).where(Unit.kind == VILLAGE, Unit.parent_id == case.township_id)
                          .order_by(Unit.id)))


def _actions(s: Session, me: Signed, case: Case) -> list[str]:
    """The actions the page offers: those the handler's tables allow this person now (the handler checks again)."""
    duty = cases.duty_of(s, case, me.person)
    offered = [a for a in cases.offered(duty, me.roles, case.status) if a in CASE_ACTIONS]
    if org.OFFICE in me.roles:
        if case.status in OPEN:
            offered.append(RECLASSIFY)
        if case.status in cases.TRANSITIONS[cases.FOLLOW_UP]:
            offered.append(FOLLOW_UP)
    return offered


def _told(s: Session, case: Case, tz, who, only_own_bodies: int | None) -> list[dict]:
    """Who was told what and when: the case's outbox rows (cards, reminders, escalations, follow-ups).

    The cards of the office, leaders and 纪委 name the reporter: a viewer who may not know the reporter
    (`only_own_bodies`, their person id) reads only what was sent to them, and of the rest its kind."""
    job_ids = s.scalars(select(Job.id).where(Job.case_id == case.id)).all()
    keyed = [OutboxMessage.idempotency_key.contains(f":{case.code}", autoescape=True)]
    keyed += [OutboxMessage.idempotency_key.startswith(f"{kind}:{jid}:")
              for jid in job_ids for kind in ("remind", "escalate", "followup")]
    rows = s.scalars(select(OutboxMessage).where(or_(*keyed)).order_by(OutboxMessage.id)).all()
    people = {(c, e): pid for c, e, pid in s.execute(
        select(ChatIdentity.channel, ChatIdentity.external_id, ChatIdentity.person_id).where(
            ChatIdentity.external_id.in_({r.recipient for r in rows})))}
    chats = {(t.kind, t.key): t.unit_id for t in s.scalars(select(ChatTarget).where(
        ChatTarget.key.in_({r.recipient for r in rows})))}
    units = dict(s.execute(select(Unit.id, Unit.name)).all())
    told = []
    for r in rows:
        to_person = people.get((r.channel, r.recipient))
        if to_person is not None:
            name = who(to_person)
        elif (r.channel, r.recipient) in chats:
            name = texts.CONSOLE_CHAT_OF.format(unit=units.get(chats[(r.channel, r.recipient)], ""))
        else:
            name = "?"
        body = r.body
        if only_own_bodies is not None and to_person != only_own_bodies:
            body = texts.EXPOSURE_WHAT.get(r.idempotency_key.split(":", 1)[0], texts.EXPOSURE_OTHER)
        elif r.msgtype == TEXTCARD:  # a card's body is JSON: show what the person read
            try:
                card = Card.parse(r.body)
                body = f"{card.title}\n{card.description}"
            except ValueError:
                pass
        told.append({"to": name, "channel": texts.CONSOLE_CHANNEL.get(r.channel, r.channel), "body": body,
                     "status": texts.CONSOLE_OUTBOX_STATUS.get(r.status, r.status), "dead": r.status == "dead",
                     "at": r.created_at.astimezone(tz), "sent_at": r.sent_at.astimezone(tz) if r.sent_at else None})
    return told


@router.post("/cases/{code}/act")
def act(request: Request, code: str, action: str = Form(...), note: str = Form(""), me: Signed = ME,
        s: Session = DB, at: datetime = Depends(now)) -> Response:
    case = visible_case(s, me, code)
    if action not in CASE_ACTIONS:
        return _case_view(request, s, me, case, at, problem=texts.CONSOLE_UNKNOWN_ACTION.format(action=action[:20]), status=422)
    try:
        cases.act(s, me.person, case.code, action, note.strip()[:500], at, get_policy(request))
    except cases.Refusal as refusal:
        return _case_view(request, s, me, case, at, problem=str(refusal), status=409)
    return RedirectResponse(f"/console/cases/{case.code}?done={quote(action)}", status_code=303)


@router.post("/cases/{code}/reclassify")
def reclassify(request: Request, code: str, reason: str = Form(""), category: str = Form(""),
               lead_department: str = Form(""), severity: str = Form(""), urgent: str = Form(""),
               online: str = Form(""), involves_cadre: str = Form(""), village: str = Form(""),
               me: Signed = ME, s: Session = DB, at: datetime = Depends(now)) -> Response:
    """The office corrects the labels with a reason; the case is routed again (cases.reclassify)."""
    case = visible_case(s, me, code)
    if RECLASSIFY not in _actions(s, me, case):
        return _case_view(request, s, me, case, at, problem=texts.CONSOLE_RECLASSIFY_NOT_YOURS.format(code=case.code),
                          status=403)
    changes: dict = {}
    picks = {"category": (category, CATEGORIES), "lead_department": (lead_department, DEPARTMENTS),
             "severity": (severity, SEVERITIES)}
    for key, (value, allowed) in picks.items():
        if value and value in allowed:
            changes[key] = value
        elif value:
            return _case_view(request, s, me, case, at, status=422, problem=texts.CONSOLE_PICK_BAD.format(
                field=texts.FIELD.get(key, key), value=value[:20]))
    for key, value in (("urgent", urgent), ("online", online), ("involves_cadre", involves_cadre)):
        if value in (texts.YES, texts.NO):
            changes[key] = value == texts.YES
    if village:
        allowed_villages = {str(u.id): u.id for u in _villages_of(s, case)}
        if village not in allowed_villages:
            return _case_view(request, s, me, case, at, status=422, problem=texts.CONSOLE_PICK_BAD.format(
                field=texts.FIELD["village_id"], value=village[:20]))
        changes["village_id"] = allowed_villages[village]
    changes = {k: v for k, v in changes.items() if getattr(case, k) != v}
    reason = reason.strip()[:200]
    if not reason:
        return _case_view(request, s, me, case, at, problem=texts.CONSOLE_REASON_NEEDED, status=422)
    if not changes:
        return _case_view(request, s, me, case, at, problem=texts.CONSOLE_NOTHING_CHANGED, status=422)
    # The corrected labels become a labelled example for the classifier (handlers/learning.py).
    cases.reclassify(s, case, changes, me.person, at, get_policy(request), get_rules(request), reason=reason,
                     source=OFFICE_CONSOLE)
    if not cases.may_see(s, me.person, case):  # e.g. now out of the office's township: back to the inbox
        return RedirectResponse("/console", status_code=303)
    return RedirectResponse(f"/console/cases/{case.code}?done={quote(RECLASSIFY)}", status_code=303)


@router.post("/cases/{code}/followup")
def record_followup(request: Request, code: str, satisfaction: str = Form(""), note: str = Form(""),
                    me: Signed = ME, s: Session = DB, at: datetime = Depends(now)) -> Response:
    case = visible_case(s, me, code)
    try:
        followup.record(s, me.person, case.code, satisfaction, note.strip()[:500], at, get_policy(request))
    except cases.Refusal as refusal:
        return _case_view(request, s, me, case, at, problem=str(refusal), status=409)
    return RedirectResponse(f"/console/cases/{case.code}?done={quote(FOLLOW_UP)}", status_code=303)

