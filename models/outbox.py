"""Outbound messages: written with the event that caused them, delivered by bot/outbound/delivery.py.

A row's body depends on its msgtype: "text" and "markdown" carry the content itself; "textcard"
carries a Card as JSON. Channels without a type get the nearest they have (bot/outbound/messages.py).
"""

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, Session, SQLModel

from models.dml import per_dialect
from models.types import UTCDateTime


TEXT, MARKDOWN, TEXTCARD = "text", "markdown", "textcard"
MSGTYPES = (TEXT, MARKDOWN, TEXTCARD)


@dataclass(frozen=True)
class Card:
    """A text card: a title, a few lines, and a link behind a button."""

    title: str
    description: str
    url: str
    button: str = ""  # empty: the channel's default ("详情" on WeCom)

    def body(self) -> str:
        # Sorted keys: equal cards give equal bodies, so a broadcast batches them together.
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def parse(cls, body: str) -> "Card":
        """The card in a row's body; ValueError when it is not one."""
        try:
            return cls(**json.loads(body))
        except (TypeError, ValueError) as exc:  # not JSON, not an object, or other fields
            raise ValueError(f"not a card: {exc}") from None


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    # Written in the same transaction as the event that caused it; the key keeps it single.
    idempotency_key: str = Field(max_length=200, unique=True)
    channel: str = Field(max_length=16)
    account: str = Field(max_length=64)
    recipient: str = Field(max_length=128)
    # "text", "markdown" or "textcard"; the server default keeps rows written before 0006 valid
    msgtype: str = Field(default="text", max_length=16, sa_column_kwargs={"server_default": "text"})
    body: str = Field(sa_column=Column(Text, nullable=False))
    # pending → sending (claimed) → sent | dead; a failed try goes back to pending, later;
    # cancelled: never to be sent (its recipient lost the case)
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, index=True)
    # A claim expires: a process that died while sending leaves the row to be tried again.
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Whose claim it is (one delivery pass): only that pass records the row's outcome.
    claimed_by: str | None = Field(default=None, max_length=32)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=200)
    # The case the message is about, when it is about one: a late conflict of interest cancels what is
    # pending for people who lose the case and tells the office what was already sent.
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)


_QUEUE = per_dialect(lambda insert: insert(OutboxMessage.__table__).on_conflict_do_nothing())


def write_queued(session: Session, rows: list[dict]) -> None:
    """Outbox rows in one statement (executemany), in order; a key already queued is left as it was."""
    if rows:
        db = session.connection()
        db.execute(_QUEUE[db.dialect.name], rows)
