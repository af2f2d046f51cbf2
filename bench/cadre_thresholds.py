"""The accusation scorer's two thresholds on the detector's "ask", chosen held out set by set.

    python bench/cadre_thresholds.py [--model var/classifier.model]

Rerun after the cadre detector's rules change: it prints both curves and the thresholds its rules choose,
to be copied into handlers/classify/accusation.py (KEEP_BELOW, SURE_FROM).

For each cadre set of handlers/classify/examples/cadre the scorer is trained without it (as in
bench/cadre_holdout.py) and scores that set's tip-offs the detector asks about; the classification sets
(tests/data/blind/classify*.jsonl, never trained on) are scored by every fold's scorer.

* Keep side — the detector asks, the scorer is very sure there is no accusation (p < t): kept with the
  village without the question. Fail-open, so: the lowest held-out p of any accusation the detector asks
  about (cadre sets, and the classification sets' cadre tip-offs under every fold's scorer) is the floor;
  t_keep is the largest step of KEEP_STEPS at most half of it, and is shipped only if it keeps at least
  MIN_KEPT mentions more; else 0 (off). Variants with an extra condition from the detector are measured too.
* Sure side — the detector asks, the scorer is sure there is one (p ≥ t): no question, the case involves a
  cadre (fails closed). The cost is a mention bypassed that a truthful 否 would have kept: t_sure is the
  lowest step of SURE_STEPS at which those stay within MAX_WRONG of the cadre sets' mentions and of the
  classification sets' non-cadre tip-offs the detector asks about; the gain is the questions saved.
  With --model (a general model, e.g. var/classifier.model of `make model`, which never trains on these
  sets) the category of the skipped accusations is compared two ways: as after 是 (违规违纪, no category
  question) or as after 不清楚 (the text's category, the category question if unsure); and the detector's
  yes that the general model doubts (combine.CADRE_DOUBT, asked too) is scored the same way: SURE_FROM
  also keeps those from being asked.
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cadre_holdout import evidence  # noqa: E402 (this directory: the same evidence)

from handlers.classify import Classifier, accusation  # noqa: E402
from handlers.classify.cadre import ASK, YES, committees_in_play  # noqa: E402
from handlers.classify.combine import CADRE_DOUBT  # noqa: E402
from handlers.classify.text import norm  # noqa: E402

KEEP_STEPS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3)
SURE_STEPS = (0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99)
MARGIN = 0.5  # t_keep at most this share of the lowest held-out accusation p
MIN_KEPT = 10  # mentions newly kept for the keep side to be worth a fail-open rule (~2 % of the sets')
MAX_WRONG = 0.005  # sure side: mentions (and non-cadre classification tip-offs) wrongly bypassed, at most


def variants(rules):
    """Extra conditions from the detector for the keep side: (name, test on a text and its labels)."""
    def cast(text, labels):  # the detector cast a mention harmless; something else made it ask
        return " harmless, but " in labels.cadre_reason

    def weak(text, labels):  # no strong sign of wrongdoing anywhere in the draft
        return not rules.cadre._signs_in(norm(text))[0]

    return (("any ask", lambda text, labels: True), ("cast harmless", cast), ("no strong sign", weak),
            ("cast harmless, no strong sign", lambda t, lb: cast(t, lb) and weak(t, lb)))


def _doubts(combined, text, labels) -> bool:
    p = combined.model.proba(text, labels).get("involves_cadre", {}).get(True)
    return p is not None and p < CADRE_DOUBT


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rules", default=None)
    parser.add_argument("--model", default=None, help="a general model file for the category comparison")
    args = parser.parse_args()
    rules = Classifier.load(args.rules)
    start = time.perf_counter()
    towns, items, readings, _, general_examples, others, other_readings = evidence(rules)
    sets = list(dict.fromkeys(i.set for i in items))

    combined = None
    if args.model:
        from handlers.classify.combine import Combined
        from handlers.classify.model import ModelFile
        combined = Combined(rules, ModelFile(args.model))
        if combined.model is None:
            sys.exit(f"no usable model at {args.model}")
    # the detector's yes that the general model doubts (combine.CADRE_DOUBT): asked too
    doubted = [i for i in items if readings[(i.set, i.id)].cadre_verdict == YES and combined is not None
               and _doubts(combined, i.text, readings[(i.set, i.id)])]
    doubted_others = [k for k, r in enumerate(other_readings) if r.cadre_verdict == YES and combined is not None
                      and _doubts(combined, others[k].text, r)]
    # p of every tip-off the detector asks about: held out for the cadre sets, every fold's for the others
    asked = [i for i in items if readings[(i.set, i.id)].cadre_verdict == ASK]
    asked_others = [k for k, r in enumerate(other_readings) if r.cadre_verdict == ASK]
    p_item: dict[tuple[str, str], float] = {}
    p_other: dict[int, list[float]] = {k: [] for k in asked_others + doubted_others}
    for name in sets:
        scorer = accusation.fit(accusation.set_examples(rules, exclude=[name], readings=readings) + general_examples)
        for item in (i for i in asked + doubted if i.set == name):
            p_item[(item.set, item.id)] = scorer.proba(item.text, readings[(item.set, item.id)].cadre_mentions)
        for k in asked_others + doubted_others:
            p_other[k].append(scorer.proba(others[k].text, other_readings[k].cadre_mentions))
    print(f"{len(sets)} folds in {time.perf_counter() - start:.0f} s; the detector asks about "
          f"{sum(i.accuses for i in asked)}/{sum(i.accuses for i in items)} accusations and "
          f"{sum(not i.accuses for i in asked)}/{sum(not i.accuses for i in items)} mentions of the cadre sets, "
          f"{sum(others[k].expect.involves_cadre for k in asked_others)} cadre and "
          f"{sum(not others[k].expect.involves_cadre for k in asked_others)} non-cadre classification tip-offs")
    mentions_all = sum(not i.accuses for i in items)
    kept_by_detector = sum(not i.accuses and readings[(i.set, i.id)].cadre_verdict != ASK
                           and not readings[(i.set, i.id)].involves_cadre for i in items)

    # -- keep side ---------------------------------------------------------------------------------
    chosen_keep = 0.0
    for vname, condition in variants(rules):
        cand = [i for i in asked if condition(i.text, readings[(i.set, i.id)])]
        cand_o = [k for k in asked_others if condition(others[k].text, other_readings[k])]
        acc_p = sorted((p_item[(i.set, i.id)], i.id) for i in cand if i.accuses)
        acc_po = sorted((min(p_other[k]), others[k].id) for k in cand_o if others[k].expect.involves_cadre)
        floor = min([p for p, _ in acc_p] + [p for p, _ in acc_po] or [1.0])
        print(f"\nkeep side [{vname}]: {len(cand)} asked tip-offs of the cadre sets qualify "
              f"({sum(i.accuses for i in cand)} accusations), {len(cand_o)} classification ones; lowest held-out "
              f"accusation p {floor:.4f} — cadre sets {' '.join(f'{i}:{p:.3f}' for p, i in acc_p[:5])}; "
              f"classification {' '.join(f'{i}:{p:.3f}' for p, i in acc_po[:3])}")
        print("  t_keep · accusations kept (leaks; cadre sets, classification mean/any fold) · mentions newly kept "
              "(of asked) · mentions kept after / all · classification non-cadre asked, now kept (mean)")
        best = 0.0
        for t in KEEP_STEPS:
            leaks = [i.id for i in cand if i.accuses and p_item[(i.set, i.id)] < t]
            new = sum(not i.accuses and p_item[(i.set, i.id)] < t for i in cand)
            o_leak = sum(sum(p < t for p in p_other[k]) / len(p_other[k]) for k in cand_o
                         if others[k].expect.involves_cadre)
            o_leak_any = sum(min(p_other[k]) < t for k in cand_o if others[k].expect.involves_cadre)
            o_kept = sum(sum(p < t for p in p_other[k]) / len(p_other[k]) for k in cand_o
                         if not others[k].expect.involves_cadre)
            safe = t <= MARGIN * floor
            if safe and new >= MIN_KEPT:
                best = t
            print(f"  {t:<6} · {len(leaks)} {' '.join(leaks[:6])} · {o_leak:.1f} / {o_leak_any} · "
                  f"{new}/{sum(not i.accuses for i in cand)} · {kept_by_detector + new}/{mentions_all} "
                  f"({(kept_by_detector + new) / mentions_all:.0%}) · {o_kept:.1f}{'  safe' if safe else ''}")
        print(f"  → shippable t_keep for [{vname}]: {best or 'none'}")
        if vname == "any ask":
            chosen_keep = best

    # -- sure side ---------------------------------------------------------------------------------
    acc = [i for i in asked if i.accuses]
    men = [i for i in asked if not i.accuses]
    neg_o = [k for k in asked_others if not others[k].expect.involves_cadre]
    pos_o = [k for k in asked_others if others[k].expect.involves_cadre]
    print(f"\nsure side: of the tip-offs the detector asks about — cadre sets {len(acc)} accusations, {len(men)} "
          f"mentions; classification {len(pos_o)} cadre, {len(neg_o)} non-cadre")
    print("  t_sure · accusations not asked (questions saved) · mentions wrongly bypassed / all mentions · "
          "classification: cadre not asked (mean), non-cadre wrongly bypassed (mean)")
    chosen_sure = 0.0
    for t in SURE_STEPS:
        saved = sum(p_item[(i.set, i.id)] >= t for i in acc)
        wrong = [i.id for i in men if p_item[(i.set, i.id)] >= t]
        o_saved = sum(sum(p >= t for p in p_other[k]) / len(p_other[k]) for k in pos_o)
        o_wrong = sum(sum(p >= t for p in p_other[k]) / len(p_other[k]) for k in neg_o)
        ok = len(wrong) <= MAX_WRONG * mentions_all and o_wrong <= MAX_WRONG * len(others)
        if ok and not chosen_sure and saved:
            chosen_sure = t
        print(f"  {t:<5} · {saved}/{len(acc)} · {len(wrong)}/{mentions_all} {' '.join(wrong[:6])} · "
              f"{o_saved:.1f}/{len(pos_o)}, {o_wrong:.1f}/{len(neg_o)}{'  within' if ok else ''}")
    if combined is not None and chosen_sure:
        _categories(combined, rules, towns, acc, p_item, others, pos_o, p_other, chosen_sure)

    if combined is not None:
        print(f"\nthe general model's doubt about the detector's yes (p_cadre < {CADRE_DOUBT}: asked too): cadre sets "
              f"{sum(i.accuses for i in doubted)} accusations, {sum(not i.accuses for i in doubted)} mentions; "
              f"classification {sum(others[k].expect.involves_cadre for k in doubted_others)} cadre, "
              f"{sum(not others[k].expect.involves_cadre for k in doubted_others)} non-cadre. If the scorer's sure "
              "yes overruled it — t · accusations not asked · mentions bypassed unasked · classification cadre / "
              "non-cadre not asked (mean):")
        for t in SURE_STEPS:
            saved = sum(i.accuses and p_item[(i.set, i.id)] >= t for i in doubted)
            wrong = [i.id for i in doubted if not i.accuses and p_item[(i.set, i.id)] >= t]
            o = [sum(sum(p >= t for p in p_other[k]) / len(p_other[k]) for k in doubted_others
                     if others[k].expect.involves_cadre is want) for want in (True, False)]
            print(f"  {t:<5} · {saved} · {len(wrong)} {' '.join(wrong[:6])} · {o[0]:.1f} / {o[1]:.1f}")

    print(f"\nchosen (any ask): KEEP_BELOW = {chosen_keep}  SURE_FROM = {chosen_sure or 'off (1.0)'}")
    sure = chosen_sure or 1.0
    print(f"\nper set, held out, at KEEP_BELOW={chosen_keep} SURE_FROM={sure}: tip-offs · asked by the detector "
          "(accusations / mentions) · mentions newly kept · accusations kept (leaks) · accusations not asked · "
          "mentions bypassed unasked · questions saved per tip-off")
    print("| set | tip-offs | detector asks (acc. / ment.) | mentions kept | leaks | acc. not asked | ment. bypassed "
          "| questions saved / tip-off |")
    print("|---|---|---|---|---|---|---|---|")
    for name in sets:
        here = [i for i in asked if i.set == name]
        p = {i.id: p_item[(i.set, i.id)] for i in here}
        kept = sum(not i.accuses and p[i.id] < chosen_keep for i in here)
        leaks = [i.id for i in here if i.accuses and p[i.id] < chosen_keep]
        skipped = sum(i.accuses and p[i.id] >= sure for i in here)
        wrong = sum(not i.accuses and p[i.id] >= sure for i in here)
        total = sum(i.set == name for i in items)
        print(f"| {name} | {total} | {sum(i.accuses for i in here)} / {sum(not i.accuses for i in here)} | {kept} | "
              f"{len(leaks)} {' '.join(leaks)} | {skipped} | {wrong} | {(kept + skipped + wrong) / total:.3f} |")


def _categories(combined, rules, towns, acc, p_item, others, pos_o, p_other, t) -> None:
    """Skipped accusations: category after 是 (the cadre category) against after 不清楚 (the text's)."""
    skipped = [i for i in acc if p_item[(i.set, i.id)] >= t]
    unsure = discipline = 0
    for item in skipped:
        villages = list(towns[item.set])
        committee, elsewhere = committees_in_play(item.reporter_village, rules.villages_named(item.text, villages),
                                                  towns[item.set])
        reading = combined.read(item.text, villages, committee, elsewhere=elsewhere, cadre_unknown=True)
        unsure += reading.unsure("category")
        discipline += reading.labels.category == rules.cadre.category
    print(f"  at t_sure={t}: cadre-set accusations skipped {len(skipped)}: as after 不清楚 the category is the "
          f"cadre category in {discipline} ({discipline / max(len(skipped), 1):.0%}) and asked about in {unsure}; "
          f"as after 是 in all, never asked")
    right_unknown = right_yes = n = asked_after = 0
    for k in pos_o:
        share = sum(p >= t for p in p_other[k]) / len(p_other[k])
        if not share:
            continue
        item = others[k]
        reading = combined.read(item.text, cadre_unknown=True)
        n += share
        asked_after += share * reading.unsure("category")
        right_unknown += share * (reading.labels.category == item.expect.category)
        right_yes += share * (rules.cadre.category == item.expect.category)
    print(f"  classification cadre tip-offs skipped (mean over folds) {n:.1f}: category right as after 是 "
          f"{right_yes:.1f}, as after 不清楚 {right_unknown:.1f} (then asked about in {asked_after:.1f})")


if __name__ == "__main__":
    main()
