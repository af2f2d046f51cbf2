"""Senders: one outbox batch in, one outcome per message out. WeChat's API details stop here.

Outcomes: SENT; RETRY (network error, timeout, HTTP 5xx, errcode -1 / 45009 / 45011 —
the message may go again later); LATER (not tried, to keep a pace: due again after `after`,
no attempt used up); DEAD (a permanent refusal, e.g. an unknown userid or chat id,
or a row whose body is not what its msgtype says). A rejected access_token is refreshed and the
call repeated once.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

import httpx

from models.clock import Clock
from bot.outbound import messages
from bot.outbound.tokens import INVALID_TOKEN, Fetch, TokenStore

SENT, RETRY, LATER, DEAD = "sent", "retry", "later", "dead"
TRANSIENT = {-1, 45009, 45011}
MAX_USERIDS = 1000  # WeCom message/send: userids per call
ALL_INVALID = 81013  # WeCom: no recipient of the call exists
INVALID_USER = "invaliduser"


@dataclass(frozen=True)
class Outgoing:
    id: int
    recipient: str
    body: str
    msgtype: str


@dataclass(frozen=True)
class Outcome:
    status: str  # SENT | RETRY | LATER | DEAD
    error: str | None = None
    after: timedelta = timedelta(0)  # LATER: how long to wait


class WeComSender:
    """WeCom app messages (message/send): the same message to up to 1,000 userids per call."""

    def __init__(self, http: httpx.Client, base: str, agent_id: str, tokens: TokenStore):
        self.http, self.base, self.agent_id, self.tokens = http, base.rstrip("/"), agent_id, tokens

    def send(self, batch: list[Outgoing]) -> dict[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        same_message = sorted(batch, key=lambda m: (m.msgtype, m.body, m.id))
        for (msgtype, body), same in groupby(same_message, key=lambda m: (m.msgtype, m.body)):
            same = list(same)
            try:
                message = messages.wecom(msgtype, body)
            except ValueError as exc:
                outcomes.update({m.id: Outcome(DEAD, str(exc)[:200]) for m in same})
                continue
            for start in range(0, len(same), MAX_USERIDS):
                outcomes.update(self._send(message, same[start:start + MAX_USERIDS]))
        return outcomes

    def _send(self, message: dict, recipients: list[Outgoing]) -> dict[int, Outcome]:
        payload = {"touser": "|".join(m.recipient for m in recipients), "agentid": int(self.agent_id), **message}
        answer = _call(self.http, self.tokens, f"{self.base}/cgi-bin/message/send", payload)
        if answer == Outcome(DEAD, f"errcode {ALL_INVALID}"):
            answer = Outcome(DEAD, INVALID_USER)
        if isinstance(answer, Outcome):
            return {m.id: answer for m in recipients}
        invalid = {u.lower() for u in answer.get("invaliduser", "").split("|") if u}
        return {m.id: Outcome(DEAD, INVALID_USER) if m.recipient.lower() in invalid else Outcome(SENT)
                for m in recipients}


class AppChatSender:
    """WeCom app group chats (appchat/send): one call per message, with the WeCom app's token.
    An unknown or malformed chat id (86003, 86001) is permanent: dead, like any errcode not retried."""

    def __init__(self, http: httpx.Client, base: str, tokens: TokenStore):
        self.http, self.base, self.tokens = http, base.rstrip("/"), tokens

    def send(self, batch: list[Outgoing]) -> dict[int, Outcome]:
        return {m.id: self._one(m) for m in batch}

    def _one(self, m: Outgoing) -> Outcome:
        try:
            payload = {"chatid": m.recipient, **messages.wecom(m.msgtype, m.body)}
        except ValueError as exc:
            return Outcome(DEAD, str(exc)[:200])
        answer = _call(self.http, self.tokens, f"{self.base}/cgi-bin/appchat/send", payload)
        return answer if isinstance(answer, Outcome) else Outcome(SENT)


class TokenRefused(Exception):
    pass


def wecom_token(http: httpx.Client, base: str, corp_id: str, secret: str) -> Fetch:
    return _token_fetch(http, f"{base}/cgi-bin/gettoken", {"corpid": corp_id, "corpsecret": secret})


def mp_token(http: httpx.Client, base: str, app_id: str, secret: str) -> Fetch:
    return _token_fetch(http, f"{base}/cgi-bin/token",
                        {"grant_type": "client_credential", "appid": app_id, "secret": secret})


def _token_fetch(http: httpx.Client, url: str, params: dict) -> Fetch:
    def fetch() -> tuple[str, int]:
        answer = http.get(url, params=params).json()
        if answer.get("errcode", 0) or "access_token" not in answer:  # MP answers no errcode on success
            raise TokenRefused(f"errcode {answer.get('errcode')}")
        return answer["access_token"], int(answer["expires_in"])
    return fetch


def _call(http: httpx.Client, tokens: TokenStore, url: str, payload: dict) -> dict | Outcome:
    """POST with the app's token: the answer when errcode is 0, else the outcome for every message."""
    for _ in range(2):  # a second try only after a refused token
        try:
            token = tokens.get()
        except Exception as exc:  # the token endpoint is down too: try again later
            return Outcome(RETRY, f"no token: {type(exc).__name__}")
        try:
            resp = http.post(url, params={"access_token": token}, json=payload)
        except httpx.HTTPError as exc:
            return Outcome(RETRY, type(exc).__name__)
        answer = _answer(resp)
        if isinstance(answer, Outcome) and answer.error in {f"errcode {code}" for code in INVALID_TOKEN}:
            tokens.invalidate(token)
            continue
        return answer
    return Outcome(RETRY, "token refused twice")


def _answer(resp: httpx.Response) -> dict | Outcome:
    """The JSON answer when errcode is 0, else what it means for the messages sent."""
    if resp.status_code >= 500:
        return Outcome(RETRY, f"http {resp.status_code}")
    try:
        answer = resp.json()
        errcode = int(answer.get("errcode", 0))
    except ValueError:
        return Outcome(RETRY, f"http {resp.status_code}: not json")
    if errcode == 0:
        return answer
    return Outcome(RETRY if errcode in TRANSIENT else DEAD, f"errcode {errcode}")


OUTSIDE_WINDOW = 45015  # MP: the user has not written in the last 48 hours (or unfollowed)
OUT_OF_QUOTA = 45047  # MP: customer-service messages used up until the user writes again
CUSTOM_WINDOW = timedelta(hours=48)


class OfficialAccountSender:
    """Official Account: a customer-service message inside the 48-hour window, else the template.

    `last_seen(openids)` gives when each last wrote to the account (Gridline records it on every
    message): someone silent for 48 hours goes straight to the template instead of a refused call.
    WeChat's own refusal (45015, or 45047 when the customer-service quota is used up) falls back too.
    """

    def __init__(self, http: httpx.Client, base: str, tokens: TokenStore, template_id: str, template_field: str,
                 last_seen: Callable[[list[str]], dict[str, datetime | None]] | None = None,
                 clock: Clock | None = None):
        self.http, self.base, self.tokens = http, base.rstrip("/"), tokens
        self.template_id, self.template_field = template_id, template_field
        self.last_seen, self.clock = last_seen, clock

    def send(self, batch: list[Outgoing]) -> dict[int, Outcome]:
        seen = self.last_seen([m.recipient for m in batch]) if self.last_seen and self.clock else {}
        since = self.clock.now() - CUSTOM_WINDOW if self.clock else None
        return {m.id: self._one(m, closed=seen.get(m.recipient) is not None and seen[m.recipient] < since)
                for m in batch}

    def _one(self, m: Outgoing, closed: bool) -> Outcome:
        try:  # no markdown or cards here: plain text, a card's link after it
            text, link = messages.plain(m.msgtype, m.body)
        except ValueError as exc:
            return Outcome(DEAD, str(exc)[:200])
        if not closed:
            content = f"{text}\n{link}" if link else text
            custom = {"touser": m.recipient, "msgtype": "text", "text": {"content": content}}
            answer = _call(self.http, self.tokens, f"{self.base}/cgi-bin/message/custom/send", custom)
            if answer not in (Outcome(DEAD, f"errcode {OUTSIDE_WINDOW}"), Outcome(DEAD, f"errcode {OUT_OF_QUOTA}")):
                return answer if isinstance(answer, Outcome) else Outcome(SENT)
        if not self.template_id:
            return Outcome(DEAD, "outside 48h, no template")
        template = {"touser": m.recipient, "template_id": self.template_id,
                    "data": {self.template_field: {"value": text}}}
        if link:  # the template's own link: tapping the message opens it
            template["url"] = link
        answer = _call(self.http, self.tokens, f"{self.base}/cgi-bin/message/template/send", template)
        return answer if isinstance(answer, Outcome) else Outcome(SENT)


ROBOT_TEXT_BYTES = 2048
ROBOT_SENDS_PER_PASS = 10  # 10 a pass, passes at least ROBOT_PACE apart: 20 a minute, the robot's limit
ROBOT_PACE = timedelta(seconds=30)  # the server's default tick


class RobotSender:
    """WeCom group robots (webhook/send): items piled up for one robot go out merged, paced.
    Text merges with text and markdown (cards included) with markdown, in queue order."""

    paced = True  # one batch a pass: the pace below holds per pass

    def __init__(self, http: httpx.Client, base: str):
        self.http, self.base = http, base.rstrip("/")

    def send(self, batch: list[Outgoing]) -> dict[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        ordered = sorted(batch, key=lambda m: (m.recipient, m.id))
        for key, items in groupby(ordered, key=lambda m: m.recipient):
            rendered = []
            for m in items:
                try:
                    rendered.append((m, *messages.robot(m.msgtype, m.body)))
                except ValueError as exc:
                    outcomes[m.id] = Outcome(DEAD, str(exc)[:200])
            for n, (msgtype, chunk) in enumerate(_merge(rendered)):
                if n >= ROBOT_SENDS_PER_PASS:
                    outcome = Outcome(LATER, "paced", ROBOT_PACE)
                else:
                    outcome = self._post(key, msgtype, "\n\n".join(content for _, _, content in chunk))
                outcomes.update({m.id: outcome for m, _, _ in chunk})
        return outcomes

    def _post(self, key: str, msgtype: str, content: str) -> Outcome:
        try:
            resp = self.http.post(f"{self.base}/cgi-bin/webhook/send", params={"key": key},
                                  json={"msgtype": msgtype, msgtype: {"content": content}})
        except httpx.HTTPError as exc:
            return Outcome(RETRY, type(exc).__name__)
        answer = _answer(resp)
        return answer if isinstance(answer, Outcome) else Outcome(SENT)


Rendered = tuple[Outgoing, str, str]  # the row, the robot msgtype, the content


def _merge(items: list[Rendered]) -> list[tuple[str, list[Rendered]]]:
    """Consecutive items of one msgtype joined into messages of at most ROBOT_TEXT_BYTES each."""
    chunks: list[tuple[str, list[Rendered]]] = []
    size = 0
    for item in items:
        _, msgtype, content = item
        length = len(content.encode()) + 2
        if not chunks or chunks[-1][0] != msgtype or size + length > ROBOT_TEXT_BYTES:
            chunks.append((msgtype, []))
            size = 0
        chunks[-1][1].append(item)
        size += length
    return chunks
