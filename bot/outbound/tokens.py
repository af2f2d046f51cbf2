"""access_token per app, cached in the database and shared by every process.

One process refreshes at a time: it takes a short lease on the row; the others wait for
the new token and reuse it. A token is refreshed ahead of expiry, and at once when the API
says it is invalid (40001, 40014, 42001) — but only if it is still the one in the row, so a
burst of failures caused by one revoked token triggers one refresh, not one per message.
Every wait and retry is a bounded loop.
"""

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from models.clock import Clock
from models import AccessToken
from models.dml import per_dialect

INVALID_TOKEN = {40001, 40014, 42001}
AHEAD = timedelta(minutes=5)  # refresh this long before WeChat's expiry
LEASE = timedelta(seconds=30)
WAIT_STEP_S = 0.05
MAX_WAIT_STEPS = 400  # 20 s of waiting for another process's refresh at most

_tokens = AccessToken.__table__
_ENSURE = per_dialect(lambda insert: insert(_tokens).on_conflict_do_nothing())

# fetch() → (token, seconds it is valid), or raises.
Fetch = Callable[[], tuple[str, int]]


class TokenUnavailable(Exception):
    """No token could be had: the API refused or another refresher never finished."""


class TokenStore:
    def __init__(self, sessions: sessionmaker[Session], clock: Clock, app: str, fetch: Fetch):
        self.sessions = sessions
        self.clock = clock
        self.app = app
        self.fetch = fetch

    def get(self) -> str:
        """A valid token: the cached one, or a fresh one fetched by exactly one process."""
        for _ in range(MAX_WAIT_STEPS):
            now = self.clock.now()
            token = self._cached(now)
            if token is not None:
                return token
            if self._take_lease(now):
                return self._refresh()
            time.sleep(WAIT_STEP_S)
        raise TokenUnavailable(self.app)

    def invalidate(self, token: str) -> None:
        """The API rejected `token`: expire it, unless someone has already replaced it."""
        with self.sessions.begin() as s:
            s.execute(update(_tokens).where(_tokens.c.app == self.app, _tokens.c.token == token)
                      .values(expires_at=self.clock.now()))

    def _cached(self, now: datetime) -> str | None:
        with self.sessions.begin() as s:
            row = s.get(AccessToken, self.app)
            if row is None:
                db = s.connection()
                db.execute(_ENSURE[db.dialect.name], {"app": self.app})
                return None
            if row.token and row.expires_at and row.expires_at - AHEAD > now:
                return row.token
            return None

    def _take_lease(self, now: datetime) -> bool:
        with self.sessions.begin() as s:
            taken = s.execute(
                update(_tokens)
                .where(_tokens.c.app == self.app,
                       or_(_tokens.c.refreshing_until.is_(None), _tokens.c.refreshing_until < now),
                       # still stale: another process may have refreshed it since we looked
                       or_(_tokens.c.token.is_(None), _tokens.c.expires_at <= now + AHEAD))
                .values(refreshing_until=now + LEASE)
            ).rowcount
        return taken == 1

    def _refresh(self) -> str:
        try:
            token, valid_s = self.fetch()
        except Exception:
            with self.sessions.begin() as s:  # let another try at once rather than after the lease
                s.execute(update(_tokens).where(_tokens.c.app == self.app).values(refreshing_until=None))
            raise
        now = self.clock.now()
        with self.sessions.begin() as s:
            s.execute(update(_tokens).where(_tokens.c.app == self.app).values(
                token=token, expires_at=now + timedelta(seconds=valid_s), refreshing_until=None))
        return token
