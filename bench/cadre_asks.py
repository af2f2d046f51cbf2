"""Why a mention of a village cadre is not kept with the village: which part of the reading asked.

    python bench/cadre_asks.py --model FILE [--sets cadre3,cadre4] [--flow old|new]

For every mention (a cadre as helper, mediator, victim) of the blind cadre sets (tests/blind/cadreN), read as
intake reads it for a grid worker of its reporter's village — message by message, as the chat flow reads a
tip-off told in several pieces — and, for each one not kept, the cause:

  detector yes   the cadre detector's yes on the whole text (bypassed without a question)
  detector ask   the detector's own question, not settled by the scorer (KEEP_BELOW)
  (b) scorer     the detector's no raised to the question by the accusation scorer (p ≥ accusation.THRESHOLD)
  (a) model      the detector's no, the scorer under THRESHOLD, but the general model's involves_cadre
                 confidence under THRESHOLDS["involves_cadre"] (combine.py)
  (c) flow       the whole text would be kept, but an earlier piece raised the question and the next piece
                 moved on without an answer (the old flow's default: yes); --flow new reads as intake does now
                 (a new piece re-reads the draft: the question stands only if the fuller text still needs it)

A model trained with `GRIDLINE_MODEL_FILE=FILE gridline classify train --shipped-only` is the one the blind harness
(tests/test_cadre_blind.py) runs with, so the mentions printed as not kept should match its pins.
Deterministic: no clock, no randomness.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from handlers.classify import Classifier, accusation  # noqa: E402
from handlers.classify.cadre import ASK, NO, YES, committees_in_play  # noqa: E402
from handlers.classify.combine import THRESHOLDS, Combined  # noqa: E402
from handlers.classify.examples import shipped  # noqa: E402
from handlers.classify.model import load  # noqa: E402
from handlers.intake import MIN_TEXT, is_filler, words_of  # noqa: E402
from handlers.questions import CADRE  # noqa: E402

BLIND = ROOT / "tests" / "blind"
SETS = [f"cadre{n}" for n in range(3, 14)]


def asks(combined: Combined, text: str, own: str, township: dict) -> tuple[bool, object]:
    """Whether intake asks the cadre question (or bypasses) on this text, and the reading."""
    villages = list(township)
    named = combined.villages_named(text, villages)
    committee, elsewhere = committees_in_play(own, named, township)
    reading = combined.read(text, villages, committee, elsewhere=elsewhere)
    labels = reading.labels
    question = labels.cadre_verdict == ASK or (reading.unsure(CADRE) and not labels.involves_cadre)
    return question or labels.involves_cadre, reading


def cause(combined: Combined, rules: Classifier, scorer, text: str, own: str, township: dict) -> str:
    """The cause of the question (or bypass) on a whole text."""
    villages = list(township)
    committee, elsewhere = committees_in_play(own, rules.villages_named(text, villages), township)
    detector = rules.classify(text, villages, committee, elsewhere=elsewhere)
    p = scorer.proba(text, detector.cadre_mentions) if scorer else 0.0
    if detector.cadre_verdict == YES:
        return "detector yes"
    if detector.cadre_verdict == ASK and p >= accusation.KEEP_BELOW:
        return "detector ask"
    if detector.cadre_verdict == NO and p >= accusation.THRESHOLD:
        return f"(b) scorer {p:.2f}"
    reading = combined.read(text, villages, committee, elsewhere=elsewhere)
    conf = reading.confidence.get("involves_cadre", 1.0)
    if conf < THRESHOLDS["involves_cadre"]:
        return f"(a) model {1 - conf:.2f}"
    return "(d) other"


def flow_asks(combined: Combined, messages: list[str], own: str, township: dict, new_flow: bool) -> bool:
    """Whether the chat flow ends with the cadre question asked (or the case involving a cadre), piece by piece:
    in the old flow a question raised by a piece is defaulted to yes by the next piece; in the new one the next
    piece re-reads the draft and only the fuller text's question stands."""
    pieces: list[str] = []
    for k, message in enumerate(messages):
        if is_filler(message) or (not pieces and len(words_of(message)) < MIN_TEXT
                                  and not combined.titled(message)):
            continue
        pieces.append(message.strip())
        if len("".join(pieces)) < MIN_TEXT:
            continue  # missing_what: asked for what happened, no question yet
        asked, _ = asks(combined, "\n".join(pieces), own, township)
        if asked and not new_flow and k < len(messages) - 1:
            return True  # the next piece moves on: the question's default, yes
    return bool(pieces) and asks(combined, "\n".join(pieces), own, township)[0]


def accusations_held_out(rules: Classifier, model, towns: dict, names: list[str]) -> None:
    """Accusations the chat flow keeps with the village (a leak), old flow and new, each set read with a scorer
    trained without it (the general model's cadre field never learns from the cadre sets): the flow's evidence."""
    items = accusation.set_items()
    readings = {(i.set, i.id): accusation.read_item(rules, i, towns[i.set]) for i in items}
    general = [accusation.Example(accusation.normalise(it.text, r.cadre_mentions), it.expect.involves_cadre)
               for it, r in ((it, rules.classify(it.text)) for it in shipped())]
    print("\naccusations kept with the village (held out): | set | accusations | old flow | new flow |")
    for name in names:
        model.accusation = accusation.fit(accusation.set_examples(rules, exclude=[name], readings=readings)
                                          + general)
        combined = Combined(rules, model)
        cases = [json.loads(line) for line in (BLIND / name / "cases.jsonl").read_text("utf-8").splitlines()
                 if line.strip()]
        accused = [c for c in cases if c["kind"] == "accusation"]
        kept = {flow: [c["id"] for c in accused if not flow_asks(combined, c["messages"], c["reporter_village"],
                                                                 towns[name], flow == "new")]
                for flow in ("old", "new")}
        print(f"| {name} | {len(accused)} | {len(kept['old'])} {' '.join(kept['old'])} | "
              f"{len(kept['new'])} {' '.join(kept['new'])} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--flow", choices=("old", "new"), default="new")
    parser.add_argument("--accusations", action="store_true", help="also the flow's leaks, held out (slow)")
    args = parser.parse_args()
    rules = Classifier.load()
    model = load(args.model)
    combined = Combined(rules, model)
    scorer = getattr(model, "accusation", None)
    towns = accusation.committees()
    totals: dict[str, int] = {}
    print(f"flow: {args.flow}")
    print("| set | mentions | kept | detector yes | detector ask | (a) model | (b) scorer | (c) flow | (d) other |")
    print("|---|---|---|---|---|---|---|---|---|")
    details = []
    for name in args.sets.split(","):
        township = towns[name]
        cases = [json.loads(line) for line in (BLIND / name / "cases.jsonl").read_text("utf-8").splitlines()
                 if line.strip()]
        counts = {k: 0 for k in ("detector yes", "detector ask", "(a)", "(b)", "(c)", "(d)")}
        mentions = [c for c in cases if c["kind"] == "mention"]
        kept = 0
        for item in mentions:
            own = item["reporter_village"]
            if not flow_asks(combined, item["messages"], own, township, args.flow == "new"):
                kept += 1
                continue
            text = "\n".join(m.strip() for m in item["messages"] if m.strip())
            whole, _ = asks(combined, text, own, township)
            why = cause(combined, rules, scorer, text, own, township) if whole else "(c) flow"
            counts[next(k for k in counts if why.startswith(k))] += 1
            details.append(f"{item['id']}: {why}")
        for k, v in counts.items():
            totals[k] = totals.get(k, 0) + v
        totals["mentions"] = totals.get("mentions", 0) + len(mentions)
        totals["kept"] = totals.get("kept", 0) + kept
        print(f"| {name} | {len(mentions)} | {kept} ({kept / max(len(mentions), 1):.0%}) | "
              + " | ".join(str(counts[k]) for k in counts) + " |")
    print(f"| all | {totals['mentions']} | {totals['kept']} ({totals['kept'] / totals['mentions']:.0%}) | "
          + " | ".join(str(totals[k]) for k in ("detector yes", "detector ask", "(a)", "(b)", "(c)", "(d)")) + " |")
    print("\nnot kept:")
    for line in details:
        print("  " + line)
    if args.accusations:
        accusations_held_out(rules, model, towns, args.sets.split(","))


if __name__ == "__main__":
    main()
