"""The chat command registry: each command declared once, the first match wins.

As python-telegram-bot's `add_handler`: a command is its pattern, the conversation states in
which it is a command, who may use it, its handler and its help line. `帮助` is generated from
the registry (a person sees only the lines of their roles), and the conversation's step is one
walk over it (bot/conversation.py). Who may act on a *case* is the case policy's (handlers/cases.py);
a case command's roles here are those that policy lets act at all, so help never offers more.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from sqlmodel import Session

from bot.inbound import InboundMessage
from handlers import cases
from handlers.lookups import Lookups
from models import Conversation, Person

# A case code as people type it: any case, full-width letters, digits and dashes, spaces around dashes.
_DASH = r"\s*[-－—–‐‑―]\s*"
CODE = rf"[XxＸｘ][SsＳｓ]{_DASH}[0-9０-９]{{8}}{_DASH}[0-9０-９]{{4}}"


code = cases.typed_code  # XS-YYYYMMDD-NNNN from a code as typed (full-width, lower case, odd dashes)


@dataclass
class Turn:
    """One incoming message of a known person, and what a handler needs to answer it."""

    session: Session
    person: Person
    convo: Conversation
    msg: InboundMessage
    now: datetime
    lookups: Lookups  # the org as this transaction reads it, loaded once (handlers/lookups.py)

    @cached_property
    def text(self) -> str:
        return self.msg.text.strip() if self.msg.kind == "text" else ""

    @cached_property
    def roles(self) -> frozenset[str]:
        return self.lookups.member(self.person).roles


Handler = Callable[[Turn, re.Match], str | None]


@dataclass(frozen=True)
class Command:
    name: str  # the command word, as 帮助 and refusals name it
    pattern: re.Pattern  # matched against the whole text of a text message
    handler: Handler
    states: frozenset[str]  # conversation states in which this is a command
    help: str | None = None  # the 帮助 line; None: not listed
    roles: frozenset[str] | None = None  # whose 帮助 lists it (None: everyone's)
    when: Callable[[Turn, re.Match], bool] | None = None  # a further condition, e.g. a pending question
    quick: bool = False  # a lookup or one small write: the dispatcher lets it go ahead of filings


@dataclass
class Registry:
    commands: list[Command] = field(default_factory=list)

    def add(self, command: Command) -> Command:
        if any(c.name == command.name for c in self.commands):
            raise ValueError(f"command {command.name} declared twice")
        self.commands.append(command)
        return command

    def quick(self, text: str) -> bool:
        """Whether a quick command's pattern takes this text — on the text alone, before any database read."""
        return any(c.quick and c.pattern.match(text) for c in self.commands)

    def route(self, turn: Turn) -> tuple[Command, re.Match] | None:
        """The first command that takes this message in this state, with its match."""
        for command in self.commands:
            if turn.convo.state not in command.states:
                continue
            match = command.pattern.match(turn.text)
            if match and (command.when is None or command.when(turn, match)):
                return command, match
        return None

    def help_lines(self, roles: frozenset[str], order: list[str]) -> list[str]:
        """The help lines of the commands these roles may use, each once, in `order` (others last)."""
        lines = dict.fromkeys(c.help for c in self.commands if c.help and (c.roles is None or c.roles & roles))
        rank = {line: n for n, line in enumerate(order)}
        return sorted(lines, key=lambda line: rank.get(line, len(rank)))
