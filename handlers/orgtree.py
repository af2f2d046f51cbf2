"""The unit tree (county → township → village → grid), read in one query and walked in memory.

The one place the tree is walked: ancestors, the township of a unit, everything below a unit,
a township's villages. A unit table is small (a county has a few thousand units at most).
"""

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session

from models import Unit
from models.org import TOWNSHIP, VILLAGE


@dataclass(frozen=True)
class UnitRow:
    id: int
    kind: str
    name: str
    parent_id: int | None


@dataclass(frozen=True)
class OrgTree:
    units: dict[int, UnitRow]
    children: dict[int | None, list[int]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> "OrgTree":
        rows = session.execute(select(Unit.id, Unit.kind, Unit.name, Unit.parent_id).order_by(Unit.id)).all()
        units = {uid: UnitRow(uid, kind, name, parent) for uid, kind, name, parent in rows}
        children: dict[int | None, list[int]] = {}
        for row in units.values():
            children.setdefault(row.parent_id, []).append(row.id)
        return cls(units, children)

    def chain(self, unit_id: int | None) -> dict[str, UnitRow]:
        """The unit and its ancestors, the nearest of each kind."""
        found: dict[str, UnitRow] = {}
        while unit_id is not None and unit_id in self.units:
            row = self.units[unit_id]
            found.setdefault(row.kind, row)
            unit_id = row.parent_id
        return found

    def township_of(self, unit_id: int | None) -> int | None:
        """The unit's township (itself when it is one); None above or outside townships."""
        row = self.chain(unit_id).get(TOWNSHIP)
        return row.id if row else None

    def home_township(self, unit_id: int) -> int:
        """The township of a unit, or the top of its branch (the county) for county-level units."""
        while self.units[unit_id].kind != TOWNSHIP and self.units[unit_id].parent_id is not None:
            unit_id = self.units[unit_id].parent_id
        return unit_id

    def below(self, roots) -> set[int]:
        """The units and every unit under them (unknown ids are left out)."""
        found, todo = set(), [r for r in roots if r in self.units]
        while todo:
            uid = todo.pop()
            found.add(uid)
            todo.extend(self.children.get(uid, []))
        return found

    def subtree(self, unit_id: int) -> set[int]:
        return self.below([unit_id])

    def villages(self, township_id: int) -> dict[str, int]:
        """A township's villages by name."""
        return {self.units[u].name: u for u in self.children.get(township_id, []) if self.units[u].kind == VILLAGE}

    def place_name(self, township_id: int, village_id: int | None) -> str:
        return "".join(self.units[uid].name for uid in (township_id, village_id) if uid)


def chain_of(session: Session, unit_id: int | None) -> dict[str, UnitRow]:
    """OrgTree.chain without loading the tree: the unit and its ancestors through the session's
    identity map, for a caller that needs one person's place and nothing else."""
    found: dict[str, UnitRow] = {}
    unit = session.get(Unit, unit_id) if unit_id is not None else None
    while unit is not None:
        found.setdefault(unit.kind, UnitRow(unit.id, unit.kind, unit.name, unit.parent_id))
        unit = session.get(Unit, unit.parent_id) if unit.parent_id else None
    return found
