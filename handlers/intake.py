"""Intake: gather a tip-off from one or more chat messages until it can be filed.

A draft is a plain dict (it lives in the conversation row): the pieces received, and which
questions were already asked. `assess` classifies what is there and says what, if anything,
is still missing — so a complete first message needs only `确认` after it.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from handlers import texts
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
    villages = _township_villages(session, reporter)
    text = "\n".join(draft["texts"] + draft["places"] + draft["links"])
    labels = classifier.classify(text, villages)
    home_village = _home_village(session, reporter)
    village_id = villages.get(labels.village) if labels.village else home_village
    question = None
    if len("".join(draft["texts"])) < MIN_TEXT and not draft["links"]:
        question = texts.ASK_WHAT
    elif labels.online and not labels.screen_name and not labels.links and "online" not in draft["asked"]:
        question = texts.ASK_ONLINE
    return Assessment(labels, village_id, _place(session, reporter, village_id), question)


def online_line(labels: Labels) -> str | None:
    if not labels.online:
        return None
    parts = [labels.platform or "网络", f"网名：{labels.screen_name}" if labels.screen_name else "",
             labels.links[0] if labels.links else ""]
    return " ".join(p for p in parts if p)


def what(draft: dict) -> str:
    return "\n".join(draft["texts"]) or "（见附件）"


def _township_villages(session: Session, reporter: Person) -> dict[str, int]:
    township = _ancestor(session, reporter.unit_id, TOWNSHIP)
    if township is None:
        return {}
    return dict(session.execute(select(Unit.name, Unit.id).where(Unit.parent_id == township.id,
                                                                 Unit.kind == VILLAGE)).all())


def _home_village(session: Session, reporter: Person) -> int | None:
    village = _ancestor(session, reporter.unit_id, VILLAGE)
    return village.id if village else None


def _ancestor(session: Session, unit_id: int, kind: str) -> Unit | None:
    unit = session.get(Unit, unit_id)
    while unit is not None and unit.kind != kind:
        unit = session.get(Unit, unit.parent_id) if unit.parent_id else None
    return unit


def _place(session: Session, reporter: Person, village_id: int | None) -> str:
    if village_id is not None:
        village = session.get(Unit, village_id)
        township = session.get(Unit, village.parent_id)
        return township.name + village.name
    township = _ancestor(session, reporter.unit_id, TOWNSHIP)
    return township.name if township else "未知"

