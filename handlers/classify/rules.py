"""Classify a tip-off: category, lead department, severity and flags, read from a replaceable rule table.

Pure domain code: no WeChat, no database. The rule table (handlers/rules.toml by default, or the file
named by GRIDLINE_RULES_FILE) holds every word and pattern; this module only knows how to apply them:

* category — each category scores its cues (literal words with weights, and regular expressions);
  a cue negated in its clause ("不是征地的事") does not count, one in a speculative clause ("是不是要
  征地了") counts for less. The best score at or above min_score wins, ties by priority; a tip-off
  whose accused is a village cadre goes to the cadre category (纪委) whatever it is about: who is
  accused and of what decides, not the subject words (厕所, 低保, 宅基地 …). One the detector is only
  unsure of (ask) keeps the category its words give: it fails closed on access, not on the category.
* involves_cadre — handlers/classify/cadre.py: mentions of titles and committee names, their roles, signs of
  wrongdoing; it fails closed (yes / no / ask, and ask counts as yes until the reporter says no).
* urgent — hard cues (堵路, 拉横幅, 集体上访, 扬言 …), soft cues that a wedding or a fair excuses (聚集),
  and crowds: a number of people (三十多个, 五六十号, 几十, 上百) at or above a threshold next to a
  gathering word. Negated cues ("没有聚集", "没人去闹") do not count.
* online, platform, links, screen name; village from the caller's known villages.

Word segmentation (jieba) is deliberately not used: cues are matched directly in the text, which
needs no dictionary, loads instantly, and does not mis-split rural colloquialisms; the few places
where a substring would mislead (视频电话, 南沟子 vs 南沟村, 白水乡 vs 白水村) are handled by masks and
blockers in the table.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from handlers.classify.cadre import YES, CadreRules
from handlers.classify.detectors import OnlineDetector, UrgencyDetector, VillageDetector
from handlers.classify.labels import Labels, RulesError
from handlers.classify import schema
from handlers.classify.schema import TableReader as _Reader
from handlers.classify.text import MASK as _MASK
from handlers.classify.text import MONEY_RE as _MONEY_RE
from handlers.classify.text import QUOTE_DROP as _QUOTE_DROP
from handlers.classify.text import Doc as _Doc
from handlers.classify.text import LINE_CACHE, cn_number, line_local
from handlers.classify.text import norm as _n
from handlers.org import SEVERITIES
from handlers.tomlfile import read_toml

__all__ = ["Classifier", "Labels", "RulesError", "cn_number"]

NORMAL, MAJOR, URGENT = SEVERITIES  # 一般 较大 紧急
DEFAULT_RULES = Path(__file__).parents[1] / "rules.toml"


# -- the compiled rule table ---------------------------------------------------------------------


@dataclass
class _Cue:
    text: str           # as written in the table (for messages and debugging)
    regex: re.Pattern
    weight: float
    literal: bool


@dataclass
class _Category:
    name: str
    lead_department: str
    cues: list[_Cue]
    needs_any: re.Pattern | None  # the category counts only when one of these words is in the text
    by_first: dict[str, tuple[int, ...]] = None  # literal cues by their first character (indices into cues)
    patterns: tuple[int, ...] = ()  # the cues that are regular expressions

    def __post_init__(self):
        by_first: dict[str, list[int]] = {}
        for q, cue in enumerate(self.cues):
            if cue.literal:
                by_first.setdefault(cue.text[:1], []).append(q)
        self.by_first = {ch: tuple(qs) for ch, qs in by_first.items()}
        self.patterns = tuple(q for q, cue in enumerate(self.cues) if not cue.literal)

    def cues_in(self, chars: set[str]) -> list[int]:
        """The cues that may be in a text of these characters, in table order: most words of the table are
        not in a given text, and a word whose first character is missing is not."""
        return sorted([*self.patterns, *(q for ch in chars & self.by_first.keys() for q in self.by_first[ch])])


_COMPILED: dict[tuple, Classifier] = {}  # (class, source, the table's repr) → the table compiled


class Classifier(OnlineDetector, UrgencyDetector, VillageDetector):
    """A rule table, compiled. Immutable after load: safe to share between threads."""

    def __init__(self, data: dict[str, Any], source: str = "<rules>", by_line: bool = True):
        """`by_line`: read a draft's lines once each where the table allows (False: every text whole, the
        reading line by line must equal — tests compare the two)."""
        schema.validate(data, source)  # every problem of the table, named, before anything is compiled
        r = _Reader(source)
        self.source = source

        # negation
        neg = r.table(data, "negation")
        self._neg_before = [_n(w) for w in r.strs(neg, "before", "negation", nonempty=True)]
        self._neg_after = [_n(w) for w in r.strs(neg, "after", "negation", required=False)]
        self._neg_ignore = [_n(w) for w in r.strs(neg, "ignore", "negation", required=False)]
        self._neg_category = [_n(w) for w in r.strs(neg, "category", "negation", required=False)]
        self._neg_window = int(r.number(neg, "window", "negation", minimum=1, integer=True))

        # categories
        cls = r.table(data, "classify")
        weights = r.table(cls, "weights", "classify")
        w = {k: r.number(weights, k, "classify.weights") for k in ("strong", "words", "weak", "patterns")}
        cats = data["category"]
        self._categories: list[_Category] = []
        for i, cat in enumerate(cats, 1):
            where = f"category #{i}"
            name = r.string(cat, "name", where)
            where = f"category {name}"
            dept = r.string(cat, "lead_department", where)
            cues: list[_Cue] = []
            lits = []
            for key in ("strong", "words", "weak"):
                for word in r.strs(cat, key, where, required=False):
                    lits.append((_n(word), w[key]))
            # longest first, so that a longer cue hides the shorter ones inside it
            seen: set[str] = set()
            for word, weight in sorted(lits, key=lambda x: -len(x[0])):
                if word not in seen:
                    seen.add(word)
                    cues.append(_Cue(word, re.compile(re.escape(word)), weight, True))
            for pat in r.strs(cat, "patterns", where, required=False):
                cues.append(_Cue(pat, r.regex(pat, f"{where} patterns"), w["patterns"], False))
            needs = r.literals(r.strs(cat, "needs_any", where, required=False))
            self._categories.append(_Category(name, dept, cues, needs))
        names = [c.name for c in self._categories]
        self._default = r.string(cls, "default_category", "classify")
        self._min_score = r.number(cls, "min_score", "classify")
        priority = r.strs(cls, "priority", "classify", required=False)
        self._rank = {n: i for i, n in enumerate(priority + [n for n in names if n not in priority])}
        self._dominant = r.strs(cls, "dominant", "classify", required=False)
        self._dominant_min_score = r.number(cls, "dominant_min_score", "classify", default=0)
        self._speculation = [_n(x) for x in r.strs(cls, "speculation", "classify", required=False)]
        self._spec_factor = r.number(cls, "speculation_factor", "classify", default=0.5)
        self._dept = {c.name: c.lead_department for c in self._categories}
        # A cue read in each line alone finds what it finds in the whole text: read a draft's lines once each.
        self._cues_by_line = by_line and all(
            line_local(cue.regex) if not cue.literal else "\n" not in cue.text
            for cat in self._categories for cue in cat.cues) and all(
            line_local(cat.needs_any) for cat in self._categories)
        self._line_cues = lru_cache(maxsize=LINE_CACHE)(lambda line: self._cues_in(_Doc(line, self)))

        self._by_line = by_line
        self._load_online(r, data)
        self._load_urgent(r, data)

        # cadre: the detector of handlers/classify/cadre.py reads its own table
        village = data.get("village", {})
        self.cadre = CadreRules(r.table(data, "cadre"), r, village_suffixes=tuple(village.get("suffixes", ())),
                                by_line=by_line)
        self._cadre_category = self.cadre.category

        self._load_village(r, data)

        # severity
        sev = r.table(data, "severity")
        self._major_cadre = r.boolean(sev, "major_if_involves_cadre", "severity")
        self._major_online_cats = r.strs(sev, "major_online_categories", "severity", required=False)
        self._major_count = r.number(sev, "major_count", "severity", minimum=1)
        self._major_amount = r.number(sev, "major_amount", "severity", minimum=1)
        self._major_spread = r.literals(r.strs(sev, "major_spread", "severity", required=False))

    # -- loading -------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None) -> Classifier:
        """Load a rule table: a TOML file, or the packaged handlers/rules.toml when path is None.

        A table is compiled once per process and then shared (a Classifier is immutable): compiling
        costs ~0.1 s of CPU, a thousand regular expressions, more than `re` keeps in its cache — and
        each app, CLI pass and weekly retrain loads the table again. Keyed by the table's content, so
        an edited file is compiled anew."""
        data, source = read_toml(path, DEFAULT_RULES, "rules file", RulesError)
        key = (cls, source, repr(data))
        compiled = _COMPILED.get(key)
        if compiled is None:
            if len(_COMPILED) >= 8:  # tables edited over and over in a long-lived process: keep a few
                _COMPILED.clear()
            compiled = _COMPILED[key] = cls(data, source)
        return compiled

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self._dept)

    def lead_for(self, category: str) -> str:
        """The lead department the rule table gives a category (a reporter may correct the category)."""
        return self._dept[category]

    # -- classification ------------------------------------------------------------------------

    def classify(self, text: str, known_villages: Iterable[str] = (),
                 committee_names: Mapping[str, Iterable[str]] | Iterable[str] = (),
                 involves_cadre: bool | None = None, elsewhere: Mapping[str, Iterable[str]] | None = None,
                 cadre_unknown: bool = False) -> Labels:
        """`committee_names`: the committee members of the villages in play (the roster's names, by village);
        `elsewhere`: those of the township's other villages (full names only, see CadreRules.judge);
        `involves_cadre`: the reporter's answer or correction, which overrides the detector;
        `cadre_unknown`: asked, the reporter could not say (不清楚, or no answer): involved, not accused."""
        text = unicodedata.normalize("NFKC", text or "")
        links = self._links(text)
        screen_name = self._screen_name(text)
        doc = _Doc(self._analysis_text(text, links, screen_name), self)

        scores = self._category_scores(doc)
        verdict = self.cadre.judge(doc.text, committee_names, elsewhere)
        if cadre_unknown:
            involves_cadre, accused = True, False
        elif involves_cadre is None:
            involves_cadre, accused = verdict.involves, verdict.verdict == YES
        else:
            accused = involves_cadre
        # Only an accusation makes the case the cadre category's: a doubt (ask, 不清楚) fails closed on who
        # may see the case, not on what it is about.
        category = self._cadre_category if accused else self._best_category(scores)

        online, platform = self._online(doc, links)
        urgent = self._urgent(doc)
        severity = self._severity(doc, category, urgent, online, involves_cadre)
        village = self._village(doc, known_villages)
        return Labels(
            category=category,
            lead_department=self._dept[category],
            severity=severity,
            urgent=urgent,
            online=online,
            involves_cadre=involves_cadre,
            cadre_accused=accused,
            village=village,
            platform=platform,
            screen_name=screen_name,
            links=tuple(links),
            crowd_said=urgent or bool(self._mentions is not None and self._mentions.search(doc.text)),
            cadre_verdict=verdict.verdict,
            cadre_reason=verdict.reason,
            cadre_mentions=verdict.mentions,
            cadre_villages=verdict.villages,
            category_scores=tuple((name, score) for name, (score, _) in scores.items()),
        )

    def text_category(self, labels: Labels) -> str:
        """The category the rule table's scores give, whoever is accused."""
        return self._best_category({name: (score, []) for name, score in labels.category_scores})

    def severity_for(self, text: str, category: str, urgent: bool, online: bool, involves_cadre: bool) -> str:
        """The severity of labels decided elsewhere (the model, the reporter, the office)."""
        text = unicodedata.normalize("NFKC", text or "")
        links = self._links(text)
        doc = _Doc(self._analysis_text(text, links, self._screen_name(text)), self)
        return self._severity(doc, category, urgent, online, involves_cadre)

    def explain(self, text: str) -> dict[str, Any]:
        """The category scores and the cues behind them (for the office and for debugging rules)."""
        text = unicodedata.normalize("NFKC", text or "")
        links = self._links(text)
        screen_name = self._screen_name(text)
        doc = _Doc(self._analysis_text(text, links, screen_name), self)
        return {name: {"score": s, "cues": hits} for name, (s, hits) in self._category_scores(doc).items()}

    # -- pieces --------------------------------------------------------------------------------

    def _analysis_text(self, text: str, links: list[str], screen_name: str | None) -> str:
        for link in links:
            text = text.replace(link, " ")
        if screen_name:
            text = text.replace(screen_name, " ")
        return text.translate(_QUOTE_DROP)

    def _category_scores(self, doc: _Doc) -> dict[str, tuple[float, list[str]]]:
        """Each category's score and the cues behind it: a cue counts once, at its best factor anywhere in
        the text (negated 0, speculative less). Read line by line (handlers/classify/text.py) where the table
        allows: a draft step reads its new line, and the lines before are remembered."""
        if self._cues_by_line:
            read = [self._line_cues(line) for line in doc.text.split("\n")]
        else:
            read = [self._cues_in(doc)]
        needed = frozenset().union(*(needs for needs, _ in read))
        best: dict[tuple[int, int], float] = {}
        for _, factors in read:
            for key, factor in factors:
                if factor > best.get(key, 0.0):
                    best[key] = factor
        found: dict[int, list[tuple[int, float]]] = {}
        for (c, q), factor in sorted(best.items()):
            found.setdefault(c, []).append((q, factor))
        out: dict[str, tuple[float, list[str]]] = {}
        for c, cat in enumerate(self._categories):
            score, hits = 0.0, []
            if cat.needs_any is None or c in needed:  # "不是村干部干的" names no one
                for q, factor in found.get(c, ()):
                    score += cat.cues[q].weight * factor
                    hits.append(cat.cues[q].text)
            out[cat.name] = (score, hits)
        return out

    def _cues_in(self, doc: _Doc) -> tuple[frozenset[int], tuple[tuple[tuple[int, int], float], ...]]:
        """The categories whose needs_any words stand (not negated), and every cue's best factor above 0
        by (category, cue): a longer literal cue hides the shorter ones of its category inside it."""
        needs, factors = set(), []
        present = set(doc.text)
        for c, cat in enumerate(self._categories):
            if cat.needs_any is not None and any(
                    doc.category_factor(m.start(), m.end()) > 0 for m in cat.needs_any.finditer(doc.text)):
                needs.add(c)
            work = doc.text
            for q in cat.cues_in(present):
                cue = cat.cues[q]
                if cue.literal and cue.text not in work:
                    continue  # `in` says so without a regex
                factor = 0.0
                spans = []
                for m in cue.regex.finditer(work if cue.literal else doc.text):
                    if m.end() == m.start():
                        continue
                    spans.append((m.start(), m.end()))
                    factor = max(factor, doc.category_factor(m.start(), m.end()))
                if cue.literal and spans:  # hide it from the shorter cues of this category
                    chars = list(work)
                    for s, e in spans:
                        chars[s:e] = _MASK * (e - s)
                    work = "".join(chars)
                if factor > 0:
                    factors.append(((c, q), factor))
        return frozenset(needs), tuple(factors)

    def _best_category(self, scores: dict[str, tuple[float, list[str]]]) -> str:
        candidates = [(name, score) for name, (score, _) in scores.items() if score >= self._min_score]
        # wrongdoing outranks the subject it concerns: a fight over a boundary is a fight
        dominant = [(n, s) for n, s in candidates
                    if n in self._dominant and s >= self._dominant_min_score]
        pool = dominant or candidates
        if not pool:
            return self._default
        return max(pool, key=lambda ns: (ns[1], -self._rank[ns[0]]))[0]

    def _severity(self, doc: _Doc, category: str, urgent: bool, online: bool, cadre: bool) -> str:
        if urgent:
            return URGENT
        if cadre and self._major_cadre:
            return MAJOR
        if online and category in self._major_online_cats:
            return MAJOR
        if online and self._major_spread is not None and self._major_spread.search(doc.text):
            return MAJOR
        benign = any(b in doc.text for b in self._benign)
        if not benign and any(n >= self._major_count for _, n in self._crowds(doc)):
            return MAJOR
        if self._max_amount(doc.text) >= self._major_amount:
            return MAJOR
        return NORMAL

    def _max_amount(self, t: str) -> float:
        best = 0.0
        for m in _MONEY_RE.finditer(t):
            num, mag, cur = m.group("num"), m.group("mag"), m.group("cur")
            if not (cur or mag == "万" or "万" in num):
                continue
            follow = t[m.end():m.end() + 2]
            if any(follow.startswith(u) for u in self._units_chars):
                continue  # 两万人 is a crowd, not a sum
            value = cn_number(num)
            if value is None:
                continue
            value *= {"万": 10000, "千": 1000}.get(mag or "", 1)
            best = max(best, value)
        return best
