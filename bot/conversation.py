"""The chat conversation: an explicit state machine over each person's stored state.

    state        input            → effect / next state
    idle         start word       → ask what happened            → collecting
    idle         content          → add to a new draft, assess    → collecting | confirming
    idle         greeting, emoji, a lone word → a short prompt; no draft
    collecting   answer           → stored as that field's answer, assess → collecting | confirming
    collecting   content          → add, assess                   → collecting | confirming
    confirming   content          → add, assess, summary again    → collecting | confirming
    collecting/confirming  类别/村/紧急/网上/涉及村干部 … → correct that one field, assess again
    collecting   确认             → file if complete, else ask
    confirming   确认             → file, receipt                 → idle
    any          修改             → clear the draft, ask          → collecting
    any          取消             → drop the draft                → idle
    any          case command, 回访, 我的, 待办, 帮助 → answer; the state stays
    idle         wording command  → answer, or start a guided wording draft (bot/wording_chat.py)

Every command is declared once in the registry (bot/commands.py) built by `Chat._commands`; a
message runs the first command that takes it in the current state, else it is content.
While a wording draft is being written only 帮助 and 收到 are commands; any other text answers it.
A draft idle for 30 minutes is kept and offered back with the next message.
Strangers may only bind (Official Account) — see `_stranger`.
"""

import copy
import re
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.commands import CODE, Command, Registry, Turn, code
from bot.inbound import InboundMessage
from bot.wording_chat import DRAFTING, STAFF, WordingChat
from handlers import binding, cases, followup, intake, learning, org, people, texts, todo, wording
from handlers.binding import Bind
from handlers.classify import Classifier
from handlers.classify.combine import Combined
from handlers.lookups import Lookups
from handlers.policy import Policy
from handlers.questions import CADRE, CORRECTION, CORRECTIONS, NotAnAnswer, Question, answer
from models import Conversation, Person
from models.dml import per_dialect

IDLE, COLLECTING, CONFIRMING = "idle", "collecting", "confirming"
CHATTING = frozenset((IDLE, COLLECTING, CONFIRMING))
EVERY_STATE = CHATTING | DRAFTING
DRAFT_IDLE = timedelta(minutes=30)
REPORT_MENU_KEY = "REPORT"

BIND_COMMAND = re.compile(r"^\s*绑定\s*(\d{6})\s*$")
ANY_TEXT = re.compile(r"^.*$", re.S)
# 回访 CODE 满意 情况 — the level may touch the note ("满意，已电话回访"); longest levels first.
FOLLOWUP_COMMAND = re.compile(rf"^\s*回访\s*({CODE})?\s*(基本满意|不满意|满意)?[\s,，:：]*(.*)$", re.S)
FOLLOWUP_REPLIES = {
    followup.Recorded.REVIEWED: texts.FOLLOWUP_DONE,
    followup.Recorded.REOPENED: texts.FOLLOWUP_REOPENED,
    followup.Recorded.TOO_LATE: texts.FOLLOWUP_TOO_LATE,
}


def exactly(*words: str) -> re.Pattern:
    return re.compile("^(?:" + "|".join(map(re.escape, words)) + ")$")


def case_command(word: str) -> re.Pattern:
    """`WORD CODE rest`; the code may be missing (the reply then shows how to write it)."""
    return re.compile(rf"^\s*{word}\s*({CODE})?\s*(.*)$", re.S)


class Chat:
    """The dispatcher's handler: (session, message, now) → reply."""

    def __init__(self, classifier: Combined | Classifier, policy: Policy):
        # A rule table alone is the rules without a model.
        self.classifier = classifier if isinstance(classifier, Combined) else Combined(classifier)
        self.policy = policy
        self.tz = policy.tz
        self.wording = WordingChat(policy)
        self.commands = self._commands()

    def _commands(self) -> Registry:
        """Every chat command, in the order they are tried: the first that takes a message wins."""
        r, line = Registry(), texts.HELP_LINE
        r.add(Command("帮助", exactly(texts.HELP_WORD), self._help, EVERY_STATE, quick=True))
        r.add(Command(texts.ACK_WORD, exactly(texts.ACK_WORD),
                      lambda t, m: self.wording.acknowledge(t.session, t.person, t.now), EVERY_STATE,
                      help=line["收到"], quick=True))
        r.add(Command("拟口径中", ANY_TEXT, lambda t, m: self.wording.step(t.session, t.person, t.convo, t.msg,
                                                                          t.text, t.now), DRAFTING))
        # -- unified wording (bot/wording_chat.py)
        r.add(Command(texts.WORDING_LIST_WORD, exactly(texts.WORDING_LIST_WORD),
                      lambda t, m: self.wording.listing(t.session, t.person), CHATTING,
                      help=line["口径列表"], roles=STAFF, quick=True))
        for action, roles, help_line in (("拟口径", wording.DRAFTERS, line["拟口径"]), ("修订口径", wording.DRAFTERS, None),
                                         ("审核口径", wording.APPROVERS, line["审核口径"]),
                                         ("批准口径", wording.APPROVERS, None),
                                         ("发布口径", wording.PUBLISHERS, line["发布口径"])):
            r.add(Command(action, re.compile(rf"^\s*{action}\s*(.*)$", re.S),
                          lambda t, m, action=action: self.wording.manage(t.session, t.person, t.convo, action,
                                                                          m[1], t.now),
                          CHATTING, help=help_line, roles=roles))
        r.add(Command(texts.LOOKUP_WORD, re.compile(r"^\s*口径\s*(\S*)\s*$"),
                      lambda t, m: self.wording.lookup(t.session, t.person, m[1]), CHATTING, help=line["口径"],
                      quick=True))
        # -- filing a tip-off
        r.add(Command("上报", exactly(*texts.START_WORDS), self._start, CHATTING, help=line["上报"]))
        r.add(Command(texts.CONFIDENTIAL_WORD, exactly(texts.CONFIDENTIAL_WORD), self._start_confidential, CHATTING,
                      help=line["举报"]))
        r.add(Command(texts.CANCEL_WORD, exactly(texts.CANCEL_WORD), self._cancel, CHATTING, help=line["取消"]))
        r.add(Command(texts.EDIT_WORD, exactly(texts.EDIT_WORD), self._edit, CHATTING))
        r.add(Command(texts.CONFIRM_WORD, exactly(texts.CONFIRM_WORD), self._confirm, CHATTING))
        # the office marks a filed case as accusing a village cadre (or not): `涉及村干部 CODE 是|否`
        r.add(Command(texts.CADRE_WORD, re.compile(rf"^\s*涉及村干部\s*({CODE})\s*[:：]?\s*(\S+)\s*$"),
                      self._cadre, CHATTING, help=line["涉及村干部"], roles=frozenset({org.OFFICE})))
        r.add(Command("更正", CORRECTION, self._correct, frozenset({COLLECTING, CONFIRMING})))
        r.add(Command("回答", ANY_TEXT, self._answer, frozenset({COLLECTING}), when=_answers_pending))
        # -- cases
        r.add(Command(texts.MINE_WORD, exactly(texts.MINE_WORD), self._mine, CHATTING, help=line["我的"], quick=True))
        r.add(Command(texts.TODO_WORD, exactly(texts.TODO_WORD), self._todo, CHATTING, help=line["待办"],
                      roles=_roles_with_duties()))
        for action in (*(a for a in cases.CASE_ACTIONS if a != cases.ASSIGN), cases.PROGRESS):
            roles = None if action == cases.PROGRESS else cases.roles_for(action)
            r.add(Command(action, case_command(action),
                          lambda t, m, action=action: self._case_command(t, action, m[1], m[2]),
                          CHATTING, help=line[action], roles=roles, when=_coded_or_theirs(roles),
                          quick=action == cases.PROGRESS))
        r.add(Command(cases.MERGE, re.compile(rf"^\s*合并\s*({CODE})?[\s,，、和与]*({CODE})?\s*$"), self._merge,
                      CHATTING, help=line["合并"], roles=cases.roles_for(cases.MERGE)))
        r.add(Command(cases.ASSIGN, case_command(cases.ASSIGN), self._dispatch, CHATTING, help=line["分派"],
                      roles=cases.roles_for(cases.ASSIGN), when=_coded_or_theirs(cases.roles_for(cases.ASSIGN))))
        r.add(Command(texts.FOLLOWUP_WORD, FOLLOWUP_COMMAND, self._followup, CHATTING, help=line["回访"],
                      roles=frozenset({org.OFFICE}),
                      # Without a case code, only office staff mean the command: a tip-off may start with 回访 too.
                      when=lambda t, m: bool(m[1]) or org.OFFICE in t.roles))
        r.add(Command("绑定", re.compile(r"^\s*绑定"), lambda t, m: texts.ALREADY_BOUND.format(name=t.person.name),
                      CHATTING))
        return r

    def quick(self, msg: InboundMessage) -> bool:
        """A message a quick command takes (帮助, 收到, 我的, 口径, 进度 — marked in the registry): the
        dispatcher lets it go ahead of filings."""
        return msg.kind == "text" and self.commands.quick(msg.text)

    def __call__(self, session: Session, msg: InboundMessage, now: datetime,
                 lookups: Lookups | None = None) -> str | None:
        lookups = lookups or Lookups(session)
        if msg.kind == "event" and msg.event == "unsubscribe":
            if msg.channel == "mp":
                binding.unsubscribed(session, msg.sender)
                lookups.forget()  # an address changed: the batch's next messages read them again
            return None
        caller = people.by_identity(session, msg.channel, msg.sender)
        if caller is None:
            reply = _stranger(session, msg, now)
            lookups.forget()  # a binding may have given someone an address
            return reply
        people.seen(session, caller, now)
        person = caller.person
        convo = caller.conversation
        if convo is not None:
            session.expunge(convo)  # written once at the end (save), not by an ORM flush
        else:
            convo = Conversation(person_id=person.id, state=IDLE, draft=intake.new_draft(), updated_at=now)
        resumed = convo.state != IDLE and now - convo.updated_at > DRAFT_IDLE
        reply = self._step(Turn(session, person, convo, msg, now, lookups))
        convo.updated_at = now
        _save(session, convo)
        if resumed and convo.state != IDLE and reply:
            reply = (texts.RESUMED_WORDING if convo.state in DRAFTING else texts.RESUMED) + "\n" + reply
        return reply

    def _step(self, turn: Turn) -> str | None:
        msg = turn.msg
        if msg.kind == "event":
            if msg.event == "click" and msg.event_key == REPORT_MENU_KEY:
                return self._start(turn, None)
            return self._help(turn, None) if msg.event in ("subscribe", "enter_agent", "click") else None
        if msg.kind == "unknown":
            return texts.UNSUPPORTED
        found = self.commands.route(turn)
        if found:
            command, match = found
            return command.handler(turn, match)
        return self._content(turn)

    def _help(self, turn: Turn, _match) -> str:
        return texts.help_text(self.commands.help_lines(turn.roles, list(texts.HELP_LINE.values())))

    # -- intake ----------------------------------------------------------------------------
    def _start(self, turn: Turn, _match) -> str:
        if turn.convo.state == IDLE:
            self._reset(turn.convo, COLLECTING)
        return texts.ASK_WHAT

    def _start_confidential(self, turn: Turn, _match) -> str:
        """举报: a draft that goes to 纪委 and the office, bypassing the village whatever it says."""
        draft = turn.convo.draft or {}
        if turn.convo.state != IDLE and any(draft.get(k) for k in ("texts", "links", "attachments")):
            return texts.CONFIDENTIAL_BUSY
        turn.convo.state, turn.convo.draft = COLLECTING, intake.new_draft(confidential=True)
        return texts.CONFIDENTIAL_START

    def _cancel(self, turn: Turn, _match) -> str:
        had = turn.convo.state != IDLE
        self._reset(turn.convo, IDLE)
        return texts.CANCELLED if had else texts.NOTHING_TO_CONFIRM

    def _edit(self, turn: Turn, _match) -> str:
        self._reset(turn.convo, COLLECTING)
        return texts.ASK_WHAT

    def _content(self, turn: Turn) -> str:
        convo, msg = turn.convo, turn.msg
        if msg.kind == "text" and (intake.is_filler(turn.text)
                                   or (convo.state == IDLE and intake.too_short_to_start(turn.text, self.classifier))):
            # Not a tip-off: a greeting, thanks, emoji, a lone word. A draft under way is asked on.
            if convo.state == IDLE:
                return texts.FILLER_PROMPT
            pending = convo.draft.get("pending")
            return pending["text"] if pending else self._assess(turn, copy.deepcopy(convo.draft))
        # A deep copy: a step that stops half-way (a full draft, a refusal) leaves the stored draft as it was.
        draft = copy.deepcopy(convo.draft) if convo.state != IDLE else intake.new_draft()
        for key, empty in intake.new_draft().items():  # a draft stored before answers were kept
            draft.setdefault(key, empty)
        if intake.is_full(draft, turn.text):
            if not draft["texts"]:
                return texts.TOO_LONG.format(chars=intake.MAX_CHARS)
            return texts.DRAFT_FULL.format(messages=intake.MAX_MESSAGES, chars=intake.MAX_CHARS)
        raised = _held_cadre_question(draft)
        _unanswered(draft)
        _add(draft, msg)
        if raised is not None:
            # The cadre question a first piece raised, and the reporter told more without answering: it stands —
            # defaulted to yes, as any question moved on from — only if the fuller draft still raises it. A title
            # alone in the first piece is not a doubt about the whole tip-off.
            found = intake.assess(turn.session, draft, turn.person, self.classifier, turn.lookups)
            if found.question is not None and found.question.field == CADRE:
                draft["pending"], draft["asked"] = raised, [*draft["asked"], CADRE]
                _unanswered(draft)
        return self._assess(turn, draft)

    def _answer(self, turn: Turn, _match) -> str:
        draft = copy.deepcopy(turn.convo.draft)
        question = Question.load(draft["pending"])
        given = answer(question, turn.text)
        if given.value is not None:
            draft["answers"][question.field] = given.value
        if given.unclear:  # a default is no one's decision: the classifier does not learn from it
            draft["defaulted"] = [*draft.get("defaulted", []), question.field]
        draft["pending"] = None
        if given.rest:
            intake.add_text(draft, given.rest)
        return self._assess(turn, draft)

    def _correct(self, turn: Turn, match: re.Match) -> str:
        draft = copy.deepcopy(turn.convo.draft)
        draft.setdefault("answers", {})
        field = CORRECTIONS[match[1]]
        found = intake.assess(turn.session, draft, turn.person, self.classifier, turn.lookups)
        try:
            draft["answers"][field] = intake.correct(found, field, match[2].strip(), self.classifier)
        except ValueError as wrong:
            # While still collecting, "村 东头有人打架" is more of the tip-off; at the summary, a slip.
            return self._content(turn) if turn.convo.state == COLLECTING else str(wrong)
        draft["defaulted"] = [f for f in draft.get("defaulted", []) if f != field]  # now the reporter's word
        return self._assess(turn, draft)

    def _assess(self, turn: Turn, draft: dict) -> str:
        convo = turn.convo
        found = intake.assess(turn.session, draft, turn.person, self.classifier, turn.lookups)
        draft["pending"] = found.question.stored() if found.question else None
        if found.question:
            draft["asked"] = [*draft["asked"], found.question.field]
        convo.draft = draft
        if found.missing_what or found.question:
            convo.state = COLLECTING
            return found.question.text if found.question else texts.ASK_WHAT
        convo.state = CONFIRMING
        labels = found.labels
        return texts.summary(labels.category, labels.lead_department, found.place, intake.what(draft),
                             intake.online_line(labels), labels.urgent, labels.involves_cadre,
                             bool(draft.get("confidential")))

    def _confirm(self, turn: Turn, _match) -> str:
        session, person, convo, now = turn.session, turn.person, turn.convo, turn.now
        if convo.state == IDLE:
            return texts.NOTHING_TO_CONFIRM
        draft = copy.deepcopy(convo.draft)
        _unanswered(draft)
        found = intake.assess(session, draft, person, self.classifier, turn.lookups)
        if found.missing_what or found.question:
            return self._assess(turn, draft)
        filing = cases.Filing(
            reporter=person, summary=intake.what(draft), labels=found.labels, village_id=found.village_id,
            links=tuple(found.labels.links) + tuple(u for u in draft["links"] if u not in found.labels.links),
            attachments=tuple(draft["attachments"]), confidential=bool(draft.get("confidential")),
            in_play=found.in_play,
        )
        filed = cases.file(session, filing, now, self.policy, turn.lookups)
        case = filed.case
        learning.record_reporter(session, case, draft.get("answers", {}), now, draft.get("defaulted", ()))
        self._reset(convo, IDLE)
        verifiers = [p.name for p, duty in filed.members if duty == cases.VERIFY]
        first = next(d for d in filed.clocks if d.status == "pending")
        due = texts.moment(first.due_at, self.tz)
        return texts.receipt(case.code, case.lead_department, "、".join(verifiers) or None, due, first.kind)

    @staticmethod
    def _reset(convo: Conversation, state: str) -> None:
        convo.state, convo.draft = state, intake.new_draft()

    # -- cases -----------------------------------------------------------------------------
    def _case_command(self, turn: Turn, action: str, typed: str | None, note: str) -> str:
        if not typed:
            return texts.CASE_USAGE.format(action=action)
        session, person, now = turn.session, turn.person, turn.now
        case_code = code(typed)
        if action == cases.PROGRESS:
            case = cases.find(session, case_code)
            if case is None or not cases.may_see(session, person, case):
                return texts.NO_SUCH_CASE.format(code=case_code)
            yours = cases.offered(cases.duty_of(session, case, person), turn.roles, case.status)
            return self._progress(session, person, case) + ("\n" + texts.you_may(case.code, yours) if yours else "")
        try:
            cases.act(session, person, case_code, action, note.strip(), now, self.policy)
        except cases.Refusal as refusal:
            return str(refusal)
        return texts.DONE[action].format(code=case_code)

    def _merge(self, turn: Turn, match: re.Match) -> str:
        if not match[1] or not match[2]:
            return texts.MERGE_USAGE
        first, second = code(match[1]), code(match[2])
        try:
            cases.merge(turn.session, turn.person, first, second, turn.now, self.policy)
        except cases.Refusal as refusal:
            return str(refusal)
        return texts.merged(first, second)

    def _dispatch(self, turn: Turn, match: re.Match) -> str:
        typed, department = match[1], match[2].strip()
        if not typed:
            return texts.CASE_USAGE.format(action=cases.ASSIGN)
        try:
            case = cases.dispatch(turn.session, turn.person, code(typed), department, turn.now, self.policy,
                                  self.classifier.rules)
        except cases.Refusal as refusal:
            return str(refusal)
        return texts.dispatched(case.code, case.lead_department)

    def _cadre(self, turn: Turn, match: re.Match) -> str:
        try:
            case = cases.mark_cadre(turn.session, turn.person, code(match[1]), match[2], turn.now, self.policy,
                                    self.classifier.rules)
        except cases.Refusal as refusal:
            return str(refusal)
        return texts.cadre_marked(case.code, case.involves_cadre)

    def _followup(self, turn: Turn, match: re.Match) -> str:
        typed, level, note = match.groups()
        if not typed or not level:
            return texts.FOLLOWUP_USAGE
        case_code = code(typed)
        try:
            case, outcome = followup.record(turn.session, turn.person, case_code, level, note.strip(), turn.now,
                                            self.policy)
        except cases.Refusal as refusal:
            return str(refusal)
        window = texts.time_left(int(self.policy.reopen_within.total_seconds() // 60))
        return FOLLOWUP_REPLIES[outcome].format(code=case_code, level=level, lead=case.lead_department,
                                                window=window)

    def _progress(self, session: Session, person: Person, case) -> str:
        return texts.progress(case, cases.place(session, case), cases.timeline(session, person, case, self.tz))

    def _mine(self, turn: Turn, _match) -> str:
        rows = [(c.code, texts.STATUS[c.status]) for c in cases.my_reports(turn.session, turn.person)]
        return texts.case_list(texts.MINE_WORD + "：", rows) if rows else texts.NO_REPORTS

    def _todo(self, turn: Turn, _match) -> str:
        items = todo.todo(turn.session, turn.person, turn.now)
        if not items:
            return texts.NO_TODO
        return texts.todo_list([texts.TodoLine(
            code=i.case.code, task=i.task, status=i.case.status, summary=i.case.summary, overdue=i.overdue,
            due=(texts.moment(i.deadline.due_at, self.tz), i.deadline.kind) if i.deadline else None, other=i.other)
            for i in items])


_conversations = Conversation.__table__
# Every message of a known person writes their conversation: one upsert, built once, costs a fraction of
# the ORM's flush of it.
_SAVE = per_dialect(lambda insert: (lambda stmt: stmt.on_conflict_do_update(
    index_elements=[_conversations.c.person_id],
    set_={"state": stmt.excluded.state, "draft": stmt.excluded.draft, "updated_at": stmt.excluded.updated_at},
))(insert(_conversations)))


def _save(session: Session, convo: Conversation) -> None:
    db = session.connection()
    db.execute(_SAVE[db.dialect.name], {"person_id": convo.person_id, "state": convo.state, "draft": convo.draft,
                                         "updated_at": convo.updated_at})


def _held_cadre_question(draft: dict) -> dict | None:
    """The cadre question the draft waits on, taken off it (pending and asked) to be read again on the fuller
    draft; None when the draft waits on no cadre question."""
    pending = draft.get("pending")
    if not pending or Question.load(pending).field != CADRE or CADRE in draft["answers"]:
        return None
    draft["pending"] = None
    asked = draft["asked"]
    last = len(asked) - 1 - asked[::-1].index(CADRE)  # the question just put, not an earlier one answered
    draft["asked"] = asked[:last] + asked[last + 1:]
    return pending


def _unanswered(draft: dict) -> None:
    """The reporter moved on (more content, or 确认) without answering: the question's default, if any."""
    if draft.get("pending"):
        question = Question.load(draft["pending"])
        if question.unclear is not None and question.field not in draft["answers"]:
            draft["answers"][question.field] = question.unclear
            draft["defaulted"] = [*draft.get("defaulted", []), question.field]
        draft["pending"] = None


def _answers_pending(turn: Turn, _match) -> bool:
    """A text that answers the question the draft is waiting on."""
    pending = (turn.convo.draft or {}).get("pending")
    if turn.msg.kind != "text" or not pending:
        return False
    try:
        answer(Question.load(pending), turn.text)
    except NotAnAnswer:
        return False
    return True


def _coded_or_theirs(roles: frozenset[str] | None):
    """Without a case code, a command word is only a command for those who may use it: a grid
    worker's "反馈一下，村里……" is a tip-off."""
    return lambda turn, match: bool(match[1]) or roles is None or bool(turn.roles & roles)


def _roles_with_duties() -> frozenset[str]:
    return frozenset(role for roles in cases.DUTY_ROLES.values() for role in roles)


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
    return texts.BIND_FAILED
