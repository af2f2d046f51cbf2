"""An outbox row's (msgtype, body) as each API takes it.

WeCom apps and app group chats take text, markdown and textcard as they are. The Official
Account's customer-service and template messages have neither markdown nor cards, so those go
as plain text (a card's link separately: the template message has a url field). Group robots
have markdown but no textcard, so a card goes as markdown. ValueError: a body that is not
what its msgtype says (a permanent fault of the row).
"""

import re

from models.outbox import MARKDOWN, MSGTYPES, TEXT, TEXTCARD, Card


def wecom(msgtype: str, body: str) -> dict:
    """The {"msgtype": ..., <msgtype>: {...}} part of a message/send or appchat/send request."""
    if msgtype == TEXTCARD:
        card = Card.parse(body)
        content = {"title": card.title, "description": card.description, "url": card.url}
        if card.button:
            content["btntxt"] = card.button
        return {"msgtype": TEXTCARD, TEXTCARD: content}
    if msgtype not in MSGTYPES:
        raise ValueError(f"unknown msgtype {msgtype!r}")
    return {"msgtype": msgtype, msgtype: {"content": body}}


def plain(msgtype: str, body: str) -> tuple[str, str | None]:
    """(text, link) for a channel that only has plain text."""
    if msgtype == TEXTCARD:
        card = Card.parse(body)
        return f"{card.title}\n{card.description}", card.url
    if msgtype == MARKDOWN:
        return _unmark(body), None
    if msgtype == TEXT:
        return body, None
    raise ValueError(f"unknown msgtype {msgtype!r}")


def robot(msgtype: str, body: str) -> tuple[str, str]:
    """(robot msgtype, content): text stays text, a card becomes markdown."""
    if msgtype == TEXTCARD:
        card = Card.parse(body)
        return MARKDOWN, f"**{card.title}**\n{card.description}\n[{card.button or '详情'}]({card.url})"
    if msgtype not in MSGTYPES:
        raise ValueError(f"unknown msgtype {msgtype!r}")
    return msgtype, body


# WeCom's markdown subset: headings, bold, links, inline code, quotes, <font color>.
_MARKUP = (
    (re.compile(r"<font[^>]*>(.*?)</font>", re.S), r"\1"),
    (re.compile(r"\[([^\]]*)\]\(([^)]*)\)"), r"\1 \2"),
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.M), ""),
    (re.compile(r"^>\s?", re.M), ""),
    (re.compile(r"\*\*(.+?)\*\*", re.S), r"\1"),
    (re.compile(r"`([^`]*)`"), r"\1"),
)


def _unmark(markdown: str) -> str:
    for pattern, replacement in _MARKUP:
        markdown = pattern.sub(replacement, markdown)
    return markdown
