"""Intake: gather a tip-off from one or more chat messages until it can be filed.

A draft is a plain dict (it lives in the conversation row): the pieces received, and which
questions were already asked. `assess` classifies what is there and says what, if anything,
is still missing — so a complete first message needs only `确认` after it.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from handlers import texts
from handlers.org import PETITION_CATEGORY
from handlers.classify import Classifier, Labels
from models import Person, Unit
from models.org import TOWNSHIP, VILLAGE

MIN_TEXT = 6  # fewer characters than this say too little about what happened


def new_draft() -> dict:
    return {"texts": [], "links": [], "places": [], "attachments": [], "asked": []}


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


def assess(session: Session, draft: dict, reporter: Person, classifier: Classifier) -> Assessment:
    home = _chain(session, reporter.unit_id)
    township = home.get(TOWNSHIP)
    villages = _villages(session, township.id) if township else {}
    labels = classifier.classify("\n".join(draft["texts"] + draft["places"] + draft["links"]), villages)
    village = labels.village if labels.village in villages else (home[VILLAGE].name if VILLAGE in home else None)
    question = None
    if len("".join(draft["texts"])) < MIN_TEXT and not draft["links"]:
        question = texts.ASK_WHAT
    elif labels.online and not labels.screen_name and not labels.links and "online" not in draft["asked"]:
        question = texts.ASK_ONLINE
    elif labels.category == PETITION_CATEGORY and not labels.crowd_said and "crowd" not in draft["asked"]:
        question = texts.ASK_GATHERING
    place = (township.name if township else "") + (village or "")
    return Assessment(labels, villages.get(village), place or texts.PLACE_UNKNOWN, question)


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
