"""The nonce cache: a callback's (timestamp, nonce, signature) is good for one request body.

In plaintext mode the Official Account's signature covers only the token, timestamp and nonce — not the
body — so a URL seen once could carry any body for as long as its timestamp is in range. Each signed
(timestamp, nonce, signature) is remembered with its body's digest for the age window: the same ones
with another body are refused (403). The same ones with the same body are WeChat resending a message it
got no answer to in time, and go on to be answered as the first was (bot/dispatcher.py dedupes them).

Where the signature does cover the payload (safe mode's and WeCom's msg_signature, over Encrypt or echostr)
another body already fails it, and the same body is such a resend: the cache could refuse nothing there,
so those callbacks skip it and its database write (app/api/routes/wechat.py asks `Channel.signs_body`).
"""

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlmodel import Session

from bot.refusals import Forbidden
from models import CallbackNonce
from models.dml import per_dialect

DEFAULT_WINDOW = timedelta(seconds=300)  # when the age check is off, replays are still refused this long
_nonces = CallbackNonce.__table__
_REMEMBER = per_dialect(lambda insert: insert(_nonces).on_conflict_do_nothing())


def key_of(query: Mapping[str, str]) -> str:
    parts = (query.get(k, "") for k in ("timestamp", "nonce", "signature", "msg_signature"))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def check(session: Session, channel: str, query: Mapping[str, str], body: bytes, now: datetime) -> None:
    """Remember this callback's signed parameters with its body, or refuse them if seen with another."""
    key, digest = key_of(query), hashlib.sha256(body).hexdigest()
    conn = session.connection()
    conn.execute(_REMEMBER[conn.dialect.name], {"channel": channel, "key": key, "body_digest": digest, "seen_at": now})
    first = session.scalar(select(CallbackNonce.body_digest).where(
        CallbackNonce.channel == channel, CallbackNonce.key == key))
    if first != digest:
        raise Forbidden("replayed signature")


def forget(session: Session, before: datetime) -> int:
    """Drop what is older than the age window: such a timestamp is refused anyway."""
    return session.execute(delete(CallbackNonce).where(CallbackNonce.seen_at < before)).rowcount


def window(max_age_s: int) -> timedelta:
    return timedelta(seconds=max_age_s) if max_age_s else DEFAULT_WINDOW
