"""Sensitive periods (敏感时期) the office sets: while one runs, new windows are shortened
and every new case also goes to the township office (see handlers/deadlines.py)."""

from datetime import date

from sqlalchemy import select
from sqlmodel import Session

from handlers import texts
from models import SensitivePeriod


class PeriodError(ValueError):
    """A period that cannot be: the message is Chinese, for the office."""


def add_period(session: Session, name: str, starts_on: date, ends_on: date, factor: float) -> SensitivePeriod:
    if not name.strip():
        raise PeriodError(texts.PERIOD_NO_NAME)
    if ends_on < starts_on:
        raise PeriodError(texts.PERIOD_BACKWARDS)
    if not 0 < factor <= 1:
        raise PeriodError(texts.PERIOD_FACTOR)
    period = SensitivePeriod(name=name.strip(), starts_on=starts_on, ends_on=ends_on, factor=factor)
    session.add(period)
    session.flush()
    return period


def remove_period(session: Session, period_id: int) -> bool:
    period = session.get(SensitivePeriod, period_id)
    if period is not None:
        session.delete(period)
    return period is not None


def periods(session: Session) -> list[SensitivePeriod]:
    return list(session.scalars(select(SensitivePeriod).order_by(SensitivePeriod.starts_on)))
