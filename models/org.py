"""People and places: the org tree, departments, people, roles, chat identities and targets."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime

# Unit kinds, root to leaf.
COUNTY, TOWNSHIP, VILLAGE, GRID = "county", "township", "village", "grid"


class Unit(SQLModel, table=True):
    """A node of the org tree: county → township → village → grid."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("parent_id", "kind", "name", name="uq_unit_name"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    name: str = Field(max_length=64)
    parent_id: int | None = Field(default=None, foreign_key="units.id", index=True)


class Department(SQLModel, table=True):
    """A township department (牵头部门) or the leading-group office."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("township_id", "name", name="uq_department"),)

    id: int | None = Field(default=None, primary_key=True)
    township_id: int = Field(foreign_key="units.id")
    name: str = Field(max_length=32)


class Person(SQLModel, table=True):
    __tablename__ = "people"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    phone: str = Field(max_length=11, unique=True)
    # The unit the person belongs to: their grid, village, township or county.
    unit_id: int = Field(foreign_key="units.id", index=True)
    department_id: int | None = Field(default=None, foreign_key="departments.id")
    # A person missing from a newer roster is deactivated, never deleted: history keeps the name.
    active: bool = True


class PersonRole(SQLModel, table=True):
    __tablename__ = "person_roles"
    __table_args__ = (UniqueConstraint("person_id", "role", name="uq_person_role"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="people.id", index=True)
    role: str = Field(max_length=16, index=True)


class VillageCover(SQLModel, table=True):
    """包联村: the villages a township leader (包村领导) is assigned to."""

    __tablename__ = "village_covers"
    __table_args__ = (UniqueConstraint("person_id", "village_id", name="uq_village_cover"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="people.id", index=True)
    village_id: int = Field(foreign_key="units.id", index=True)


class ChatIdentity(SQLModel, table=True):
    """A person's account on a channel: WeCom userid (from the roster) or MP openid (bound in chat)."""

    __tablename__ = "chat_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_chat_identity"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="people.id", index=True)
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=128)
    active: bool = True
    # The Official Account may message a person freely only within 48 hours of this.
    last_message_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ChatTarget(SQLModel, table=True):
    """A group chat that receives pushes for a village or township."""

    __tablename__ = "chat_targets"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_chat_target"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="units.id", index=True)
    kind: str = Field(max_length=16)  # "robot" (group-robot webhook key) or "appchat" (app group chat id)
    key: str = Field(max_length=200)


class Invite(SQLModel, table=True):
    """A one-time code that binds an Official Account openid to a person."""

    __tablename__ = "invites"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=6, index=True)
    person_id: int = Field(foreign_key="people.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class BindFailure(SQLModel, table=True):
    """A failed bind, kept to lock out guessing (handlers/binding.py: per openid and across all)."""

    __tablename__ = "bind_failures"

    id: int | None = Field(default=None, primary_key=True)
    openid: str = Field(max_length=128, index=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
