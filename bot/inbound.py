"""One channel-neutral inbound message: what every adapter produces and the dispatcher takes."""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    scale: int | None = None
    label: str = ""


@dataclass(frozen=True)
class Link:
    title: str
    description: str
    url: str


@dataclass(frozen=True)
class InboundMessage:
    channel: str  # "mp" (Official Account) or "work" (WeCom app)
    account: str  # the receiving account: MP original id, or CorpId:AgentID
    sender: str  # openid or WeCom userid
    kind: str  # text | image | voice | video | location | link | event | unknown
    sent_at: datetime
    msg_id: str | None = None
    text: str = ""  # the text, or a voice note's Recognition
    media_id: str | None = None
    pic_url: str | None = None
    location: Location | None = None
    link: Link | None = None
    event: str | None = None  # subscribe, unsubscribe, click, view, enter_agent… lower-cased
    event_key: str | None = None
    raw: dict = field(default_factory=dict, compare=False)

    @property
    def dedupe_key(self) -> str:
        """WeChat's resends repeat MsgId; events have none, so sender + time + event stands in."""
        if self.msg_id:
            return self.msg_id
        key = "|".join(["evt", self.sender, str(int(self.sent_at.timestamp())), self.event or "", self.event_key or ""])
        # A VIEW event's key is a whole URL: hash long keys to fit the column.
        return key if len(key) <= 200 else "evt|" + hashlib.sha256(key.encode()).hexdigest()
