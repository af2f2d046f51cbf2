"""The demo's clock: the wall clock, moved forward on request, so a trainer can show a reminder and an
escalation without waiting. Only the demo uses it; production runs on models.clock.SystemClock."""

import threading
from datetime import datetime, timedelta

from models.clock import Clock


class ShiftedClock:
    def __init__(self, base: Clock):
        self._base = base
        self._shift = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._base.now() + self._shift

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._shift += delta
