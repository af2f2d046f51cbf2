"""What Gridline says back. Until intake lands, every message is answered with help."""

from sqlmodel import Session

from bot import texts
from bot.inbound import InboundMessage


def respond(session: Session, msg: InboundMessage) -> str | None:
    if msg.kind == "event":
        return {"subscribe": texts.WELCOME, "enter_agent": texts.HELP, "click": texts.HELP}.get(msg.event)
    if msg.kind == "unknown":
        return texts.UNSUPPORTED
    return texts.HELP
