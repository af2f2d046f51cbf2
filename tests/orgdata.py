"""A small org built straight into the tables, for tests that need people."""

from dataclasses import dataclass

from handlers import org
from models import ChatIdentity, Department, Person, PersonRole, Unit, VillageCover
from models.org import COUNTY, GRID, TOWNSHIP, VILLAGE


@dataclass
class Org:
    ids: dict[str, int]  # unit or person name → id

    def __getitem__(self, name: str) -> int:
        return self.ids[name]


PEOPLE = [
    # name, unit, role, department, covered villages
    ("网格员甲", "一网格", org.GRID_WORKER, None, ()),
    ("书记乙", "西岔村", org.VILLAGE_SECRETARY, None, ()),
    ("委员丙", "西岔村", org.VILLAGE_COMMITTEE, None, ()),
    ("东沟书记", "东沟村", org.VILLAGE_SECRETARY, None, ()),
    ("包村丁", "白水乡", org.VILLAGE_LEADER, None, ("西岔村",)),
    ("纪委戊", "白水乡", org.LIAISON, "纪委", ()),
    ("办公室己", "白水乡", org.OFFICE, None, ()),
    ("乡长庚", "白水乡", org.MAIN_LEADER, None, ()),
    ("县里辛", "清河县", org.OFFICE, None, ()),
    ("黑石办公室", "黑石镇", org.OFFICE, None, ()),
]


def build(sessions) -> Org:
    ids: dict[str, int] = {}
    with sessions.begin() as s:
        def unit(name, kind, parent=None):
            u = Unit(name=name, kind=kind, parent_id=ids.get(parent))
            s.add(u)
            s.flush()
            ids[name] = u.id

        unit("清河县", COUNTY)
        unit("白水乡", TOWNSHIP, "清河县")
        unit("黑石镇", TOWNSHIP, "清河县")
        unit("西岔村", VILLAGE, "白水乡")
        unit("东沟村", VILLAGE, "白水乡")
        unit("一网格", GRID, "西岔村")
        jiwei = Department(township_id=ids["白水乡"], name="纪委")
        s.add(jiwei)
        s.flush()
        ids["纪委"] = jiwei.id
        for n, (name, where, role, dept, covers) in enumerate(PEOPLE):
            p = Person(name=name, phone=f"1380000{n:04d}", unit_id=ids[where],
                       department_id=ids[dept] if dept else None)
            s.add(p)
            s.flush()
            ids[name] = p.id
            s.add(PersonRole(person_id=p.id, role=role))
            s.add(ChatIdentity(person_id=p.id, channel="work", external_id=f"user{n}"))
            for village in covers:
                s.add(VillageCover(person_id=p.id, village_id=ids[village]))
    return Org(ids)


def userid(name: str) -> str:
    return f"user{[p[0] for p in PEOPLE].index(name)}"
