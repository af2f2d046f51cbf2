"""Labelled tip-offs as files: the examples Gridline ships (examples/*.jsonl, written blind by people
who had not read the rule table) and evaluation files of the same form.

One JSON object a line: {"id", "messages": [...], "expect": {"category", "lead_department", "urgent",
"online", "involves_cadre", "village", "platform"}}.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from handlers.org import DEPARTMENTS

SHIPPED = Path(__file__).with_name("examples")
# The classification sets written blind (tests/data/blind/classify*.jsonl), burned by their runs: they teach
# the general fields only — category, urgent, online — never whether a cadre is accused. Their involves_cadre
# labels stay out of every training (the accusation scorer's, and the model's own cadre field): the cadre
# benches count false asks on exactly these tip-offs (bench/cadre_holdout.py).
GENERAL = SHIPPED / "general"
TEXT_SEPARATOR = "\n"  # the messages of one tip-off, as intake joins them


class ExampleError(ValueError):
    """A line of an examples file is not a labelled tip-off; the message names the file and line."""


class Expect(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    category: str
    lead_department: str | None = None
    urgent: bool
    online: bool
    involves_cadre: bool
    village: str | None = None
    platform: str | None = None

    @field_validator("lead_department")
    @classmethod
    def _department(cls, value: str | None) -> str | None:
        if value is not None and value not in DEPARTMENTS:
            raise ValueError(f"{value!r} is not a department")
        return value


class Item(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    messages: tuple[str, ...]
    expect: Expect

    @field_validator("messages")
    @classmethod
    def _messages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or not all(m.strip() for m in value):
            raise ValueError("messages must be non-empty strings")
        return value

    @property
    def text(self) -> str:
        return TEXT_SEPARATOR.join(self.messages)


@dataclass(frozen=True)
class Loaded:
    items: list[Item]
    duplicates: int  # lines whose text another line already had


def read(path: str | Path) -> Loaded:
    """Every labelled tip-off of a JSONL file, the first of identical texts only."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ExampleError(f"{path}: cannot be read ({exc})") from None
    items: list[Item] = []
    seen: set[str] = set()
    duplicates = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = Item.model_validate(json.loads(line))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise ExampleError(f"{path} line {number}: {str(exc).splitlines()[0]}") from None
        key = "".join(item.text.split())
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        items.append(item)
    return Loaded(items, duplicates)


def shipped() -> list[Item]:
    """The examples Gridline ships with every label, every file of examples/, duplicates across files dropped."""
    return _unique(sorted(SHIPPED.glob("*.jsonl")))


def general(exclude: Iterable[str] = ()) -> list[Item]:
    """The examples of examples/general/ (see GENERAL), but the sets named in `exclude` (file stems), and
    but those whose text a shipped example has."""
    skip = set(exclude)
    taken = {"".join(it.text.split()) for it in shipped()}
    return _unique([p for p in sorted(GENERAL.glob("*.jsonl")) if p.stem not in skip], taken)


def _unique(paths: Iterable[Path], seen: set[str] | None = None) -> list[Item]:
    items: list[Item] = []
    seen = set() if seen is None else set(seen)
    for path in paths:
        for item in read(path).items:
            key = "".join(item.text.split())
            if key not in seen:
                seen.add(key)
                items.append(item)
    return items
