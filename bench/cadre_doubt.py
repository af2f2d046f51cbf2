"""Does the general model's doubt about the detector's "no" catch an accusation the scorer misses? Held out.

    python bench/cadre_doubt.py --model FILE [--doubts 0.85,0.8,0.7,0.6,0.5]

The general model's involves_cadre field never learns from the cadre sets (learning.shipped) nor from the
classification sets, so its probabilities on them are held out as they stand. The accusation scorer learns
from the cadre sets: each set is scored by a scorer trained without it (as bench/cadre_holdout.py). Where the
detector says no and the scorer stays under accusation.THRESHOLD, intake still asks when the general model's
confidence in that no is under THRESHOLDS["involves_cadre"] (the doubt). Per doubt threshold: accusations the
doubt alone catches (today's detector's no, and the fresh-set leaks of FRESH_LEAKS read by today's detector),
mentions and classification non-cadre tip-offs it alone asks about (the cost).
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from cadre_holdout import CLASSIFY_SETS, FRESH_LEAKS  # noqa: E402

from handlers.classify import Classifier, accusation  # noqa: E402
from handlers.classify.cadre import NO  # noqa: E402
from handlers.classify.combine import THRESHOLDS  # noqa: E402
from handlers.classify.examples import read, shipped  # noqa: E402
from handlers.classify.model import load  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--doubts", default="0.85,0.8,0.75,0.7,0.6,0.5,0.0")
    args = parser.parse_args()
    doubts = [float(d) for d in args.doubts.split(",")]
    rules = Classifier.load()
    model = load(args.model)
    towns = accusation.committees()
    items = accusation.set_items()
    readings = {(i.set, i.id): accusation.read_item(rules, i, towns[i.set]) for i in items}
    general = shipped()
    general_examples = [accusation.Example(accusation.normalise(it.text, r.cadre_mentions), it.expect.involves_cadre)
                        for it, r in ((it, rules.classify(it.text)) for it in general)]
    rows = []  # (set, id, accuses, fresh, detector no, held-out p, model's confidence in "no")
    for name in dict.fromkeys(i.set for i in items):
        scorer = accusation.fit(accusation.set_examples(rules, exclude=[name], readings=readings) + general_examples)
        fresh = set(FRESH_LEAKS.get(name, "").split())
        for item in (i for i in items if i.set == name):
            labels = readings[(item.set, item.id)]
            p = scorer.proba(item.text, labels.cadre_mentions)
            no = 1.0 - model.proba(item.text, labels)["involves_cadre"].get(True, 0.0)
            rows.append((name, item.id, item.accuses, item.id in fresh, labels.cadre_verdict == NO, p, no))
    others = [it for path in CLASSIFY_SETS for it in read(path).items]
    scorer = model.accusation  # never trained on the classification sets
    other_rows = []
    for it in others:
        labels = rules.classify(it.text)
        p = scorer.proba(it.text, labels.cadre_mentions)
        no = 1.0 - model.proba(it.text, labels)["involves_cadre"].get(True, 0.0)
        other_rows.append((it.expect.involves_cadre, labels.cadre_verdict == NO, p, no))

    t = accusation.THRESHOLD
    print(f"scorer THRESHOLD {t}; doubt today {THRESHOLDS['involves_cadre']}")
    acc_missed = [r for r in rows if r[2] and r[4] and r[5] < t]
    fresh_missed = [r for r in rows if r[3] and r[5] < t]
    print(f"accusations today's detector says no and the held-out scorer misses: {len(acc_missed)} "
          f"({' '.join(r[1] for r in acc_missed)})")
    print(f"fresh-set leaks the held-out scorer misses: {len(fresh_missed)} ({' '.join(r[1] for r in fresh_missed)})")
    print("| doubt | accusations caught by the doubt alone | fresh leaks caught | mentions asked by the doubt alone "
          "(of detector no, scorer under t) | classification: cadre caught / non-cadre asked (of detector no, "
          "scorer under t) |")
    print("|---|---|---|---|---|")
    mentions = [r for r in rows if not r[2] and r[4] and r[5] < t]
    cls_cadre = [r for r in other_rows if r[0] and r[1] and r[2] < t]
    cls_other = [r for r in other_rows if not r[0] and r[1] and r[2] < t]
    for d in doubts:
        caught = [r[1] for r in acc_missed if r[6] < d]
        fresh = [r[1] for r in fresh_missed if r[6] < d]
        print(f"| {d} | {len(caught)} {' '.join(caught)} | {len(fresh)} {' '.join(fresh)} | "
              f"{sum(r[6] < d for r in mentions)}/{len(mentions)} | "
              f"{sum(r[3] < d for r in cls_cadre)}/{len(cls_cadre)} / {sum(r[3] < d for r in cls_other)}/"
              f"{len(cls_other)} |")


if __name__ == "__main__":
    main()
