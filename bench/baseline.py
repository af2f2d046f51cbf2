"""Bare baseline for bench/callback.py: the irreducible work of a WeCom callback, no database.

A plain ASGI app (no FastAPI, no middleware, no dispatcher) that does only what every
callback must do: verify msg_signature, decrypt, parse (all through bot.channels.WeComApp,
exactly as the product does) and answer with the encrypted help text through
Replier.render. It reads the same GRIDLINE_WORK_* variables as the product and is served
by uvicorn with the same settings as `gridline serve` (factory, log_config=None,
access_log=False, default loop and HTTP implementation).

    python bench/baseline.py --host 127.0.0.1 --port 8001 --workers 1

Any GET answers 200 "ok" (readiness); POST /wechat/work is the callback; other POSTs 404.
"""

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import parse_qsl

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench`, `app`, `bot` importable
    sys.path.insert(0, str(ROOT))

MAX_BODY = 64 * 1024  # the same cap as app.routes


def _channel():
    from app.clock import SystemClock
    from bot.channels import WeComApp
    from bot.wirecrypto import Envelope, aes_key_ok

    token = os.environ.get("GRIDLINE_WORK_TOKEN", "")
    key = os.environ.get("GRIDLINE_WORK_AES_KEY", "")
    corp_id = os.environ.get("GRIDLINE_WORK_CORP_ID", "")
    max_age = int(os.environ.get("GRIDLINE_MAX_MESSAGE_AGE_S", "300"))
    if not token or not aes_key_ok(key) or not corp_id:
        raise SystemExit("baseline: GRIDLINE_WORK_TOKEN, GRIDLINE_WORK_AES_KEY (43 chars), GRIDLINE_WORK_CORP_ID needed")
    return WeComApp(token, Envelope(key, corp_id, enterprise=True), SystemClock(), max_age)


def factory():
    """The ASGI app (uvicorn `bench.baseline:factory`, factory=True)."""
    try:  # the reply texts moved from bot.texts to handlers.texts
        from handlers import texts
    except ImportError:
        from bot import texts
    from bot.refusals import Refused

    channel = _channel()
    help_text = texts.HELP

    async def respond(send, status: int, body: bytes, media_type: bytes) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", media_type), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":
            return await respond(send, 200, b"ok", b"text/plain")
        if scope["method"] != "POST" or scope["path"] != "/wechat/work":
            return await respond(send, 404, b"not found", b"text/plain")
        body = bytearray()
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                return await respond(send, 413, b"body too large", b"text/plain")
        query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        try:
            _msg, replier = channel.open(query, bytes(body))
        except Refused as exc:
            return await respond(send, exc.status, exc.reason.encode(), b"text/plain")
        content, media_type = replier.render(help_text)
        await respond(send, 200, content.encode(), media_type.encode())

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    import uvicorn

    from app import logs

    # Spawned workers (--workers > 1) must find `bench` too.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    _channel()  # fail fast on missing settings, before uvicorn starts
    logs.configure(os.environ.get("GRIDLINE_LOG_LEVEL", "INFO"))
    uvicorn.run("bench.baseline:factory", factory=True, host=args.host, port=args.port, workers=args.workers,
                log_config=None, access_log=False)


if __name__ == "__main__":
    main()
