"""What Gridline says back. Strangers may only bind; known people get help until intake lands."""

import re
from datetime import datetime

from sqlmodel import Session

from handlers import texts
from bot.inbound import InboundMessage
from handlers import binding, people
from handlers.binding import Bind

BIND_COMMAND = re.compile(r"^\s*绑定\s*(\d{6})\s*$")

BIND_REPLIES = {
    Bind.WRONG: texts.BIND_WRONG,
    Bind.EXPIRED: texts.BIND_EXPIRED,
    Bind.USED: texts.BIND_USED,
    Bind.LOCKED: texts.BIND_LOCKED,
}


def respond(session: Session, msg: InboundMessage, now: datetime) -> str | None:
    if msg.kind == "event" and msg.event == "unsubscribe":
        if msg.channel == "mp":
            binding.unsubscribed(session, msg.sender)
        return None
    caller = people.by_identity(session, msg.channel, msg.sender)
    if caller is None:
        return _stranger(session, msg, now)
    people.seen(session, caller, now)
    if msg.kind == "event":
        return {"subscribe": texts.HELP, "enter_agent": texts.HELP, "click": texts.HELP}.get(msg.event)
    if msg.kind == "unknown":
        return texts.UNSUPPORTED
    if msg.kind == "text" and msg.text.strip().startswith("绑定"):
        return texts.ALREADY_BOUND.format(name=caller.name)
    return texts.HELP


def _stranger(session: Session, msg: InboundMessage, now: datetime) -> str | None:
    """Someone neither bound nor in the roster: one helpful answer, and binding."""
    if msg.channel != "mp":
        return texts.UNKNOWN_WECOM if msg.kind != "event" or msg.event == "enter_agent" else None
    if msg.kind == "event":
        return texts.WELCOME if msg.event == "subscribe" else None
    text = msg.text.strip() if msg.kind == "text" else ""
    if not text.startswith("绑定"):
        return texts.UNKNOWN_SENDER
    command = BIND_COMMAND.match(text)
    if command is None:
        return texts.BIND_HOW
    outcome, person = binding.bind(session, msg.sender, command.group(1), now)
    if outcome is Bind.BOUND:
        return texts.BOUND.format(name=person.name)
    return BIND_REPLIES[outcome]
