"""Cases (线索), their append-only history, who is on them, deadlines, and chat drafts."""

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, and_, or_
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


# Case statuses (the API contract's values); handlers/cases.py holds the transitions.
SUBMITTED, ASSIGNED, ACKNOWLEDGED, IN_PROGRESS = "submitted", "assigned", "acknowledged", "in_progress"
RESOLVED, REVIEWED, WITHDRAWN = "resolved", "reviewed", "withdrawn"
OPEN = (SUBMITTED, ASSIGNED, ACKNOWLEDGED, IN_PROGRESS)


class Case(SQLModel, table=True):
    __tablename__ = "cases"
    # Filing looks for a duplicate among the open cases of the same village and category, newest first.
    __table_args__ = (Index("ix_cases_duplicates", "township_id", "village_id", "category", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)  # XS-YYYYMMDD-NNNN, local date
    status: str = Field(max_length=16, index=True)
    category: str = Field(max_length=16, index=True)
    severity: str = Field(max_length=8)
    lead_department: str = Field(max_length=16)
    township_id: int = Field(foreign_key="units.id", index=True)
    village_id: int | None = Field(default=None, foreign_key="units.id", index=True)
    grid_id: int | None = Field(default=None, foreign_key="units.id")
    reporter_id: int = Field(foreign_key="people.id", index=True)
    urgent: bool = False
    online: bool = False
    involves_cadre: bool = False
    confidential: bool = False  # 举报: a confidential report, straight to 纪委 and the office
    supervised: bool = False  # 督办
    sensitive: bool = False  # filed in a sensitive period (敏感时期)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    platform: str | None = Field(default=None, max_length=32)
    screen_name: str | None = Field(default=None, max_length=64)
    links: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    attachments: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Other villages whose committee members a cadre case's text names: shut out like its own village's.
    accused_village_ids: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))
    created_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def shut_out_villages(self) -> frozenset[int]:
        """The villages whose committees (whole village for a 举报) a conflict of interest shuts out."""
        return shut_out(self)


def shut_out(case) -> frozenset[int]:
    """Case.shut_out_villages of a case, or of a row of its columns (involves_cadre, confidential, village_id,
    accused_village_ids) read without loading the case."""
    if not (case.involves_cadre or case.confidential):
        return frozenset()
    return frozenset(v for v in (case.village_id, *(case.accused_village_ids or ())) if v is not None)


class CaseEvent(SQLModel, table=True):
    """One line of a case's append-only history."""

    __tablename__ = "case_events"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    actor_id: int | None = Field(default=None, foreign_key="people.id")  # None: Gridline itself
    action: str = Field(max_length=16)
    note: str = Field(default="", sa_column=Column(Text, nullable=False))


class CaseMember(SQLModel, table=True):
    """Someone on a case, and why: verify (核实), lead (牵头), inform (知悉)."""

    __tablename__ = "case_members"
    __table_args__ = (UniqueConstraint("case_id", "person_id", name="uq_case_member"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    person_id: int = Field(foreign_key="people.id", index=True)
    duty: str = Field(max_length=8)


class Deadline(SQLModel, table=True):
    """A clock on a case. It keeps the terms it started with: editing the policy changes no live case."""

    __tablename__ = "deadlines"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    kind: str = Field(max_length=16)  # ack, report_urgent, contact_poster, meet_people, close
    due_at: datetime = Field(sa_type=UTCDateTime, index=True)
    status: str = Field(default="pending", max_length=8)  # pending, met, missed
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The policy terms it started with: window, met_by, responsible duties, sensitive factor.
    terms: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}"))
    # Met late (after it was missed) still stops the escalation; the miss stays on record.
    met_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    # Late now — missed, or still running past its time: what makes an open case overdue in the inbox,
    # 待办, the API's filter and the metrics alike (the ledger adds clocks met late, for the record).
    @classmethod
    def late(cls, now: datetime):
        return or_(cls.status == "missed", and_(cls.status == "pending", cls.due_at < now))

    def is_late(self, now: datetime) -> bool:
        return self.status == "missed" or (self.status == "pending" and self.due_at < now)


class CaseCounter(SQLModel, table=True):
    """The last case number given out on a local day: codes restart each day."""

    __tablename__ = "case_counters"

    day: date = Field(primary_key=True)
    last: int = 0


class Conversation(SQLModel, table=True):
    """A person's chat state, kept in the database so any server process can carry it on."""

    __tablename__ = "conversations"

    person_id: int = Field(foreign_key="people.id", primary_key=True)
    state: str = Field(max_length=16)  # idle | collecting | confirming
    draft: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(sa_type=UTCDateTime)
