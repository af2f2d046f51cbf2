"""INSERT … ON CONFLICT needs each engine's own insert construct: build a statement once per engine."""

from collections.abc import Callable

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def per_dialect(build: Callable[[Callable], Insert]) -> dict[str, Insert]:
    """{dialect name: build(that dialect's insert)}; run it as `conn.execute(stmts[conn.dialect.name], …)`."""
    return {name: build(insert) for name, insert in INSERTS.items()}
