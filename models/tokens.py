"""Access tokens of the WeChat / WeCom apps, shared by every process through the database."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class AccessToken(SQLModel, table=True):
    __tablename__ = "access_tokens"

    app: str = Field(primary_key=True, max_length=100)  # "mp:APPID" or "work:CORPID:AGENTID"
    token: str | None = Field(default=None, max_length=600)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A lease: while it runs, one process fetches a new token and the others wait for it.
    refreshing_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
