"""Every callback message, stored before it is acted on: the key to exactly-once effect."""

from datetime import datetime

from sqlalchemy import Column, JSON, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class InboundRecord(SQLModel, table=True):
    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("channel", "account", "dedupe_key", name="uq_inbound_dedupe"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    account: str = Field(max_length=64)
    # MsgId for messages; sender|CreateTime|Event|EventKey for events.
    dedupe_key: str = Field(max_length=400)
    sender: str = Field(max_length=128, index=True)
    kind: str = Field(max_length=32)
    payload: dict = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(sa_type=UTCDateTime)
    # replied (answered passively) or queued (answered through the outbox)
    status: str = Field(max_length=16)
    reply: str | None = Field(default=None, sa_column=Column(Text))


class CallbackNonce(SQLModel, table=True):
    """A callback's (timestamp, nonce, signature), seen within the age window: the same ones again with
    another body are a replay and refused; with the same body, WeChat resending (answered as before)."""

    __tablename__ = "callback_nonces"

    channel: str = Field(max_length=16, primary_key=True)
    # sha256 of timestamp, nonce and signature; the body's sha256
    key: str = Field(max_length=64, primary_key=True)
    body_digest: str = Field(max_length=64)
    seen_at: datetime = Field(sa_type=UTCDateTime, index=True)
