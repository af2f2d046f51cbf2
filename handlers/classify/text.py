"""Text structure the rules read: normalising, links, numerals, clauses and negation.

Not domain words: punctuation and numerals only (the words live in the rule table).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from typing import Any

CLAUSE_BREAKS = frozenset(",，。!！?？;；:：、 \t\r\n\u3000…~～")
SENTENCE_BREAKS = frozenset("。!！?？\n")
_CLAUSE_BREAK = re.compile("[" + re.escape("".join(sorted(CLAUSE_BREAKS))) + "]")
_SENTENCE_BREAK = re.compile("[" + re.escape("".join(sorted(SENTENCE_BREAKS))) + "]")
QUOTES = "“”‘’\"'「」『』《》【】"
QUOTE_DROP = str.maketrans("", "", QUOTES)
LINK_RE = re.compile(
    r"(?:https?://|www\.)[^\s\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”‘’\"'<>()（）\[\]【】{}]+",
    re.IGNORECASE,
)
NUM = r"(?:\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万几数]+)"
MONEY_RE = re.compile(rf"(?P<num>{NUM})(?:多|来|余)?(?P<mag>万|千)?(?:多|来|余)?(?P<cur>元|块)?")
_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
           "几": 3, "数": 3}
_UNITS = {"十": 10, "百": 100, "千": 1000}
MASK = "\x00"


def cn_number(s: str) -> int | None:
    """The lower bound of a number as people write it: 三十 30, 五六十 50, 一两百 100, 十几 13, 几十 30,
    一万二 12000, 百十 110, 30 30. None when it is not a number."""
    if not s:
        return None
    if s[0].isdigit():
        try:
            return int(float(s))
        except ValueError:
            return None
    total = section = 0
    digit: int | None = None
    last_unit = 1
    prev_digit = False
    for ch in s:
        if ch in "零〇":
            digit, prev_digit, last_unit = None, False, 1
        elif ch in _DIGITS:
            if prev_digit:  # a range: 五六十, 一两百 — keep the lower, first digit
                continue
            digit, prev_digit = _DIGITS[ch], True
        elif ch in _UNITS:
            unit = _UNITS[ch]
            section += (1 if digit is None else digit) * unit
            digit, prev_digit, last_unit = None, False, unit
        elif ch == "万":
            section += digit or 0
            total += (section or 1) * 10000
            section, digit, prev_digit, last_unit = 0, None, False, 10000
        else:
            return None
    if digit is not None:
        if last_unit > 1 and (section or total):  # 一万二 = 12000, 一百二 = 120, 三十五 = 35
            digit *= last_unit // 10
        section += digit
    return total + section


class Doc:
    """The analysis text with its clause and sentence boundaries, and the negation tests."""

    def __init__(self, text: str, rules: Any):
        self.text = text
        self.rules = rules
        self._clause = [m.start() for m in _CLAUSE_BREAK.finditer(text)]
        self._sentence = [m.start() for m in _SENTENCE_BREAK.finditer(text)]

    @staticmethod
    def _bounds(breaks: list[int], start: int, end: int, n: int) -> tuple[int, int]:
        i = bisect_left(breaks, start)
        s = breaks[i - 1] + 1 if i > 0 else 0
        j = bisect_right(breaks, max(start, end - 1))
        e = breaks[j] if j < len(breaks) else n
        return s, e

    def clause_bounds(self, start: int, end: int) -> tuple[int, int]:
        return self._bounds(self._clause, start, end, len(self.text))

    def sentence_bounds(self, start: int, end: int) -> tuple[int, int]:
        return self._bounds(self._sentence, start, end, len(self.text))

    def _before(self, start: int, end: int) -> str:
        cs, _ = self.clause_bounds(start, end)
        pre = self.text[cs:start]
        for ig in self.rules._neg_ignore:
            pre = pre.replace(ig, MASK * len(ig))
        return pre[-self.rules._neg_window:]

    def flag_negated(self, start: int, end: int) -> bool:
        pre = self._before(start, end)
        if any(w in pre for w in self.rules._neg_before):
            return True
        _, ce = self.clause_bounds(start, end)
        post = self.text[end:ce][: self.rules._neg_window]
        return any(post.startswith(w) or w in post for w in self.rules._neg_after)

    def match_negated(self, start: int, end: int) -> bool:
        """flag_negated for a match that may run over several clauses ("大家…没有要去闹"): a
        negation in the last clause of the match, before its end, also cancels it."""
        if self.flag_negated(start, end):
            return True
        cs, _ = self.clause_bounds(end - 1, end)
        inside = self.text[max(start, cs):end]
        for ig in self.rules._neg_ignore:
            inside = inside.replace(ig, MASK * len(ig))
        return any(w in inside for w in self.rules._neg_before)

    def category_factor(self, start: int, end: int) -> float:
        pre = self._before(start, end)
        if any(w in pre for w in self.rules._neg_category):
            return 0.0
        _, ce = self.clause_bounds(start, end)
        post = self.text[end:ce][: self.rules._neg_window]
        if any(w in post for w in self.rules._neg_after):
            return 0.0
        cs, ce = self.clause_bounds(start, end)
        clause = self.text[cs:ce]
        if any(w in clause for w in self.rules._speculation):
            return self.rules._spec_factor
        return 1.0


def norm(s: str) -> str:
    return unicodedata.normalize("NFKC", s)


def alternation(words: Iterable[str]) -> str:
    """The words as one regex alternation, longest first (so 村主任 wins over 主任)."""
    return "|".join(map(re.escape, sorted({norm(w) for w in words if w}, key=len, reverse=True)))


def literals(words: Iterable[str]) -> re.Pattern | None:
    alt = alternation(words)
    return re.compile(alt) if alt else None


# -- line by line ---------------------------------------------------------------------------------
# A draft is its messages joined by "\n", a clause and sentence break: what a rule reads inside a clause
# or a sentence is read the same in the line alone. A draft step then reads only its new line; the lines
# already read are remembered (`LINE_CACHE` of them) — exactly the whole text's reading, where a pattern
# can neither consume "\n" nor see a line's edge differently from the text's (`line_local`).

LINE_CACHE = 8192  # lines remembered per reader: a few minutes of drafts

try:  # re's own parser (private, as in Python 3.11-3.13): without it nothing is proven and drafts are read whole
    import re._constants as _sc
    import re._parser as _sre
except ImportError:  # pragma: no cover
    _sre = None


def line_local(pattern: re.Pattern | None) -> bool:
    """Every match of the pattern in a text is a match in one of its lines alone (split at "\n"), and the
    other way round: it consumes no "\n" and tests no anchor (^ $ \\A \\Z) — a lookaround or a \\b at a line's
    edge sees "\n" in the text and nothing in the line, which no "\n"-free item tells apart."""
    if pattern is None:
        return True
    if _sre is None:
        return False
    return not _may_cross(_sre.parse(pattern.pattern, pattern.flags), bool(pattern.flags & re.S))


def _may_cross(items, dotall: bool) -> bool:
    for op, arg in items:
        if op is _sc.LITERAL:
            if arg == 10:
                return True
        elif op is _sc.NOT_LITERAL:
            if arg != 10:
                return True
        elif op is _sc.ANY:
            if dotall:
                return True
        elif op is _sc.IN:
            if _in_set(arg):
                return True
        elif op is _sc.AT:
            if arg not in (_sc.AT_BOUNDARY, _sc.AT_NON_BOUNDARY, _sc.AT_UNI_BOUNDARY, _sc.AT_UNI_NON_BOUNDARY):
                return True
        elif op is _sc.SUBPATTERN:
            _, add, remove, sub = arg
            if _may_cross(sub, (dotall or bool(add & re.S)) and not remove & re.S):
                return True
        elif op is _sc.BRANCH:
            if any(_may_cross(branch, dotall) for branch in arg[1]):
                return True
        elif op in (_sc.MAX_REPEAT, _sc.MIN_REPEAT, _sc.POSSESSIVE_REPEAT):
            if _may_cross(arg[2], dotall):
                return True
        elif op in (_sc.ASSERT, _sc.ASSERT_NOT):
            if _may_cross(arg[1], dotall):
                return True
        elif op is _sc.ATOMIC_GROUP:
            if _may_cross(arg, dotall):
                return True
        elif op is _sc.GROUPREF:
            continue  # the group's own items are checked where it stands
        else:
            return True  # anything else (a conditional group …): not proven, read the whole text
    return False


_NEWLINE_IN = {} if _sre is None else {_sc.CATEGORY_SPACE: True, _sc.CATEGORY_NOT_DIGIT: True, _sc.CATEGORY_NOT_WORD: True,
               _sc.CATEGORY_LINEBREAK: True, _sc.CATEGORY_UNI_SPACE: True, _sc.CATEGORY_UNI_NOT_DIGIT: True,
               _sc.CATEGORY_UNI_NOT_WORD: True, _sc.CATEGORY_UNI_LINEBREAK: True}


def _in_set(items) -> bool:
    """Whether a character class holds "\n"."""
    negate, found = False, False
    for op, arg in items:
        if op is _sc.NEGATE:
            negate = True
        elif op is _sc.LITERAL:
            found |= arg == 10
        elif op is _sc.RANGE:
            found |= arg[0] <= 10 <= arg[1]
        elif op is _sc.CATEGORY:
            found |= _NEWLINE_IN.get(arg, False)
        else:
            return True  # a form not known here: assume it may
    return found != negate


def by_line(text: str, read: Callable[[str], Iterable[tuple]]) -> list[tuple]:
    """What `read` finds in each line of the text — (start, end, …) of the line — as (start, end, …) of the
    text, in order."""
    out: list[tuple] = []
    at = 0
    for line in text.split("\n"):
        out += [(s + at, e + at, *rest) for s, e, *rest in read(line)]
        at += len(line) + 1
    return out
