"""Questions intake asks and the answers they take; corrections made at the summary.

A question is data (it is stored in the draft while pending): the field it settles, its kind,
the options, and what `不清楚` — or moving on without answering — means for that field. Intake
computes the list of questions a draft still needs (handlers/intake.py `questions`); the
conversation asks the first, stores the answer under its field and never adds it to the
description. The answer of a field, from a question or a correction, wins over the classifier.
"""

import re
import unicodedata
from dataclasses import asdict, dataclass

YES_NO, CHOICE, VILLAGE, TEXT = "yes_no", "choice", "village", "text"

# Fields an answer or a correction may set (Labels fields, and the online poster's details).
CATEGORY, VILLAGE_FIELD, URGENT, ONLINE, CADRE, POSTER = (
    "category", "village", "urgent", "online", "involves_cadre", "poster")

YES_WORDS = ("是", "是的", "有", "有的", "对", "对的", "会", "要", "涉及")
NO_WORDS = ("否", "不是", "没有", "没", "无", "不对", "不会", "不要", "不涉及", "没有的")
UNCLEAR_WORDS = ("不清楚", "不知道", "不确定", "说不清", "不好说", "不晓得", "不了解")
_ANSWER_WORDS = sorted((*YES_WORDS, *NO_WORDS, *UNCLEAR_WORDS), key=len, reverse=True)
_SEPARATORS = " \t\r\n,，.。!！;；:：、~～…"
TEXT_ANSWER_MAX = 40
_NUMERALS = {c: n for n, c in enumerate("一二三四五六七八九十", 1)}


@dataclass(frozen=True)
class Question:
    field: str
    kind: str  # YES_NO, CHOICE, VILLAGE or TEXT
    text: str  # what the person reads
    options: tuple[str, ...] = ()  # CHOICE and VILLAGE: what may be answered (numbered in the text)
    unclear: object = None  # the field's value for 不清楚 or no answer; None: leave it to the classifier

    def stored(self) -> dict:
        return {**asdict(self), "options": list(self.options)}

    @classmethod
    def load(cls, data: dict) -> "Question":
        return cls(**{**data, "options": tuple(data.get("options", ()))})


class NotAnAnswer(Exception):
    """The message does not answer the pending question (it is more of the tip-off, say)."""


@dataclass(frozen=True)
class Answer:
    value: object  # the field's value (None: unclear, leave it to the classifier)
    rest: str = ""  # what followed a yes/no ("没有，就两户人家"): more of the tip-off
    unclear: bool = False  # 不清楚: the value is the question's default, not the person's word


def answer(question: Question, text: str) -> Answer:
    """Read `text` as the answer to `question`, or raise NotAnAnswer."""
    words = _plain(text)
    if not words:
        raise NotAnAnswer
    if words in UNCLEAR_WORDS:
        return Answer(question.unclear, unclear=True)
    if question.kind == YES_NO:
        return _yes_no(text, question.unclear)
    if question.kind in (CHOICE, VILLAGE):
        return Answer(_choice(question, words))
    if len(words) > TEXT_ANSWER_MAX:  # a paragraph is more of the tip-off, not a platform and a screen name
        raise NotAnAnswer
    return Answer(text.strip())


def _yes_no(text: str, unclear: object = None) -> Answer:
    stripped = text.strip().strip(_SEPARATORS)
    for word in _ANSWER_WORDS:
        rest = stripped[len(word):]
        if stripped.startswith(word) and (not rest or rest[0] in _SEPARATORS):
            if word in UNCLEAR_WORDS:
                return Answer(unclear, rest.strip(_SEPARATORS), unclear=True)  # "不清楚，…": as 不清楚 alone
            return Answer(word in YES_WORDS, rest.strip(_SEPARATORS))
    raise NotAnAnswer


def _choice(question: Question, words: str) -> str:
    number = int(words) if words.isdigit() else _NUMERALS.get(words)
    if number is not None:
        if 1 <= number <= len(question.options):
            return question.options[number - 1]
        raise NotAnAnswer
    for option in question.options:
        if words == option or (question.kind == VILLAGE and words + "村" == option):
            return option
    found = [o for o in question.options if o in words]
    if len(found) == 1:
        return found[0]
    raise NotAnAnswer


def yes_no(text: str) -> bool | None:
    """是/否 (有/没有, 对/不对) as a bool; None when it is neither."""
    words = _plain(text)
    return True if words in YES_WORDS else False if words in NO_WORDS else None


def _plain(text: str) -> str:
    """The words alone: full-width forms folded, spaces and punctuation dropped."""
    text = unicodedata.normalize("NFKC", text or "")
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c)[0] not in "PSZ")


# -- corrections at the summary ------------------------------------------------------------
# The word a reporter types → the field it corrects. Yes/no fields take 是/否; 类别 and 村 a name.
CORRECTIONS = {"类别": CATEGORY, "村": VILLAGE_FIELD, "紧急": URGENT, "网上": ONLINE, "涉及村干部": CADRE}
CORRECTION = re.compile(r"^\s*(类别|村|紧急|网上|涉及村干部)[\s:：]+(\S.*?)\s*$", re.S)
