"""The deadline policy: a data file (handlers/policy.toml, or GRIDLINE_POLICY_FILE) read once.

Each kind says its window and clock, when it applies, the event that starts it and the events
that meet it, who answers for it, when to remind and when to escalate.
"""

import re
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from handlers import org
from handlers.tomlfile import read_toml

DEFAULT_POLICY = Path(__file__).with_name("policy.toml")
KINDS = ("ack", "report_urgent", "contact_poster", "meet_people", "close")
CONDITIONS = ("urgent", "online", "petition", "involves_cadre")
DUTIES = ("verify", "lead", "inform")
LEVELS = (org.VILLAGE_LEADER, org.OFFICE, org.LEADER_IN_CHARGE, org.MAIN_LEADER)
_WINDOW = re.compile(r"^(\d+)(m|h|d|wd)$")
_OFFSET = re.compile(r"^(-?)(\d+)(m|h|d)$")
_UNIT = {"m": "minutes", "h": "hours", "d": "days"}


class PolicyError(ValueError):
    """The policy file is missing or wrong; the message names the file, the key and the problem."""


@dataclass(frozen=True)
class Window:
    amount: int
    unit: str  # m, h, d: wall clock; wd: working days

    @property
    def working_days(self) -> bool:
        return self.unit == "wd"

    def span(self) -> timedelta:
        return timedelta(**{_UNIT[self.unit]: self.amount})

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    @classmethod
    def parse(cls, value: str) -> "Window":
        match = _WINDOW.match(str(value).strip())
        if not match or int(match[1]) == 0:
            raise ValueError(f"{value!r} is not a window like 30m, 2h, 7d or 2wd")
        return cls(int(match[1]), match[2])


def offset(value: str) -> timedelta:
    match = _OFFSET.match(str(value).strip())
    if not match:
        raise ValueError(f"{value!r} is not a time like 0m, 2h, 1d or -1h")
    delta = timedelta(**{_UNIT[match[3]]: int(match[2])})
    return -delta if match[1] else delta


@dataclass(frozen=True)
class Rule:
    kind: str
    when: tuple[str, ...]  # any of; empty: every case
    window: Window
    urgent_window: Window | None
    starts: str
    met_by: tuple[str, ...]
    responsible: tuple[str, ...]
    reminders: tuple[str, ...]  # "half" or a negative offset before the due time
    escalation: tuple[str, ...]  # offsets after the due time

    def applies(self, facts: set[str]) -> bool:
        return not self.when or bool(facts & set(self.when))

    def window_for(self, urgent: bool) -> Window:
        return self.urgent_window if urgent and self.urgent_window else self.window


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...]
    tz: ZoneInfo
    workday_ends: time
    quiet_start: time
    quiet_end: time
    sensitive_factor: float
    escalate_to: tuple[str, ...]
    source: str
    followup_after: int  # working days after closing when the office is asked to visit (回访)
    followup_at: time  # local time of that day
    reopen_within: timedelta  # 不满意 recorded within this of closing reopens the case

    def rule(self, kind: str) -> Rule:
        return next(r for r in self.rules if r.kind == kind)

    @classmethod
    def load(cls, path: str | Path | None, tz: ZoneInfo) -> "Policy":
        data, source = read_toml(path, DEFAULT_POLICY, "policy file", PolicyError)
        return _parse(data, source, tz)


def _parse(data: dict, source: str, tz: ZoneInfo) -> Policy:
    def fail(key: str, problem: str) -> PolicyError:
        return PolicyError(f"policy file {source}: {key}: {problem}")

    def clock_time(key: str, value) -> time:
        try:
            return time.fromisoformat(str(value))
        except ValueError:
            raise fail(key, f"{value!r} is not a time like 07:00") from None

    def strings(key: str, value, allowed=None) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(key, "must be a list of strings")
        bad = [v for v in value if allowed is not None and v not in allowed]
        if bad:
            raise fail(key, f"unknown {bad[0]!r} (one of {', '.join(allowed)})")
        return tuple(value)

    quiet = data.get("quiet_hours", ["22:00", "07:00"])
    if not isinstance(quiet, list) or len(quiet) != 2:
        raise fail("quiet_hours", 'must be ["22:00", "07:00"]-like: start and end')
    factor = data.get("sensitive_factor", 0.5)
    if not isinstance(factor, int | float) or not 0 < factor <= 1:
        raise fail("sensitive_factor", "must be a number above 0 and at most 1")
    kinds = data.get("deadlines")
    if not isinstance(kinds, dict):
        raise fail("deadlines", "missing: one [deadlines.KIND] table per kind")
    rules = []
    for kind in KINDS:
        entry = kinds.get(kind)
        key = f"deadlines.{kind}"
        if not isinstance(entry, dict):
            raise fail(key, "missing")
        try:
            window = Window.parse(entry["window"])
            urgent = Window.parse(entry["urgent_window"]) if "urgent_window" in entry else None
            reminders = strings(f"{key}.reminders", entry.get("reminders", ["half", "-1h"]))
            for point in reminders:
                if point != "half" and offset(point) >= timedelta(0):
                    raise ValueError(f"reminder {point!r} must be 'half' or before the due time, like -1h")
            escalation = strings(f"{key}.escalation", entry.get("escalation", ["0m"]))
            if not escalation or any(offset(step) < timedelta(0) for step in escalation):
                raise ValueError("escalation needs at least one step at or after the due time, like 0m")
        except KeyError as exc:
            raise fail(key, f"missing {exc.args[0]}") from None
        except ValueError as exc:
            raise fail(key, str(exc)) from None
        rules.append(Rule(
            kind=kind,
            when=strings(f"{key}.when", entry.get("when", []), CONDITIONS),
            window=window, urgent_window=urgent, starts=str(entry.get("starts", "分派")),
            met_by=strings(f"{key}.met_by", entry.get("met_by", [])),
            responsible=strings(f"{key}.responsible", entry.get("responsible", ["lead"]), DUTIES),
            reminders=reminders, escalation=escalation,
        ))
    followup = data.get("followup", {})
    if not isinstance(followup, dict):
        raise fail("followup", "must be a table: [followup]")
    after = followup.get("after_working_days", 1)
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise fail("followup.after_working_days", "must be a whole number of working days, 0 or more")
    try:
        reopen = Window.parse(followup.get("reopen_within", "3d"))
        if reopen.working_days:
            raise ValueError("reopen_within is wall-clock time, like 72h or 3d")
    except ValueError as exc:
        raise fail("followup.reopen_within", str(exc)) from None
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise fail("deadlines", f"unknown kind {sorted(unknown)[0]!r} (one of {', '.join(KINDS)})")
    return Policy(
        rules=tuple(rules), tz=tz,
        workday_ends=clock_time("workday_ends", data.get("workday_ends", "18:00")),
        quiet_start=clock_time("quiet_hours", quiet[0]), quiet_end=clock_time("quiet_hours", quiet[1]),
        sensitive_factor=float(factor),
        escalate_to=strings("escalate_to", data.get("escalate_to", list(LEVELS)), LEVELS),
        source=source,
        followup_after=after,
        followup_at=clock_time("followup.at", followup.get("at", "09:00")),
        reopen_within=reopen.span(),
    )
