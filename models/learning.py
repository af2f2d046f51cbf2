"""Labelled examples: every decision a person made about a tip-off's labels, for the classifier to learn."""

from datetime import datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime

# Where a decision came from.
REPORTER = "reporter"  # answers to the bot's questions and corrections at the summary
OFFICE_PATCH = "patch"  # PATCH /api/cases/{code}
OFFICE_CONSOLE = "console"  # the office re-classifies on the console's case page, with a reason
OFFICE_REDISPATCH = "redispatch"  # the office re-dispatches a case handed back (退回), or corrects it in chat


class LabelledExample(SQLModel, table=True):
    __tablename__ = "labelled_examples"

    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    # The labels after the decision: category, urgent, online, involves_cadre, village (a name or None).
    labels: dict = Field(sa_column=Column(JSON, nullable=False))
    # The fields the person decided; the others were the classifier's, left standing.
    decided: list = Field(sa_column=Column(JSON, nullable=False))
    source: str = Field(max_length=16)
    actor_id: int | None = Field(default=None, foreign_key="people.id")  # None: the admin token
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
