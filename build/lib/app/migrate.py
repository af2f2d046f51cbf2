"""Alembic, driven from code so the installed `gridline` finds its migrations anywhere."""

from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations

SCRIPTS = Path(migrations.__file__).parent


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["database_url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    from app.db import make_engine

    make_engine(url).dispose()  # creates ./var/ for the embedded SQLite file
    command.upgrade(alembic_config(url), revision)
