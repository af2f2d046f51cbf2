"""Prometheus metrics: counters kept by this process, and gauges read from the database at each scrape.

The counters belong to no registry of their own: each app builds one (`registry`) holding them and its
database collector, so several apps in one process (the tests) never register a name twice.
"""

import re
from collections.abc import Iterable, Mapping
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from models.clock import Clock
from models import Case, Deadline, Job, OutboxMessage
from models.cases import OPEN

REQUESTS = Counter("gridline_http_requests", "HTTP requests by method, route and status",
                   ["method", "route", "status"], registry=None)
LATENCY = Histogram("gridline_http_request_duration_seconds", "HTTP request duration by route", ["route"],
                    registry=None, buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
CALLBACKS = Counter("gridline_callbacks", "WeChat callbacks by channel and outcome", ["channel", "outcome"],
                    registry=None)
WECHAT_ERRORS = Counter("gridline_wechat_api_errors", "WeChat and WeCom API errors met while sending, by errcode",
                        ["errcode"], registry=None)

_ERRCODE = re.compile(r"errcode (-?\d{1,9})")
_HTTP = re.compile(r"http (\d{3})")


def count_send_errors(errors: Mapping[str, int]) -> None:
    """A delivery pass's errors (bot/outbound/senders.py's outcome texts) by errcode; HTTP statuses and
    network failures get labels of their own. The label set stays small: no free text becomes a label."""
    for error, n in errors.items():
        if match := _ERRCODE.search(error):
            label = match.group(1)
        elif match := _HTTP.match(error):
            label = f"http_{match.group(1)}"
        elif error == "invaliduser":
            label = "invaliduser"
        elif re.fullmatch(r"[A-Za-z]+(Error|Timeout|Exception)|no token: \w+|token refused twice", error):
            label = "network"
        else:
            label = "other"
        WECHAT_ERRORS.labels(label).inc(n)


class Database(Collector):
    """Gauges of the work the database holds, as of the clock's now."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock):
        self.sessions, self.clock = sessions, clock

    def collect(self) -> Iterable[GaugeMetricFamily]:
        now: datetime = self.clock.now()
        with self.sessions() as s:
            outbox = dict(s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
            due = s.scalar(select(func.count()).select_from(Job).where(Job.status == "pending", Job.due_at <= now))
            failed = s.scalar(select(func.count()).select_from(Job).where(Job.status == "failed"))
            open_cases = s.scalar(select(func.count()).select_from(Case).where(Case.status.in_(OPEN)))
            late = select(Deadline.case_id).where(Deadline.late(now))
            overdue = s.scalar(select(func.count()).select_from(Case).where(Case.status.in_(OPEN), Case.id.in_(late)))
        by_status = GaugeMetricFamily("gridline_outbox_messages", "Outbox messages by status", labels=["status"])
        for status in ("pending", "sending", "sent", "dead", "cancelled"):
            by_status.add_metric([status], outbox.get(status, 0))
        yield by_status
        yield GaugeMetricFamily("gridline_jobs_due", "Scheduled jobs due and not yet run", value=due)
        yield GaugeMetricFamily("gridline_jobs_failed", "Jobs that failed for good", value=failed)
        yield GaugeMetricFamily("gridline_cases_open", "Open cases", value=open_cases)
        yield GaugeMetricFamily("gridline_cases_overdue", "Open cases with a missed deadline", value=overdue)


def registry(sessions: sessionmaker[Session], clock: Clock) -> CollectorRegistry:
    found = CollectorRegistry()
    for collector in (REQUESTS, LATENCY, CALLBACKS, WECHAT_ERRORS, Database(sessions, clock)):
        found.register(collector)
    return found
