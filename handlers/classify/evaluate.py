"""How well the rules, the model and both together label a file of labelled tip-offs: accuracy per
field and a confusion matrix per field (`gridline classify eval FILE.jsonl`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from handlers import texts
from handlers.classify.combine import Combined
from handlers.classify.examples import Item

FIELDS = ("category", "lead_department", "urgent", "online", "involves_cadre", "village")
RULES, MODEL, COMBINED = "rules", "model", "combined"


@dataclass
class Scores:
    n: int = 0
    correct: Counter = field(default_factory=Counter)  # field → count
    confusion: dict[str, Counter] = field(default_factory=dict)  # field → (want, got) → count

    def add(self, name: str, want, got) -> None:
        self.correct[name] += want == got
        self.confusion.setdefault(name, Counter())[(want, got)] += 1

    def accuracy(self, name: str) -> float | None:
        return self.correct[name] / self.n if self.n and name in self.confusion else None


def villages_of(items: Sequence[Item]) -> list[str]:
    """The villages an evaluation file names: the township the classifier is told about."""
    return sorted({it.expect.village for it in items if it.expect.village})


def evaluate(items: Sequence[Item], classifier: Combined) -> dict[str, Scores]:
    villages = villages_of(items)
    model = classifier.model
    out = {RULES: Scores(), MODEL: Scores(), COMBINED: Scores()}
    for item in items:
        want = item.expect.model_dump()
        want["lead_department"] = want["lead_department"] or classifier.lead_for(want["category"])
        rules = classifier.rules.classify(item.text, villages)
        both = classifier.read(item.text, villages).labels
        for mode, labels in ((RULES, rules), (COMBINED, both)):
            out[mode].n += 1
            for name in FIELDS:
                out[mode].add(name, want[name], getattr(labels, name))
        if model is not None:
            out[MODEL].n += 1
            for name, proba in model.text_proba(item.text).items():
                got = max(proba, key=proba.get)
                out[MODEL].add(name, want[name], got)
                if name == "category":
                    out[MODEL].add("lead_department", want["lead_department"], classifier.lead_for(got))
    return out


def report(scores: dict[str, Scores], confusion: bool = True) -> str:
    modes = [m for m in (RULES, MODEL, COMBINED) if scores[m].n]
    lines = [f"{'field':<16}" + "".join(f"{m:>10}" for m in modes)]
    for name in FIELDS:
        cells = []
        for m in modes:
            acc = scores[m].accuracy(name)
            cells.append(f"{'—' if acc is None else f'{acc:.1%}':>10}")
        lines.append(f"{name:<16}" + "".join(cells))
    if confusion:
        for m in modes:
            for name in ("category", "urgent", "online", "involves_cadre"):
                if name in scores[m].confusion:
                    lines += ["", f"{m} · {name} (rows: true, columns: given)", *_matrix(scores[m].confusion[name])]
    return "\n".join(lines)


def _matrix(counts: Counter) -> list[str]:
    values = sorted({v for pair in counts for v in pair}, key=str)
    width = max(6, *(len(str(v)) * 2 for v in values))
    head = " " * width + "".join(f"{_cell(v):>{width}}" for v in values)
    rows = [f"{_cell(want):<{width}}" + "".join(f"{counts.get((want, got), 0):>{width}}" for got in values)
            for want in values]
    return [head, *rows]


def _cell(value) -> str:
    return texts.EVAL_VALUE.get(value, str(value)) if value is None or isinstance(value, bool) else str(value)
