"""The rule table and the model together, with a confidence per field.

The rules keep their say where they are sure: an accused village cadre (the case goes to 纪委; the
cadre detector fails closed on its own, but a doubt alone — a question the reporter could not answer —
leaves the category to the text), a hard sign of urgency (堵路, 拉横幅, a crowd at the
gate…), a link or a named platform. Elsewhere the model decides — its combined layer has learnt from
the examples how far to trust the rules' weaker reading — and its calibrated probability is the
field's confidence. Below the field's threshold the field is unsure: intake may ask about it.

Without a model (no file yet, or a broken one) the rules decide alone and are taken as sure: Gridline
then behaves as it did before it learnt.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from handlers.classify import accusation
from handlers.classify.cadre import ASK, NO, YES
from handlers.classify.labels import Labels
from handlers.classify.model import Model, ModelFile
from handlers.classify.rules import Classifier
from handlers.org import OTHER_CATEGORY

SURE = 1.0
# Below these a field is unsure. A typical tip-off needs no question and an unsure one at most one.
# category: the margin below decides (a likeliest category under 0.4 always has a runner-up within 0.4).
THRESHOLDS = {"category": 0.4, "urgent": 0.6, "online": 0.7, "involves_cadre": 0.85}
# A category is unsure when the runner-up is this close behind. Chosen held out (bench/classify_holdout.py:
# each classification set run on a model that never saw it): asking is worth it only where the model's
# first choice is often wrong, and the margin finds those as well as any threshold on the confidence does
# (confidence added to it asked more for nothing). 0.4 is the least that keeps the truthful reporter's
# category near 95 % on the worst fold (0.35: 94.1 %); it asks about one tip-off in eleven, which with the
# cadre detector's own questions (one in twelve) fills the 2.3 messages the mean fold has room for.
CATEGORY_MARGIN = 0.4
# The detector's "yes" (a cadre named near signs of wrongdoing) that the model, which has seen that
# "yes", still holds less likely than this is asked about: on the development set a "yes" on 干不了
# (a slip of 干部 in an everyday phrase) stood at 0.2, true ones mostly above 0.7.
CADRE_DOUBT = 0.3
OPTIONS = 3  # at most this many categories offered when asking, besides 其他
OPTIONS_COVER = 0.9  # …fewer when the first ones already hold this much of the probability


READINGS_KEPT = 1024  # a few minutes of drafts


@dataclass(frozen=True)
class Reading:
    labels: Labels
    confidence: dict[str, float] = field(default_factory=dict)  # field → confidence of its value
    options: tuple[str, ...] = ()  # the likeliest categories but 其他, best first (for a question)
    by_model: bool = False
    margin: float = SURE  # how far the likeliest category is ahead of the next

    def unsure(self, name: str) -> bool:
        if name == "category" and self.margin < CATEGORY_MARGIN:
            return True
        return self.confidence.get(name, SURE) < THRESHOLDS.get(name, 0.0)


class Combined:
    """What intake uses: rules and model in one `read`, and the rule table's own lookups."""

    def __init__(self, rules: Classifier, model: ModelFile | Model | None = None):
        self.rules = rules
        self._model = model
        # The last readings by everything they depend on: 确认 after the summary reads the same draft
        # again, and a resend the same message. A retrained model (ModelFile reloads) forgets them all.
        self._readings: OrderedDict[tuple, Reading] = OrderedDict()
        self._readings_model: Model | None = None
        self._readings_lock = threading.Lock()

    @property
    def model(self) -> Model | None:
        return self._model.current() if isinstance(self._model, ModelFile) else self._model

    @property
    def categories(self) -> tuple[str, ...]:
        return self.rules.categories

    def lead_for(self, category: str) -> str:
        return self.rules.lead_for(category)

    def titled(self, text: str) -> bool:
        return self.rules.cadre.titled(text)

    def villages_named(self, text: str, known_villages: Iterable[str]) -> list[str]:
        return self.rules.villages_named(text, known_villages)

    def classify(self, text: str, known_villages: Iterable[str] = (),
                 committee_names: Mapping[str, Iterable[str]] | Iterable[str] = (),
                 involves_cadre: bool | None = None, elsewhere: Mapping[str, Iterable[str]] | None = None,
                 cadre_unknown: bool = False) -> Labels:
        return self.read(text, known_villages, committee_names, involves_cadre, elsewhere, cadre_unknown).labels

    def read(self, text: str, known_villages: Iterable[str] = (),
             committee_names: Mapping[str, Iterable[str]] | Iterable[str] = (),
             involves_cadre: bool | None = None, elsewhere: Mapping[str, Iterable[str]] | None = None,
             cadre_unknown: bool = False) -> Reading:
        """`involves_cadre`: the reporter's answer, which nothing overrides; `elsewhere`, `cadre_unknown`:
        see Classifier.classify."""
        known_villages = tuple(known_villages)
        model = self.model
        committee = (tuple((v, tuple(names)) for v, names in committee_names.items())
                     if isinstance(committee_names, Mapping) else tuple(committee_names))
        others = tuple((v, tuple(names)) for v, names in (elsewhere or {}).items())
        key = (text, known_villages, committee, involves_cadre, others, cadre_unknown)
        with self._readings_lock:
            if model is not self._readings_model:
                self._readings.clear()
                self._readings_model = model
            if key in self._readings:
                self._readings.move_to_end(key)
                return self._readings[key]
        rules = self.rules.classify(text, known_villages, committee_names, involves_cadre=involves_cadre,
                                    elsewhere=elsewhere, cadre_unknown=cadre_unknown)
        if model is None:
            reading = Reading(rules, {}, ())
        else:
            proba = model.proba(text, rules)
            # hook: the accusation scorer's second opinion may turn the detector's "no" into its question, or
            # settle its question when very sure
            scorer, given = getattr(model, "accusation", None), involves_cadre is not None or cadre_unknown
            # the detector's own no, read by the scorer (not the scorer's keep of the detector's question: there
            # the general model's doubt stays the backstop of a fail-open settlement)
            scored_no = scorer is not None and rules.cadre_verdict == NO
            rules = accusation.second_opinion(scorer, text, rules, given)
            reading = combine(self.rules, text, rules, proba, given, accusation.sure(scorer, text, rules, given),
                              cadre_scored=scored_no)
        with self._readings_lock:
            if model is not self._readings_model:
                return reading  # the model changed meanwhile: not kept under the new one
            self._readings[key] = reading
            if len(self._readings) > READINGS_KEPT:
                self._readings.popitem(last=False)
        return reading


def combine(rules_table: Classifier, text: str, rules: Labels, proba: Mapping[str, Mapping[object, float]],
            cadre_given: bool = False, cadre_sure: bool = False, cadre_scored: bool = False) -> Reading:
    """The combined labels of one text from the rules' reading and the model's probabilities; `cadre_sure`:
    the accusation scorer is sure of the detector's yes (accusation.sure); `cadre_scored`: the scorer has read
    the detector's own no (and left it under accusation.THRESHOLD, or it would be a question by now)."""
    confidence: dict[str, float] = {"village": SURE}
    # involves_cadre fails closed: the model may raise a doubt about the detector's "no", and about its
    # "yes" — which then becomes the detector's question (不清楚 or no answer stays yes) — never clear one
    # (only the accusation scorer, very sure, settles the detector's question: accusation.second_opinion).
    involves = rules.involves_cadre
    verdict = rules.cadre_verdict
    p_cadre = proba.get("involves_cadre", {}).get(True)
    if not cadre_given and not cadre_sure and verdict == YES and p_cadre is not None and p_cadre < CADRE_DOUBT:
        verdict = ASK
        rules = replace(rules, cadre_verdict=ASK, cadre_accused=False)
    if cadre_given or verdict == YES:
        confidence["involves_cadre"] = SURE
    elif verdict == ASK:
        confidence["involves_cadre"] = 0.5  # the cadre detector asks its own question
    elif cadre_scored or p_cadre is None:
        # A "no" both the detector and the scorer hold: the general model's doubt about it caught no accusation
        # held out that those two missed (bench/cadre_doubt.py: 0 of 5 today's, 0 of 11 fresh-set leaks, 0 of 1
        # in the classification sets) and asked about 32 of 442 mentions — questions for nothing.
        confidence["involves_cadre"] = SURE
    else:  # a model file without a scorer: its doubt is the only second reading of the detector's no
        confidence["involves_cadre"] = 1.0 - p_cadre

    categories = proba.get("category", {})
    ranked = tuple(c for c, _ in sorted(categories.items(), key=lambda cp: -cp[1]))
    margin = SURE
    if rules.cadre_accused:  # who is accused decides; a doubt alone leaves the category to the text
        category, confidence["category"] = rules_table.cadre.category, SURE  # (the scorer's yes too)
    elif categories:
        category, confidence["category"] = ranked[0], categories[ranked[0]]
        margin = categories[ranked[0]] - (categories[ranked[1]] if len(ranked) > 1 else 0.0)
    else:
        category, confidence["category"] = rules_table.text_category(rules), SURE
    options: list[str] = []
    # 其他 is always offered last (intake adds it), so it takes no place among the likeliest: with it
    # ranked second, a fourth category would otherwise never be offered.
    for c in (c for c in ranked if c != OTHER_CATEGORY):
        if len(options) == OPTIONS or sum(categories[o] for o in options) >= OPTIONS_COVER:
            break
        options.append(c)

    urgent = _flag(rules.urgent, proba.get("urgent"), confidence, "urgent")
    online = _flag(rules.online, proba.get("online"), confidence, "online",
                   sure=bool(rules.links or rules.platform))
    labels = replace(
        rules, category=category, lead_department=rules_table.lead_for(category), urgent=urgent, online=online,
        severity=rules_table.severity_for(text, category, urgent, online, involves),
    )
    if not online:
        labels = replace(labels, platform=None)
    return Reading(labels, confidence, tuple(options), by_model=True, margin=margin)


def _flag(rule_value: bool, proba: Mapping[object, float] | None, confidence: dict, name: str,
          sure: bool | None = None) -> bool:
    """A yes/no field: the rules' yes when it rests on a hard sign, else the model's likelier value."""
    if sure is None:
        sure = rule_value  # the rules' urgent yes is a hard cue (堵路, 拉横幅, 三十多人围在…)
    if sure or not proba:
        confidence[name] = SURE
        return rule_value
    value = proba.get(True, 0.0) >= 0.5
    confidence[name] = proba.get(value, 0.0)
    return value
