"""Unified wording (统一口径): a numbered wording, its versions, their history and recipients.

Every version is kept: drafting a new one never edits an old one. A version moves
draft → approved → published → superseded (handlers/wording.py holds the transitions).
"""

from datetime import datetime

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime

DRAFT, APPROVED, PUBLISHED, SUPERSEDED = "draft", "approved", "published", "superseded"
STATUSES = (DRAFT, APPROVED, PUBLISHED, SUPERSEDED)


class Wording(SQLModel, table=True):
    """One wording; its id is the number people type (`批准口径 3`)."""

    __tablename__ = "wordings"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


class WordingVersion(SQLModel, table=True):
    __tablename__ = "wording_versions"
    __table_args__ = (UniqueConstraint("wording_id", "version", name="uq_wording_version"),)

    id: int | None = Field(default=None, primary_key=True)
    wording_id: int = Field(foreign_key="wordings.id", index=True)
    version: int
    status: str = Field(max_length=12, index=True)
    title: str = Field(max_length=64)
    body: str = Field(sa_column=Column(Text, nullable=False))
    # The audience: these units and everything below them, people holding these roles.
    unit_ids: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    roles: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WordingEvent(SQLModel, table=True):
    """One transition of a version: who, when, what."""

    __tablename__ = "wording_events"

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="wording_versions.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    actor_id: int | None = Field(default=None, foreign_key="people.id")  # None: the admin API or Gridline
    action: str = Field(max_length=16)
    note: str = Field(default="", sa_column=Column(Text, nullable=False))


class WordingRecipient(SQLModel, table=True):
    """A person a published version went to, and whether they replied 收到."""

    __tablename__ = "wording_recipients"
    __table_args__ = (
        UniqueConstraint("version_id", "person_id", name="uq_wording_recipient"),
        # 收到 looks up the person's unacknowledged wordings on every reply.
        Index("ix_wording_recipients_pending", "person_id", "acknowledged_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="wording_versions.id", index=True)
    person_id: int = Field(foreign_key="people.id")
    sent_at: datetime = Field(sa_type=UTCDateTime)
    reachable: bool = True  # False: no chat identity, nothing could be sent
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
