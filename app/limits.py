"""Request body limits, enforced before and while the body is read (ASGI middleware).

A declared Content-Length over the limit is refused at once, before the app (or its authentication)
runs; a body sent without one, or longer than it said, is counted as it streams and cut off at the
limit. Limits: the WeChat callbacks 64 KiB (the HTTP contract), file uploads 10 MiB, anything else 1 MiB.
"""

from starlette.exceptions import HTTPException

from bot.refusals import TooLarge

KIB, MIB = 1024, 1024 * 1024
CALLBACK_MAX = 64 * KIB
UPLOAD_MAX = 10 * MIB
JSON_MAX = 1 * MIB


class BodyTooLarge(TooLarge, HTTPException):
    """Raised from `receive` once the body passes the limit. An HTTPException, so FastAPI's body parsing
    lets it through as a 413; a Refused, so a callback answers it as its own refusal."""

    def __init__(self, limit: int):
        HTTPException.__init__(self, 413, "body too large")
        self.reason, self.limit = "body too large", limit


def limit_for(scope) -> int:
    if scope["path"].startswith("/wechat/"):
        return CALLBACK_MAX
    for name, value in scope["headers"]:
        if name == b"content-type" and value.lower().startswith(b"multipart/form-data"):
            return UPLOAD_MAX
    return JSON_MAX


class BodyLimit:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = limit_for(scope)
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None:
            if not declared.isdigit() or len(declared) > 15:
                return await _answer(scope, send, 400, b"bad content-length")
            if int(declared) > limit:
                return await _answer(scope, send, 413, b"body too large")
        seen = 0
        started = False

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await _answer(scope, send, 413, b"body too large")


async def _answer(scope, send, status: int, body: bytes) -> None:
    scope.setdefault("state", {})["refusal"] = body.decode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
