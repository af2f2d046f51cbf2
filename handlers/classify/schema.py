"""Reading the rule table: typed access to the parsed TOML, with errors that name the file and the key."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from handlers.classify import text
from handlers.classify.labels import RulesError


class TableReader:
    """Typed access to the parsed TOML with errors that name the file and the key."""

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

    def keys(self, tbl: dict, allowed: Iterable[str], where: str) -> None:
        unknown = sorted(set(tbl) - set(allowed))
        if unknown:
            raise self.fail(f"[{where}] has unknown key(s) {', '.join(unknown)} "
                            f"(allowed: {', '.join(sorted(allowed))})")

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
