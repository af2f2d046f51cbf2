"""The rule table's detectors of where a tip-off circulates, how urgent it is and which village it
concerns: each compiles its sections of the table and reads a text's clauses (handlers/classify/text.py).
Mixed into the rule engine (rules.py), which holds the category scores and the severity."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from handlers.classify.schema import TableReader
from handlers.classify.text import LINE_CACHE, LINK_RE, MASK, NUM, Doc, alternation, cn_number, line_local, norm


class OnlineDetector:
    """Online (a link, a platform, an online word), the platform, the links and the poster's screen name."""

    def _load_online(self, r: TableReader, data: dict[str, Any]) -> None:
        onl = r.table(data, "online")
        self._online_words = r.literals(r.strs(onl, "words", "online"))
        self._online_masks = [norm(x) for x in r.strs(onl, "masks", "online", required=False)]
        plats = r.table(onl, "platforms", "online")
        self._platform_of: dict[str, str] = {}
        for plat in plats:
            for alias in r.strs(plats, plat, "online.platforms", nonempty=True):
                self._platform_of[norm(alias)] = plat
        self._platforms = r.literals(self._platform_of)
        hosts = onl.get("link_hosts", {})
        self._link_hosts = sorted(((h.lower().lstrip("."), p) for h, p in hosts.items()),
                                  key=lambda x: -len(x[0]))

        # screen name
        sn = r.table(data, "screen_name")
        markers = alternation(r.strs(sn, "markers", "screen_name", nonempty=True))
        conns = alternation(r.strs(sn, "connectors", "screen_name", required=False))
        after_quote = r.strs(sn, "after_quote", "screen_name", required=False)
        prefixes = r.strs(sn, "prefixes", "screen_name", required=False)
        called = r.strs(sn, "called", "screen_name", required=False)
        stops = re.escape("".join(r.strs(sn, "unquoted_stops", "screen_name", required=False)))
        q_open, q_close = "“\"「『‘'", "”\"」』’'"
        conn = rf"(?:\s*(?:{conns}))?" if conns else ""
        self._sn_res = [
            re.compile(rf"(?:{markers}){conn}\s*[{q_open}](?P<n>[^{q_close}\n]{{1,30}})[{q_close}]"),
            # unquoted: up to a break or a stop character
            re.compile(rf"(?:{markers})\s*(?:{conns})\s*(?P<n>[^\s,，。.!！?？;；、:：{stops}{q_open}{q_close}]{{1,20}})")
            if conns else None,
            re.compile(rf"(?:{markers}){conn}\s*(?P<n>@?[A-Za-z0-9][A-Za-z0-9_\-.@]{{1,29}})"),
            re.compile(rf"[{q_open}](?P<n>[^{q_close}\n]{{1,30}})[{q_close}](?:{alternation(after_quote)})")
            if after_quote else None,
            re.compile(rf"(?:{alternation(prefixes)})(?P<n>[^\s,，。.!！?？;；、:：@]{{2,20}})") if prefixes else None,
            re.compile(rf"(?:{alternation(called)})[{q_open}](?P<n>[^{q_close}\n]{{1,30}})[{q_close}]") if called else None,
        ]
        self._sn_res = [x for x in self._sn_res if x is not None]

    def _links(self, text: str) -> list[str]:
        out: list[str] = []
        for m in LINK_RE.finditer(text):
            link = m.group(0).rstrip(".,;:!?。，；：！？)")
            if link not in out:
                out.append(link)
        return out

    def _screen_name(self, text: str) -> str | None:
        best: tuple[int, str] | None = None
        for rx in self._sn_res:
            m = rx.search(text)
            if m and m.group("n").strip() and (best is None or m.start() < best[0]):
                best = (m.start(), m.group("n").strip())
        return best[1] if best else None

    def _online(self, doc: Doc, links: list[str]) -> tuple[bool, str | None]:
        t = doc.text
        for mask in self._online_masks:
            t = t.replace(mask, MASK * len(mask))
        platform = None
        for link in links:
            platform = self._link_platform(link)
            if platform:
                break
        found = bool(links)
        for m in self._platforms.finditer(t) if self._platforms else ():
            if not doc.flag_negated(m.start(), m.end()):
                found = True
                if platform is None:
                    platform = self._platform_of[m.group(0)]
                break
        if not found and self._online_words is not None:
            found = any(not doc.flag_negated(m.start(), m.end()) for m in self._online_words.finditer(t))
        return found, (platform if found else None)

    def _link_platform(self, link: str) -> str | None:
        url = link if "://" in link else "http://" + link
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:
            return None
        for suffix, plat in self._link_hosts:
            if host == suffix or host.endswith("." + suffix):
                return plat
        return None


class UrgencyDetector:
    """Urgent: hard cues, plans and movements, soft cues a wedding excuses, crowds of a size — each only
    while it stands: a sign told as past and over, or denied, does not count."""

    def _load_urgent(self, r: TableReader, data: dict[str, Any]) -> None:
        urg = r.table(data, "urgent")
        self._mentions = r.literals(r.strs(urg, "mentions", "urgent", required=False))
        self._urgent_cues = r.literals(r.strs(urg, "cues", "urgent"))
        self._urgent_patterns = [r.regex(p, "urgent patterns")
                                 for p in r.strs(urg, "patterns", "urgent", required=False)]
        self._soft_cues = r.literals(r.strs(urg, "soft_cues", "urgent", required=False))
        self._soft_patterns = [r.regex(p, "urgent soft_patterns")
                               for p in r.strs(urg, "soft_patterns", "urgent", required=False)]
        self._benign = [norm(x) for x in r.strs(urg, "benign_contexts", "urgent", required=False)]
        crowd = r.table(urg, "crowd", "urgent")
        self._crowd_threshold = r.number(crowd, "threshold", "urgent.crowd", minimum=1)
        units = alternation(r.strs(crowd, "units", "urgent.crowd", nonempty=True))
        measures = alternation(r.strs(crowd, "measures", "urgent.crowd", required=False))
        meas = rf"(?:{measures})?" if measures else ""
        self._crowd_re = re.compile(rf"(?P<num>{NUM})(?:多|来|余)?{meas}(?:多|来|余)?(?:{units})")
        self._crowd_actions = [norm(x) for x in r.strs(crowd, "actions", "urgent.crowd", nonempty=True)]
        self._crowd_before = int(r.number(crowd, "window_before", "urgent.crowd", integer=True))
        self._crowd_after = int(r.number(crowd, "window_after", "urgent.crowd", integer=True))
        self._units_chars = r.strs(crowd, "units", "urgent.crowd")
        self._not_people = tuple(norm(x) for x in r.strs(crowd, "not_people", "urgent.crowd", required=False))
        self._past = r.literals(r.strs(urg, "past", "urgent", required=False))
        self._present = r.literals(r.strs(urg, "present", "urgent", required=False))
        self._over = r.literals(r.strs(urg, "over", "urgent", required=False))
        self._denied = r.literals(r.strs(urg, "denied", "urgent", required=False))
        # (finder, negated as a whole match): the hard signs, then the soft ones a wedding excuses
        hard = [*([(self._urgent_cues, False)] if self._urgent_cues is not None else []),
                *((rx, True) for rx in self._urgent_patterns)]
        soft = [*([(self._soft_cues, False)] if self._soft_cues is not None else []),
                *((rx, True) for rx in self._soft_patterns)]
        self._urgency_finders = hard + soft
        self._hard_finders = tuple(range(len(hard)))
        self._soft_finders = tuple(range(len(hard), len(hard) + len(soft)))
        local = [self._by_line and line_local(rx) for rx, _ in self._urgency_finders]
        self._crossing_finders = tuple(k for k, ok in enumerate(local) if not ok)
        line_finders = tuple(k for k, ok in enumerate(local) if ok)
        self._line_signs = lru_cache(maxsize=LINE_CACHE)(lambda line: self._signs_of(Doc(line, self), line_finders))

    def _urgent(self, doc: Doc) -> bool:
        t = doc.text
        signs = self._urgent_signs(doc)
        if any(self._live(doc, s, e) for k in self._hard_finders for s, e in signs.get(k, ())):
            return True
        if any(b in t for b in self._benign):
            return False
        if any(self._live(doc, s, e) for k in self._soft_finders for s, e in signs.get(k, ())):
            return True
        for m, n in self._crowds(doc):
            if n < self._crowd_threshold:
                continue
            s, e = doc.sentence_bounds(m.start(), m.end())
            around = t[max(s, m.start() - self._crowd_before):min(e, m.end() + self._crowd_after)]
            if any(a in around for a in self._crowd_actions) and self._live(doc, m.start(), m.end()):
                return True
        return False

    def _urgent_signs(self, doc: Doc) -> dict[int, list[tuple[int, int]]]:
        """finder → the spans of its signs not denied in their clause, in order. Each line read once by the
        finders that read a line as they read the text; whether a sign still stands (`_live`) is read on
        the whole text: a later message may say it is over."""
        signs: dict[int, list[tuple[int, int]]] = {}
        at = 0
        for line in doc.text.split("\n"):
            for k, spans in self._line_signs(line):
                signs.setdefault(k, []).extend((s + at, e + at) for s, e in spans)
            at += len(line) + 1
        for k, spans in self._signs_of(doc, self._crossing_finders):
            signs[k] = list(spans)
        return signs

    def _signs_of(self, doc: Doc, finders: tuple[int, ...]) -> tuple[tuple[int, tuple[tuple[int, int], ...]], ...]:
        found = []
        for k in finders:
            rx, whole_match = self._urgency_finders[k]
            negated = doc.match_negated if whole_match else doc.flag_negated
            spans = tuple(m.span() for m in rx.finditer(doc.text) if not negated(m.start(), m.end()))
            if spans:
                found.append((k, spans))
        return tuple(found)

    def _live(self, doc: Doc, start: int, end: int) -> bool:
        """A sign of urgency that still stands: not denied after it (没这回事); not followed in its sentence
        by its end (后来劝回去了) with nothing coming after that; and not told as past — unless the rest
        of its clause says it goes on (一直没走), the time word nearest before it in its sentence is a past
        one (上个月…, not 上个月闹过 这回又要去…), or, with none before, one follows it in its clause (闹过一回)."""
        t = doc.text
        if self._denied is not None and self._denied.search(t, end):
            return False
        s, e = doc.sentence_bounds(start, end)
        over = self._over.search(t, end, e) if self._over is not None else None
        if over and not (self._present is not None and self._present.search(t, over.end(), e)):
            return False
        if self._past is None:
            return True
        _, ce = doc.clause_bounds(start, end)
        if self._present is not None and self._present.search(t, end, ce):
            return True  # 昨天开始…门口坐着 一直没走: still going on
        times = [(m.start(), True) for m in self._past.finditer(t, s, end)]
        if self._present is not None:
            times += [(m.start(), False) for m in self._present.finditer(t, s, end)]
        if times:
            return not max(times)[1]
        return self._past.search(t, end, ce) is None

    def _crowds(self, doc: Doc) -> list[tuple[re.Match, int]]:
        out = []
        for m in self._crowd_re.finditer(doc.text):
            if doc.text.startswith(self._not_people, m.end()):
                continue  # 十几家饭店: businesses, not people
            n = cn_number(m.group("num"))
            if n is not None and not doc.flag_negated(m.start(), m.end()):
                out.append((m, n))
        return out


class VillageDetector:
    """The village, among the villages the caller knows."""

    def _load_village(self, r: TableReader, data: dict[str, Any]) -> None:
        vil = r.table(data, "village")
        self._v_suffixes = sorted(r.strs(vil, "suffixes", "village", required=False), key=len, reverse=True)
        self._v_bare_min = int(r.number(vil, "bare_min_length", "village", minimum=1, integer=True,
                                          default=2))
        self._v_blockers = sorted(r.strs(vil, "bare_blockers", "village", required=False), key=len,
                                  reverse=True)
        self._v_negation = [norm(x) for x in r.strs(vil, "negation", "village", required=False)]
        self._v_corrections = r.literals(r.strs(vil, "corrections", "village", required=False))
        self._v_own = [norm(x) for x in r.strs(vil, "own_markers", "village", required=False)]
        self._village_finders = lru_cache(maxsize=256)(self._find_villages)  # a township's villages

    def villages_named(self, text: str, known_villages: Iterable[str]) -> list[str]:
        """Every known village the text names (not negated), in order: whose cadres may be meant."""
        t = unicodedata.normalize("NFKC", text or "")
        return list(dict.fromkeys(k[2] for k in sorted(self._village_mentions(t, known_villages))))

    def _village(self, doc: Doc, known_villages: Iterable[str]) -> str | None:
        t = doc.text
        kept = self._village_mentions(t, known_villages)
        if not kept:
            return None
        if self._v_corrections is not None:
            corr = self._v_corrections.search(t)
            if corr:  # "更正一下 是南沟村 不是东山村 我记串了": what follows the first correction word
                after = [k for k in kept if k[0] >= corr.end()]
                if after:
                    kept = after
        return min(kept, key=lambda k: (not self._village_own(t, k[0]), not k[3], k[0]))[2]

    def _village_mentions(self, t: str, known_villages: Iterable[str]) -> list[tuple[int, int, str, bool]]:
        full, bare = self._village_finders(tuple(known_villages))
        mentions: list[tuple[int, int, str, bool]] = []  # start, end, name, full
        for name, rx in full:
            for m in rx.finditer(t):
                mentions.append((m.start(), m.end(), name, True))
        for owner, rx in bare:
            for m in rx.finditer(t):
                if any(t.startswith(b, m.end()) for b in self._v_blockers):
                    continue
                if any(t.startswith(sfx, m.end()) for sfx in self._v_suffixes):
                    continue  # 西岔村 is a full mention (or another place: 西岔社区 when not known)
                mentions.append((m.start(), m.end(), owner, False))
        # longest wins where mentions overlap (南沟子村 over 南沟村's 南沟), full over bare
        mentions.sort(key=lambda x: (-(x[1] - x[0]), not x[3], x[0]))
        kept: list[tuple[int, int, str, bool]] = []
        for men in mentions:
            if all(men[1] <= k[0] or k[1] <= men[0] for k in kept):
                kept.append(men)
        return [k for k in kept if not self._village_negated(t, k[0])]

    def _find_villages(self, known_villages: tuple[str, ...]) -> tuple[list, list]:
        """How each known village is looked for: its full name, and its short form (西岔 of 西岔村) where
        that names one village only and is not itself a village's full name. The same for every message
        of a township: worked out once (`_village_finders`)."""
        names = [v.strip() for v in dict.fromkeys(known_villages) if v and v.strip()]
        stems: dict[str, list[str]] = {}
        for name in names:
            stem = self._stem(name)
            if stem:
                stems.setdefault(stem, []).append(name)
        full_norm = {norm(n) for n in names}
        full = [(name, re.compile(re.escape(norm(name)))) for name in names]
        bare = [(owners[0], re.compile(re.escape(stem))) for stem, owners in stems.items()
                if len(owners) == 1 and stem not in full_norm]
        return full, bare

    def _stem(self, name: str) -> str | None:
        n = norm(name)
        for sfx in self._v_suffixes:
            if n.endswith(sfx) and len(n) - len(sfx) >= self._v_bare_min:
                return n[: -len(sfx)]
        return None

    def _village_negated(self, t: str, start: int) -> bool:
        before = t[max(0, start - 4):start]
        return any(w in before for w in self._v_negation)

    def _village_own(self, t: str, start: int) -> bool:
        before = t[max(0, start - 3):start]
        return any(w in before for w in self._v_own)
