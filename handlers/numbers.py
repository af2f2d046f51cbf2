"""Numbers people and programs type in, read strictly: ASCII digits only, within a database id's range.

`"²".isdigit()` is true and `int("²")` fails; `int("9" * 400)` is a number no column holds. Every place
that turns text into an id goes through here, so neither reaches a query.
"""

import re

MAX_ID = 2**31 - 1  # PostgreSQL's integer: the largest id a row can have
_DIGITS = re.compile(r"[0-9]{1,10}")


def as_id(text: str) -> int | None:
    """The id `text` spells (ASCII digits, 1 … MAX_ID), or None."""
    text = text.strip()
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None
