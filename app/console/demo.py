"""Demo only: move the demo clock forward (1 hour, 1 day). Mounted by `gridline demo`, never in production."""

from datetime import timedelta

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import get_demo_clock
from app.console.session import ME, Signed
from handlers import texts

router = APIRouter(prefix="/console/demo", include_in_schema=False)


@router.post("/clock")
def move_clock(request: Request, step: str = Form(""), back: str = Form("/console"), me: Signed = ME) -> Response:
    step = step if step in texts.CONSOLE_CLOCK_STEPS else "1h"
    get_demo_clock(request).advance(timedelta(hours=texts.CONSOLE_CLOCK_STEPS[step][1]))
    target = back if back.startswith("/console") and not back.startswith("//") else "/console"
    target = target.split("?", 1)[0]  # the page again, saying the clock moved
    return RedirectResponse(f"{target}?clock={step}", status_code=303)
