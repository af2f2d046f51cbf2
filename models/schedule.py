"""Scheduled work and the calendar it runs on.

Every scheduled effect is a `jobs` row that any process may claim: reminders, escalations,
and later the weekly ledger and follow-ups. The partial index over pending rows keeps a
run-due pass proportional to what is due, not to how much is scheduled.
"""

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, text
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class Job(SQLModel, table=True):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_pending_due", "due_at", "id",
              postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=24)  # remind, escalate, …
    due_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="pending", max_length=12)  # pending → done | cancelled | failed
    # Failed runs so far: a failing job is retried with backoff, then failed for good and reported.
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    deadline_id: int | None = Field(default=None, foreign_key="deadlines.id", index=True)
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Set for work that must be scheduled once however often it is asked for (e.g. "weekly:2026-11-27").
    key: str | None = Field(default=None, max_length=100, unique=True)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, max_length=200)


class DeadlineMiss(SQLModel, table=True):
    """A missed deadline held against a responsible person and their unit (问责追责)."""

    __tablename__ = "deadline_misses"

    id: int | None = Field(default=None, primary_key=True)
    deadline_id: int = Field(foreign_key="deadlines.id", index=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    person_id: int = Field(foreign_key="people.id", index=True)
    unit_id: int = Field(foreign_key="units.id", index=True)
    department_id: int | None = Field(default=None, foreign_key="departments.id")
    at: datetime = Field(sa_type=UTCDateTime, index=True)


class Holiday(SQLModel, table=True):
    """The office's own calendar entry: overrides chinese-calendar, and covers years it does not know."""

    __tablename__ = "holidays"

    day: date = Field(primary_key=True)
    workday: bool = False  # True: an adjusted working day (调休上班)
    name: str = Field(default="", max_length=32)


class SensitivePeriod(SQLModel, table=True):
    """敏感时期: windows started inside are shortened and every case also goes to the township office.
    A township's own period holds for its cases only; one without a township for the whole county."""

    __tablename__ = "sensitive_periods"

    id: int | None = Field(default=None, primary_key=True)
    township_id: int | None = Field(default=None, foreign_key="units.id", index=True)
    name: str = Field(max_length=32)
    starts_on: date
    ends_on: date  # inclusive
    factor: float = 0.5
