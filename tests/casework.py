"""Cases filed and worked through the handlers directly, for tests about what happens to them later."""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from handlers import cases
from handlers.classify import Labels
from handlers.policy import Policy
from models import Case, ChatIdentity, Person, Unit

TZ = ZoneInfo("Asia/Shanghai")
POLICY = Policy.load(None, TZ)


def local(text: str) -> datetime:
    """2026-11-20 16:00 in Asia/Shanghai."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def person(s, userid: str) -> Person:
    return s.scalars(select(Person).join(ChatIdentity, ChatIdentity.person_id == Person.id)
                     .where(ChatIdentity.external_id == userid)).one()


def file(sessions, at: datetime, village: str, category: str, lead: str, summary: str = "有情况",
         reporter: str = "gw", urgent: bool = False) -> str:
    """File a case as `reporter` at `at`; its code."""
    labels = Labels(category=category, lead_department=lead, severity="紧急" if urgent else "一般", urgent=urgent,
                    online=False, involves_cadre=False, village=village, platform=None, screen_name=None, links=())
    with sessions.begin() as s:
        village_id = s.scalars(select(Unit.id).where(Unit.name == village)).one()
        filing = cases.Filing(reporter=person(s, reporter), summary=summary, labels=labels, village_id=village_id)
        return cases.file_case(s, filing, at, POLICY).code


def act(sessions, userid: str, code: str, action: str, at: datetime, note: str = "") -> None:
    with sessions.begin() as s:
        cases.act(s, person(s, userid), code, action, note, at, POLICY)


def status(sessions, code: str) -> str:
    with sessions() as s:
        return s.scalars(select(Case.status).where(Case.code == code)).one()
