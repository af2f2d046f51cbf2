"""The classifier held out set by set: how a fresh set of tip-offs would fare, through the real chat flow.

    python bench/classify_holdout.py [--train shipped|others] [--policy category=0.58,margin=0.35,...]

For each classification set written blind (handlers/classify/examples/general/classify*.jsonl, the same
tip-offs as tests/data/blind/), the general model is trained on the shipped examples (examples/*.jsonl)
and — with `--train others` (the default), as `gridline classify train` now does — the other sets, never
the one it is run on; then bench/classify.py's flow runs on it with a naive and a truthful reporter.
The accusation scorer is the shipped one (the classification sets never train it), fitted once.

`--policy` sets the question policy of handlers/classify/combine.py for the run (category, urgent,
online: THRESHOLDS; margin: CATEGORY_MARGIN; options, cover: OPTIONS, OPTIONS_COVER); several policies
separated by `;` are run one after another on the same fold models. Printed per set and their mean:
accuracy per field, messages per tip-off, questions by field.
Fold models are kept in var/holdout/ (delete it after a change of the examples, rules or model code).
"""

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import classify as flow  # noqa: E402  bench/classify.py

from handlers import learning  # noqa: E402
from handlers.classify import Classifier, accusation, combine  # noqa: E402
from handlers.classify import examples as shipped_examples  # noqa: E402
from handlers.classify import model as learnt  # noqa: E402
from handlers.classify.combine import Combined  # noqa: E402

CACHE = ROOT / "var" / "holdout"
SETS = [p.stem for p in sorted(shipped_examples.GENERAL.glob("*.jsonl"))]
FIELDS = ("category", "urgent", "online", "involves_cadre", "village")
KNOBS = {"category": ("THRESHOLDS", "category"), "urgent": ("THRESHOLDS", "urgent"),
         "online": ("THRESHOLDS", "online"), "margin": ("CATEGORY_MARGIN", None),
         "options": ("OPTIONS", None), "cover": ("OPTIONS_COVER", None)}


def fold_model(rules, train: str, held: str, scorer, weight: float = 1.0) -> learnt.Model:
    tag = ("" if weight == 1.0 else f"-w{weight:g}") + ("" if learnt.NGRAMS == (1, 2) else f"-ng{learnt.NGRAMS[1]}")
    path = CACHE / (f"others{tag}-{held}.model" if train == "others" else "shipped.model")
    if path.exists():
        model = learnt.load(path)
    else:
        general = shipped_examples.general(exclude=[held]) if train == "others" else []
        examples = learning.shipped(shipped_examples.shipped(), general)
        examples = [e if "involves_cadre" in e.labels else learnt.Example(e.text, e.labels, weight)
                    for e in examples]
        readings = [rules.classify(e.text) for e in examples]
        model = learnt.train(examples, readings, rules.categories, {"held_out": held})
        learnt.save(model, path)
    model.accusation = scorer
    return model


def shipped_scorer(rules):
    path = CACHE / "scorer.model"
    if path.exists():
        return learnt.joblib.load(path)
    items = shipped_examples.shipped()
    readings = [rules.classify(it.text) for it in items]
    scorer = accusation.train(rules, [it.text for it in items], [it.expect.involves_cadre for it in items], readings)
    path.parent.mkdir(parents=True, exist_ok=True)
    learnt.joblib.dump(scorer, path)
    return scorer


def apply(policy: str) -> dict:
    """Set the policy's knobs in combine.py; the previous values, to restore."""
    before = {"THRESHOLDS": dict(combine.THRESHOLDS), "CATEGORY_MARGIN": combine.CATEGORY_MARGIN,
              "OPTIONS": combine.OPTIONS, "OPTIONS_COVER": combine.OPTIONS_COVER}
    for part in filter(None, (p.strip() for p in policy.split(","))):
        name, value = part.split("=")
        const, key = KNOBS[name.strip()]
        value = float(value)
        if key:
            combine.THRESHOLDS[key] = value
        else:
            setattr(combine, const, int(value) if const == "OPTIONS" else value)
    return before


def restore(before: dict) -> None:
    combine.THRESHOLDS.clear()
    combine.THRESHOLDS.update(before["THRESHOLDS"])
    for name in ("CATEGORY_MARGIN", "OPTIONS", "OPTIONS_COVER"):
        setattr(combine, name, before[name])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", choices=("shipped", "others"), default="others")
    parser.add_argument("--policy", default="", help="e.g. category=0.6,margin=0.3;category=0.5")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--ngrams", type=int, default=2, help="the text layer's longest character n-gram")
    parser.add_argument("--weight", type=float, default=1.0, help="weight of an examples/general/ tip-off")
    args = parser.parse_args()
    learnt.NGRAMS = (1, args.ngrams)
    rules = Classifier.load()
    start = time.perf_counter()
    scorer = shipped_scorer(rules)
    sets = args.sets.split(",")
    models = {held: fold_model(rules, args.train, held, scorer, args.weight) for held in sets}
    print(f"fold models ({args.train}): {time.perf_counter() - start:.0f} s")
    data = {held: shipped_examples.read(shipped_examples.GENERAL / f"{held}.jsonl").items for held in sets}
    for policy in args.policy.split(";"):
        before = apply(policy)
        print(f"\n## policy: {policy or 'as shipped'} — THRESHOLDS {combine.THRESHOLDS}, CATEGORY_MARGIN "
              f"{combine.CATEGORY_MARGIN}, OPTIONS {combine.OPTIONS}, OPTIONS_COVER {combine.OPTIONS_COVER}")
        print("| set | " + " | ".join(f"{f} n/t" for f in FIELDS) + " | messages | floor | questions |")
        print("|---|" + "---|" * (len(FIELDS) + 3))
        rows = []
        for held in sets:
            combined = Combined(rules, models[held])
            result = {who: flow.run(data[held], combined, who == "truthful") for who in ("naive", "truthful")}
            floor = 1 + statistics.mean(len(it.messages) for it in data[held])
            asked = result["naive"]["asked"]
            rows.append((result, floor, asked))
            print(f"| {held} | " + " | ".join(
                f"{100 * result['naive']['accuracy'][f]:.1f}/{100 * result['truthful']['accuracy'][f]:.1f}"
                for f in FIELDS) + f" | {result['naive']['messages']:.3f}/{result['truthful']['messages']:.3f} | {floor:.3f} | "
                + ", ".join(f"{f} {k}" for f, k in asked.most_common()) + " |")
        total: Counter = Counter()
        for _, _, asked in rows:
            total.update(asked)
        print("| mean | " + " | ".join(
            f"{100 * statistics.mean(r['naive']['accuracy'][f] for r, _, _ in rows):.1f}/"
            f"{100 * statistics.mean(r['truthful']['accuracy'][f] for r, _, _ in rows):.1f}" for f in FIELDS)
            + f" | {statistics.mean(r['naive']['messages'] for r, _, _ in rows):.3f}/"
            f"{statistics.mean(r['truthful']['messages'] for r, _, _ in rows):.3f} | "
            f"{statistics.mean(fl for _, fl, _ in rows):.3f} | "
            + ", ".join(f"{f} {k}" for f, k in total.most_common()) + " (all sets) |")
        print("worst fold: truthful " + ", ".join(
            f"{f} {100 * min(r['truthful']['accuracy'][f] for r, _, _ in rows):.1f}" for f in FIELDS)
            + f"; naive category {100 * min(r['naive']['accuracy']['category'] for r, _, _ in rows):.1f}"
            + f"; messages {max(max(r[w]['messages'] for w in r) for r, _, _ in rows):.3f}")
        restore(before)


if __name__ == "__main__":
    main()
