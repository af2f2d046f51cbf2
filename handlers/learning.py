"""Learning from the county's own decisions.

Every time a person decides a case's labels — the reporter answering a question or correcting the
summary, the office re-classifying (PATCH) or re-dispatching a case handed back — the text and the
labels are kept as a labelled example. `retrain` fits the model on the examples Gridline ships and
the county's own (which weigh more: they are how this county talks) and replaces the model file.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from handlers.classify import Classifier, accusation
from handlers.classify import examples as shipped_examples
from handlers.classify import model as learnt
from handlers.classify.examples import Item
from models import Case, LabelledExample, Unit
from models.learning import REPORTER

log = logging.getLogger("gridline.learning")
LABEL_FIELDS = ("category", "lead_department", "urgent", "online", "involves_cadre", "village")
COUNTY_WEIGHT = 3.0  # one decision of the county's counts as this many shipped examples
RETRAIN = "classify_retrain"  # the weekly job's kind (a long job of handlers/jobs.py)


def labels_of(session: Session, case: Case) -> dict:
    village = session.get(Unit, case.village_id).name if case.village_id else None
    return {"category": case.category, "lead_department": case.lead_department, "urgent": case.urgent,
            "online": case.online, "involves_cadre": case.involves_cadre, "village": village}


def record(session: Session, text: str, labels: dict, decided, source: str, actor_id: int | None,
           case_id: int | None, now: datetime) -> LabelledExample | None:
    """Keep one decision; nothing when no labelling field was decided."""
    decided = [f for f in LABEL_FIELDS if f in set(decided)]
    if not decided or not text.strip():
        return None
    row = LabelledExample(text=text, labels={k: labels.get(k) for k in LABEL_FIELDS}, decided=decided,
                          source=source, actor_id=actor_id, case_id=case_id, at=now)
    session.add(row)
    return row


def record_case(session: Session, case: Case, decided, source: str, actor_id: int | None,
                now: datetime) -> LabelledExample | None:
    """A decision about a filed case: its summary is the text."""
    if not set(decided) & set(LABEL_FIELDS):
        return None  # nothing decided: not even the labels are read
    return record(session, case.summary, labels_of(session, case), decided, source, actor_id, case.id, now)


def record_reporter(session: Session, case: Case, answers: dict, now: datetime,
                    defaulted=()) -> LabelledExample | None:
    """The reporter's answers and corrections, once the case they describe is filed; not the fields
    that only took a question's default (不清楚, or no answer)."""
    decided = [f for f in answers if f in LABEL_FIELDS and f not in set(defaulted)]
    return record_case(session, case, decided, REPORTER, case.reporter_id, now)


def county_examples(session: Session, rules: Classifier) -> list[learnt.Example]:
    """The county's decisions, latest per case winning field by field. A re-dispatch names a lead
    department: it teaches the category that department leads, when only one does."""
    led_by = Counter(rules.lead_for(c) for c in rules.categories)
    category_of = {rules.lead_for(c): c for c in rules.categories if led_by[rules.lead_for(c)] == 1}
    rows = session.scalars(select(LabelledExample).order_by(LabelledExample.at, LabelledExample.id))
    merged: dict[object, tuple[str, dict]] = {}
    for row in rows:
        key = row.case_id if row.case_id is not None else ("row", row.id)
        labels = merged.get(key, (row.text, {}))[1]
        for name in row.decided:
            value = row.labels.get(name)
            if name == "lead_department":
                if value in category_of and "category" not in row.decided:
                    labels["category"] = category_of[value]
            elif name in learnt.FIELDS:
                labels[name] = value
        merged[key] = (row.text, labels)
    return [learnt.Example(text, labels, COUNTY_WEIGHT) for text, labels in merged.values() if labels]


def shipped(items: list[Item] | None = None, general: list[Item] | None = None) -> list[learnt.Example]:
    """The shipped examples as training examples: `items` (default: examples/*.jsonl) with all their labels,
    and `general` (default: examples/general/ when `items` is the default, else none) without involves_cadre
    — so neither the accusation scorer nor the model's cadre field ever learns from them."""
    if items is None:
        items = shipped_examples.shipped()
        general = shipped_examples.general() if general is None else general
    out = [learnt.Example(it.text, {"category": it.expect.category, "urgent": it.expect.urgent,
                                    "online": it.expect.online, "involves_cadre": it.expect.involves_cadre})
           for it in items]
    return out + [learnt.Example(it.text, {"category": it.expect.category, "urgent": it.expect.urgent,
                                           "online": it.expect.online})
                  for it in general or ()]


def retrain(sessions: sessionmaker[Session] | None, rules: Classifier, path: str | Path, now: datetime,
            items: list[Item] | None = None, general: list[Item] | None = None) -> dict:
    """Fit on the shipped examples (or `items`, `general`: see `shipped`) and the county's, write the model file atomically;
    what it was trained on. The county's examples are read in a short transaction of their own: the
    fitting (tens of seconds) holds no lock that chat would wait for. Without `sessions`, the shipped
    examples alone: the model a new install starts with, before the county has decided anything."""
    county = []
    if sessions is not None:
        with sessions() as session:
            county = county_examples(session, rules)
    ours = shipped(items, general)
    examples = ours + county
    readings = [rules.classify(e.text) for e in examples]
    info = {"shipped_examples": len(ours), "county_examples": len(county), "trained_at": now.isoformat(),
            "general_only": sum("involves_cadre" not in e.labels for e in ours),
            "by_field": dict(Counter(f for e in county for f in e.labels))}
    model = learnt.train(examples, readings, rules.categories, info)
    # the scorer learns from the examples that say whether a cadre is involved: never examples/general/
    model.accusation = accusation.train(rules, [e.text for e in examples],
                                        [e.labels.get("involves_cadre") for e in examples], readings,
                                        [e.weight for e in examples])
    model.info["accusation"] = info["accusation"] = model.accusation.info
    learnt.save(model, path)
    log.info("classifier retrained", extra={"event": "model_trained", "shipped_examples": len(ours),
                                            "county_examples": len(county)})
    return info


def retrain_job(sessions: sessionmaker[Session], payload: dict, now: datetime) -> dict:
    """The weekly retrain, a long job of handlers/jobs.py: the model and rule files are its payload."""
    return retrain(sessions, Classifier.load(payload.get("rules_file")), payload["model_file"], now)
