"""Does a tip-off accuse a village cadre? A detector that fails closed.

The cost is lopsided: a wrong "yes" costs the township one hand-back, a wrong "no" sends the
reporter's words to the accused. So the detector answers yes / no / ask:

1. Mentions: every cadre title the table knows (书记, 支书, 村主任, 会计, 当家的 …) and every name
   of a committee member of the villages in play as the roster has it — full name, 老+surname,
   surname+title (刘书记). Each mention becomes one placeholder character, so the role patterns
   of the table work on names and titles alike.
2. Roles: a mention is cast, by the table's patterns, as negated (不是村干部干的, 乡财政所会计,
   村委会门口 — not a person), accused, victim or helper (调解, 帮忙, 反映 …). Accused: yes.
3. Signs of wrongdoing, outside the words that cast a mention as victim or helper, by kind of
   language (money, lists, favours, force, opacity, self-dealing …): a strong sign, or signs of
   two kinds, is wrongdoing; signs of one kind may be.
4. Verdict: an uncast mention with wrongdoing → yes; with what may be wrongdoing → ask; every
   mention cast as helper or victim but a strong sign left in the text → ask; otherwise no.

Pure: no database. Handlers look up the committee names and pass them in. All words are data
(the [cadre] table of handlers/rules.toml); errors name the file and the key.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

YES, NO, ASK = "yes", "no", "ask"
MARK = "\ue000"  # a mention, in the text the patterns read (a private-use character: never typed)
_HIDE = "\ue001"  # words already read as a role, hidden from the signs
ROLES = ("negated", "accused", "victim", "helper")


@dataclass(frozen=True)
class Verdict:
    verdict: str  # YES, NO or ASK
    reason: str  # a short note for the case history and debugging (not shown to the reporter)
    mentions: tuple[str, ...] = ()

    @property
    def involves(self) -> bool:
        """Fails closed: until someone says no, unsure counts as yes."""
        return self.verdict != NO


class CadreRules:
    """The [cadre] table, compiled. `reader` is the rule-file reader of handlers/classify.py."""

    def __init__(self, table: dict[str, Any], reader: Any):
        r, where = reader, "cadre"
        r.keys(table, ["category", "titles", "name_titles", "name_prefixes", "compound_surnames", "strong",
                       "strong_patterns", "signs", "excused_for_victims", *ROLES], where)
        self.category = r.string(table, "category", where)
        titles = [_n(t) for t in r.strs(table, "titles", where, nonempty=True)]
        self._titles = re.compile(_alt(titles))
        self._name_titles = [_n(t) for t in r.strs(table, "name_titles", where, required=False)]
        self._prefixes = [_n(t) for t in r.strs(table, "name_prefixes", where, required=False)]
        self._compound = sorted((_n(s) for s in r.strs(table, "compound_surnames", where, required=False)),
                                key=len, reverse=True)
        self._strong = _literals(r.strs(table, "strong", where, nonempty=True))
        self._strong_patterns = [r.regex(p, f"{where} strong_patterns")
                                 for p in r.strs(table, "strong_patterns", where, required=False)]
        signs = r.table(table, "signs", where) if "signs" in table else {}
        self._signs = {kind: _literals(r.strs(signs, kind, "cadre.signs", nonempty=True)) for kind in signs}
        self._excused = r.strs(table, "excused_for_victims", where, required=False)
        for kind in self._excused:
            if kind not in self._signs:
                raise r.fail(f"[cadre] excused_for_victims names {kind!r}, which is not a kind of [cadre.signs]")
        self._roles: list[tuple[str, list[re.Pattern]]] = []
        for role in ROLES:
            pats = []
            for p in r.strs(table, role, where, required=False):
                if p.count("{C}") != 1:
                    raise r.fail(f"[cadre] {role} pattern {p!r} must contain {{C}} (the cadre) exactly once")
                pats.append(r.regex(p.replace("{C}", f"(?P<c>{MARK})"), f"cadre {role}"))
            self._roles.append((role, pats))

    # -- names ---------------------------------------------------------------------------------

    def name_forms(self, names: Iterable[str]) -> list[str]:
        """How people write a committee member's name: 刘建国, 老刘 (小刘, 大刘), 刘书记 (for every name
        title), and the given name of a name with one (建国 of 刘建国)."""
        forms: set[str] = set()
        for name in names:
            name = "".join(_n(name or "").split())
            if len(name) < 2:
                continue
            forms.add(name)
            surname = next((s for s in self._compound if name.startswith(s) and len(name) > len(s)), name[0])
            if len(name) - len(surname) >= 2:
                forms.add(name[len(surname):])
            forms.update(p + surname for p in self._prefixes)
            forms.update(surname + t for t in self._name_titles)
        return sorted(forms, key=len, reverse=True)

    # -- the verdict ---------------------------------------------------------------------------

    def judge(self, text: str, committee_names: Iterable[str] = ()) -> Verdict:
        text = _n(text or "")
        names = self.name_forms(committee_names)
        marked, mentions = self._mark(text, names)
        if not mentions:
            return Verdict(NO, "")
        roles = self._cast(marked, len(mentions))
        shown = tuple(dict.fromkeys(mentions))
        accused = [mentions[i] for i, role in roles.items() if role == "accused"]
        if accused:
            return Verdict(YES, f"指向{accused[0]}", shown)
        hidden = self._hide_roles(marked)
        strong, kinds = self._signs_in(hidden)
        uncast = [mentions[i] for i in range(len(mentions)) if i not in roles]
        cast = {roles[i] for i in roles}
        if uncast:
            if strong or len(kinds) >= 2:
                return Verdict(YES, f"{uncast[0]}：{strong or '、'.join(sorted(kinds))}", shown)
            if kinds:
                return Verdict(ASK, f"{uncast[0]}：{'、'.join(sorted(kinds))}", shown)
            return Verdict(NO, f"{uncast[0]}：无不当迹象", shown)
        if cast <= {"negated"}:
            return Verdict(NO, "否认或非村干部", shown)
        if strong and "victim" in cast and any(self._signs[k].search(strong) for k in self._excused):
            strong = ""  # the attacker's force, not the cadre's
        if strong:
            return Verdict(ASK, f"{shown[0]}为协助或受害方，但有“{strong}”", shown)
        return Verdict(NO, f"{shown[0]}为协助或受害方", shown)

    def _mark(self, text: str, names: list[str]) -> tuple[str, list[str]]:
        """The text with every mention replaced by MARK, and the mentions in order."""
        spans: list[tuple[int, int]] = []
        finders = [self._titles] + ([re.compile(_alt(names))] if names else [])
        for rx in finders:
            spans += [m.span() for m in rx.finditer(text) if m.end() > m.start()]
        spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
        kept: list[tuple[int, int]] = []
        for s, e in spans:  # longest first at a position; overlaps join (刘书记 inside 老刘书记)
            if kept and s < kept[-1][1]:
                kept[-1] = (kept[-1][0], max(e, kept[-1][1]))
            else:
                kept.append((s, e))
        out, mentions, pos = [], [], 0
        for s, e in kept:
            out += [text[pos:s], MARK]
            mentions.append(text[s:e])
            pos = e
        out.append(text[pos:])
        return "".join(out), mentions

    def _cast(self, marked: str, n: int) -> dict[int, str]:
        """mention index → role, by the first role (in table order) with a pattern written around it."""
        index = {at: i for i, at in enumerate(i for i, ch in enumerate(marked) if ch == MARK)}
        roles: dict[int, str] = {}
        for role, pats in self._roles:
            for rx in pats:
                pos = 0
                while pos <= len(marked):
                    m = rx.search(marked, pos)
                    if not m:
                        break
                    roles.setdefault(index[m.start("c")], role)
                    pos = m.start() + 1
        return roles

    def _hide_roles(self, marked: str) -> str:
        """The words that cast a mention as victim, helper or not a cadre are no sign of wrongdoing."""
        chars = list(marked)
        for role, pats in self._roles:
            if role == "accused":
                continue
            for rx in pats:
                for m in rx.finditer(marked):
                    chars[m.start():m.end()] = _HIDE * (m.end() - m.start())
        return "".join(chars)

    def _signs_in(self, text: str) -> tuple[str, set[str]]:
        """The first strong sign (or ""), and the kinds of sign found."""
        strong = ""
        m = self._strong.search(text) if self._strong else None
        if m:
            strong = m.group(0)
        else:
            for rx in self._strong_patterns:
                m = rx.search(text)
                if m:
                    strong = m.group(0)
                    break
        kinds = {kind for kind, rx in self._signs.items() if rx is not None and rx.search(text)}
        return strong, kinds


def _n(s: str) -> str:
    return unicodedata.normalize("NFKC", s)


def _alt(words: Iterable[str]) -> str:
    return "|".join(map(re.escape, sorted({_n(w) for w in words if w}, key=len, reverse=True)))


def _literals(words: Iterable[str]) -> re.Pattern | None:
    alt = _alt(words)
    return re.compile(alt) if alt else None
