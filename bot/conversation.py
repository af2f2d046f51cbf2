"""The chat conversation: an explicit state machine over each person's stored state.

    state        input            → effect / next state
    idle         start word       → ask what happened            → collecting
    idle         content          → add to a new draft, assess    → collecting | confirming
    collecting   content          → add, assess                   → collecting | confirming
    confirming   content          → add, assess, summary again    → collecting | confirming
    collecting   确认             → file if complete, else ask
    confirming   确认             → file, receipt                 → idle
    any          修改             → clear the draft, ask          → collecting
    any          取消             → drop the draft                → idle
    any          case command, 回访, 我的, 待办, 帮助 → answer; the state stays
    idle         wording command  → answer, or start a guided wording draft (bot/wording_chat.py)

While a wording draft is being written only 帮助 and 收到 are commands; any other text answers it.
A draft idle for 30 minutes is kept and offered back with the next message.
Strangers may only bind (Official Account) — see `_stranger`.
"""

import copy
import re
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.inbound import InboundMessage
from bot.wording_chat import DRAFTING, WordingChat
from handlers import binding, cases, followup, intake, org, people, texts
from handlers.binding import Bind
from handlers.classify import Classifier
from handlers.policy import Policy
from models import Conversation, Person

IDLE, COLLECTING, CONFIRMING = "idle", "collecting", "confirming"
DRAFT_IDLE = timedelta(minutes=30)
REPORT_MENU_KEY = "REPORT"

BIND_COMMAND = re.compile(r"^\s*绑定\s*(\d{6})\s*$")
CADRE_CORRECTION = re.compile(r"^\s*涉及村干部\s*[:：]?\s*(\S+)\s*$")
CASE_COMMAND = re.compile(r"^\s*(签收|反馈|约见|办结|督办|进度)\s*(XS-\d{8}-\d{4})?\s*(.*)$", re.S | re.I)
# 回访 CODE 满意 情况 — the level may touch the note ("满意，已电话回访"); longest levels first.
FOLLOWUP_COMMAND = re.compile(r"^\s*回访\s*(XS-\d{8}-\d{4})?\s*(基本满意|不满意|满意)?[\s,，:：]*(.*)$", re.S | re.I)
FOLLOWUP_REPLIES = {
    followup.Recorded.REVIEWED: texts.FOLLOWUP_DONE,
    followup.Recorded.REOPENED: texts.FOLLOWUP_REOPENED,
    followup.Recorded.TOO_LATE: texts.FOLLOWUP_TOO_LATE,
}

BIND_REPLIES = {
    Bind.WRONG: texts.BIND_WRONG,
    Bind.EXPIRED: texts.BIND_EXPIRED,
    Bind.USED: texts.BIND_USED,
    Bind.LOCKED: texts.BIND_LOCKED,
}


class Chat:
    """The dispatcher's handler: (session, message, now) → reply."""

    def __init__(self, classifier: Classifier, policy: Policy):
        self.classifier = classifier
        self.policy = policy
        self.tz = policy.tz
        self.wording = WordingChat(policy)

    def __call__(self, session: Session, msg: InboundMessage, now: datetime) -> str | None:
        if msg.kind == "event" and msg.event == "unsubscribe":
            if msg.channel == "mp":
                binding.unsubscribed(session, msg.sender)
            return None
        caller = people.by_identity(session, msg.channel, msg.sender)
        if caller is None:
            return _stranger(session, msg, now)
        people.seen(session, caller, now)
        person = session.get(Person, caller.person_id)
        convo = session.get(Conversation, person.id) or Conversation(
            person_id=person.id, state=IDLE, draft=intake.new_draft(), updated_at=now)
        session.add(convo)
        resumed = convo.state != IDLE and now - convo.updated_at > DRAFT_IDLE
        reply = self._step(session, person, convo, msg, now)
        convo.updated_at = now
        if resumed and convo.state != IDLE and reply:
            reply = (texts.RESUMED_WORDING if convo.state in DRAFTING else texts.RESUMED) + "\n" + reply
        return reply

    def _step(self, session: Session, person: Person, convo: Conversation, msg: InboundMessage,
              now: datetime) -> str | None:
        text = msg.text.strip() if msg.kind == "text" else ""
        if msg.kind == "event":
            if msg.event == "click" and msg.event_key == REPORT_MENU_KEY:
                return self._start(convo)
            return _help(session, person) if msg.event in ("subscribe", "enter_agent", "click") else None
        if msg.kind == "unknown":
            return texts.UNSUPPORTED
        if text == texts.HELP_WORD:
            return _help(session, person)
        if text == texts.ACK_WORD:
            return self.wording.acknowledge(session, person, now)
        if convo.state in DRAFTING:
            return self.wording.step(session, person, convo, msg, text, now)
        answer = self.wording.command(session, person, convo, text, now)
        if answer is not None:
            return answer
        if text in texts.START_WORDS:
            return self._start(convo)
        if text == texts.CONFIDENTIAL_WORD:
            return self._start_confidential(convo)
        correction = CADRE_CORRECTION.match(text)
        if correction and convo.state != IDLE:
            return self._correct_cadre(session, person, convo, correction.group(1))
        if text == texts.CANCEL_WORD:
            had = convo.state != IDLE
            self._reset(convo, IDLE)
            return texts.CANCELLED if had else texts.NOTHING_TO_CONFIRM
        if text == texts.EDIT_WORD:
            self._reset(convo, COLLECTING)
            return texts.ASK_WHAT
        if text == texts.CONFIRM_WORD:
            return self._confirm(session, person, convo, now)
        if text in (texts.MINE_WORD, texts.TODO_WORD):
            return self._lists(session, person, text)
        if text.startswith("绑定"):
            return texts.ALREADY_BOUND.format(name=person.name)
        command = CASE_COMMAND.match(text)
        if command:
            return self._case_command(session, person, *command.groups(), now=now)
        command = FOLLOWUP_COMMAND.match(text)
        # Without a case code, only office staff mean the command: a tip-off may start with 回访 too.
        if command and (command[1] or _office(session, person)):
            return self._followup(session, person, *command.groups(), now=now)
        return self._content(session, person, convo, msg)

    # -- intake ----------------------------------------------------------------------------
    def _start(self, convo: Conversation) -> str:
        if convo.state == IDLE:
            self._reset(convo, COLLECTING)
        return texts.ASK_WHAT

    def _start_confidential(self, convo: Conversation) -> str:
        if convo.state != IDLE and any(convo.draft.get(k) for k in ("texts", "links", "attachments")):
            return texts.CONFIDENTIAL_BUSY
        convo.state, convo.draft = COLLECTING, intake.new_draft(confidential=True)
        return texts.CONFIDENTIAL_START

    def _content(self, session: Session, person: Person, convo: Conversation, msg: InboundMessage) -> str:
        # A deep copy: the stored draft must not change under SQLAlchemy's feet, or it sees no change.
        draft = copy.deepcopy(convo.draft) if convo.state != IDLE else intake.new_draft()
        pending, draft["pending"] = draft.get("pending"), None
        if pending == "cadre":
            answer = intake.cadre_answer(msg.text) if msg.kind == "text" else None
            # Fails closed: anything but a clear no counts as yes; what is not an answer is content.
            draft["cadre"] = True if answer is None else answer
            if answer is not None:
                return self._assess(session, person, convo, draft)
        elif pending and msg.kind == "text" and intake.bare_answer(msg.text):
            return self._assess(session, person, convo, draft)  # an answer, not part of the description
        _add(draft, msg)
        return self._assess(session, person, convo, draft)

    def _correct_cadre(self, session: Session, person: Person, convo: Conversation, value: str) -> str:
        draft = copy.deepcopy(convo.draft)
        answer = intake.cadre_answer(value)
        if answer is None:
            return texts.CADRE_CORRECTION_USAGE
        draft["cadre"], draft["pending"] = answer, None
        return self._assess(session, person, convo, draft)

    def _assess(self, session: Session, person: Person, convo: Conversation, draft: dict) -> str:
        found = intake.assess(session, draft, person, self.classifier)
        if found.asking in ("online", "crowd"):
            draft["asked"] = [*draft["asked"], found.asking]
        draft["pending"] = found.asking
        convo.draft = draft
        if found.question:
            convo.state = COLLECTING
            return found.question
        convo.state = CONFIRMING
        labels = found.labels
        return texts.summary(labels.category, labels.lead_department, found.place, intake.what(draft),
                             intake.online_line(labels), labels.urgent, labels.involves_cadre,
                             bool(draft.get("confidential")))

    def _confirm(self, session: Session, person: Person, convo: Conversation, now: datetime) -> str:
        if convo.state == IDLE:
            return texts.NOTHING_TO_CONFIRM
        draft = copy.deepcopy(convo.draft)
        if draft.get("pending") == "cadre":  # 确认 is not a clear no: yes — and the summary to confirm
            draft["cadre"], draft["pending"] = True, None
            return self._assess(session, person, convo, draft)
        found = intake.assess(session, draft, person, self.classifier)
        if found.question:
            return self._assess(session, person, convo, draft)
        filing = cases.Filing(
            reporter=person, summary=intake.what(draft), labels=found.labels, village_id=found.village_id,
            links=tuple(found.labels.links) + tuple(u for u in draft["links"] if u not in found.labels.links),
            attachments=tuple(draft["attachments"]), confidential=bool(draft.get("confidential")),
        )
        case = cases.file_case(session, filing, now, self.policy)
        self._reset(convo, IDLE)
        verifiers = [p.name for p, duty in cases.members(session, case) if duty == cases.VERIFY]
        first = cases.first_deadline(session, case)
        due = texts.moment(first.due_at, self.tz)
        return texts.receipt(case.code, case.lead_department, "、".join(verifiers) or None, due, first.kind)

    @staticmethod
    def _reset(convo: Conversation, state: str) -> None:
        convo.state, convo.draft = state, intake.new_draft()

    # -- cases -----------------------------------------------------------------------------
    def _case_command(self, session: Session, person: Person, action: str, code: str | None, note: str,
                      now: datetime) -> str:
        if not code:
            return texts.CASE_USAGE.format(action=action)
        code = code.upper()
        if action == "进度":
            case = cases.find(session, code)
            if case is None or not cases.may_see(session, person, case):
                return texts.NO_SUCH_CASE.format(code=code)
            return self._progress(session, person, case)
        try:
            cases.act(session, person, code, action, note.strip(), now, self.policy)
        except cases.Refusal as refusal:
            return str(refusal)
        return texts.DONE[action].format(code=code)

    def _followup(self, session: Session, person: Person, code: str | None, level: str | None, note: str,
                  now: datetime) -> str:
        if not code or not level:
            return texts.FOLLOWUP_USAGE
        code = code.upper()
        try:
            case, outcome = followup.record(session, person, code, level, note.strip(), now, self.policy)
        except cases.Refusal as refusal:
            return str(refusal)
        window = texts.time_left(int(self.policy.reopen_within.total_seconds() // 60))
        return FOLLOWUP_REPLIES[outcome].format(code=code, level=level, lead=case.lead_department, window=window)

    def _progress(self, session: Session, person: Person, case) -> str:
        return texts.progress(case, cases.place(session, case), cases.timeline(session, person, case, self.tz))

    def _lists(self, session: Session, person: Person, word: str) -> str:
        if word == texts.MINE_WORD:
            rows = [(c.code, texts.STATUS[c.status]) for c in cases.my_reports(session, person)]
            return texts.case_list(texts.MINE_WORD + "：", rows) if rows else texts.NO_REPORTS
        rows = [(c.code, f"{texts.DUTY[duty]}｜{texts.STATUS[c.status]}") for c, duty in cases.my_todo(session, person)]
        return texts.case_list(texts.TODO_WORD + "：", rows) if rows else texts.NO_TODO


def _office(session: Session, person: Person) -> bool:
    return org.OFFICE in people.member(session, person).roles


def _add(draft: dict, msg: InboundMessage) -> None:
    """One chat message into the draft, whatever its kind."""
    match msg.kind:
        case "text":
            intake.add_text(draft, msg.text)
        case "link":
            intake.add_link(draft, msg.link.title, msg.link.description, msg.link.url)
        case "image":
            intake.add_attachment(draft, "image", media_id=msg.media_id, url=msg.pic_url)
        case "voice":
            intake.add_text(draft, msg.text)  # WeChat's Recognition of the voice note
            intake.add_attachment(draft, "voice", media_id=msg.media_id, text=msg.text)
        case "video":
            intake.add_attachment(draft, "video", media_id=msg.media_id)
        case "location":
            loc = msg.location
            intake.add_place(draft, loc.label)
            intake.add_attachment(draft, "location", label=loc.label, latitude=loc.latitude,
                                  longitude=loc.longitude)


def _help(session: Session, person: Person) -> str:
    return texts.help_for(people.member(session, person).roles)


def _stranger(session: Session, msg: InboundMessage, now: datetime) -> str | None:
    """Someone neither bound nor in the roster: one helpful answer, and binding."""
    if msg.channel != "mp":
        return texts.UNKNOWN_WECOM if msg.kind != "event" or msg.event == "enter_agent" else None
    if msg.kind == "event":
        return texts.WELCOME if msg.event == "subscribe" else None
    text = msg.text.strip() if msg.kind == "text" else ""
    if not text.startswith("绑定"):
        return texts.UNKNOWN_SENDER
    command = BIND_COMMAND.match(text)
    if command is None:
        return texts.BIND_HOW
    outcome, person = binding.bind(session, msg.sender, command.group(1), now)
    if outcome is Bind.BOUND:
        return texts.BOUND.format(name=person.name)
    return BIND_REPLIES[outcome]
