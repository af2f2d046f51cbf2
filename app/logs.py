"""Structured (JSON-lines) logs that carry no secrets, and one log line per HTTP request.

Every record, whichever logger it comes from (httpx, httpcore, uvicorn, SQLAlchemy, ours), passes the
`Redact` filter on the one root handler before it is written: query strings are cut from URLs (WeChat
puts the corpsecret, access tokens and robot keys there), the configured secrets are masked, SQL
parameters are dropped, and an exception keeps its type and stack but not its message, unless it comes
from a library whose messages carry no user text (a tip-off's words end up in a ValueError as easily as
anywhere).
"""

import json
import logging
import re
import sys
import time
import traceback
from collections.abc import Iterable
from typing import IO

from starlette.routing import Mount

from app import metrics

MASK = "***"
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message", "redacted"}
# A query string, in a URL or a bare path ("/cgi-bin/gettoken?corpid=…&corpsecret=…").
_QUERY = re.compile(r"\?[^\s\"'<>#?]*=[^\s\"'<>#]*")
_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\s*(\(Background|\[SQL|$))|\[parameters: .*", re.S | re.M)
_DETAIL = re.compile(r"^DETAIL: .*$", re.M)
# Exceptions whose messages speak of the system, never of what a user typed (SQL parameters are hidden
# by the engine; URLs lose their query string below).
_TALKATIVE = ("sqlalchemy.", "httpx", "httpcore", "psycopg", "sqlite3", "builtins.OSError", "builtins.TimeoutError",
              "builtins.ConnectionError")
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_secrets: set[str] = set()


def redact_values(values: Iterable[str]) -> None:
    """Mask these strings (the configured secrets) wherever they appear in a log line."""
    _secrets.update(v for v in values if v and len(v) >= 6)


def scrub(text: str) -> str:
    text = _QUERY.sub("?" + MASK, text)
    text = _PARAMETERS.sub("[parameters hidden]", text)
    text = _DETAIL.sub("DETAIL: " + MASK, text)
    for secret in _secrets:
        text = text.replace(secret, MASK)
    return text


def safe_traceback(exc: BaseException) -> str:
    """The stack of each exception in the chain, with messages only where they carry no user text."""
    chain: list[BaseException] = []
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    lines = []
    for n, e in enumerate(reversed(chain)):
        if n:
            lines.append("\nDuring handling of the above exception, another exception occurred:\n\n")
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_tb(e.__traceback__))
        kind = f"{type(e).__module__}.{type(e).__qualname__}"
        told = str(e) if kind.startswith(_TALKATIVE) else "(message withheld: it may carry user text)"
        lines.append(f"{kind}: {told}\n")
    return scrub("".join(lines)).rstrip()


class Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "redacted", False):
            return True
        record.msg, record.args = scrub(record.getMessage()), None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, scrub(value))
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = safe_traceback(record.exc_info[1])
            record.exc_info = None
        record.redacted = True
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_text:
            line["exc"] = record.exc_text
        elif record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def setup(settings, stream: IO[str] | None = None) -> logging.Handler:
    """Logging for a process that runs with these settings: configured, and their secrets masked."""
    redact_values(secret.get_secret_value() for secret in settings.secrets())
    return configure(settings.log_level, stream)


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (a CLI test runner swaps it)."""

    def __init__(self):
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _):
        pass


def configure(level: str, stream: IO[str] | None = None) -> logging.Handler:
    """One JSON handler on the root logger (replacing one set up before), every record redacted first."""
    handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(Redact())
    handler.gridline = True
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not getattr(h, "gridline", False)] + [handler]
    root.setLevel(level.upper())
    # The root handler sees every record that propagates; a logger that keeps its records to its own
    # handlers (propagate = False) gets the filter on those.
    for logger in logging.root.manager.loggerDict.values():
        if isinstance(logger, logging.Logger) and not logger.propagate:
            for own in logger.handlers:
                if not any(isinstance(f, Redact) for f in own.filters):
                    own.addFilter(Redact())
    logging.getLogger("uvicorn.access").disabled = True  # replaced by RequestLog
    return handler


def _template(scope) -> str:
    """The matched route as a template — /api/cases/{code} is one series, not one per case."""
    route = scope.get("route")
    if route is None:
        return "unmatched"
    if isinstance(route, Mount):
        return route.path
    params = {str(v): k for k, v in scope.get("path_params", {}).items()}
    return "/".join("{%s}" % params[part] if part in params else part for part in scope["path"].split("/"))


class RequestLog:
    """ASGI middleware: method, path, status, duration and, for refusals, the reason; and the request metrics.

    The query string is left out on purpose: it carries signatures and echo strings.
    """

    def __init__(self, app):
        self.app = app
        self.log = logging.getLogger("gridline.http")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500
        scope.setdefault("state", {})

        async def send_wrapper(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            extra = {
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "ms": round(elapsed * 1000, 2),
            }
            reason = scope["state"].get("refusal")
            if reason:
                extra["refusal"] = reason
            self.log.info("request", extra=extra)
            route = _template(scope)
            method = scope["method"] if scope["method"] in _METHODS else "other"
            metrics.REQUESTS.labels(method, route, str(status)).inc()
            metrics.LATENCY.labels(route).observe(elapsed)
