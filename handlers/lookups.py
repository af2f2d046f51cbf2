"""What one message or one run-due batch reads about the org, loaded once and shared.

The unit tree, role holders, 包村领导, a township's departments, people's roles, places in the
tree and chat addresses do not change while one message is handled or one batch of jobs runs:
routing, notification, deadlines and intake ask a Lookups for them instead of the database, and
get the same answer for the same question. A Lookups lives for one message (bot/conversation.py)
or one batch (handlers/jobs.py), never longer: the roster may change between them.

With `gather`, notifications are not written one by one: their outbox rows are collected in
`outbox` and the caller writes them at once (`flush_outbox`).
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from handlers import access, org, people
from handlers.access import CaseScope, Viewer
from handlers.orgtree import OrgTree
from handlers.people import Member
from models import Case, Person, PersonRole, VillageCover
from models.outbox import write_queued


class Lookups:
    def __init__(self, session: Session, *, gather: bool = False):
        self.session = session
        self.outbox: list[dict] | None = [] if gather else None
        self._tree: OrgTree | None = None
        self._memo: dict[tuple, Any] = {}

    @property
    def tree(self) -> OrgTree:
        if self._tree is None:
            self._tree = OrgTree.load(self.session)
        return self._tree

    def once(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """compute(), once per key for this Lookups' life."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    # -- people ------------------------------------------------------------------------------------
    def holders(self, role: str | None, unit_id: int | None) -> list[Person]:
        """Active holders of `role` at or under `unit_id` (people.holders). The staff of a unit (every
        role but 网格员, of which a village has hundreds) are read in one query the first time any
        of them is asked for."""
        if role is None or role == org.GRID_WORKER or unit_id is None:
            return self.once(("holders", role, unit_id),
                             lambda: people.holders(self.session, role, unit_id, tree=self.tree))
        return [p for p, roles in self._staff(unit_id) if role in roles]

    def _staff(self, unit_id: int) -> list[tuple[Person, frozenset[str]]]:
        def load() -> list[tuple[Person, frozenset[str]]]:
            roles: dict[int, set[str]] = {}
            found: dict[int, Person] = {}
            for person, role in self.session.execute(
                    select(Person, PersonRole.role).join(PersonRole, PersonRole.person_id == Person.id)
                    .where(Person.active, PersonRole.role != org.GRID_WORKER,
                           Person.unit_id.in_(self.tree.subtree(unit_id))).order_by(Person.id)):
                found[person.id] = person
                roles.setdefault(person.id, set()).add(role)
            return [(found[pid], frozenset(roles[pid])) for pid in found]
        return self.once(("staff", unit_id), load)

    def covering(self, village_id: int | None) -> list[Person]:
        """The 包村领导 of a village."""
        if village_id is None:
            return []
        return self.once(("covering", village_id), lambda: people.covering_leaders(self.session, village_id))

    def member(self, person: Person) -> Member:
        return self.once(("member", person.id), lambda: self._members([person])[person.id])

    def viewer(self, person: Person) -> Viewer:
        return self.once(("viewer", person.id), lambda: self._viewer(person))

    def viewers(self, persons: list[Person]) -> dict[int, Viewer]:
        """Viewers of many people in two queries (roles, covered villages) rather than two each."""
        todo = [p for p in {p.id: p for p in persons}.values() if ("viewer", p.id) not in self._memo]
        if todo:
            members = self._members(todo)
            covered: dict[int, list[int]] = {}
            for pid, village in self.session.execute(select(VillageCover.person_id, VillageCover.village_id)
                                                     .where(VillageCover.person_id.in_([p.id for p in todo]))):
                covered.setdefault(pid, []).append(village)
            for p in todo:
                self._memo[("viewer", p.id)] = access.placed(members[p.id], self.tree.chain(p.unit_id),
                                                             covered.get(p.id, ()))
        return {p.id: self._memo[("viewer", p.id)] for p in persons}

    def address(self, person_id: int) -> tuple[str, str] | None:
        """(channel, account) the person is reached at; None: unreachable."""
        return self.once(("address", person_id), lambda: people.addresses(self.session, [person_id]).get(person_id))

    def addresses(self, person_ids: list[int]) -> dict[int, tuple[str, str] | None]:
        todo = [pid for pid in dict.fromkeys(person_ids) if ("address", pid) not in self._memo]
        found = people.addresses(self.session, todo) if todo else {}
        for pid in todo:
            self._memo[("address", pid)] = found.get(pid)
        return {pid: self._memo[("address", pid)] for pid in person_ids}

    # -- places and cases --------------------------------------------------------------------------
    def departments(self, township_id: int) -> dict[str, int]:
        """A township's departments: name → id."""
        return self.once(("departments", township_id),
                         lambda: access.township_departments(self.session, township_id))

    def scope(self, case: Case) -> CaseScope:
        """The case's scope as it is now (not kept: the case may change within the message)."""
        return access.scope_of(case, self.departments(case.township_id))

    def can_see(self, person: Person, scope: CaseScope) -> bool:
        return access.can_see(self.viewer(person), scope)

    def place_name(self, township_id: int, village_id: int | None) -> str:
        return self.tree.place_name(township_id, village_id)

    # -- outbox ------------------------------------------------------------------------------------
    @contextmanager
    def gathering(self) -> Iterator[None]:
        """Gather the notifications made inside and write them at the end in one statement (nested:
        the outermost writes)."""
        if self.outbox is not None:
            yield
            return
        self.outbox = []
        try:
            yield
            self.flush_outbox()
        finally:
            self.outbox = None

    def flush_outbox(self) -> None:
        """Write the gathered outbox rows in one statement."""
        if self.outbox:
            write_queued(self.session, self.outbox)
            self.outbox.clear()

    # -- internals ---------------------------------------------------------------------------------
    def _members(self, persons: list[Person]) -> dict[int, Member]:
        roles: dict[int, set[str]] = {p.id: set() for p in persons}
        for pid, role in self.session.execute(select(PersonRole.person_id, PersonRole.role)
                                              .where(PersonRole.person_id.in_(list(roles)))):
            roles[pid].add(role)
        found = {p.id: Member(p.id, p.name, p.unit_id, p.department_id, frozenset(roles[p.id])) for p in persons}
        for pid, m in found.items():
            self._memo.setdefault(("member", pid), m)
        return found

    def _viewer(self, person: Person) -> Viewer:
        return self.viewers([person])[person.id]
