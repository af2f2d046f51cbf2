"""Unified wording in chat: `口径`, `口径 编号`, `口径 CODE` and `收到` for everyone; drafting,
reviewing, approving, publishing and listing for the roles handlers/wording.py allows.

The guided draft is part of the conversation state machine (bot/conversation.py), asking
facts → measures → next steps → contact in that order, then the audience:

    state         input           → effect / next state
    idle          拟口径 [CODE] [标题] → ask facts                       → wd_facts
    idle          修订口径 N      → ask facts (title and audience kept)  → wd_facts
    wd_facts      text            → ask measures                          → wd_measures
    wd_measures   text            → ask next steps                        → wd_next
    wd_next       text            → ask contact                           → wd_contact
    wd_contact    text            → ask audience (a revision: summary)    → wd_scope | wd_confirm
    wd_scope      places, roles   → summary (unknown place: ask again)    → wd_confirm
    wd_confirm    确认            → draft saved, leaders told             → idle
    any wd_*      修改            → ask facts                             → wd_facts
    any wd_*      取消            → drop the draft                        → idle
"""

import re
from datetime import datetime

from sqlmodel import Session

from bot.commands import CODE, code
from bot.inbound import InboundMessage
from handlers import cases, intake, texts, wording
from handlers.access import viewer
from handlers.org import ROLES
from handlers.policy import Policy
from handlers.wording import Audience, Refusal
from models import Conversation, Person
from models.wording import DRAFT, WordingVersion

FACTS, MEASURES, NEXT, CONTACT, SCOPE, CONFIRM = (
    "wd_facts", "wd_measures", "wd_next", "wd_contact", "wd_scope", "wd_confirm")
ANSWERS = (FACTS, MEASURES, NEXT, CONTACT)
DRAFTING = frozenset((*ANSWERS, SCOPE, CONFIRM))
IDLE = "idle"

CASE_CODE = re.compile(rf"^({CODE})\s*(.*)$", re.S)
SEPARATORS = re.compile(r"[、，,；;\s]+")
STAFF = wording.DRAFTERS | wording.APPROVERS | wording.PUBLISHERS


class WordingChat:
    def __init__(self, policy: Policy):
        self.policy = policy
        self.tz = policy.tz

    # -- commands (each declared in the conversation's registry, bot/conversation.py) ----------
    def acknowledge(self, session: Session, person: Person, now: datetime) -> str:
        version = wording.acknowledge(session, person, now)
        if version is None:
            return texts.NO_PENDING_WORDING
        return texts.WORDING_ACKNOWLEDGED.format(number=version.wording_id, version=version.version)

    def manage(self, session: Session, person: Person, convo: Conversation, action: str, arg: str,
                now: datetime) -> str:
        arg = arg.strip()
        if action == "拟口径":
            return self._start(session, person, convo, arg, now)
        if not arg.isdigit():
            return texts.WORDING_NUMBER_USAGE.format(action=action)
        number = int(arg)
        try:
            match action:
                case "修订口径":
                    return self._revise(session, person, convo, number)
                case "审核口径":
                    return self._review(session, person, number)
                case "批准口径":
                    version = wording.approve(session, number, person, now)
                    return texts.WORDING_APPROVED.format(number=number, version=version.version)
                case _:
                    done = wording.publish(session, number, person, now, self.policy)
                    return texts.WORDING_PUBLISHED.format(number=number, version=done.version.version,
                                                          people=done.people, chats=done.chats)
        except Refusal as refusal:
            return str(refusal)

    def _review(self, session: Session, person: Person, number: int) -> str:
        if not wording.may(session, person, wording.APPROVERS):
            raise Refusal(texts.WORDING_ONLY["审核口径"], Refusal.FORBIDDEN)
        version = wording.shown(session, person, number)
        if version is None:
            return texts.NO_SUCH_WORDING.format(what=number)
        hint = "\n" + texts.WORDING_APPROVE_HINT.format(number=number) if version.status == DRAFT else ""
        return _view(version) + hint

    def lookup(self, session: Session, person: Person, arg: str) -> str:
        if not arg:
            found = wording.in_force(session, person)
            if not found:
                return texts.NO_WORDING_IN_FORCE
            return _view(found[0], [(v.wording_id, v.title) for v in found[1:4]])
        if arg.isdigit():
            version = wording.shown(session, person, int(arg))
        elif CASE_CODE.match(arg):
            arg = code(arg)
            case = cases.find(session, arg)
            version = wording.for_case(session, person, case) if case else None
        else:
            return texts.WORDING_USAGE
        return _view(version) if version else texts.NO_SUCH_WORDING.format(what=arg.upper())

    def listing(self, session: Session, person: Person) -> str:
        if not wording.may(session, person, STAFF):
            return texts.WORDING_ONLY["口径列表"]
        found = wording.managed(session, person)
        if not found:
            return texts.WORDING_LIST_EMPTY
        tally = wording.counts(session, [v.id for v in found])
        return texts.wording_list([(v.wording_id, v.version, v.status, v.title, *tally.get(v.id, (0, 0)))
                                   for v in found])

    # -- the guided draft ----------------------------------------------------------------------
    def _start(self, session: Session, person: Person, convo: Conversation, arg: str, now: datetime) -> str:
        if not wording.may(session, person, wording.DRAFTERS):
            return texts.WORDING_ONLY["拟口径"]
        if convo.state not in DRAFTING and convo.state != IDLE:
            return texts.WORDING_INTAKE_BUSY
        case_code, title = None, arg
        on_case = CASE_CODE.match(arg)
        if on_case:
            case_code, title = code(on_case.group(1)), on_case.group(2).strip()
            case = cases.find(session, case_code)
            if case is None or not cases.may_see(session, person, case):
                return texts.NO_SUCH_CASE.format(code=case_code)
        if not title:
            title = f"关于{case_code}的口径" if case_code else f"{now.astimezone(self.tz):%m月%d日}统一口径"
        if len(title) > wording.MAX_TITLE:
            return texts.WORDING_TITLE_BAD.format(limit=wording.MAX_TITLE)
        return self._begin(convo, {"title": title, "case": case_code, "revises": None, "units": [], "roles": []})

    def _revise(self, session: Session, person: Person, convo: Conversation, number: int) -> str:
        if not wording.may(session, person, wording.DRAFTERS):
            return texts.WORDING_ONLY["修订口径"]
        if convo.state not in DRAFTING and convo.state != IDLE:
            return texts.WORDING_INTAKE_BUSY
        latest = wording.shown(session, person, number)
        if latest is None:
            return texts.NO_SUCH_WORDING.format(what=number)
        return self._begin(convo, {"title": latest.title, "case": None, "revises": number,
                                   "units": latest.unit_ids, "roles": latest.roles})

    def _begin(self, convo: Conversation, draft: dict) -> str:
        convo.state, convo.draft = FACTS, {**draft, "answers": []}
        return texts.wording_question(0, _steps(convo.draft))

    def step(self, session: Session, person: Person, convo: Conversation, msg: InboundMessage, text: str,
             now: datetime) -> str:
        """The next move of a guided draft (the conversation is in one of DRAFTING)."""
        draft = convo.draft
        if text == texts.CANCEL_WORD:
            _reset(convo)
            return texts.WORDING_CANCELLED
        if text == texts.EDIT_WORD:
            return self._begin(convo, draft)
        if convo.state == CONFIRM:
            if text == texts.CONFIRM_WORD:
                return self._save(session, person, convo, now)
            return self._summary(session, draft)
        if msg.kind != "text" or not text or text == texts.CONFIRM_WORD:
            prefix = texts.WORDING_TEXT_ONLY + "\n" if msg.kind != "text" else ""
            return prefix + self._question(convo)
        if convo.state == SCOPE:
            return self._scope(session, person, convo, text)
        answers = [*draft["answers"], text]
        body = _body(answers)
        if len(body) > wording.MAX_BODY:
            left = wording.MAX_BODY - len(_body(draft["answers"] + [""]))
            return texts.WORDING_TOO_LONG.format(limit=wording.MAX_BODY, left=max(left, 0))
        convo.draft = {**draft, "answers": answers}
        if len(answers) < len(ANSWERS):
            convo.state = ANSWERS[len(answers)]
            return self._question(convo)
        if draft["revises"]:  # a revision keeps its audience
            convo.state = CONFIRM
            return self._summary(session, convo.draft)
        convo.state = SCOPE
        return self._question(convo)

    def _question(self, convo: Conversation) -> str:
        step = ANSWERS.index(convo.state) if convo.state in ANSWERS else len(ANSWERS)
        return texts.wording_question(step, _steps(convo.draft))

    def _scope(self, session: Session, person: Person, convo: Conversation, text: str) -> str:
        who = viewer(session, person)
        home = who.township_id if who.township_id is not None else person.unit_id
        words = [w for w in SEPARATORS.split(text) if w]
        roles = [w for w in words if w in ROLES]
        places = [str(home) if w in texts.ALL_WORDS else w for w in words if w not in ROLES]
        try:
            chosen = wording.audience(wording.resolve_units(session, places, within=home), roles)
        except Refusal as refusal:
            return str(refusal) + "\n" + self._question(convo)
        convo.draft = {**convo.draft, "units": list(chosen.unit_ids), "roles": list(chosen.roles)}
        convo.state = CONFIRM
        return self._summary(session, convo.draft)

    def _summary(self, session: Session, draft: dict) -> str:
        line = texts.audience_line(wording.unit_names(session, draft["units"]), draft["roles"])
        return texts.wording_summary(draft["title"], _body(draft["answers"]), line)

    def _save(self, session: Session, person: Person, convo: Conversation, now: datetime) -> str:
        draft = convo.draft
        case = cases.find(session, draft["case"]) if draft["case"] else None
        try:
            version = wording.draft(session, person, draft["title"], _body(draft["answers"]),
                                    Audience(tuple(draft["units"]), tuple(draft["roles"])), now,
                                    case=case, revises=draft["revises"])
        except Refusal as refusal:
            return str(refusal)
        _reset(convo)
        return texts.WORDING_SAVED.format(number=version.wording_id, version=version.version)


def _steps(draft: dict) -> int:
    return len(ANSWERS) + (0 if draft["revises"] else 1)


def _body(answers: list[str]) -> str:
    padded = [*answers, *[""] * (len(ANSWERS) - len(answers))]
    return texts.wording_body(*padded)


def _reset(convo: Conversation) -> None:
    convo.state, convo.draft = IDLE, intake.new_draft()


def _view(version: WordingVersion, others: list[tuple[int, str]] = ()) -> str:
    return texts.wording_view(version.wording_id, version.version, version.title, version.body, version.status,
                              list(others))
