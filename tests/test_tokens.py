"""The shared access_token: one fetch at a time, refreshed ahead of expiry and once per revocation."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.db import make_engine, session_factory
from bot.outbound.tokens import TokenStore


class Fetcher:
    def __init__(self, delay: float = 0.0, fail: int = 0):
        self.calls = 0
        self.delay = delay
        self.fail = fail
        self.lock = threading.Lock()

    def __call__(self) -> tuple[str, int]:
        with self.lock:
            self.calls += 1
            n = self.calls
        time.sleep(self.delay)
        if n <= self.fail:
            raise ConnectionError("token endpoint down")
        return f"token-{n}", 7200


@pytest.fixture
def store(db, clock):
    def make(fetch, sessions=db):
        return TokenStore(sessions, clock, "work:ww1:1000002", fetch)
    return make


def test_fetched_once_then_cached(store):
    fetch = Fetcher()
    tokens = store(fetch)
    assert [tokens.get() for _ in range(5)] == ["token-1"] * 5
    assert fetch.calls == 1


def test_refreshed_ahead_of_expiry(store, clock):
    fetch = Fetcher()
    tokens = store(fetch)
    tokens.get()
    clock.advance(seconds=7200 - 6 * 60)
    assert tokens.get() == "token-1"
    clock.advance(seconds=2 * 60)  # now within five minutes of expiry
    assert tokens.get() == "token-2"


def test_a_revoked_token_is_refreshed_once_not_once_per_message(store):
    fetch = Fetcher()
    tokens = store(fetch)
    old = tokens.get()
    for _ in range(50):  # fifty messages fail with 40001 on the same token
        tokens.invalidate(old)
    assert tokens.get() == "token-2"
    tokens.invalidate(old)  # a late failure reported against the old token changes nothing
    assert tokens.get() == "token-2" and fetch.calls == 2


def test_concurrent_callers_in_two_processes_share_one_fetch(store, database_url):
    fetch = Fetcher(delay=0.3)
    other_engine = make_engine(database_url)  # a second "process": its own engine and pool
    stores = [store(fetch), store(fetch, session_factory(other_engine))]
    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(lambda i: stores[i % 2].get(), range(16)))
    other_engine.dispose()
    assert set(got) == {"token-1"} and fetch.calls == 1


def test_a_failed_fetch_is_retried_by_the_next_caller(store):
    fetch = Fetcher(fail=1)
    tokens = store(fetch)
    with pytest.raises(ConnectionError):
        tokens.get()
    assert tokens.get() == "token-2"
