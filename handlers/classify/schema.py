"""The rule table's schema (pydantic): every section, key, type and cross-reference of rules.toml,
checked before anything is compiled, with errors that name the file, the section and the key; and
typed access to the checked table for the loaders (TableReader).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from handlers.classify import text
from handlers.classify.labels import RulesError
from handlers.org import DEPARTMENTS

# The [cadre] keys that hold role patterns: each names a cadre ({C}) or a body ({B}) exactly once.
CADRE_ROLES = ("negated", "place", "impersonated", "accused", "victim", "helper", "bystander", "related")


def _regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None
    return pattern


def _role(pattern: str) -> str:
    if pattern.count("{C}") + pattern.count("{B}") != 1:
        raise ValueError(f"pattern {pattern!r} must contain {{C}} (a cadre) or {{B}} (a body) exactly once")
    _regex(pattern.replace("{C}", "(?P<c>C)").replace("{B}", "(?P<c>B)"))
    return pattern


def _department(name: str) -> str:
    if name not in DEPARTMENTS:
        raise ValueError(f"{name!r} is not a department (one of {', '.join(DEPARTMENTS)})")
    return name


Word = Annotated[str, StringConstraints(min_length=1)]
Words = list[Word]
SomeWords = Annotated[Words, Field(min_length=1)]
Pattern = Annotated[str, AfterValidator(_regex)]
RolePattern = Annotated[str, AfterValidator(_role)]
Score = Annotated[float, Field(ge=0, allow_inf_nan=False)]
AtLeastOne = Annotated[float, Field(ge=1, allow_inf_nan=False)]


class Section(BaseModel):
    # strict: "二" is not a number, 1 is not true; forbid: a misspelt key is an error, not ignored
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Weights(Section):
    strong: Score
    words: Score
    weak: Score
    patterns: Score


class Classify(Section):
    default_category: Word
    min_score: Score
    priority: Words = []
    dominant: Words = []
    dominant_min_score: Score = 0
    speculation: Words = []
    speculation_factor: Annotated[float, Field(ge=0, le=1)] = 0.5
    weights: Weights


class Negation(Section):
    before: SomeWords
    after: Words = []
    ignore: Words = []
    category: Words = []
    window: Annotated[int, Field(ge=1)]


class Category(Section):
    name: Word
    lead_department: Annotated[str, AfterValidator(_department)]
    strong: Words = []
    words: Words = []
    weak: Words = []
    patterns: list[Pattern] = []
    needs_any: Words = []


class Online(Section):
    words: Words
    masks: Words = []
    platforms: dict[str, SomeWords]
    link_hosts: dict[str, Word] = {}


class ScreenName(Section):
    markers: SomeWords
    connectors: Words = []
    after_quote: Words = []
    prefixes: Words = []
    called: Words = []
    unquoted_stops: Words = []


class Crowd(Section):
    threshold: AtLeastOne
    units: SomeWords
    measures: Words = []
    actions: SomeWords
    window_before: Annotated[int, Field(ge=0)]
    window_after: Annotated[int, Field(ge=0)]
    not_people: Words = []


class Urgent(Section):
    cues: Words
    patterns: list[Pattern] = []
    soft_cues: Words = []
    soft_patterns: list[Pattern] = []
    benign_contexts: Words = []
    mentions: Words = []
    past: Words = []
    present: Words = []
    over: Words = []
    denied: Words = []
    crowd: Crowd


class Cadre(Section):
    category: Word
    titles: SomeWords
    bodies: Words = []
    name_titles: Words = []
    name_kin: Words = []
    name_prefixes: Words = []
    # Latin letters people type for a title on a phone (sj 书记, cz 村长): whole tokens only
    abbreviations: list[Annotated[str, StringConstraints(pattern=r"^[a-z]{2,}$")]] = []
    # nicknames: the given name's last character + one of these (海子 for 吴海), unless an everyday word
    nickname_suffixes: Words = []
    not_nicknames: Words = []
    own_village: Pattern | None = None
    compound_surnames: Words = []
    not_after_given: list[Annotated[str, StringConstraints(min_length=1, max_length=1)]] = []
    strong: SomeWords
    strong_patterns: list[Pattern] = []
    signs: dict[str, SomeWords] = {}
    excused: Words = []
    unhelpful: Words = []
    # a slip of one character would match half the language
    slips: list[Annotated[str, StringConstraints(min_length=2)]] = []
    not_slips: Words = []
    grievances: list[Pattern] = []
    # round six, failing closed by structure: the village's collective or public things, who is clearly
    # outside the committee, who is known only by a nickname, the committee as a group, the kinds of
    # sign that are wrongdoing in themselves
    collective: list[Pattern] = []
    outsiders: list[Pattern] = []
    employers: list[Pattern] = []  # a business named: its boss (`bosses`) is no nickname
    bosses: Words = []
    third_parties: list[Pattern] = []
    same_person: list[Pattern] = []  # the words between two mentions that make them one person  # a clause naming one and no cadre: its wrongdoing is theirs
    nicknames: list[Pattern] = []
    role_like: list[Pattern] = []
    committee_bodies: list[Pattern] = []
    wrong_kinds: Words = []
    late: Words = []
    # round eight: an office that is only where people complain (`toward`, before it) or who told them
    # (`informant`, after it) is not the actor; what only power in the village can do; the kinds of sign
    # whose actor, unrecognised and not among `ordinary` people, is asked about
    toward: list[Pattern] = []
    informant: list[Pattern] = []
    power_acts: list[Pattern] = []
    actor_kinds: Words = []
    ordinary: list[Pattern] = []
    person_like: list[Pattern] = []  # someone written as the actor whom no table knows (a name, a description)
    # round nine: references that can only mean the village's power-holder (一把手, 当家的, initials)
    power_holders: list[Pattern] = []
    # a cadre reporting someone (a verb of telling, then who): from there on, the clause is the other's doing
    report_verbs: Pattern | None = None
    reported: Pattern | None = None
    void: list[Pattern] = []  # words that say a sign was not done: a warning against it, a denial
    placed_before: str = ""  # characters before someone reported that make them a place or a recipient
    other_subject: Pattern | None = None  # a clause opening on someone of its own
    owner_after: str = ""  # after an ordinary person, what makes them only an owner (村民的钱)
    object_of: str = ""  # characters before an ordinary person that make them the object, not the actor
    adversative: Pattern | None = None  # a turn (可, 却) after a harmless act: a sign after it undoes the cast
    conditional: Pattern | None = None  # …unless it is said as a condition: a threat, not a report
    turns: list[Pattern] = []  # words that turn a story (其实, 后来): the actor of a third party's clause stops there
    # a title's last character → how dialects write it (的 → 嘞)
    dialect: dict[Annotated[str, StringConstraints(min_length=1, max_length=1)],
                  list[Annotated[str, StringConstraints(min_length=1, max_length=1)]]] = {}
    object_before: Words = []
    scope_ends: list[Pattern] = []
    rhetorical: list[Pattern] = []
    pronoun: Pattern | None = None
    negated: list[RolePattern] = []
    place: list[RolePattern] = []
    impersonated: list[RolePattern] = []
    accused: list[RolePattern] = []
    victim: list[RolePattern] = []
    helper: list[RolePattern] = []
    bystander: list[RolePattern] = []
    # only a relative's or a belonging's owner (书记的孙子…): harmless only in a text with no sign at all
    related: list[RolePattern] = []

    @model_validator(mode="after")
    def _kinds(self) -> Cadre:
        for key in ("excused", "unhelpful", "wrong_kinds", "actor_kinds"):
            for kind in getattr(self, key):
                if kind not in self.signs:
                    raise ValueError(f"{key} names {kind!r}, which is not a kind of [cadre.signs]")
        return self


class Village(Section):
    suffixes: Words = []
    bare_min_length: Annotated[int, Field(ge=1)] = 2
    bare_blockers: Words = []
    negation: Words = []
    corrections: Words = []
    own_markers: Words = []


class Severity(Section):
    major_if_involves_cadre: bool
    major_online_categories: Words = []
    major_count: AtLeastOne
    major_amount: AtLeastOne
    major_spread: Words = []


class RuleTable(Section):
    classify: Classify
    negation: Negation
    category: Annotated[list[Category], Field(min_length=1)]
    online: Online
    screen_name: ScreenName
    urgent: Urgent
    cadre: Cadre
    village: Village
    severity: Severity

    @model_validator(mode="after")
    def _categories_named(self) -> RuleTable:
        names = [c.name for c in self.category]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"category {twice[0]!r} is defined twice")
        for where, named in (("[classify] default_category", [self.classify.default_category]),
                             ("[classify] priority", self.classify.priority),
                             ("[classify] dominant", self.classify.dominant),
                             ("[severity] major_online_categories", self.severity.major_online_categories),
                             ("[cadre] category", [self.cadre.category])):
            for name in named:
                if name not in names:
                    raise ValueError(f"{where} names {name!r}, which is not a category "
                                     f"(categories: {', '.join(names)})")
        return self


SECTIONS = {"classify", "classify.weights", "negation", "online", "online.platforms", "screen_name", "urgent",
            "urgent.crowd", "cadre", "village", "severity"}


def validate(data: dict, source: str) -> RuleTable:
    """The parsed TOML as a RuleTable, or RulesError naming the file and every problem found."""
    try:
        return RuleTable.model_validate(data)
    except ValidationError as exc:
        problems = _explain(exc.errors(include_url=False), data)
        raise RulesError(f"rules file {source}: " + "; ".join(problems)) from None


def _explain(errors: list[dict], data: dict) -> list[str]:
    unknown: dict[str, list[str]] = {}
    out: list[str] = []
    for err in errors:
        loc = list(err["loc"])
        keys = [k for k in loc if isinstance(k, str)]
        kind, msg = err["type"], err["msg"].removeprefix("Value error, ")
        if kind == "extra_forbidden":
            unknown.setdefault(_where(loc[:-1], data) or "top level", []).append(str(loc[-1]))
            continue
        if kind == "missing" and ".".join(keys) in SECTIONS:
            out.append(f"missing section [{'.'.join(keys)}]")
            continue
        if kind == "missing" and keys == ["category"]:
            out.append("needs at least one [[category]] table")
            continue
        # the key the problem is in: the last name in the path; items of a list are "key item N"
        at = max((i for i, k in enumerate(loc) if isinstance(k, str)), default=-1)
        where, key = _where(loc[:at], data), (loc[at] if at >= 0 else "")
        item = "".join(f" item {k + 1}" for k in loc[at + 1:] if isinstance(k, int))
        got, ctx = err.get("input"), err.get("ctx") or {}
        at_key = f"[{where}] {key}" if where else f"[{key}]"
        if kind == "missing":
            out.append(f"[{where}] is missing {key}")
        elif kind in ("float_type", "int_type", "int_from_float", "finite_number"):
            whole = "a whole number" if kind.startswith("int") else "a number"
            out.append(f"{at_key} must be {whole}, not {got!r}")
        elif kind in ("greater_than_equal", "less_than_equal"):
            bound = f"≥ {ctx['ge']}" if "ge" in ctx else f"≤ {ctx['le']}"
            out.append(f"{at_key} must be a number {bound}, not {got!r}")
        elif kind == "list_type" or (kind == "string_type" and item):
            out.append(f"{at_key} must be a list of strings" + (f" ({item.strip()} is {got!r})" if item else ""))
        elif kind == "too_short" and not item:
            out.append(f"{at_key} must not be empty")
        elif kind == "string_too_short":
            out.append(f"{at_key}: {got!r} is too short" + (" (an empty string)" if not got else
                                                                    f" ({ctx.get('min_length')} characters at least)"))
        elif kind == "bool_type":
            out.append(f"{at_key} must be true or false, not {got!r}")
        elif kind in ("dict_type", "model_type", "model_attributes_type"):
            out.append(f"[{where + '.' if where else ''}{key}] must be a table")
        elif kind == "string_type":
            out.append(f"{at_key} must be a non-empty string, not {got!r}")
        elif kind == "value_error" and not key:
            out.append(msg)
        elif kind == "value_error" and not item and isinstance(got, dict):
            out.append(f"[{where + '.' if where else ''}{key}] {msg}")  # a section's own check
        else:
            out.append(f"{at_key}{item}: {msg}")
    for where, keys in unknown.items():
        out.append(f"[{where}] has unknown key(s) {', '.join(keys)}")
    return out


def _where(loc: list, data: dict) -> str:
    """A section's name as the file writes it: dotted, a [[category]] by its name."""
    parts: list[str] = []
    node: object = data
    for k in loc:
        if isinstance(k, int) and parts == ["category"]:
            name = node[k].get("name") if isinstance(node, list) and isinstance(node[k], dict) else None
            parts = [f"category {name}" if isinstance(name, str) and name else f"category #{k + 1}"]
        elif isinstance(k, str):
            parts.append(k)
        node = node.get(k) if isinstance(node, dict) else node[k] if isinstance(node, list) else None
    return ".".join(parts)


class TableReader:
    """Typed access to the parsed TOML for the loaders of rules.py, detectors.py and cadre.py, after
    `validate` has passed it: lists deduplicated, defaults filled in, patterns compiled."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, msg: str) -> RulesError:
        return RulesError(f"rules file {self.source}: {msg}")

    def table(self, data: dict, key: str, where: str = "") -> dict:
        name = f"{where}.{key}" if where else key
        if key not in data:
            raise self.fail(f"missing section [{name}]")
        value = data[key]
        if not isinstance(value, dict):
            raise self.fail(f"[{name}] must be a table")
        return value

    def strs(self, tbl: dict, key: str, where: str, *, required: bool = True,
             nonempty: bool = False) -> list[str]:
        if key not in tbl:
            if required:
                raise self.fail(f"[{where}] is missing {key} (a list of strings)")
            return []
        value = tbl[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"[{where}] {key} must be a list of strings")
        if any(not v for v in value):
            raise self.fail(f"[{where}] {key} contains an empty string")
        if nonempty and not value:
            raise self.fail(f"[{where}] {key} must not be empty")
        return list(dict.fromkeys(value))

    def string(self, tbl: dict, key: str, where: str) -> str:
        value = tbl.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"[{where}] {key} must be a non-empty string")
        return value.strip()

    def number(self, tbl: dict, key: str, where: str, *, minimum: float = 0,
               integer: bool = False, default: float | None = None) -> float:
        if key not in tbl:
            if default is not None:
                return default
            raise self.fail(f"[{where}] is missing {key}")
        value = tbl[key]
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if integer:
            ok = ok and isinstance(value, int)
        if not ok or value < minimum or (isinstance(value, float) and not math.isfinite(value)):
            kind = "a whole number" if integer else "a number"
            raise self.fail(f"[{where}] {key} must be {kind} ≥ {minimum}, not {value!r}")
        return value

    def boolean(self, tbl: dict, key: str, where: str) -> bool:
        value = tbl.get(key)
        if not isinstance(value, bool):
            raise self.fail(f"[{where}] {key} must be true or false")
        return value

    def regex(self, pattern: str, where: str) -> re.Pattern:
        try:
            return re.compile(pattern)
        except re.error as exc:
            raise self.fail(f"[{where}] bad regular expression {pattern!r}: {exc}") from None

    def literals(self, words: Iterable[str]) -> re.Pattern | None:
        return text.literals(words)
