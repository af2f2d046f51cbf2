"""Does a tip-off accuse a village cadre? A detector that fails closed.

The cost is lopsided: a wrong "yes" costs the township one hand-back, a wrong "no" sends the
reporter's words to the accused. So the detector answers yes / no / ask:

1. Mentions: every cadre title the table knows (书记, 支书, 村主任, 会计, 当家的, 班子, 管事的 …),
   a title typed with one wrong character (书纪, 会记, 主仼: see `slips`), and every name of a
   committee member of the villages in play as the roster has it — full name, given name (秀英姐),
   老/小+surname, surname+title (刘书记) — or, of three characters or more, in sound-alike
   characters (郭主人, 何文彬: see `_sounding`); the township's other villages' by full name; Latin
   initials typed for a title (sj, cz: `abbreviations`) and nicknames (海子 of 吴海). A title takes
   the village written just before it (河口村会计: `_bound_village`). Each
   mention becomes one placeholder character, so the role patterns of the table work on names and
   titles alike.
2. Roles: a mention is cast, by the table's patterns, as negated (不是村干部干的, 乡财政所会计:
   not the cadre acting), place (村委会门口: a body is also a building), impersonated (冒充他,
   用他的头像), accused, victim (被打, 欠他钱), helper (调解, 帮忙, 报给乡里 …) or bystander
   (看见了, 他家门口, 让我报). A denial in a rhetorical question is none (`rhetorical`). A repeated
   name, or another form of the same roster person, takes an earlier mention's role; so does a
   person through 他/她 after it (`_by_pronoun`). A helper, a bystander or a mention cast that way
   whose own clause goes on to a strong sign (赵会计说帮着登记，每户先交两百), or to a sign of an
   `unhelpful` kind, loses the cast.
3. Signs of wrongdoing, outside the words that cast a mention, by kind of language (money, lists,
   favours, force, opacity, neglect, self-dealing …): a strong sign, or signs of two kinds, is
   wrongdoing; signs of one kind may be.
4. Verdict, failing closed: "no" needs a reason. Accused → yes. A mention nobody cast → yes with
   wrongdoing, else ask (never no: a cadre named without a harmless part may be the accused).
   Every mention cast harmless → no, unless a strong sign, a grievance or signs of three kinds
   are left, or the whole draft read with nothing hidden holds a strong sign (force excused only in
   the sentences of a cadre attacked or mediating), or 他/她 for a harmless cadre acts on the
   village's collective things in another sentence → ask. No mention at all → no, unless the text
   is a grievance about money, benefits or lists the village handles with nobody named
   (`grievances`: 补贴…扣了) → ask.
5. Closed by structure (`judge`), whatever the roles said: words for sentences seen did not
   generalise (set 5 leaked 20/89), so the committee as a group (两委班子, 村干们) with a sign of
   wrongdoing → yes; wrongdoing about the village's collective things (`collective`) by someone the
   text does not clearly place outside (`outsiders`), or a strong sign beside a person known only by
   a nickname (`nicknames`: X哥, 赵总, 钱胖子, Latin initials) → at least ask. Money merely late (`late`) is no
   wrongdoing by itself. Round eight: the roster never knows every nickname, so what only power in the
   village can do (`power_acts`: selling collective trees, gifts before an election, threats against
   those who complain, the seal, the books, someone's passbook) done wrong, or a strong sign of money,
   lists or force (`actor_kinds`) by someone unrecognised (`person_like`: 某某又…, 那个戴眼镜的) → ask,
   unless the text places them outside or among ordinary people (`ordinary`: as the act's actor, in its
   sentence — not 村民的存折). An office that is only where people complain (去乡里: `toward`) or who said
   the money was sent (`informant`) places nobody outside.
6. Round nine, who does what to whom. A committee member's pinyin initials are a name form (zhb); a
   reference that can only mean the power-holder (`power_holders`: 一把手, 当家的, initials) is not cleared
   by a place or bystander cast while any sign stands. A cadre (or 他/她) who tells of someone
   (`report_verbs` + `reported`: 发现有人…) hands the rest of the clause, and the clauses after it that
   name no actor, to that someone (`_theirs`) — not a condition (`conditional`: 说有人不交钱就…), nor a
   clause going on or turning (`turns`). Signs are voided by a warning against them or a denial that the
   village did them (`void`: 防止有人冒领, 不是村里截的), unless the sentence asks back. A harmless act
   followed by a turn (`adversative`: 可, 却) to any sign, nobody else opening the turn, loses its cast.
7. Round ten, classes a fresh region brings, in the table: any post of village governance, known or not (专干,
   社长, 屯长), and whoever is described by what they hold (管钱那个: `role_like`) are mentions; nicknames no roster
   knows (X娃儿, 阿X, capitals) ask with wrongdoing; wrongdoing by class in many regions' words. Here: a pronoun
   after 帮/给/让 (`object_before`: 帮他补记录) is the one acted for, so it passes no helper or bystander cast on.
8. Round eleven, in the table only: a hush-up or a threat to the reporter's place is strong, so it undoes the harmless
   cast of its clause (出面…私了); posts by their line (营长, 妇联那个, 管治安的) are titles; kinship and trait nicknames
   (X爹, X妹子, surname + 二 as 钟二, 尕X) ask with a strong sign; a weapon is force, not strong (excused around a
   cadre attacked); a rhetorical 不是…吗 affirms a post.

Pure: no database. Handlers look up the committee names and pass them in. All words are data
(the [cadre] table of handlers/rules.toml); errors name the file and the key.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pypinyin import Style, pinyin

from handlers.classify.schema import CADRE_ROLES
from handlers.classify.text import LINE_CACHE, alternation, by_line, line_local, literals, norm

YES, NO, ASK = "yes", "no", "ask"
MARK = "\ue000"  # a person mentioned, in the text the patterns read (private-use characters: never typed)
BODY = "\ue002"  # a body mentioned (村委会, 大队): a person, or a place
PRONOUN = "\ue003"  # 他/她 after a person mentioned: read for roles only (see _by_pronoun)
_HIDE = "\ue001"  # words already read as a role, hidden from the signs
ROLES = CADRE_ROLES
MANY_KINDS = 3  # kinds of sign left around harmless mentions that still make it worth asking
_SENTENCE_END = re.compile(r"[。！？!?\n]")
_CLAUSE = re.compile(r"([，,。！？!?；;：:\n\s])")  # kept by split: a hidden clause keeps its length
_PEOPLE = re.compile(f"[{MARK}{BODY}]")  # where a mention stands in the marked text
_PLACEHOLDERS = re.compile(f"[{MARK}{BODY}{PRONOUN}]")  # … or 他/她 for one
BYSTANDERS = ("helper", "bystander")  # cast by what they did: their own clause is read on (see _gone_wrong)


@dataclass(frozen=True)
class Verdict:
    verdict: str  # YES, NO or ASK
    reason: str  # a short note for debugging, never shown (the words of the table are its Chinese)
    mentions: tuple[str, ...] = ()
    villages: tuple[str, ...] = ()  # villages whose committee members were named
    denied: bool = False  # every mention negated (跟村两委没关系): the committee as a group is cleared too
    # the text with what third parties did hidden, when every mention was cast harmless (see `_theirs`)
    theirs: str = field(default="", compare=False, repr=False)


    @property
    def involves(self) -> bool:
        """Fails closed: until someone says no, unsure counts as yes."""
        return self.verdict != NO


@dataclass(frozen=True, eq=False)  # one per committee (cached): compared and hashed as itself
class Forms:
    """A committee's names as the detector looks for them."""

    village: dict[str, str]  # how a name is written → the village
    person: dict[str, str]  # … → the roster's name
    written: tuple[str, ...]  # the forms, longest first
    sounding: tuple[str, ...]  # the forms that count in sound-alike characters too
    given: frozenset[str]  # the forms that are a given name alone (may be an everyday word)
    by_line: bool = True  # no form holds a "\n"
    latin: tuple[str, ...] = ()  # Latin initials (zhb), looked for as whole tokens in any case


NO_FORMS = Forms({}, {}, (), (), frozenset())


class CadreRules:
    """The [cadre] table, compiled. `reader` is the rule-file reader of handlers/classify.py."""

    def __init__(self, table: dict[str, Any], reader: Any, village_suffixes: tuple[str, ...] = (), by_line: bool = True):
        r, where = reader, "cadre"
        self._village_suffixes = village_suffixes  # [village] suffixes: 河口 is 河口村 written short
        self.category = r.string(table, "category", where)
        titles = [norm(t) for t in r.strs(table, "titles", where, nonempty=True)]
        # a title's last character as dialects write it (当家嘞, 管事哩 for 当家的): the same title
        dialect = r.table(table, "dialect", where) if "dialect" in table else {}
        titles += [t[:-1] + norm(alt) for end in dialect for alt in r.strs(dialect, end, "cadre.dialect")
                   for t in titles if t.endswith(norm(end))]
        self._titles = re.compile(alternation(titles))
        self._dialect_de = {norm(alt) for end in dialect for alt in r.strs(dialect, end, "cadre.dialect")}
        abbreviations = r.strs(table, "abbreviations", where, required=False)
        # a whole token: no Latin letter or digit on either side (sj in "sjz" or "usj2" is something else)
        self._abbreviations = re.compile(
            rf"(?<![A-Za-z0-9])({alternation(abbreviations)})(?![A-Za-z0-9])", re.IGNORECASE) if abbreviations else None
        self._nickname_suffixes = [norm(t) for t in r.strs(table, "nickname_suffixes", where, required=False)]
        self._not_nicknames = {norm(t) for t in r.strs(table, "not_nicknames", where, required=False)}
        self._own_village = r.regex(r.string(table, "own_village", where), f"{where} own_village") \
            if "own_village" in table else None
        bodies = [norm(t) for t in r.strs(table, "bodies", where, required=False)]
        self._bodies = re.compile(alternation(bodies)) if bodies else None
        self._name_titles = [norm(t) for t in r.strs(table, "name_titles", where, required=False)]
        self._name_kin = [norm(t) for t in r.strs(table, "name_kin", where, required=False)]
        self._prefixes = [norm(t) for t in r.strs(table, "name_prefixes", where, required=False)]
        self._surnames: dict[str, tuple[str, str]] = {}
        self._compound = sorted((norm(s) for s in r.strs(table, "compound_surnames", where, required=False)),
                                key=len, reverse=True)
        self._slips = [norm(t) for t in r.strs(table, "slips", where, required=False)]
        self._not_slips = literals(r.strs(table, "not_slips", where, required=False))
        self._grievances = [r.regex(p, f"{where} grievances")
                            for p in r.strs(table, "grievances", where, required=False)]
        for key in ("collective", "outsiders", "nicknames", "committee_bodies", "employers", "third_parties",
                    "toward", "informant", "power_acts", "ordinary", "person_like", "power_holders",
                    "turns"):
            setattr(self, f"_{key}", [r.regex(p, f"{where} {key}") for p in r.strs(table, key, where, required=False)])
        verbs, who = table.get("report_verbs"), table.get("reported")
        # someone reported is never a place or a recipient (说放在乡经管站, 交给信用社)
        placed = f"(?<![{re.escape(table['placed_before'])}])" if table.get("placed_before") else ""
        self._other_subject = r.regex(table["other_subject"], f"{where} other_subject") \
            if "other_subject" in table else None
        self._object_of = set(table.get("object_of", ""))
        self._owner_after = set(table.get("owner_after", ""))
        # a cadre tells of someone: the verb, then who (主任发现有人在收…); or the verb ends the cadre's
        # clause and who opens the next (会计让我报一下，有人冒充…)
        self._switch = r.regex(f"({verbs})[^，,。\\s]{{0,6}}{placed}({who})", f"{where} reported") \
            if verbs and who else None
        self._tells = r.regex(f"({verbs})[^，,。\\s]{{0,4}}$", f"{where} report_verbs") if verbs else None
        self._adversative = r.regex(table["adversative"], f"{where} adversative") \
            if "adversative" in table else None
        self._conditional = r.regex(table["conditional"], f"{where} conditional") \
            if "conditional" in table else None
        self._told = r.regex(f"^[^，,。\\s]{{0,4}}{placed}({who})", f"{where} reported") if who else None
        # a clause that opens on telling, its subject the cadre of the clause before (…，说他们村有人…)
        self._opens_telling = r.regex(f"^[^，,。\\s]{{0,2}}({verbs})[^，,。\\s]{{0,5}}{placed}({who})",
                                      f"{where} reported") if verbs and who else None
        self._void = r.regex("|".join(f"(?:{p})" for p in r.strs(table, "void", where)), f"{where} void") \
            if table.get("void") else None
        # surname + a head's title the table does not list (宋营长, 邱场长): a title all the same, so
        # the roles decide — uncast, it is asked about
        self._role_like = [r.regex(p, f"{where} role_like") for p in r.strs(table, "role_like", where, required=False)]
        self._late = r.strs(table, "late", where, required=False)
        self._actor_kinds = set(r.strs(table, "actor_kinds", where, required=False))
        self._bosses = set(r.strs(table, "bosses", where, required=False))
        self._not_after_given = set(r.strs(table, "not_after_given", where, required=False))
        self._same_person_words = [r.regex(p, f"{where} same_person")
                                   for p in r.strs(table, "same_person", where, required=False)]
        self._object_before = set("".join(r.strs(table, "object_before", where, required=False)))
        self._wrong_kinds = set(r.strs(table, "wrong_kinds", where, required=False))
        self._pronoun = r.regex(r.string(table, "pronoun", where), f"{where} pronoun") if "pronoun" in table else None
        self._rhetorical = [r.regex(p, f"{where} rhetorical")
                            for p in r.strs(table, "rhetorical", where, required=False)]
        self._scope_ends = [r.regex(p, f"{where} scope_ends")
                            for p in r.strs(table, "scope_ends", where, required=False)]
        self._strong = literals(r.strs(table, "strong", where, nonempty=True))
        self._strong_patterns = [r.regex(p, f"{where} strong_patterns")
                                 for p in r.strs(table, "strong_patterns", where, required=False)]
        signs = r.table(table, "signs", where) if "signs" in table else {}
        self._signs = {kind: literals(r.strs(signs, kind, "cadre.signs", nonempty=True)) for kind in signs}
        self._excused = r.strs(table, "excused", where, required=False)
        self._unhelpful = set(r.strs(table, "unhelpful", where, required=False))
        self._roles: list[tuple[str, list[re.Pattern]]] = []
        for role in ROLES:
            pats = []
            for p in r.strs(table, role, where, required=False):
                p = p.replace("{C}", f"(?P<c>[{MARK}{BODY}{PRONOUN}])").replace("{B}", f"(?P<c>{BODY})")
                pats.append(r.regex(p, f"cadre {role}"))
            self._roles.append((role, pats))
        # Mentions read line by line (a draft step reads its new line): only where every finder reads a line
        # as it reads it in the text (handlers/classify/text.py) and a slip or a name can hold no "\n".
        self._finders = [*self._role_like, self._titles, *([self._abbreviations] if self._abbreviations else [])]
        self._marks_by_line = by_line and (all(line_local(rx) for rx in [*self._finders, self._bodies, self._not_slips])
                                           and not any("\n" in t for t in self._slips)
                                           and not {"", "\n"} & self._not_after_given)
        self._line_marks = lru_cache(maxsize=LINE_CACHE)(self._marks_in)
        # The role patterns likewise, each on its own: one that may cross a line (names a line's edge: (^|\n))
        # reads the whole text.
        self._role_patterns = [(role, rx) for role, pats in self._roles for rx in pats]  # in table order
        local = [by_line and line_local(rx) for _, rx in self._role_patterns]
        self._crossing_roles = tuple(k for k, ok in enumerate(local) if not ok)
        line_patterns = tuple(k for k, ok in enumerate(local) if ok)
        self._line_roles = lru_cache(maxsize=LINE_CACHE)(lambda line: self._roles_in(line, line_patterns))
        # What depends on the township alone, worked out once for all its drafts (a few townships at a time).
        self._forms = lru_cache(maxsize=512)(self._work_out_forms)  # a township: own village × villages named
        self._one_name = lru_cache(maxsize=8192)(self._name_worked_out)
        self._village_forms = lru_cache(maxsize=64)(self._written_villages)

    # -- names ---------------------------------------------------------------------------------

    def name_forms(self, names: Iterable[str]) -> list[str]:
        """How people write a committee member's name: 刘建国, 老刘 (小刘, 大刘), 刘书记 (for every name
        title), 刘姐 (for every kinship word), the given name of a name with one (建国 of 刘建国), and
        the nickname of the given name's last character (国子, 海子 of 吴海) unless it is a word (孩子)."""
        forms: set[str] = set()
        for name in names:
            name, surname = self._surname(name)
            if len(name) < 2:
                continue
            forms.add(name)
            if len(name) - len(surname) >= 2:
                forms.add(name[len(surname):])
            forms.update(p + surname for p in self._prefixes)
            forms.update(name[-1] + x for x in self._nickname_suffixes if name[-1] + x not in self._not_nicknames)
            forms.update(surname + t for t in self._name_titles + self._name_kin)
        return sorted(forms, key=len, reverse=True)

    def initials(self, names: Iterable[str]) -> list[str]:
        """The Latin initials of a committee member's name as pinyin typing gives them (zhb of 訾洪波,
        oyqm of 欧阳启明): how people write a name they would rather not write on a phone."""
        found = set()
        for name in names:
            name, _ = self._surname(name)
            if len(name) >= 2 and all(_is_han(ch) for ch in name):
                found.add(_initials(name))
        return sorted(found)

    def given_names(self, names: Iterable[str]) -> set[str]:
        """The given names of two characters or more (建国 of 刘建国): a name form that may be a word."""
        return {name[len(surname):] for name, surname in map(self._surname, names) if len(name) - len(surname) >= 2}

    def sounding_forms(self, names: Iterable[str]) -> list[str]:
        """The forms that also count in sound-alike characters: the full name and surname+title."""
        forms: set[str] = set()
        for name in names:
            name, surname = self._surname(name)
            if len(name) >= 2:
                forms.add(name)
                forms.update(surname + t for t in self._name_titles)
        return sorted(forms)

    def _name_worked_out(self, name: str) -> tuple[tuple[str, ...], tuple[str, ...], str]:
        """One roster name's forms, its sound-alike forms and its given name ("" if none): `_one_name`."""
        given = self.given_names([name])
        return tuple(self.name_forms([name])), tuple(self.sounding_forms([name])), next(iter(given), "")

    def _surname(self, name: str) -> tuple[str, str]:
        found = self._surnames.get(name)  # asked for every name of the township at every reading
        if found is None:
            clean = "".join(norm(name or "").split())
            found = clean, next((s for s in self._compound if clean.startswith(s) and len(clean) > len(s)), clean[:1])
            if len(self._surnames) < 100_000:
                self._surnames[name] = found
        return found

    def titled(self, text: str) -> bool:
        """A cadre title in the text, in any form the table knows (村会计, 书纪, sj): a lone title is the
        start of an accusation, not a stray word."""
        return bool(self._mark(norm(text or ""))[1])

    # -- the verdict ---------------------------------------------------------------------------

    def judge(self, text: str, committee: Mapping[str, Iterable[str]] | Iterable[str] = (),
              elsewhere: Mapping[str, Iterable[str]] | None = None) -> Verdict:
        """The verdict of the mentions and their roles (`_by_roles`), then closed by structure: words
        for the sentences seen do not generalise, so three rules need no role at all. The committee as a
        group (两委班子, 村干们) with any sign of wrongdoing is the accused → yes. Wrongdoing about the
        village's collective things (集体的林子, 低保名单, 村里的项目, 工钱) by someone the text does not
        clearly place outside, or any strong sign beside a person known only by a nickname (X哥, 赵总,
        钱胖子, Latin initials) → at least ask, whether or not a cadre form was recognised."""
        found = self._by_roles(text, committee, elsewhere)
        if found.verdict == YES:
            return found
        text = norm(text or "")
        strong, kinds = self._signs_in(text)
        wrong = strong or ", ".join(sorted(kinds & self._wrong_kinds))
        body = _first(self._committee_bodies, text)
        if body and not found.denied and (wrong or len(kinds) >= 2):
            return Verdict(YES, f"the committee {body}: {wrong or ', '.join(sorted(kinds))}",
                           found.mentions, found.villages)
        seen = text  # what the rules below read for signs and actors; `text` still places people
        if found.verdict == NO and found.theirs:
            # every cadre cast harmless: what the third parties they tell of did is theirs (the rules
            # below are for an actor nobody recognised, not for the one a cadre reported)
            seen = found.theirs
            strong, kinds = self._signs_in(seen)
            wrong = strong or ", ".join(sorted(kinds & self._wrong_kinds))
        # a nickname that is not a form of a mention already read (秀英姐 of the roster has its role)
        employer = _first(self._employers, text)  # 老板 of a company the text names is its boss
        nickname = next((m.group(0) for rx in self._nicknames for m in rx.finditer(seen)
                         if not any(m.group(0) in x or x in m.group(0) for x in found.mentions)
                         and not (employer and m.group(0) in self._bosses)), "")
        thing = _first(self._collective, seen)
        if found.verdict == ASK:
            return found
        if thing and nickname and (wrong or len(kinds) >= 2):
            return Verdict(ASK, f"{thing}: {wrong or ', '.join(sorted(kinds))}, by {nickname}",
                           found.mentions, found.villages)
        late = strong and any(w in strong for w in self._late) and not kinds & self._wrong_kinds
        # an office only complained to does not place a strong wrongdoing outside; a weaker sign
        # beside any office is left to it (去县政府门口坐着: waiting for relief, not accusing)
        outside = self._placed_outside(text) if strong else _first(self._outsiders, text)
        if thing and wrong and not late and not outside:
            return Verdict(ASK, f"{thing}: {wrong}, by someone not placed outside", found.mentions, found.villages)
        if nickname and strong:
            return Verdict(ASK, f"{nickname}: {strong}", found.mentions, found.villages)
        # what only someone with power in the village can do, done wrong (round 8)
        power = next((m for rx in self._power_acts for m in [rx.search(seen)] if m), None)
        if power and (wrong or len(kinds) >= 2) and not outside and not self._ordinary_actor(text, power.start()):
            power = power.group(0)
            return Verdict(ASK, f"power {power}: {wrong or ', '.join(sorted(kinds))}", found.mentions, found.villages)
        # wrongdoing with money, lists or force by a person nobody recognised and the text does not place
        # outside (a nickname, a given name, a description): the grid worker knows who it is
        person = nickname or _first(self._person_like, seen)
        if person and strong and not late and not found.mentions and kinds & self._actor_kinds \
                and not outside and not self._ordinary_actor(text, max(text.find(strong), 0)):
            return Verdict(ASK, f"{person}: {strong}, unplaced", found.mentions, found.villages)
        return found

    def _ordinary_actor(self, text: str, at: int) -> str:
        """An ordinary person (`ordinary`: 邻居, 村民, 包工头) who may be the actor of what stands at `at`:
        named in its sentence, neither the object of a verb (给村民, 把邻居) nor only an owner (村民的钱) —
        round eight let one anywhere in the text clear the act, so 村民的存折在他手里 cleared itself."""
        before = [m.end() for m in _SENTENCE_END.finditer(text, 0, at)]
        start = before[-1] if before else 0
        stop = _SENTENCE_END.search(text, at)
        end = stop.start() if stop else len(text)
        for rx in self._ordinary:
            for m in rx.finditer(text, start, end):
                if text[m.end():m.end() + 1] not in self._owner_after \
                        and text[max(0, m.start() - 1):m.start()] not in self._object_of:
                    return m.group(0)
        return ""

    def _work_out_forms(self, committee: tuple[tuple[str, tuple[str, ...]], ...],
                        elsewhere: tuple[tuple[str, tuple[str, ...]], ...]) -> Forms:
        """`committee`'s names in every form, `elsewhere`'s by full name: the same for every reading of a
        township's drafts, so worked out once (`_forms`) — and the lines already read are kept by it."""
        village: dict[str, str] = {}  # how a name is written → the village
        person: dict[str, str] = {}  # … → the roster's name
        sounding: set[str] = set()  # the forms that count in sound-alike characters too
        for place, names in committee:
            for name in names:
                forms, sounds, _ = self._one_name(name)
                for form in forms:
                    village[form], person[form] = place, name
                sounding.update(sounds)
        for place, names in elsewhere:
            for name in names:
                name = "".join(norm(name or "").split())
                if len(name) >= 2 and name not in village:
                    village[name], person[name] = place, name
                    sounding.add(name)
        for form, name in [(form, name) for form, name in person.items() if len(name) >= 2]:
            for latin in self.initials([name]) if form == name else ():  # zhb of 訾洪波
                village.setdefault(latin, village[form])
                person.setdefault(latin, name)
        given_names = {given for given in (self._one_name(name)[2] for name in set(person.values())) if given}
        written = tuple(sorted((f for f in village if not f.isascii()), key=len, reverse=True))
        return Forms(village, person, written, tuple(sorted(sounding)), frozenset(f for f in village if f in given_names),
                     by_line=not any("\n" in f for f in written), latin=tuple(sorted(f for f in village if f.isascii())))

    def _placed_outside(self, text: str) -> str:
        """A company, an office, an impostor or a named villager the text makes the actor — not an
        office that is only where people go to complain (要去乡里, 告到县里) or who told them (乡里说)."""
        for rx in self._outsiders:
            for m in rx.finditer(text):
                before, after = text[max(0, m.start() - 3):m.start()], text[m.end():m.end() + 4]
                if any(t.search(before) for t in self._toward) or any(t.search(after) for t in self._informant):
                    continue
                return m.group(0)
        return ""

    def _by_roles(self, text: str, committee: Mapping[str, Iterable[str]] | Iterable[str] = (),
                  elsewhere: Mapping[str, Iterable[str]] | None = None) -> Verdict:
        """`committee`: the committee members' names, by village (or one list for all), found in every
        form people write them; `elsewhere`: the other villages' of the township, found by full name
        only (老刘 or 刘姐 of another village is more likely a villager than their cadre) — a cadre of
        a village the text does not name is still a cadre."""
        text = norm(text or "")
        by_village = dict(committee) if isinstance(committee, Mapping) else {"": list(committee)}
        names = self._forms(tuple((village, tuple(names)) for village, names in by_village.items()),
                            tuple((village, tuple(names)) for village, names in (elsewhere or {}).items()))
        forms, person, sounding_list = names.village, names.person, names.sounding
        marked, mentions, spans = self._mark(text, names)
        if not mentions:
            grievance = self._grievance(text)
            return Verdict(ASK, f"nobody named, grievance {grievance}") if grievance else Verdict(NO, "")
        roles = self._cast(marked)
        for i in self._asked_back(marked, roles):
            del roles[i]
        hidden = self._hide_roles(marked)
        inherited = set()
        # the roster forms each mention holds, written exactly or sounding alike (郭主人 → 郭主任)
        held = [{f for f in forms if f in m.lower()} or {f for _, _, f in _sounding(m, sounding_list)}
                for m in mentions]
        who = [{person[f] for f in fs} for fs in held]  # the roster people each mention names
        for i, text_i in enumerate(mentions):  # the same name, title or person again: the same role
            if i not in roles:
                same = next((roles[j] for j in roles if roles[j] != "negated"
                             and (text_i in mentions[j] or mentions[j] in text_i or who[i] & who[j])), None)
                if same:
                    roles[i] = same
                    inherited.add(i)
        for i, role in self._by_pronoun(marked).items():
            if role == "accused" or i not in roles:
                roles[i] = role
                inherited.add(i)  # a part taken through a pronoun holds only while its own clause is clean
        for i, j in self._same_person(marked):  # 老李，就是村主任 / 强子…，他是村主任: one person, one part
            if "accused" in (roles.get(i), roles.get(j)):
                roles[i] = roles[j] = "accused"
            elif (i in roles) != (j in roles):
                took = j if i in roles else i
                roles[took] = roles[i if took == j else j]
                inherited.add(took)
        for i in self._gone_wrong(marked, roles, inherited):
            del roles[i]
        if self._power_holders and any(self._signs_in(marked)):
            # a reference that can only mean the village's power-holder (一把手, 当家的, 管事的, zhb) is
            # cleared only by what it did or suffered (helper, victim) or a denial — never by being the
            # place or the one who saw it (一把手家门口停了台新车): with any sign about, it is asked
            for i, role in list(roles.items()):
                if role in ("bystander", "place", "related") and _first(self._power_holders, mentions[i]):
                    del roles[i]
        if "related" in roles.values() and any(self._signs_in(marked)):
            # the cadre only as the owner of the one the text is about (书记的孙子落水了): harmless only
            # when nothing in the text looks like wrongdoing — with a sign, whose doing it is stays open
            roles = {i: role for i, role in roles.items() if role != "related"}
        shown = tuple(dict.fromkeys(mentions))
        bound = [self._bound_village(text, span, [*by_village, *(elsewhere or {})])
                 for span, fs in zip(spans, held) if not fs]  # a title: whose? the village written before it
        named = tuple(dict.fromkeys([*(forms[f] for fs in held for f in fs if forms[f]), *filter(None, bound)]))

        theirs = ""

        def verdict(kind: str, reason: str) -> Verdict:
            return Verdict(kind, reason, shown, named, theirs=_unmarked(text, spans, theirs) if theirs else "")

        accused = [mentions[i] for i, role in roles.items() if role == "accused"]
        if accused:
            return verdict(YES, f"accused {accused[0]}")
        uncast = [mentions[i] for i in range(len(mentions)) if i not in roles]
        if not uncast:  # every mention cast harmless: what a third party is said to have done is theirs
            theirs = self._theirs(marked)  # read on the text as written: the words that cast are hidden
            hidden = "".join(_HIDE if t == _HIDE else h for h, t in zip(hidden, theirs))
            marked = theirs
        strong, kinds = self._signs_in(hidden)
        if uncast:
            if strong or len(kinds) >= 2:
                return verdict(YES, f"uncast {uncast[0]}: {strong or ', '.join(sorted(kinds))}")
            # Fails closed: a cadre named in no harmless part may be the one complained of.
            return verdict(ASK, f"uncast {uncast[0]}: {', '.join(sorted(kinds)) or 'no harmless part'}")
        grievance = self._grievance(hidden)
        if {roles[i] for i in roles} <= {"negated"}:
            if grievance:
                return verdict(ASK, f"not the cadre, but grievance {grievance}")
            return Verdict(NO, "denied, or not a cadre of the village", shown, named, denied=True)
        if self._excuses(strong):
            strong = ""  # force around a cadre who helps or is attacked is the other party's
        if "impersonated" in roles.values():
            strong, kinds = "", set()  # what was asked for in the cadre's name is the impostor's doing
        if strong or grievance or len(kinds) >= MANY_KINDS:
            left = strong or grievance or ", ".join(sorted(kinds))
            return verdict(ASK, f"{shown[0]} harmless, but {left}")
        # a harmless part in one sentence never clears wrongdoing in another: the whole draft, unhidden;
        # force only excused around a cadre who is attacked or helps (the other party's)
        anywhere, _ = self._signs_in(marked)
        if self._excuses(anywhere) and {"victim", "helper"} & set(roles.values()):
            # force is excused only in the sentences of the one attacked or mediating
            apart = [x for x in _SENTENCE_END.split(marked) if MARK not in x and BODY not in x]
            anywhere = self._signs_in("\n".join(apart))[0]
        if anywhere and "impersonated" not in roles.values():
            return verdict(ASK, f"{shown[0]} harmless, but the draft has {anywhere}")
        acting = self._acting_on_things(marked)
        if acting:
            return verdict(ASK, f"{shown[0]} harmless, but a pronoun for it acts on {acting}")
        return verdict(NO, f"{shown[0]} harmless")

    def _same_person(self, marked: str) -> list[tuple[int, int]]:
        """Mentions one after the other that the text says are one person (`same_person`, read on the
        words between them): 老李，就是村主任; 强子家的羊被偷了，他是村主任."""
        at = [m.start() for m in _PEOPLE.finditer(marked)]
        return [(k - 1, k) for k in range(1, len(at))
                if any(rx.search(marked[at[k - 1] + 1:at[k]]) for rx in self._same_person_words)]

    def _theirs(self, marked: str) -> str:
        """The text with every clause hidden whose actor is a third party, read only around mentions all
        cast harmless. A clause that names one (`third_parties`: 施工队, 那家医院, 乡里) and no one of the
        committee, nor 他/她 who may be one: 书记在现场帮忙，有人说施工队偷工减料. What a cadre reports
        of someone (`reported`: 主任发现有人在收…, 会计让我报，有人冒充…) from the word that brings them
        in. And the clauses after either that name no actor of their own (…，交一万返一万二，已经好几十户
        交了): the same actor goes on, until a clause names a cadre, 他/她 or 自己, or turns (`turns`: 其实,
        后来, 一查 — 后来才知道是他家亲戚)."""
        if not self._third_parties:
            return marked
        out, theirs, telling, cadre = [], False, False, False
        for clause in _CLAUSE.split(marked):
            if not clause or _CLAUSE.fullmatch(clause):
                if _SENTENCE_END.fullmatch(clause or ""):
                    theirs = telling = cadre = False
                out.append(clause)
                continue
            said = self._pronoun.search(clause) if self._pronoun is not None else None
            people = set(clause) & {MARK, BODY, PRONOUN} or said
            if people:  # a cadre, or 他/她 who may be one: what they tell of, from the telling on
                last = max([clause.rfind(c) for c in (MARK, BODY, PRONOUN)] + [said.start() if said else -1])
                switch = self._switch.search(clause, last) if self._switch is not None else None
                if switch and self._conditional is not None and self._conditional.search(clause, switch.start()):
                    switch = None  # 说有人不交钱就别想领: the cadre's own condition, not a report
                theirs = bool(switch)
                telling = not switch and self._tells is not None and bool(self._tells.search(clause, last))
                if switch:
                    clause = clause[:switch.start()] + _HIDE * (len(clause) - switch.start())
                cadre = not switch
                out.append(clause)
                continue
            opens = cadre and not people and self._opens_telling is not None and self._opens_telling.search(clause)
            cadre = False
            if opens and not (self._conditional is not None and self._conditional.search(clause)):
                out.append(clause[:opens.start(2)] + _HIDE * (len(clause) - opens.start(2)))
                theirs = True
                continue
            if _first(self._turns, clause) or (self._conditional is not None and self._conditional.search(clause)):
                theirs = False  # a cadre, a turn, or a condition whose speaker is open: fails closed
            elif (telling and self._told is not None and self._told.search(clause)) \
                    or _first(self._third_parties, clause) or theirs:
                clause, theirs = _HIDE * len(clause), True
            telling = False
            out.append(clause)
        return "".join(out)

    def _acting_on_things(self, marked: str) -> str:
        """A cadre cast harmless in one sentence who, as 他/她 in another, does something with the
        village's collective things (他主持了分配会 … 他把名额都给了自家人): the harmless part was one act of
        several. A pronoun cast as helper or victim, or the object of a verb (给他办, 让他报), is no act;
        one who only speaks (她说上面的钱还没下来) still speaks for what was done with the thing."""
        if self._pronoun is None or MARK not in marked or not self._collective:
            return ""
        first = marked.index(MARK)
        proxied = marked[:first] + self._pronoun.sub(PRONOUN, marked[first:])
        cast = self._cast(proxied)
        at = [m.start() for m in _PLACEHOLDERS.finditer(proxied)]
        for i, pos in enumerate(at):
            if proxied[pos] != PRONOUN or cast.get(i) in ("helper", "victim", "negated") \
                    or proxied[pos - 1:pos] in self._object_before:
                continue
            before = [m.end() for m in _SENTENCE_END.finditer(proxied, 0, pos)]
            stop = _SENTENCE_END.search(proxied, pos)
            thing = _first(self._collective, proxied[before[-1] if before else 0:stop.start() if stop else len(proxied)])
            if thing:
                return thing
        return ""

    def _gone_wrong(self, marked: str, roles: dict[int, str], inherited: set[int]) -> list[int]:
        """Helpers and bystanders — and a mention that only took the role of an earlier one of the same
        name — whose own clause, up to the next mention or the end of the sentence, goes on to a strong
        sign: 赵会计说帮着登记，每户先交两百; 跟孙主任说了好几次，他压根没来看."""
        at = [m.start() for m in _PLACEHOLDERS.finditer(marked)]
        gone = []
        for i, pos in enumerate(at):
            if roles.get(i) not in BYSTANDERS and i not in inherited:
                continue
            # a pronoun does not end the clause: it may be the same person going on (她先把她…报上去)
            end = next((p for p in at[i + 1:] if marked[p] != PRONOUN), len(marked))
            for rx in [_SENTENCE_END, *self._scope_ends]:
                stop = rx.search(marked, pos, end)
                end = stop.start() if stop else end
            # read unhidden: the words that cast it (挨家挨户送…) may be the wrongdoing itself; force is
            # not excused here: a helper's clause that turns to threats (谁再告状就别想…) is no help
            strong, kinds = self._signs_in(marked[pos + 1:end])
            # a harmless act, then a turn (可, 却, 但) to any sign: 当众念了账，可修路的钱一笔没念
            turn = self._adversative.search(marked, pos, end) if self._adversative is not None else None
            after = marked[turn.end():end] if turn else ""
            # …unless someone else is the turn's actor (可孩子家长不依, 可那家说…)
            turned = turn and any(self._signs_in(after)) and not _first(self._third_parties + self._ordinary, after) \
                and not (self._other_subject is not None and self._other_subject.match(after))
            if strong or kinds & self._unhelpful or turned:
                gone.append(i)
        return gone

    def _by_pronoun(self, marked: str) -> dict[int, str]:
        """Roles a person mentioned takes through 他/她 in the sentences after it — the nearest person
        mentioned before the pronoun: 赵会计…，他拍了照片让我报上来 (a bystander); 老吕上去劝，
        反被推了他一把 (a victim); 冯主任调解完，他把一家叫到一边要两条烟 (accused). An accusing
        role counts whoever the pronoun stands for (failing closed); a harmless one only for a person
        no pattern cast, and only while the pronoun's own clause stays clean (as for helpers)."""
        if self._pronoun is None or MARK not in marked:
            return {}
        first = marked.index(MARK)
        proxied = marked[:first] + self._pronoun.sub(PRONOUN, marked[first:])
        if PRONOUN not in proxied:
            return {}
        cast = self._cast(proxied)
        at = [m.start() for m in _PLACEHOLDERS.finditer(proxied)]
        # 帮他补记录, 让她签: a pronoun after such a verb is the one acted for, not the helper or the one
        # who saw — the act that follows is someone else's, and may be the wrongdoing (round ten)
        harmless = {i: role for i, role in cast.items() if role in BYSTANDERS + ("victim",)
                    and not (role in BYSTANDERS and proxied[at[i]] == PRONOUN
                             and proxied[at[i] - 1:at[i]] in self._object_before)}
        gone = set(self._gone_wrong(proxied, {i: "helper" for i in harmless}, set()))
        found: dict[int, str] = {}
        person, mention = None, 0
        for i, ch in enumerate(ch for ch in proxied if ch in (MARK, BODY, PRONOUN)):
            if ch != PRONOUN:
                person = mention if ch == MARK else person
                mention += 1
            elif person is not None and cast.get(i) == "accused":
                found[person] = "accused"
            elif person is not None and i in harmless and i not in gone:
                found.setdefault(person, harmless[i])
        return found

    def _asked_back(self, marked: str, roles: dict[int, str]) -> list[int]:
        """Denials that are rhetorical questions (哪一样不是村干部定的？难道不是书记拿的): the
        sentence around a negated mention asks back, so it denies nothing."""
        at = [m.start() for m in _PEOPLE.finditer(marked)]
        void = []
        for i, pos in enumerate(at):
            if roles.get(i) != "negated":
                continue
            before = [m.end() for m in _SENTENCE_END.finditer(marked, 0, pos)]
            start = before[-1] if before else 0
            stop = _SENTENCE_END.search(marked, pos)
            sentence = marked[start:stop.end() if stop else len(marked)]
            if sentence.rstrip().endswith(("？", "?")) or any(rx.search(sentence) for rx in self._rhetorical):
                void.append(i)
        return void

    def _voided(self, m: re.Match) -> str:
        text, start = m.string, m.start()
        before = [e.end() for e in _SENTENCE_END.finditer(text, 0, start)]
        stop = _SENTENCE_END.search(text, m.end())
        sentence = text[before[-1] if before else 0:stop.end() if stop else len(text)]
        if sentence.rstrip().endswith(("？", "?")) or any(rx.search(sentence) for rx in self._rhetorical):
            return m.group(0)
        return _HIDE * (m.end() - start)

    def _excuses(self, strong: str) -> bool:
        return bool(strong) and any(self._signs[k].search(strong) for k in self._excused)

    def _grievance(self, text: str) -> str:
        """A complaint about money, benefits or lists the village handles, whoever did it."""
        for rx in self._grievances:
            m = rx.search(text)
            if m:
                return m.group(0)
        return ""

    def _bound_village(self, text: str, span: tuple[int, int], villages: list[str]) -> str:
        """The village a title belongs to as written: the nearest village named just before it in its
        sentence (河口村会计, 马营的支书, 听上庄人说，他们村会计) — not when the reporter's own village
        (我们村) comes between. A cadre case is about the accused's village, whoever reports it."""
        start = max(0, span[0] - self.BOUND_REACH)
        before = [m.end() for m in _SENTENCE_END.finditer(text, start, span[0])]
        begin = before[-1] if before else start
        window = text[begin:span[0]]
        best, at = "", -1
        for village, form in self._village_forms(tuple(villages)):
            where = window.rfind(form)
            if where >= 0 and where + len(form) > at:
                best, at = village, where + len(form)
        # 我们村 may end inside the title itself (我们村出纳: the title 村出纳)
        if not best or (self._own_village is not None and self._own_village.search(text[begin:span[1]], at)):
            return ""
        return best

    def _written_villages(self, villages: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        """(village, a way it is written: 河口村, 河口) of two characters or more, for `_bound_village`."""
        return tuple((village, form) for village in villages
                     for form in dict.fromkeys([village, *(village.removesuffix(x) for x in self._village_suffixes)])
                     if len(form) >= 2)

    BOUND_REACH = 12  # characters before a title where its village may be written

    def _mark(self, text: str, names: Forms | None = None) -> tuple[str, list[str], list]:
        """The text with every mention replaced by MARK (a body alone: BODY), the mentions in order and
        their spans. Mentions that overlap or touch are one (老刘书记, 会计李强); none crosses a line, so
        where the table allows (`_marks_by_line`) each line is read alone, once."""
        names = names or NO_FORMS
        if self._marks_by_line and names.by_line:
            kept = by_line(text, lambda line: self._line_marks(line, names))
        else:
            kept = self._marks_in(text, names)
        out, mentions, pos = [], [], 0
        for s, e, body in kept:
            out += [text[pos:s], BODY if body else MARK]
            mentions.append(text[s:e])
            pos = e
        out.append(text[pos:])
        return "".join(out), mentions, [(s, e) for s, e, _ in kept]

    def _marks_in(self, text: str, names: Forms) -> tuple[tuple[int, int, bool], ...]:
        """The mentions' spans (start, end, a body alone), overlapping and touching ones merged. A given
        name written alone (`given`) and followed by `not_after_given` (胜利了, 丰收了) is the everyday word."""
        spans: list[tuple[int, int, bool]] = [(s, e, False) for s, e in self._slipped(text)]
        spans += [(s, e, False) for s, e, _ in _sounding(text, names.sounding)]
        finders = [(rx, False) for rx in self._finders] + (
            [(_names_pattern(names.written), False)] if names.written else []) + (
            [(self._bodies, True)] if self._bodies is not None else []) + (
            [(_latin_pattern(names.latin), False)] if names.latin else [])
        for rx, body in finders:
            spans += [(*m.span(), body) for m in rx.finditer(text) if m.end() > m.start()
                      and not (m.group(0) in names.given and text[m.end():m.end() + 1] in self._not_after_given)]
        spans.sort(key=lambda s: (s[0], -(s[1] - s[0]), s[2]))
        kept: list[list] = []
        for s, e, body in spans:
            if kept and s <= kept[-1][1]:
                kept[-1][1] = max(e, kept[-1][1])
                kept[-1][2] = kept[-1][2] and body  # a person in it makes it a person
            else:
                kept.append([s, e, body])
        return tuple((s, e, body) for s, e, body in kept)

    def _slipped(self, text: str) -> list[tuple[int, int]]:
        """Where a title of `slips` is written with one character wrong, as voice input and hurried
        typing do: the wrong character sounds the same (书纪, 会记: pinyin, tones aside) or is a rare
        character (主仼: outside the 3,755 common ones of GB 2312, a slip of a shape-based input).
        Real words that sound like a title (`not_slips`: 书籍, 主人) are not slips."""
        real = [m.span() for m in self._not_slips.finditer(text)] if self._not_slips else []
        found = []
        for title in self._slips:
            n = len(title)
            for i in _windows(text, title):
                window = text[i:i + n]
                wrong = [k for k in range(n) if window[k] != title[k]]
                if len(wrong) != 1 or any(s < i + n and i < e for s, e in real):
                    continue
                k = wrong[0]
                if window[k] in self._dialect_de:
                    continue  # 干嘞, 会哩: a dialect's 的 after a verb, not a title
                if _sounds_alike(window[k], title[k]) or _rare(window[k]):
                    found.append((i, i + n))
        return found

    def _cast(self, marked: str) -> dict[int, str]:
        """mention index → role, by the first role (in table order) with a pattern written around it."""
        index = {m.start(): i for i, m in enumerate(_PLACEHOLDERS.finditer(marked))}
        casts, _ = self._role_words(marked)
        roles: dict[int, str] = {}
        for k, (role, _rx) in enumerate(self._role_patterns):
            for at in casts.get(k, ()):
                roles.setdefault(index[at], role)
        return roles

    def _hide_roles(self, marked: str) -> str:
        """The words that cast a mention as victim, helper or not a cadre are no sign of wrongdoing (a
        relative named — 他老婆 — may well be one: those words stay)."""
        chars = list(marked)
        for s, e in self._role_words(marked)[1]:
            chars[s:e] = _HIDE * (e - s)
        return "".join(chars)

    def _role_words(self, marked: str) -> tuple[dict[int, list[int]], list[tuple[int, int]]]:
        """What the role patterns find: by pattern (its place in `_role_patterns`), where each match puts
        its mention, in order; and the spans of the words that cast a mention harmless. Line by line for
        the patterns that read a line as they read the text (each line once), the whole text for the rest."""
        casts: dict[int, list[int]] = {}
        hides: list[tuple[int, int]] = []
        at = 0
        for line in marked.split("\n"):
            line_casts, line_hides = self._line_roles(line)
            for k, places in line_casts:
                casts.setdefault(k, []).extend(p + at for p in places)
            hides += [(s + at, e + at) for s, e in line_hides]
            at += len(line) + 1
        if self._crossing_roles:
            whole_casts, whole_hides = self._roles_in(marked, self._crossing_roles)
            for k, places in whole_casts:
                casts[k] = list(places)
            hides += whole_hides
        return casts, hides

    def _roles_in(self, text: str, patterns: tuple[int, ...]) -> tuple[tuple, tuple]:
        """`_role_words` of these patterns in this text: ((pattern, mention places), …), hidden spans."""
        casts, hides = [], []
        for k in patterns:
            role, rx = self._role_patterns[k]
            places, pos = [], 0
            while pos <= len(text):  # every match, overlapping ones too: each casts its mention
                m = rx.search(text, pos)
                if not m:
                    break
                places.append(m.start("c"))
                pos = m.start() + 1
            if places:
                casts.append((k, tuple(places)))
            if role not in ("accused", "related"):
                hides += [m.span() for m in rx.finditer(text)]
        return tuple(casts), tuple(hides)

    def _signs_in(self, text: str) -> tuple[str, set[str]]:
        """The first strong sign (or ""), and the kinds of sign found — not in words that say the thing
        was not done (`void`): a warning against it (防止有人冒领, 别让人骗了) or a denial that the village
        did it (不是村里截的); a sentence that asks back (还不是村里截了？) denies nothing."""
        if self._void is not None and self._void.search(text):
            text = self._void.sub(self._voided, text)
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


def _unmarked(text: str, spans: list[tuple[int, int]], marked: str) -> str:
    """The text as written, with what `marked` (one character a mention) hides hidden too."""
    out, pos, at = [], 0, 0
    for s, e in spans:
        out += [_HIDE if m == _HIDE else ch for ch, m in zip(text[pos:s], marked[at:at + s - pos])]
        at += s - pos
        out.append(text[s:e])
        at, pos = at + 1, e
    out += [_HIDE if m == _HIDE else ch for ch, m in zip(text[pos:], marked[at:])]
    return "".join(out)


def _windows(text: str, title: str) -> list[int]:
    """Where a window of the title's length may hold it with at most one character wrong: one of its first
    two characters is then right, so only where they stand (found by str.find, not a walk of every position)."""
    last = len(text) - len(title)
    if len(title) < 2:
        return list(range(last + 1))
    at: set[int] = set()
    for k in (0, 1):
        i = text.find(title[k])
        while i >= 0:
            if 0 <= i - k <= last:
                at.add(i - k)
            i = text.find(title[k], i + 1)
    return sorted(at)


def _first(patterns: list[re.Pattern], text: str) -> str:
    for rx in patterns:
        m = rx.search(text)
        if m:
            return m.group(0)
    return ""


def committees_in_play(own: str | None, named: Iterable[str], township: Mapping[str, Sequence[str]]
                       ) -> tuple[dict[str, Sequence[str]], dict[str, Sequence[str]]]:
    """Whose committee names to look for in every form — the reporter's own village's and every village the
    text names — and the township's others, found by full name only (an accused's village may go unnamed).
    Intake and the accusation scorer's training read a tip-off alike through this."""
    in_play = [v for v in dict.fromkeys([own, *named]) if v in township]
    committee = {v: township[v] for v in in_play}
    return committee, {v: names for v, names in township.items() if v not in committee}


@lru_cache(maxsize=1024)
def _latin_pattern(initials: tuple[str, ...]) -> re.Pattern:
    """Initials as a whole Latin token, any case (zhb, ZHB — not inside zhbx or a link)."""
    return re.compile(rf"(?<![A-Za-z0-9./_-])({alternation(initials)})(?![A-Za-z0-9./_-])", re.IGNORECASE)


@lru_cache(maxsize=4096)
def _initials(name: str) -> str:
    return "".join(p[0][:1] for p in pinyin(name, style=Style.FIRST_LETTER, errors="ignore")).lower()


@lru_cache(maxsize=1024)  # one a set of villages in play: a township of twenty villages has many
def _names_pattern(names: tuple[str, ...]) -> re.Pattern:
    return re.compile(alternation(names))


SOUNDING_MIN = 3  # names shorter than this (老刘, 刘姐) sound like too many everyday words


def _sounding(text: str, names: list[str]) -> list[tuple[int, int, str]]:
    """Where a committee member's name of three characters or more (刘建国, 刘书记) is written with
    characters that sound the same or are rare — voice input and pinyin typing turn 郭主任 into the
    real word 郭主人, 李会计 into 李快计, 何文斌 into 何文彬. At least one character is as the
    roster has it, and a name written exactly is left to the exact match. (start, end, the name)."""
    by_sound = _by_first_sound(tuple(names))
    found = []
    for i, ch in enumerate(text):
        if ch not in by_sound and by_sound.keys().isdisjoint(_readings(ch)):
            continue  # most characters begin no name in any reading
        candidates = {n for key in {ch, *_readings(ch)} for n in by_sound.get(key, ())}
        for name in candidates:
            window = text[i:i + len(name)]
            if len(window) < len(name) or window == name:
                continue
            same = sum(a == b for a, b in zip(window, name))
            if same and all(a == b or _sounds_alike(a, b) or _rare(a) for a, b in zip(window, name)):
                found.append((i, i + len(name), name))
    return found


@lru_cache(maxsize=1024)
def _by_first_sound(names: tuple[str, ...]) -> dict[str, list[str]]:
    """Names of SOUNDING_MIN characters or more by their first character and its readings."""
    by_sound: dict[str, list[str]] = {}
    for name in names:
        if len(name) >= SOUNDING_MIN:
            for key in {name[0], *_readings(name[0])}:
                by_sound.setdefault(key, []).append(name)
    return by_sound


@lru_cache(maxsize=4096)
def _readings(ch: str) -> frozenset[str]:
    if not _is_han(ch):
        return frozenset()
    found = pinyin(ch, style=Style.NORMAL, heteronym=True, errors="ignore")
    return frozenset(found[0]) if found else frozenset()


@lru_cache(maxsize=65536)  # pure, and asked for the same pairs over and over
def _sounds_alike(a: str, b: str) -> bool:
    return bool(_readings(a) & _readings(b))


def _is_han(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith("CJK UNIFIED IDEOGRAPH")


@lru_cache(maxsize=65536)
def _rare(ch: str) -> bool:
    """A Chinese character outside GB 2312's first level (the 3,755 most common ones)."""
    if not _is_han(ch):
        return False
    try:
        return not 0xB0 <= ch.encode("gb2312")[0] <= 0xD7
    except UnicodeEncodeError:
        return True
