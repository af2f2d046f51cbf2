"""What one message or one run-due batch reads about the org, loaded once and shared.

The unit tree, role holders, 包村领导, a township's departments, people's roles, places in the
tree and chat addresses do not change while one message is handled or one batch of jobs runs:
routing, notification, deadlines and intake ask a Lookups for them instead of the database, and
get the same answer for the same question. A Lookups lives for one transaction — a dispatcher
batch of chat messages (bot/dispatcher.py) or a batch of jobs (handlers/jobs.py) — never longer:
the roster may change between them. A chat message that changes who is reachable (binding,
unsubscribing) calls `forget`, so the batch's next messages read the org afresh.

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

    def forget(self) -> None:
        """Drop everything read so far (the roster changed within the transaction)."""
        self._tree = None
        self._memo.clear()

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
        """The staff at or under a unit: their township's (or the county's, above townships) read once,
        then filtered — a batch's cases of twenty villages make one query, not twenty."""
        if unit_id not in self.tree.units:
            return []
        top = self.tree.home_township(unit_id)

        def load() -> list[tuple[Person, frozenset[str]]]:
            roles: dict[int, set[str]] = {}
            found: dict[int, Person] = {}
            for person, role in self.session.execute(
                    select(Person, PersonRole.role).join(PersonRole, PersonRole.person_id == Person.id)
                    .where(Person.active, PersonRole.role != org.GRID_WORKER,
                           Person.unit_id.in_(self.tree.subtree(top))).order_by(Person.id)):
                found[person.id] = person
                roles.setdefault(person.id, set()).add(role)
            return [(found[pid], frozenset(roles[pid])) for pid in found]
        everyone = self.once(("staff", top), load)
        if unit_id == top:
            return everyone
        units = self.tree.subtree(unit_id)
        return self.once(("staff", unit_id), lambda: [(p, r) for p, r in everyone if p.unit_id in units])

    def covering(self, village_id: int | None) -> list[Person]:
        """The 包村领导 of a village: those of its whole township read once."""
        if village_id is None:
            return []
        township = self.tree.home_township(village_id) if village_id in self.tree.units else None
        villages = set(self.tree.villages(township).values()) if township is not None else set()
        if village_id not in villages:  # not a village of a township: asked alone
            return self.once(("covering", village_id), lambda: people.covering_leaders(self.session, village_id))

        def load() -> dict[int, list[Person]]:
            found: dict[int, list[Person]] = {}
            for village, person in self.session.execute(
                    select(VillageCover.village_id, Person).join(Person, Person.id == VillageCover.person_id)
                    .where(VillageCover.village_id.in_(villages), Person.active).order_by(Person.id)):
                found.setdefault(village, []).append(person)
            return found
        return self.once(("covering of township", township), load).get(village_id, [])

    def member(self, person: Person) -> Member:
        return self.once(("member", person.id), lambda: self._members([person])[person.id])

    def viewer(self, person: Person) -> Viewer:
        return self.once(("viewer", person.id), lambda: self._viewer(person))

    def viewers(self, persons: list[Person]) -> dict[int, Viewer]:
        """Viewers of many people in two queries (roles, covered villages) rather than two each."""
        todo = [p for p in {p.id: p for p in persons}.values() if ("viewer", p.id) not in self._memo]
        if todo:
            todo += self._staff_not_yet("viewer", todo)  # the rest of the staff read so far: one query, not one a case
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
        if todo:
            todo += [p.id for p in self._staff_not_yet("address", todo)]
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
    def _staff_not_yet(self, kind: str, asked: list) -> list[Person]:
        """Staff already read (`_staff`) whose `kind` ("viewer", "address") is not known yet, besides
        `asked`: what the batch's next cases will most likely ask for."""
        asked_ids = {getattr(p, "id", p) for p in asked}
        found: dict[int, Person] = {}
        for key, value in self._memo.items():
            if key[0] == "staff":
                for person, _ in value:
                    if person.id not in asked_ids and (kind, person.id) not in self._memo:
                        found[person.id] = person
        return list(found.values())

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
