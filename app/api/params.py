"""Input types every route shares: bounded ids and paging, names without NULs, values from the guide.

Bounds are the database's: an id past PostgreSQL's integer or a name longer than its column would
otherwise reach a query and fail there (a 500) instead of being refused here (a 422).
"""

from typing import Annotated, Literal

from fastapi import Path, Query
from pydantic import AfterValidator, StringConstraints

from handlers import org
from handlers.numbers import MAX_ID
from models.cases import OPEN, RESOLVED, REVIEWED, WITHDRAWN

NO_NUL = r"^[^\x00]*$"


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


def Text(max_length: int, min_length: int = 0):  # noqa: N802 - a type factory, used like a type
    """A string of at most `max_length` characters, trimmed, without NULs."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
                     AfterValidator(_no_nul)]


Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]


def name_query(description: str | None = None):
    """A name or id from the org tree (unit, role), as an optional query parameter."""
    return Annotated[str | None, Query(max_length=64, pattern=NO_NUL, description=description)]


NameQuery = name_query()
# Read the API as one person sees it: only what the access policy lets them see.
AsPerson = Annotated[str | None, Query(alias="as", max_length=64, pattern=NO_NUL, description=(
    "name or phone of a person: only what the access policy lets them see, "
    "the reporter shown as 网格员 where they may not know them"))]
CodeText = Text(32, 1)
Name = Text(64)

# The guide's values (DESIGN.md, Admin API), from the one vocabulary in handlers/org.py.
Category = Literal[org.CATEGORIES]
Department = Literal[org.DEPARTMENTS]
Severity = Literal[org.SEVERITIES]
CaseStatus = Literal[OPEN + (RESOLVED, REVIEWED, WITHDRAWN)]
