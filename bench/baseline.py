"""Bare baseline for bench/callback.py: a callback endpoint that only verifies, decrypts and replies.

The same stack as the product — FastAPI with Gridline's request-log middleware, the same
body limit, bot.channels.WeComApp for signature, decryption and parsing, and
Replier.render for the encrypted answer — but no dispatcher and no database. The
difference between the two servers is therefore what persistence and dispatch cost.
It reads the same GRIDLINE_WORK_* variables as the product and is served by uvicorn with
the same settings as `gridline serve`.

    python bench/baseline.py --host 127.0.0.1 --port 8001 --workers 1

GET /healthz answers 200 (readiness); POST /wechat/work is the bare callback.
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench`, `app`, `bot` importable
    sys.path.insert(0, str(ROOT))



def _channel():
    from models.clock import SystemClock
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
    from fastapi import FastAPI, Request
    from fastapi.responses import PlainTextResponse, Response

    from app.limits import BodyLimit
    from app.logs import RequestLog
    from bot.refusals import Refused
    from handlers import texts

    channel = _channel()
    app = FastAPI(title="Gridline bare baseline")

    @app.get("/healthz")
    async def healthz() -> Response:
        return PlainTextResponse("ok")

    @app.post("/wechat/work")
    async def bare(request: Request) -> Response:
        try:
            _msg, replier = channel.open(request.query_params, await request.body())
        except Refused as exc:
            return PlainTextResponse(exc.reason, status_code=exc.status)
        content, media_type = replier.render(texts.HELP)
        return Response(content, media_type=media_type)

    app.add_middleware(BodyLimit)  # the product's middleware, in its order
    app.add_middleware(RequestLog)
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
