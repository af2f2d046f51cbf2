"""Intake: gather a tip-off from one or more chat messages until it can be filed.

A draft is a plain dict (it lives in the conversation row): the pieces received, the questions
already asked, the one pending, and the answers (by field; answers and corrections win over the
classifier and never join the description). `assess` classifies what is there and says what, if
anything, is still missing — so a complete first message needs only `确认` after it.
"""

import unicodedata
from dataclasses import dataclass, replace

from sqlalchemy import or_, select
from sqlmodel import Session

from handlers import texts
from handlers.classify import Labels
from handlers.classify.cadre import ASK, committees_in_play
from handlers.classify.combine import Combined, Reading
from handlers.classify.rules import Classifier
from handlers.org import OTHER_CATEGORY, PETITION_CATEGORY, VILLAGE_COMMITTEE, VILLAGE_SECRETARY
from handlers.lookups import Lookups
from handlers.orgtree import OrgTree
from handlers.questions import (
    CADRE, CATEGORY, CHOICE, ONLINE, POSTER, TEXT, URGENT, VILLAGE_FIELD, YES_NO, Question, yes_no,
)
from handlers.questions import VILLAGE as WHICH_VILLAGE  # the question kind, not the unit kind below
from models import Person, PersonRole, Unit
from models.org import TOWNSHIP, VILLAGE

URGENT_SEVERITY, MAJOR_SEVERITY = "紧急", "较大"  # a "no" to gathering leaves an urgent guess 较大
MIN_TEXT = 6  # fewer characters than this say too little about what happened
# A draft this big is a paste gone wrong or a conversation, not a tip-off: the reporter is told.
MAX_MESSAGES, MAX_CHARS = 20, 2000
# Messages that are not a tip-off whatever the state: greetings, thanks, nods, a bare "check".
FILLERS = frozenset(("你好", "您好", "在吗", "在不在", "在么", "哈喽", "嗨", "喂", "早", "早上好", "晚上好", "谢谢",
                     "谢谢你", "谢谢您", "多谢", "感谢", "辛苦了", "好", "好的", "嗯", "嗯嗯", "哦", "噢", "ok", "行",
                     "知道了", "明白", "查一下", "查查", "查询", "看看", "测试", "试试", "hi", "hello"))


def new_draft(confidential: bool = False) -> dict:
    # confidential: a 举报, which goes to 纪委 and the office whatever it says.
    return {"texts": [], "links": [], "places": [], "attachments": [], "asked": [], "answers": {}, "pending": None,
            "confidential": confidential}


def words_of(text: str) -> str:
    """The letters and digits of a message: no spaces, punctuation, symbols or emoji."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return "".join(c for c in text if unicodedata.category(c)[0] in "LN")


def is_filler(text: str) -> bool:
    """Emoji or punctuation alone, a greeting, thanks, a nod: never part of a tip-off."""
    words = words_of(text)
    return not words or words in FILLERS


def too_short_to_start(text: str, classifier: Combined) -> bool:
    """A lone word ("查一下", "西岔村") is not enough to open a draft with — but a cadre's title is
    (村会计, then what they did in the next message): dropped, the case would lose the one word
    that keeps it from the accused's committee."""
    return len(words_of(text)) < MIN_TEXT and not classifier.titled(text)


def is_full(draft: dict, adding: str = "") -> bool:
    """Adding this would pass the draft's cap on messages or characters."""
    return (len(draft["texts"]) + len(draft["attachments"]) >= MAX_MESSAGES
            or len("".join(draft["texts"])) + len(adding) > MAX_CHARS)


def add_text(draft: dict, text: str) -> None:
    if text.strip():
        draft["texts"].append(text.strip())


def add_link(draft: dict, title: str, description: str, url: str) -> None:
    draft["links"].append(url)
    add_text(draft, "\n".join(p for p in (title, description) if p))


def add_place(draft: dict, label: str) -> None:
    if label.strip():
        draft["places"].append(label.strip())


def add_attachment(draft: dict, kind: str, **fields) -> None:
    draft["attachments"].append({"kind": kind, **{k: v for k, v in fields.items() if v not in (None, "")}})


@dataclass(frozen=True)
class Assessment:
    labels: Labels  # the classifier's, with the reporter's answers and corrections applied
    village_id: int | None
    place: str
    missing_what: bool  # too little about what happened yet: ask for it (texts.ASK_WHAT)
    question: Question | None  # the next question to ask; None (and not missing_what): ready to confirm
    villages: tuple[str, ...]  # the township's villages, for questions and corrections
    in_play: tuple[str, ...]  # the reporter's own village and those the text names (villages_in_play)


def villages_in_play(tree: OrgTree, reporter: Person, text: str, rules: Classifier | Combined) -> tuple[str, ...]:
    """The villages whose committees a tip-off may be about: the reporter's own, then every one its text names.
    A cadre named by a bare title, a nickname or a description may sit on any of them."""
    home = tree.chain(reporter.unit_id)
    villages = tree.villages(home[TOWNSHIP].id) if TOWNSHIP in home else {}
    own = home[VILLAGE].name if VILLAGE in home else None
    return tuple(v for v in dict.fromkeys([own, *rules.villages_named(text, villages)]) if v in villages)


def assess(session: Session, draft: dict, reporter: Person, classifier: Combined,
           lookups: Lookups | None = None) -> Assessment:
    lookups = lookups or Lookups(session)
    home = lookups.tree.chain(reporter.unit_id)
    township = home.get(TOWNSHIP)
    villages = lookups.tree.villages(township.id) if township else {}
    answers = draft.get("answers", {})
    poster = [answers[POSTER]] if answers.get(POSTER) else []
    text = "\n".join(draft["texts"] + poster + draft["places"] + draft["links"])
    own = home[VILLAGE].name if VILLAGE in home else None
    township_committees = lookups.once(("committee_names", township.id if township else None),
                                       lambda: committee_names(session, villages))
    in_play = villages_in_play(lookups.tree, reporter, text, classifier)
    committee, elsewhere = committees_in_play(own, in_play, township_committees)
    confidential = bool(draft.get("confidential"))
    # Asked whether a cadre is accused, the reporter could not say (不清楚, or moved on): the case involves
    # one — it fails closed — but nobody accused anyone, so the category stays what the text reads.
    unknown = CADRE in draft.get("defaulted", ()) and not confidential
    said = answers.get(CADRE) if isinstance(answers.get(CADRE), bool) and not unknown else None
    reading = classifier.read(text, villages, committee, involves_cadre=True if confidential else said,
                              elsewhere=elsewhere, cadre_unknown=unknown)
    labels = reading.labels
    if labels.involves_cadre and len(labels.cadre_villages) == 1 and VILLAGE_FIELD not in answers:
        labels = replace(labels, village=labels.cadre_villages[0])  # the accused's village: a cadre of it was named
    said_village = labels.village in villages
    labels = _answered(labels, answers, classifier, unknown)
    village = labels.village if labels.village in villages else own
    missing_what = len("".join(draft["texts"])) < MIN_TEXT and not draft["links"]
    asked = set(draft["asked"]) | set(answers) | ({CADRE} if confidential else set())
    doubts = Doubts(reading, tuple(villages), village_known=said_village or own is not None)
    question = None if missing_what else next(
        (q for q in questions(labels, doubts, confidential, asked) if q.field not in asked), None)
    place = (township.name if township else "") + (village or "")
    return Assessment(labels, villages.get(village), place or texts.PLACE_UNKNOWN, missing_what, question,
                      tuple(villages), in_play)


def committee_names(session: Session, villages: dict[str, int]) -> dict[str, list[str]]:
    """Village name → names of its committee members (村两委, 村书记), as the roster has them: one query
    for all the villages (people sit on a village or a grid under it)."""
    village_of = {vid: name for name, vid in villages.items()}
    rows = session.execute(
        select(Person.name, Person.unit_id, Unit.parent_id)
        .join(PersonRole, PersonRole.person_id == Person.id).join(Unit, Unit.id == Person.unit_id)
        .where(Person.active, PersonRole.role.in_((VILLAGE_COMMITTEE, VILLAGE_SECRETARY)),
               or_(Person.unit_id.in_(village_of), Unit.parent_id.in_(village_of)))).all()
    found: dict[str, set[str]] = {name: set() for name in villages}
    for person, unit, parent in rows:
        found[village_of.get(unit) or village_of[parent]].add(person)
    return {name: sorted(people) for name, people in found.items()}


@dataclass(frozen=True)
class Doubts:
    """What the classifier is unsure of, and what a question about it may offer."""

    reading: Reading
    villages: tuple[str, ...]  # the township's
    village_known: bool  # named in the text, or the reporter's own village stands


# Fields the classifier may be unsure of; one question about them at most per tip-off.
DOUBTED = (CATEGORY, URGENT, VILLAGE_FIELD, ONLINE)


def questions(labels: Labels, doubts: Doubts, confidential: bool = False, asked=frozenset()) -> list[Question]:
    """What this tip-off still needs asked, in order; a field asked or answered once is not asked again,
    and never a question whose answer the text already gave.

    The cadre question fails closed (不清楚 is yes). Then at most one question about what the
    classifier is unsure of: a numbered choice of the likeliest categories, the gathering question,
    哪个村, or whether it is online. Last, for an online lead on an unknown platform, where and who."""
    reading = doubts.reading
    found = []
    if not confidential and (labels.cadre_verdict == ASK or (reading.unsure(CADRE) and not labels.involves_cadre)):
        found.append(Question(CADRE, YES_NO, texts.ask_cadre(labels.cadre_mentions[:2]), unclear=True))
    if not set(DOUBTED) & set(asked):
        doubt = _doubt(labels, doubts)
        if doubt is not None:
            found.append(doubt)
    online_sure = not reading.unsure(ONLINE) or ONLINE in asked
    if labels.online and online_sure and not labels.platform and not labels.screen_name and not labels.links:
        found.append(Question(POSTER, TEXT, texts.ASK_ONLINE))
    return found


def _doubt(labels: Labels, doubts: Doubts) -> Question | None:
    reading = doubts.reading
    if not reading.by_model:  # the rules alone: ask about gathering on a claim that says nothing of it
        if labels.category == PETITION_CATEGORY and not labels.crowd_said:
            return Question(URGENT, YES_NO, texts.ASK_GATHERING)
        return None
    if reading.unsure(CATEGORY) and not labels.cadre_accused and reading.options:
        options = (*reading.options, OTHER_CATEGORY)
        return Question(CATEGORY, CHOICE, texts.choice_question(texts.ASK_CATEGORY, options), options)
    if reading.unsure(URGENT) and not labels.crowd_said:
        return Question(URGENT, YES_NO, texts.ASK_GATHERING)
    if not doubts.village_known and doubts.villages:
        return Question(VILLAGE_FIELD, WHICH_VILLAGE, texts.choice_question(texts.ASK_VILLAGE, doubts.villages),
                        doubts.villages)
    if reading.unsure(ONLINE) and not labels.platform and not labels.links:
        return Question(ONLINE, YES_NO, texts.ASK_ONLINE_FLAG)
    return None


def _answered(labels: Labels, answers: dict, classifier: Combined, cadre_unknown: bool = False) -> Labels:
    """The labels with the reporter's answers and corrections in place of the classifier's guesses
    (a cadre answer's category is the classifier's: it read the draft with that answer)."""
    changes: dict = {}
    if answers.get(CATEGORY) in classifier.categories:
        changes.update(category=answers[CATEGORY], lead_department=classifier.lead_for(answers[CATEGORY]))
    if answers.get(VILLAGE_FIELD):
        changes["village"] = answers[VILLAGE_FIELD]
    if isinstance(answers.get(URGENT), bool):
        urgent = answers[URGENT]
        severity = URGENT_SEVERITY if urgent else (MAJOR_SEVERITY if labels.severity == URGENT_SEVERITY
                                                   else labels.severity)
        changes.update(urgent=urgent, severity=severity, crowd_said=True)
    if isinstance(answers.get(ONLINE), bool):
        changes["online"] = answers[ONLINE]
    if cadre_unknown:
        changes.update(involves_cadre=True, cadre_accused=False)
    elif isinstance(answers.get(CADRE), bool):
        changes.update(involves_cadre=answers[CADRE], cadre_accused=answers[CADRE])
    return replace(labels, **changes) if changes else labels



def correct(assessment: Assessment, field: str, value: str, classifier: Combined) -> object:
    """A correction typed at the summary as the field's value, or raise ValueError with the reply."""
    if field == CATEGORY:
        if value not in classifier.categories:
            raise ValueError(texts.CORRECT_CATEGORY.format(options="、".join(classifier.categories)))
        return value
    if field == VILLAGE_FIELD:
        name = value if value in assessment.villages else value + "村"
        if name not in assessment.villages:
            raise ValueError(texts.CORRECT_VILLAGE.format(name=value, options="、".join(assessment.villages)))
        return name
    answer = yes_no(value)
    if answer is None:
        raise ValueError(texts.CORRECT_YES_NO.format(word=texts.CORRECTION_WORD[field]))
    return answer


def online_line(labels: Labels) -> str | None:
    if not labels.online:
        return None
    parts = [labels.platform or "网络", f"网名：{labels.screen_name}" if labels.screen_name else "",
             labels.links[0] if labels.links else ""]
    return " ".join(p for p in parts if p)


def what(draft: dict) -> str:
    """The description: what the reporter told, never the answers to questions."""
    return "\n".join(draft["texts"]) or "（见附件）"
