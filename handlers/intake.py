"""Intake: gather a tip-off from one or more chat messages until it can be filed.

A draft is a plain dict (it lives in the conversation row): the pieces received, and which
questions were already asked. `assess` classifies what is there and says what, if anything,
is still missing — so a complete first message needs only `确认` after it.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from handlers import texts
from handlers.cadre import ASK
from handlers.classify import Classifier, Labels
from handlers.org import PETITION_CATEGORY, VILLAGE_COMMITTEE, VILLAGE_SECRETARY
from handlers.people import holders
from models import Person, Unit
from models.org import TOWNSHIP, VILLAGE

MIN_TEXT = 6  # fewer characters than this say too little about what happened


def new_draft(confidential: bool = False) -> dict:
    # cadre: the reporter's word on whether a village cadre is accused (None: not said);
    # confidential: a 举报, which goes to 纪委 and the office whatever it says.
    return {"texts": [], "links": [], "places": [], "attachments": [], "asked": [], "cadre": None,
            "confidential": confidential}


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
    labels: Labels
    village_id: int | None
    place: str
    question: str | None  # what to ask next; None: ready to confirm
    asking: str | None = None  # which question it is: "cadre", "online" or "crowd"


def assess(session: Session, draft: dict, reporter: Person, classifier: Classifier) -> Assessment:
    home = _chain(session, reporter.unit_id)
    township = home.get(TOWNSHIP)
    villages = _villages(session, township.id) if township else {}
    text = "\n".join(draft["texts"] + draft["places"] + draft["links"])
    # Whose committee names to look for: the reporter's own village's and every village the text names.
    own = home[VILLAGE].name if VILLAGE in home else None
    named = classifier.villages_named(text, villages)
    committee = committee_names(session, {v: villages[v] for v in dict.fromkeys([own, *named]) if v in villages})
    labels = classifier.classify(text, villages, committee,
                                 involves_cadre=True if draft.get("confidential") else draft.get("cadre"))
    found = labels.village
    if labels.involves_cadre and len(labels.cadre_villages) == 1:
        found = labels.cadre_villages[0]  # the accused's village: a cadre of it was named
    village = found if found in villages else own
    question = asking = None
    if len("".join(draft["texts"])) < MIN_TEXT and not draft["links"]:
        question = texts.ASK_WHAT
    elif labels.cadre_verdict == ASK and draft.get("cadre") is None and not draft.get("confidential"):
        question = texts.ASK_CADRE.format(who="、".join(labels.cadre_mentions[:2]))
        asking = "cadre"
    elif labels.online and not labels.screen_name and not labels.links and "online" not in draft["asked"]:
        question, asking = texts.ASK_ONLINE, "online"
    elif labels.category == PETITION_CATEGORY and not labels.crowd_said and "crowd" not in draft["asked"]:
        question, asking = texts.ASK_GATHERING, "crowd"
    place = (township.name if township else "") + (village or "")
    return Assessment(labels, villages.get(village), place or texts.PLACE_UNKNOWN, question, asking)


# A yes/no answer to the cadre question (DESIGN "Questions"). Fails closed: only a clear no is no.
NO_WORDS = ("否", "不是", "没有", "不对", "无", "不涉及", "没", "不")
YES_WORDS = ("是", "是的", "对", "有", "涉及", "是村干部", "嗯", "对的")
UNSURE_WORDS = ("不清楚", "不知道", "不确定", "说不准", "拿不准", "不好说", "可能", "也许", "好像是")


def bare_answer(text: str) -> bool:
    """A reply that only answers a question (是, 没有, 不清楚 …): it is not part of the description."""
    word = text.strip().rstrip("。.!！~～").strip()
    return word in NO_WORDS or word in YES_WORDS or word in UNSURE_WORDS


def cadre_answer(text: str) -> bool | None:
    """True or False when `text` answers the cadre question (不清楚 is True), None when it is not an answer."""
    word = text.strip().rstrip("。.!！~～").strip()
    if word in NO_WORDS:
        return False
    if word in YES_WORDS or word in UNSURE_WORDS:
        return True
    return None


def committee_names(session: Session, villages: dict[str, int]) -> dict[str, list[str]]:
    """Village name → names of its committee members (村两委, 村书记), as the roster has them."""
    return {name: sorted({p.name for role in (VILLAGE_COMMITTEE, VILLAGE_SECRETARY) for p in holders(session, role, vid)})
            for name, vid in villages.items()}


def online_line(labels: Labels) -> str | None:
    if not labels.online:
        return None
    parts = [labels.platform or "网络", f"网名：{labels.screen_name}" if labels.screen_name else "",
             labels.links[0] if labels.links else ""]
    return " ".join(p for p in parts if p)


def what(draft: dict) -> str:
    return "\n".join(draft["texts"]) or "（见附件）"


def _chain(session: Session, unit_id: int) -> dict[str, Unit]:
    """The unit and its ancestors, by kind."""
    chain: dict[str, Unit] = {}
    unit = session.get(Unit, unit_id)
    while unit is not None:
        chain.setdefault(unit.kind, unit)
        unit = session.get(Unit, unit.parent_id) if unit.parent_id else None
    return chain


def _villages(session: Session, township_id: int) -> dict[str, int]:
    return dict(session.execute(select(Unit.name, Unit.id).where(Unit.parent_id == township_id,
                                                                 Unit.kind == VILLAGE)).all())
