"""Tables. Importing this package registers every table on SQLModel.metadata."""

from models.cases import Case, CaseCounter, CaseEvent, CaseMember, Conversation, Deadline
from models.console import ConsoleSession, LoginState
from models.inbound import CallbackNonce, InboundRecord
from models.org import (
    BindFailure,
    ChatIdentity,
    ChatTarget,
    Department,
    Invite,
    Person,
    PersonRole,
    Unit,
    VillageCover,
)
from models.learning import LabelledExample
from models.outbox import OutboxMessage
from models.schedule import DeadlineMiss, Holiday, Job, SensitivePeriod
from models.tokens import AccessToken
from models.wording import Wording, WordingEvent, WordingRecipient, WordingVersion

__all__ = [
    "AccessToken",
    "Case", "CaseCounter", "CaseEvent", "CaseMember", "Conversation", "Deadline", "ConsoleSession",
    "BindFailure", "CallbackNonce", "ChatIdentity", "ChatTarget", "DeadlineMiss", "Department", "Holiday", "InboundRecord",
    "Invite", "Job", "LabelledExample", "LoginState", "OutboxMessage", "SensitivePeriod",
    "Person", "PersonRole", "Unit", "VillageCover",
    "Wording", "WordingEvent", "WordingRecipient", "WordingVersion",
]
