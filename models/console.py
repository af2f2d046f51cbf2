"""The office console's sign-in: a one-time `state` per WeCom login, kept server-side until used."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class LoginState(SQLModel, table=True):
    """Issued by /console/login, consumed (deleted) by the one /console/auth that brings it back."""

    __tablename__ = "console_login_states"

    state: str = Field(primary_key=True, max_length=64)  # a-zA-Z0-9, as WeCom allows
    next_path: str = Field(default="/console", max_length=300)  # where to go once signed in
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class ConsoleSession(SQLModel, table=True):
    """A signed-in browser. The cookie carries a random token; the row holds its SHA-256, so a leaked
    table signs nobody in. Deleting the row (logout, 全部退出) ends the session whatever the cookie says."""

    __tablename__ = "console_sessions"

    token_hash: str = Field(primary_key=True, max_length=64)
    person_id: int = Field(foreign_key="people.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
