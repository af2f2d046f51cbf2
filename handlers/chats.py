"""Group chats that receive pushes (推送群): import the table of village and township chats.

Headers 乡镇, 村 (empty for a township chat), 类型 (群机器人 / 应用群聊), 标识 (the robot's webhook
key — the whole webhook address is accepted too — or the app group chat id). The file is the
truth: chats missing from it are removed. A file with any error imports nothing.
"""

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

from sqlalchemy import select
from sqlmodel import Session

from handlers.roster import ROW_KEY, RowError, read_table
from handlers.texts import (
    T_CHAT_KEY_BAD,
    T_CHAT_KEY_DUP,
    T_CHAT_KIND,
    T_CHAT_TOWNSHIP_UNKNOWN,
    T_CHAT_VILLAGE_UNKNOWN,
    T_CHATS_DONE,
    T_CHATS_REFUSED,
    T_MISSING_HEADER,
    T_REQUIRED,
)
from models import ChatTarget, Unit
from models.org import TOWNSHIP, VILLAGE

TOWNSHIP_COL, VILLAGE_COL, KIND_COL, KEY_COL = "乡镇", "村", "类型", "标识"
HEADERS = (TOWNSHIP_COL, VILLAGE_COL, KIND_COL, KEY_COL)
KINDS = {"群机器人": "robot", "应用群聊": "appchat"}
_ROBOT_KEY = re.compile(r"^[A-Za-z0-9-]{8,64}$")
_CHAT_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")


@dataclass
class ChatsReport:
    errors: list[RowError]
    refused: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    def summary(self) -> str:
        if self.refused:
            return T_CHATS_REFUSED.format(n=len(self.errors))
        return T_CHATS_DONE.format(created=self.created, updated=self.updated, unchanged=self.unchanged,
                                   removed=self.removed)


def import_chats(session: Session, filename: str, data: bytes) -> ChatsReport:
    """Check every row, then apply the file inside the caller's transaction (the caller commits)."""
    table = read_table(filename, data, HEADERS, anchor=KIND_COL)
    errors = table.errors
    if table.header_row:
        errors += [RowError(table.header_row, col, T_MISSING_HEADER.format(col=col))
                   for col in (TOWNSHIP_COL, KIND_COL, KEY_COL) if col not in table.columns]
    if errors:
        return ChatsReport(errors, refused=True)

    units = session.execute(select(Unit.id, Unit.kind, Unit.name, Unit.parent_id)).all()
    townships = {name: uid for uid, kind, name, _ in units if kind == TOWNSHIP}
    villages = {(parent, name): uid for uid, kind, name, parent in units if kind == VILLAGE}
    wanted: dict[tuple[str, str], int] = {}  # (kind, key) → unit id
    first_row: dict[tuple[str, str], int] = {}
    for raw in table.rows:
        row = int(raw[ROW_KEY])

        def bad(column: str, reason: str) -> None:
            errors.append(RowError(row, column, reason))

        township, village = raw.get(TOWNSHIP_COL, ""), raw.get(VILLAGE_COL, "")
        kind = KINDS.get(raw.get(KIND_COL, ""))
        key = _key(kind, raw.get(KEY_COL, ""))
        unit = townships.get(township)
        if not township:
            bad(TOWNSHIP_COL, T_REQUIRED)
        elif unit is None:
            bad(TOWNSHIP_COL, T_CHAT_TOWNSHIP_UNKNOWN.format(township=township))
        elif village:
            unit = villages.get((unit, village))
            if unit is None:
                bad(VILLAGE_COL, T_CHAT_VILLAGE_UNKNOWN.format(township=township, village=village))
        if kind is None:
            bad(KIND_COL, T_CHAT_KIND)
        elif not raw.get(KEY_COL):
            bad(KEY_COL, T_REQUIRED)
        elif key is None:
            bad(KEY_COL, T_CHAT_KEY_BAD)
        elif (kind, key) in first_row:
            bad(KEY_COL, T_CHAT_KEY_DUP.format(row=first_row[(kind, key)]))
        else:
            first_row[(kind, key)] = row
            if unit is not None:
                wanted[(kind, key)] = unit
    if errors:
        return ChatsReport(errors, refused=True)

    report = ChatsReport([], refused=False)
    for target in session.scalars(select(ChatTarget)).all():
        unit = wanted.pop((target.kind, target.key), None)
        if unit is None:
            session.delete(target)
            report.removed += 1
        elif unit != target.unit_id:
            target.unit_id = unit
            report.updated += 1
        else:
            report.unchanged += 1
    for (kind, key), unit in wanted.items():
        session.add(ChatTarget(unit_id=unit, kind=kind, key=key))
        report.created += 1
    session.flush()
    return report


def _key(kind: str | None, value: str) -> str | None:
    """The identifier as stored, or None when it cannot be one."""
    if kind == "robot":
        if value.startswith(("http://", "https://")):  # the whole webhook address was pasted
            value = (parse_qs(urlparse(value).query).get("key") or [""])[0]
        return value if _ROBOT_KEY.match(value) else None
    if kind == "appchat":
        return value if _CHAT_ID.match(value) else None
    return None
