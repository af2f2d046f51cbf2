"""The last line against a 5xx for bad input: a value the database itself refuses is the client's.

Validation at the edge (app/api/params.py) should refuse such values first; this keeps one that slips
through from becoming a 500, and logs it so the edge can be fixed.
"""

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

log = logging.getLogger("gridline.http")


def add_handlers(app: FastAPI) -> None:
    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> JSONResponse:
        log.warning("the database refused a value", extra={"path": request.url.path, "error": type(exc.orig).__name__})
        return JSONResponse({"detail": "a value is out of range or not valid"}, status_code=422)
