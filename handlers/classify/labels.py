"""What the classifier says about a tip-off, and the error a bad rule table raises."""

from __future__ import annotations

from dataclasses import dataclass


class RulesError(ValueError):
    """The rule table is missing, unreadable or wrong; the message names the file and the problem."""


@dataclass(frozen=True)
class Labels:
    category: str
    lead_department: str
    severity: str
    urgent: bool
    online: bool
    involves_cadre: bool
    village: str | None
    platform: str | None
    screen_name: str | None
    links: tuple[str, ...]
    # The text says something, either way, about people gathering or going to petition.
    crowd_said: bool = False
    # What handlers/classify/cadre.py found: yes / no / ask (involves_cadre is already its fail-closed reading),
    # why, and the words that named a cadre.
    cadre_verdict: str = "no"
    cadre_reason: str = ""
    cadre_mentions: tuple[str, ...] = ()
    cadre_villages: tuple[str, ...] = ()  # villages whose committee members the text names
    # A village cadre is accused — the detector's yes, or a person's word (the reporter's 是, a correction,
    # a 举报): the case is the cadre category's. involves_cadre without it is only failing closed (an
    # unanswered question): bypass and 纪委 informed, but the category and lead are what the text reads.
    cadre_accused: bool = False
    # The rule table's score of each category (the model weighs them).
    category_scores: tuple[tuple[str, float], ...] = ()
