"""Tables. Importing this package registers every table on SQLModel.metadata."""

from models.inbound import InboundRecord
from models.outbox import OutboxMessage

__all__ = ["InboundRecord", "OutboxMessage"]
