"""Roster import (花名册导入): read a CSV or XLSX roster, check every row, apply it to the org.

The file is the truth: people are keyed by phone, updated in place, given exactly the roles,
covered villages and WeCom userid of their row, and deactivated (never deleted) when they are
missing from a newer file. A file with any error imports nothing unless `skip_bad_rows`.

Nothing here knows about HTTP or WeChat; the caller owns the transaction and commits.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import select
from sqlmodel import Session

from handlers.org import (
    DEPARTMENTS,
    GRID_WORKER,
    LIAISON,
    OFFICE,
    ROLES,
    TOWNSHIP_WIDE,
    VILLAGE_LEADER,
    VILLAGE_ROLES,
)
from handlers.texts import (
    T_ROSTER_DONE,
    T_ROSTER_REFUSED,
    T_ROSTER_SKIPPED,
    T_UNDECODABLE,
    T_BAD_XLSX,
    T_XLSX_TOO_BIG,
    T_XLS,
    T_EMPTY_FILE,
    T_NO_ROWS,
    T_NOTHING_GOOD,
    T_MISSING_HEADER,
    T_DUP_HEADER,
    T_REQUIRED,
    T_TOO_LONG,
    T_ROLE_UNKNOWN,
    T_PHONE_BAD,
    T_PHONE_SCI,
    T_PHONE_DUP,
    T_USERID_DUP,
    T_USERID_BAD,
    T_USERID_TAKEN,
    T_TOWNSHIP_REQUIRED,
    T_TOWNSHIP_FOR_VILLAGE,
    T_VILLAGE_FOR_GRID,
    T_VILLAGE_NEEDED,
    T_VILLAGE_ROW_ROLE,
    T_GRID_NEEDED,
    T_COUNTY_ROLE,
    T_COUNTY_CONFLICT,
    T_DEPT_NEEDED,
    T_DEPT_UNKNOWN,
    T_DEPT_COUNTY,
    T_COVERS_NEEDED,
    T_COVERS_TOWNSHIP,
    T_COVER_UNKNOWN,
    T_OTHER_TOWNSHIP,
    T_OTHER_COUNTY,
    T_PHONE_ELSEWHERE,
)
from models import ChatIdentity, Department, Person, PersonRole, Unit, VillageCover
from models.org import COUNTY, GRID, TOWNSHIP, VILLAGE

# -- headers (the contract) -----------------------------------------------------------
COUNTY_COL, TOWNSHIP_COL, VILLAGE_COL, GRID_COL = "县", "乡镇", "村", "网格"
NAME_COL, PHONE_COL, ROLE_COL, DEPT_COL = "姓名", "手机号", "角色", "部门"
COVERS_COL, USERID_COL = "包联村", "企业微信账号"
HEADERS = (COUNTY_COL, TOWNSHIP_COL, VILLAGE_COL, GRID_COL, NAME_COL, PHONE_COL, ROLE_COL, DEPT_COL,
           COVERS_COL, USERID_COL)
# The key under which read_roster gives each row's number as a spreadsheet shows it (header = 1).
ROW_KEY = "_row"
# An XLSX unpacks to at most this: a roster of 50,000 people is a few tens of MB of XML.
MAX_UNPACKED = 100 * 2**20

WORK_CHANNEL = "work"  # ChatIdentity.channel of a WeCom userid

NAME_MAX, UNIT_MAX = 64, 64

_SPACES = re.compile(r"\s+")
_LIST_SEP = re.compile(r"[、,，;；/\s]+")
_PHONE = re.compile(r"1\d{10}")
_PHONE_SCI = re.compile(r"\d(\.\d+)?[eE]\+?\d+")
_USERID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-@.]{0,63}")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff·•\s]+")


@dataclass
class RowError:
    row: int  # as a spreadsheet shows it, header = 1; 0 for the file as a whole
    column: str  # header name; "" for the file as a whole
    reason: str  # Chinese, short

    def __str__(self) -> str:
        if self.row <= 0:
            return self.reason
        return f"第{self.row}行 {self.column}：{self.reason}" if self.column else f"第{self.row}行：{self.reason}"


@dataclass
class ImportReport:
    errors: list[RowError]
    refused: bool  # True: nothing was imported
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0

    @property
    def bad_rows(self) -> int:
        """How many distinct rows were bad (file-level errors not counted)."""
        return len({e.row for e in self.errors if e.row > 0})

    def summary(self) -> str:
        """One Chinese sentence for the person who uploaded the file."""
        if self.refused:
            return T_ROSTER_REFUSED.format(n=len(self.errors))
        text = T_ROSTER_DONE.format(created=self.created, updated=self.updated, unchanged=self.unchanged,
                                    deactivated=self.deactivated)
        if self.errors:
            text += T_ROSTER_SKIPPED.format(n=self.bad_rows)
        return text


# ======================================================================================
# Reading
# ======================================================================================

def read_roster(filename: str, data: bytes) -> tuple[list[dict[str, str]], list[RowError]]:
    """The data rows of a roster, keyed by header, and the errors that make the file unreadable."""
    table = read_table(filename, data, HEADERS, anchor=NAME_COL)
    if table.header_row:
        required = [NAME_COL, ROLE_COL] + ([] if COUNTY_COL in table.columns else [TOWNSHIP_COL])
        for col in (TOWNSHIP_COL, NAME_COL, ROLE_COL):
            if col in required and col not in table.columns:
                table.errors.append(RowError(table.header_row, col, T_MISSING_HEADER.format(col=col)))
    return table.rows, table.errors


def people(filename: str, data: bytes) -> list["_Row"]:
    """A roster file's rows as the importer reads them (names, roles and places cleaned), unchecked: for
    tools that only read a roster (scripts/cadre_examples.py)."""
    return [_normalise(raw) for raw in read_roster(filename, data)[0]]


@dataclass
class Table:
    rows: list[dict[str, str]]
    errors: list[RowError]
    columns: set[str] = field(default_factory=set)  # the known headers the file has
    header_row: int = 0  # 0: the file could not be read


def read_table(filename: str, data: bytes, headers: tuple[str, ...], *, anchor: str) -> Table:
    """The data rows of a CSV (UTF-8, GBK, UTF-16) or XLSX table, keyed by header.

    Each row has the file's known headers (of `headers`; unknown ones are ignored) and ROW_KEY, its
    row number as a spreadsheet shows it (str). Values are trimmed; empty rows are skipped. The
    header row is the first with an `anchor` column. Errors are file-level (encoding, format;
    row 0) or about the header row.
    """
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return Table([], [RowError(0, "", T_XLS)])
    if data.startswith(b"PK\x03\x04") or filename.lower().endswith((".xlsx", ".xlsm")):
        if _unpacked_size(data) > MAX_UNPACKED:
            return Table([], [RowError(0, "", T_XLSX_TOO_BIG.format(mib=MAX_UNPACKED // 2**20))])
        try:
            grid = _xlsx_rows(data, anchor)
        except Exception:  # openpyxl raises many kinds on a damaged file
            return Table([], [RowError(0, "", T_BAD_XLSX)])
    else:
        text = _decode(data)
        if text is None:
            return Table([], [RowError(0, "", T_UNDECODABLE)])
        grid = _csv_rows(text)
    return _keyed(grid, headers, anchor)


def _unpacked_size(data: bytes) -> int:
    """What the XLSX (a zip) holds once unpacked. zipfile never inflates a member past the size its
    directory declares (it fails instead), so the declared sizes bound what openpyxl could read: a zip
    bomb is refused here, before anything is inflated. 0 when it is no zip (openpyxl then says so)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return 0


def _decode(data: bytes) -> str | None:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text"
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")  # GBK and its superset (rarer characters in names)
    except UnicodeDecodeError:
        return None


def _csv_rows(text: str) -> Iterable[tuple[int, list[str]]]:
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    for number, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1):
        yield number, cells


def _xlsx_rows(data: bytes, anchor: str) -> list[tuple[int, list[str]]]:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        for candidate in book.worksheets:
            candidate.reset_dimensions()  # some writers record a wrong used range; read it all
        sheet = book.active or book.worksheets[0]
        for candidate in book.worksheets:  # the first sheet with the anchor header, else the active one
            top = candidate.iter_rows(max_row=5, values_only=True)
            if any(anchor in (_clean(_cell(v)) for v in values) for values in top):
                sheet = candidate
                break
        return [(number, [_cell(v) for v in values])
                for number, values in enumerate(sheet.iter_rows(values_only=True), 1)]
    finally:
        book.close()


def _cell(value: object) -> str:
    """A cell as text: 13800138000 stored as a number (int or float) is '13800138000'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _clean(value: str) -> str:
    return value.replace("\ufeff", "").strip()


def _keyed(grid: Iterable[tuple[int, list[str]]], headers: tuple[str, ...], anchor: str) -> Table:
    rows: Iterable[tuple[int, list[str]]] = iter(grid)
    # The header is row 1; a title line above it ("东岭镇网格人员花名册") is passed over: the header is
    # the first of the first few non-empty rows that has the anchor column, else the first non-empty one.
    header: list[str] | None = None
    passed: list[tuple[int, list[str]]] = []
    for number, cells in rows:
        if not any(_clean(c) for c in cells):
            continue
        names = [_SPACES.sub("", _clean(c)) for c in cells]
        if anchor in names:
            header, header_row = names, number
            break
        passed.append((number, cells))
        if len(passed) == 5:
            break
    if header is None:
        if not passed:
            return Table([], [RowError(0, "", T_EMPTY_FILE)])
        header_row, first = passed[0]
        header = [_SPACES.sub("", _clean(c)) for c in first]
        rows = itertools.chain(passed[1:], rows)
    errors: list[RowError] = []
    where: dict[str, int] = {}
    for index, name in enumerate(header):
        if name in headers:
            if name in where:
                errors.append(RowError(header_row, name, T_DUP_HEADER.format(col=name)))
            else:
                where[name] = index
    out: list[dict[str, str]] = []
    for number, cells in rows:
        values = {col: (_clean(cells[i]) if i < len(cells) else "") for col, i in where.items()}
        if not any(values.values()):
            continue
        values[ROW_KEY] = str(number)
        out.append(values)
    return Table(out, errors, set(where), header_row)


# ======================================================================================
# Checking
# ======================================================================================

@dataclass
class _Row:
    """A row, normalised."""

    row: int
    county: str
    township: str
    village: str
    grid: str
    name: str
    phone: str
    roles: list[str]
    department: str
    covers: list[str]
    userid: str
    bad: bool = False


@dataclass
class _Existing:
    """What the database already holds, loaded once."""

    units: dict[int, Unit] = field(default_factory=dict)
    counties: dict[str, Unit] = field(default_factory=dict)
    townships: dict[str, Unit] = field(default_factory=dict)
    villages: dict[tuple[int, str], Unit] = field(default_factory=dict)
    grids: dict[tuple[int, str], Unit] = field(default_factory=dict)
    departments: dict[tuple[int, str], Department] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)  # by phone
    people_by_id: dict[int, Person] = field(default_factory=dict)
    roles: dict[int, dict[str, PersonRole]] = field(default_factory=dict)  # person id → role → row
    covers: dict[int, dict[int, VillageCover]] = field(default_factory=dict)  # person id → village id
    work: dict[str, ChatIdentity] = field(default_factory=dict)  # WeCom userid → identity
    identities: dict[int, list[ChatIdentity]] = field(default_factory=dict)  # person id → all channels

    @classmethod
    def load(cls, session: Session) -> _Existing:
        ex = cls()
        for unit in session.scalars(select(Unit).order_by(Unit.id)):
            ex.units[unit.id] = unit
        for unit in ex.units.values():
            if unit.kind == COUNTY:
                ex.counties.setdefault(unit.name, unit)
            elif unit.kind == TOWNSHIP:
                ex.townships.setdefault(unit.name, unit)
            elif unit.kind == VILLAGE:
                ex.villages.setdefault((unit.parent_id, unit.name), unit)
            elif unit.kind == GRID:
                ex.grids.setdefault((unit.parent_id, unit.name), unit)
        for dept in session.scalars(select(Department)):
            ex.departments[(dept.township_id, dept.name)] = dept
        for person in session.scalars(select(Person)):
            ex.people[person.phone] = person
            ex.people_by_id[person.id] = person
        for role in session.scalars(select(PersonRole)):
            ex.roles.setdefault(role.person_id, {})[role.role] = role
        for cover in session.scalars(select(VillageCover)):
            ex.covers.setdefault(cover.person_id, {})[cover.village_id] = cover
        for ident in session.scalars(select(ChatIdentity).order_by(ChatIdentity.id)):
            ex.identities.setdefault(ident.person_id, []).append(ident)
            if ident.channel == WORK_CHANNEL:
                ex.work[ident.external_id] = ident
        return ex

    def below(self, root: int) -> set[int]:
        """The unit and every unit under it."""
        children: dict[int, list[int]] = {}
        for unit in self.units.values():
            children.setdefault(unit.parent_id, []).append(unit.id)
        found, todo = set(), [root]
        while todo:
            uid = todo.pop()
            found.add(uid)
            todo.extend(children.get(uid, ()))
        return found

    def village_names(self, township: str) -> set[str]:
        unit = self.townships.get(township)
        if unit is None:
            return set()
        return {name for (parent, name) in self.villages if parent == unit.id}


def _split(value: str) -> list[str]:
    seen: list[str] = []
    for part in _LIST_SEP.split(value):
        if part and part not in seen:
            seen.append(part)
    return seen


def _phone(value: str) -> str:
    phone = re.sub(r"[\s\-()（）]", "", value)
    if phone.startswith("+86"):
        phone = phone[3:]
    if re.fullmatch(r"\d+\.0+", phone):
        phone = phone.split(".")[0]
    return phone


def _name(value: str) -> str:
    # "张　三" (padded to line up with three-character names) is 张三.
    return _SPACES.sub("", value) if _CJK.fullmatch(value) else _SPACES.sub(" ", value)


def _normalise(raw: dict[str, str]) -> _Row:
    return _Row(
        row=int(raw[ROW_KEY]),
        county=_SPACES.sub("", raw.get(COUNTY_COL, "")),
        township=_SPACES.sub("", raw.get(TOWNSHIP_COL, "")),
        village=_SPACES.sub("", raw.get(VILLAGE_COL, "")),
        grid=_SPACES.sub("", raw.get(GRID_COL, "")),
        name=_name(raw.get(NAME_COL, "")),
        phone=_phone(raw.get(PHONE_COL, "")),
        roles=_split(raw.get(ROLE_COL, "")),
        department=_SPACES.sub("", raw.get(DEPT_COL, "")),
        covers=_split(raw.get(COVERS_COL, "")),
        userid=raw.get(USERID_COL, "").strip(),
    )


def _check_row(r: _Row, raw_phone: str) -> list[RowError]:
    """What is wrong with a row on its own."""
    errors: list[RowError] = []

    def bad(column: str, reason: str) -> None:
        errors.append(RowError(r.row, column, reason))

    county_level = bool(r.county) and not r.township  # only a file with the 县 column has r.county
    if not r.name:
        bad(NAME_COL, T_REQUIRED)
    elif len(r.name) > NAME_MAX:
        bad(NAME_COL, T_TOO_LONG.format(n=NAME_MAX))
    if not r.phone:
        bad(PHONE_COL, T_REQUIRED)
    elif not _PHONE.fullmatch(r.phone):
        bad(PHONE_COL, T_PHONE_SCI if _PHONE_SCI.fullmatch(raw_phone.strip()) else T_PHONE_BAD)
    if not r.roles:
        bad(ROLE_COL, T_REQUIRED)
    for role in r.roles:
        if role not in ROLES:
            bad(ROLE_COL, T_ROLE_UNKNOWN.format(role=role))
    roles = set(r.roles) & set(ROLES)
    for column, value in ((COUNTY_COL, r.county), (TOWNSHIP_COL, r.township), (VILLAGE_COL, r.village),
                          (GRID_COL, r.grid)):
        if len(value) > UNIT_MAX:
            bad(column, T_TOO_LONG.format(n=UNIT_MAX))
    # Where the person sits.
    if not r.township and not county_level:
        if r.village:
            bad(TOWNSHIP_COL, T_TOWNSHIP_FOR_VILLAGE)
        elif VILLAGE_LEADER in roles:
            bad(TOWNSHIP_COL, T_COVERS_TOWNSHIP)
        else:
            bad(TOWNSHIP_COL, T_TOWNSHIP_REQUIRED)
    if county_level and r.village:
        bad(TOWNSHIP_COL, T_TOWNSHIP_FOR_VILLAGE)
    elif county_level and roles - set(TOWNSHIP_WIDE):
        bad(ROLE_COL, T_COUNTY_ROLE)
    else:
        if r.grid and not r.village:
            bad(VILLAGE_COL, T_VILLAGE_FOR_GRID)
        for role in VILLAGE_ROLES:
            if role in roles and not r.village and not r.grid:
                bad(VILLAGE_COL, T_VILLAGE_NEEDED.format(role=role))
                break
        if GRID_WORKER in roles and not r.grid:
            bad(GRID_COL, T_GRID_NEEDED)
        if (r.village or r.grid) and roles - set(VILLAGE_ROLES):
            # A township role on a village row would put a village cadre among those who read
            # accusations against that village's cadres.
            bad(ROLE_COL, T_VILLAGE_ROW_ROLE.format(roles="、".join(sorted(roles - set(VILLAGE_ROLES)))))
    # Department.
    if r.department:
        if r.department not in DEPARTMENTS:
            bad(DEPT_COL, T_DEPT_UNKNOWN.format(dept=r.department))
        elif county_level and roles != {OFFICE}:
            bad(DEPT_COL, T_DEPT_COUNTY)
    elif LIAISON in roles:
        bad(DEPT_COL, T_DEPT_NEEDED)
    # Villages covered.
    if VILLAGE_LEADER in roles and not r.covers:
        bad(COVERS_COL, T_COVERS_NEEDED)
    # WeCom userid.
    if r.userid and not _USERID.fullmatch(r.userid):
        bad(USERID_COL, T_USERID_BAD)
    return errors


def _check(raws: list[dict[str, str]], ex: _Existing, within: Unit | None) -> tuple[list[_Row], list[RowError]]:
    rows = [_normalise(raw) for raw in raws]
    errors: list[RowError] = []
    for r, raw in zip(rows, raws, strict=True):
        found = _check_row(r, raw.get(PHONE_COL, ""))
        errors += found
        r.bad = bool(found)

    def bad(r: _Row, column: str, reason: str) -> None:
        errors.append(RowError(r.row, column, reason))
        r.bad = True

    if within is not None:  # a township's own roster: its people only, nobody of another unit moved in
        inside = ex.below(within.id)
        county = ex.units.get(within.parent_id) if within.parent_id else None
        for r in rows:
            if r.township != within.name:
                bad(r, TOWNSHIP_COL, T_OTHER_TOWNSHIP.format(township=within.name))
            elif r.county and county is not None and r.county != county.name:
                bad(r, COUNTY_COL, T_OTHER_COUNTY.format(township=within.name, county=county.name))
            holder = ex.people.get(r.phone)
            if holder is not None and holder.unit_id not in inside:
                bad(r, PHONE_COL, T_PHONE_ELSEWHERE.format(township=within.name))

    # Within the file: the later of two rows with the same phone or userid is bad, and a township
    # belongs to one county.
    first_phone: dict[str, int] = {}
    first_userid: dict[str, int] = {}
    county_of: dict[str, tuple[str, int]] = {}
    villages_in_file: dict[str, set[str]] = {}
    for r in rows:
        if r.phone:
            if r.phone in first_phone:
                bad(r, PHONE_COL, T_PHONE_DUP.format(row=first_phone[r.phone]))
            else:
                first_phone[r.phone] = r.row
        if r.userid:
            if r.userid in first_userid:
                bad(r, USERID_COL, T_USERID_DUP.format(row=first_userid[r.userid]))
            else:
                first_userid[r.userid] = r.row
        if r.township and r.county:
            known = county_of.setdefault(r.township, (r.county, r.row))
            if known[0] != r.county:
                bad(r, COUNTY_COL, T_COUNTY_CONFLICT.format(township=r.township, row=known[1], county=known[0]))
        if r.township and r.village:
            villages_in_file.setdefault(r.township, set()).add(r.village)

    # Villages covered must exist in this file or in the database, in the leader's own township.
    db_villages: dict[str, set[str]] = {}
    for r in rows:
        if VILLAGE_LEADER in r.roles and r.township:
            if r.township not in db_villages:
                db_villages[r.township] = ex.village_names(r.township)
            known = villages_in_file.get(r.township, set()) | db_villages[r.township]
            for village in r.covers:
                if village not in known:
                    bad(r, COVERS_COL, T_COVER_UNKNOWN.format(village=village, township=r.township))

    # A userid bound in the database to someone else is bad, unless this file gives that someone a
    # different userid (or none) in a good row, which frees it. Repeat until stable: a freeing row
    # that turns out bad frees nothing.
    while True:
        userid_of = {r.phone: r.userid for r in rows if not r.bad}
        changed = False
        for r in rows:
            if r.bad or not r.userid:
                continue
            ident = ex.work.get(r.userid)
            owner = ex.people_by_id.get(ident.person_id) if ident is not None else None
            if owner is None or owner.phone == r.phone:
                continue
            if owner.phone in userid_of and userid_of[owner.phone] != r.userid:
                continue
            bad(r, USERID_COL, T_USERID_TAKEN.format(userid=r.userid, name=owner.name, phone=owner.phone))
            changed = True
        if not changed:
            break

    errors.sort(key=lambda e: (e.row, HEADERS.index(e.column) if e.column in HEADERS else len(HEADERS)))
    return rows, errors


# ======================================================================================
# Applying
# ======================================================================================

def import_roster(session: Session, filename: str, data: bytes, *, skip_bad_rows: bool = False,
                  progress: Callable[[int, int], None] | None = None, township: Unit | None = None,
                  dry_run: bool = False) -> ImportReport:
    """Import a roster inside the caller's transaction (the caller commits).

    With any error and without `skip_bad_rows`, or when the file itself cannot be read, nothing is
    written and the report says refused. `progress(done, total)` is called as rows are applied.
    With `township` (a township office importing its own roster) every row must be of that township,
    no one of another unit is moved into it, and only its own people are deactivated. With `dry_run`
    the report says what importing would do, and nothing is kept.
    """
    raws, file_errors = read_roster(filename, data)
    if file_errors:
        return ImportReport(errors=file_errors, refused=True)
    if not raws:
        return ImportReport(errors=[RowError(0, "", T_NO_ROWS)], refused=True)
    ex = _Existing.load(session)
    rows, errors = _check(raws, ex, township)
    good = [r for r in rows if not r.bad]
    if errors and not skip_bad_rows:
        return ImportReport(errors=errors, refused=True)
    if not good:
        return ImportReport(errors=errors + [RowError(0, "", T_NOTHING_GOOD)], refused=True)
    # Whoever appears in the file, even in a bad row, is not deactivated.
    present = {r.phone for r in rows if r.phone}
    scope = ex.below(township.id) if township is not None else None
    nested = session.begin_nested()
    try:
        report = _Apply(session, ex, progress).run(good, present, scope)
    except BaseException:
        nested.rollback()
        raise
    if dry_run:
        nested.rollback()
    else:
        nested.commit()
    report.errors = errors
    return report


class _Apply:
    def __init__(self, session: Session, ex: _Existing, progress: Callable[[int, int], None] | None):
        self.session, self.ex, self.progress = session, ex, progress

    # -- units ------------------------------------------------------------------------
    def _units(self, rows: list[_Row]) -> None:
        ex = self.ex
        counties_named = {r.county for r in rows if r.county}
        only_county = next(iter(counties_named)) if len(counties_named) == 1 else None
        county_for: dict[str, str] = {}
        for r in rows:
            if r.township and r.county:
                county_for.setdefault(r.township, r.county)
        townships = {r.township for r in rows if r.township}

        new: list[Unit] = []
        for name in sorted(counties_named):
            if name not in ex.counties:
                ex.counties[name] = Unit(kind=COUNTY, name=name, parent_id=None)
                new.append(ex.counties[name])
        self._flush(new)

        new = []
        for name in sorted(townships):
            county_name = county_for.get(name, only_county)
            parent = ex.counties[county_name].id if county_name else None
            unit = ex.townships.get(name)
            if unit is None:
                ex.townships[name] = unit = Unit(kind=TOWNSHIP, name=name, parent_id=parent)
                new.append(unit)
            elif county_name and unit.parent_id != parent:
                unit.parent_id = parent  # the file now names the township's county
        self._flush(new)

        new = []
        for r in rows:
            if not r.township:
                continue
            township_id = ex.townships[r.township].id
            for village in ([r.village] if r.village else []) + (r.covers if VILLAGE_LEADER in r.roles else []):
                if (township_id, village) not in ex.villages:
                    unit = Unit(kind=VILLAGE, name=village, parent_id=township_id)
                    ex.villages[(township_id, village)] = unit
                    new.append(unit)
        self._flush(new)

        new = []
        for r in rows:
            if r.grid:
                village_id = ex.villages[(ex.townships[r.township].id, r.village)].id
                if (village_id, r.grid) not in ex.grids:
                    unit = Unit(kind=GRID, name=r.grid, parent_id=village_id)
                    ex.grids[(village_id, r.grid)] = unit
                    new.append(unit)
        self._flush(new)

        new = []
        for r in rows:
            name = self._department_name(r)
            if name:
                key = (ex.townships[r.township].id, name)
                if key not in ex.departments:
                    ex.departments[key] = Department(township_id=key[0], name=name)
                    new.append(ex.departments[key])
        self._flush(new)

    def _flush(self, new: list) -> None:
        if new:
            self.session.add_all(new)
            self.session.flush()

    @staticmethod
    def _department_name(r: _Row) -> str:
        if not r.department or not r.township or set(r.roles) == {OFFICE}:
            return ""  # 办公室 staff get no department; departments are the township's
        return r.department

    def _home(self, r: _Row) -> Unit:
        ex = self.ex
        if not r.township:
            return ex.counties[r.county]
        township = ex.townships[r.township]
        if not r.village:
            return township
        village = ex.villages[(township.id, r.village)]
        return ex.grids[(village.id, r.grid)] if r.grid else village

    # -- people -----------------------------------------------------------------------
    def run(self, rows: list[_Row], present: set[str], scope: set[int] | None) -> ImportReport:
        ex, session = self.ex, self.session
        total = len(rows)
        self._tick(0, total)
        self._units(rows)

        report = ImportReport(errors=[], refused=False)
        changed: dict[str, bool] = {}
        new_people: list[Person] = []
        for r in rows:
            unit = self._home(r)
            dept_name = self._department_name(r)
            dept_id = ex.departments[(ex.townships[r.township].id, dept_name)].id if dept_name else None
            person = ex.people.get(r.phone)
            if person is None:
                person = Person(name=r.name, phone=r.phone, unit_id=unit.id, department_id=dept_id, active=True)
                ex.people[r.phone] = person
                new_people.append(person)
                changed[r.phone] = True
                continue
            before = (person.name, person.unit_id, person.department_id, person.active)
            person.name, person.unit_id, person.department_id, person.active = r.name, unit.id, dept_id, True
            changed[r.phone] = before != (r.name, unit.id, dept_id, True)
        self._flush(new_people)
        report.created = len(new_people)
        created = {id(p) for p in new_people}

        for done, r in enumerate(rows, 1):
            person = ex.people[r.phone]
            if self._roles(person, r):
                changed[r.phone] = True
            if self._covers(person, r):
                changed[r.phone] = True
            if self._userid(person, r.userid):
                changed[r.phone] = True
            if id(person) not in created:
                if changed[r.phone]:
                    report.updated += 1
                else:
                    report.unchanged += 1
            if done % 200 == 0:
                self._tick(done, total)

        for phone, person in ex.people.items():
            if phone not in present and person.active and (scope is None or person.unit_id in scope):
                person.active = False
                for ident in ex.identities.get(person.id, []):
                    ident.active = False
                report.deactivated += 1
        session.flush()
        self._tick(total, total)
        return report

    def _tick(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    def _roles(self, person: Person, r: _Row) -> bool:
        held = self.ex.roles.setdefault(person.id, {})
        wanted = set(r.roles)
        changed = False
        for role, row in list(held.items()):
            if role not in wanted:
                self.session.delete(row)
                del held[role]
                changed = True
        for role in r.roles:
            if role not in held:
                held[role] = PersonRole(person_id=person.id, role=role)
                self.session.add(held[role])
                changed = True
        return changed

    def _covers(self, person: Person, r: _Row) -> bool:
        held = self.ex.covers.setdefault(person.id, {})
        wanted: set[int] = set()
        if VILLAGE_LEADER in r.roles:
            township_id = self.ex.townships[r.township].id
            wanted = {self.ex.villages[(township_id, v)].id for v in r.covers}
        changed = False
        for village_id, row in list(held.items()):
            if village_id not in wanted:
                self.session.delete(row)
                del held[village_id]
                changed = True
        for village_id in sorted(wanted - held.keys()):
            held[village_id] = VillageCover(person_id=person.id, village_id=village_id)
            self.session.add(held[village_id])
            changed = True
        return changed

    def _userid(self, person: Person, userid: str) -> bool:
        """Give the person exactly this WeCom userid (none when empty); other ones are deactivated."""
        ex = self.ex
        mine = ex.identities.setdefault(person.id, [])
        changed = False
        if userid:
            ident = ex.work.get(userid)
            if ident is None:
                ident = ChatIdentity(person_id=person.id, channel=WORK_CHANNEL, external_id=userid, active=True)
                self.session.add(ident)
                ex.work[userid] = ident
                mine.append(ident)
                changed = True
            elif ident.person_id != person.id:
                # Freed by its former holder in this same file (checked before): it moves over.
                former = ex.identities.get(ident.person_id, [])
                if ident in former:
                    former.remove(ident)
                ident.person_id, ident.active = person.id, True
                mine.append(ident)
                changed = True
            elif not ident.active:
                ident.active = True
                changed = True
        for ident in mine:
            if ident.channel == WORK_CHANNEL and ident.external_id != userid and ident.active \
                    and ident.person_id == person.id:
                ident.active = False
                changed = True
        return changed
