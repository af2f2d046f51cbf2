"""Sensitive periods (敏感时期) the office sets: while one runs, new windows are shortened
and every new case also goes to the township office (see handlers/deadlines.py).

A period belongs to one township (a local anniversary, a dispute coming to a head) or, with no
township, to the whole county (国庆): a township's office keeps its own and reads the county's; only
county-level people, the CLI and the admin API set the county's."""

from datetime import date

from sqlalchemy import or_, select
from sqlmodel import Session

from handlers import texts
from models import SensitivePeriod

EVERYWHERE = None  # `township_id` of a county-wide period; as a scope: every period


class PeriodError(ValueError):
    """A period that cannot be: the message is Chinese, for the office."""


def add_period(session: Session, name: str, starts_on: date, ends_on: date, factor: float,
               township_id: int | None = EVERYWHERE) -> SensitivePeriod:
    if not name.strip():
        raise PeriodError(texts.PERIOD_NO_NAME)
    if ends_on < starts_on:
        raise PeriodError(texts.PERIOD_BACKWARDS)
    if not 0 < factor <= 1:
        raise PeriodError(texts.PERIOD_FACTOR)
    period = SensitivePeriod(name=name.strip(), starts_on=starts_on, ends_on=ends_on, factor=factor,
                             township_id=township_id)
    session.add(period)
    session.flush()
    return period


def remove_period(session: Session, period_id: int, township_id: int | None = EVERYWHERE) -> bool:
    """Remove a period; `township_id`: only one of that township's (a township's office may not
    remove the county's or another township's)."""
    period = session.get(SensitivePeriod, period_id)
    if period is None or (township_id is not EVERYWHERE and period.township_id != township_id):
        return False
    session.delete(period)
    return True


def periods(session: Session, township_id: int | None = EVERYWHERE) -> list[SensitivePeriod]:
    """Every period, or those that hold for one township's cases: the county's and its own."""
    query = select(SensitivePeriod).order_by(SensitivePeriod.starts_on, SensitivePeriod.id)
    if township_id is not EVERYWHERE:
        query = query.where(or_(SensitivePeriod.township_id.is_(None), SensitivePeriod.township_id == township_id))
    return list(session.scalars(query))
