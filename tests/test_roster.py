"""Roster import (花名册): formats, validation, applying, idempotence, the CLI, and a large file."""

import csv
import io
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.cli import app as cli
from handlers.roster import ImportReport, RowError, import_roster, read_roster
from models import ChatIdentity, Department, Person, PersonRole, Unit, VillageCover

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "roster.csv"
BAD = DATA / "roster_bad.csv"


# -- helpers ------------------------------------------------------------------------------

def sample_rows() -> list[list[str]]:
    """The sample roster as a table: the header, then the rows."""
    return list(csv.reader(io.StringIO(SAMPLE.read_text(encoding="utf-8"))))


def to_csv(table: list[list], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(table)
    return out.getvalue().encode(encoding)


def to_xlsx(table: list[list], numeric_phones: bool = True) -> bytes:
    """An XLSX the way Excel users make it: phones typed as numbers (some stored as floats)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "花名册"
    phone_col = table[0].index("手机号")
    for i, row in enumerate(table):
        values: list = list(row)
        if i and numeric_phones and values[phone_col].isdigit():
            values[phone_col] = int(values[phone_col]) if i % 2 else float(values[phone_col])
        sheet.append([v if v != "" else None for v in values])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


FORMATS = {
    "csv-utf8": lambda t: ("roster.csv", to_csv(t)),
    "csv-utf8-bom": lambda t: ("roster.csv", b"\xef\xbb\xbf" + to_csv(t)),
    "csv-gbk": lambda t: ("roster.csv", to_csv(t, "gbk")),
    "xlsx": lambda t: ("roster.xlsx", to_xlsx(t)),
}


def run_import(db, name: str, data: bytes, **kw) -> ImportReport:
    with db() as session:
        report = import_roster(session, name, data, **kw)
        if not report.refused:
            session.commit()
        else:
            session.rollback()
    return report


def snapshot(db) -> dict:
    """The whole org as plain values: units by path, and each person with everything about them."""
    with db() as s:
        units = {u.id: u for u in s.scalars(select(Unit))}

        def path(uid: int) -> str:
            names = []
            while uid is not None:
                names.append(units[uid].name)
                uid = units[uid].parent_id
            return "/".join(reversed(names))

        depts = {d.id: f"{path(d.township_id)}:{d.name}" for d in s.scalars(select(Department))}
        roles: dict[int, set] = {}
        for r in s.scalars(select(PersonRole)):
            roles.setdefault(r.person_id, set()).add(r.role)
        covers: dict[int, set] = {}
        for c in s.scalars(select(VillageCover)):
            covers.setdefault(c.person_id, set()).add(path(c.village_id))
        idents: dict[int, set] = {}
        for i in s.scalars(select(ChatIdentity)):
            idents.setdefault(i.person_id, set()).add((i.channel, i.external_id, i.active))
        people = {
            p.phone: dict(name=p.name, unit=path(p.unit_id), dept=depts.get(p.department_id), active=p.active,
                          roles=roles.get(p.id, set()), covers=covers.get(p.id, set()),
                          idents=idents.get(p.id, set()))
            for p in s.scalars(select(Person))
        }
        return {"units": sorted((u.kind, path(u.id)) for u in units.values()), "people": people}


def expected_people(table: list[list[str]]) -> dict:
    """What the sample should give, worked out independently of the importer."""
    header, *rows = table
    out = {}
    for values in rows:
        r = dict(zip(header, values, strict=True))
        parts = [r["县"], r["乡镇"], r["村"], r["网格"]]
        unit = "/".join(p for p in parts if p)
        dept = f'{r["县"]}/{r["乡镇"]}:{r["部门"]}' if r["部门"] and r["角色"] != "办公室" else None
        covers = set()
        if r["包联村"]:
            covers = {f'{r["县"]}/{r["乡镇"]}/{v}' for v in r["包联村"].replace(",", "、").split("、")}
        idents = {("work", r["企业微信账号"], True)} if r["企业微信账号"] else set()
        out[r["手机号"]] = dict(name=r["姓名"], unit=unit, dept=dept, active=True, roles={r["角色"]},
                               covers=covers, idents=idents)
    return out


def count(db, model) -> int:
    with db() as s:
        return s.scalar(select(func.count()).select_from(model))


def errors_at(report: ImportReport) -> set[tuple[int, str]]:
    return {(e.row, e.column) for e in report.errors}


# -- formats --------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", list(FORMATS))
def test_sample_imports_cleanly_in_every_format(db, fmt):
    table = sample_rows()
    name, data = FORMATS[fmt](table)
    report = run_import(db, name, data)
    assert report.errors == [] and not report.refused
    assert (report.created, report.updated, report.unchanged, report.deactivated) == (64, 0, 0, 0)
    snap = snapshot(db)
    assert snap["people"] == expected_people(table)
    kinds = [kind for kind, _ in snap["units"]]
    assert [kinds.count(k) for k in ("county", "township", "village", "grid")] == [1, 2, 8, 16]
    assert count(db, Department) == 14  # 7 departments in each township; 办公室 staff have none
    # The 包村领导 of 东岭镇 covers two villages of his own township.
    leader = snap["people"]["13910000113"]
    assert leader["covers"] == {"平安县/东岭镇/东岭村", "平安县/东岭镇/石桥村"}


def test_every_format_gives_the_same_state(db):
    table = sample_rows()
    run_import(db, *FORMATS["csv-utf8"](table))
    first = snapshot(db)
    for fmt in ("csv-utf8-bom", "csv-gbk", "xlsx"):
        report = run_import(db, *FORMATS[fmt](table))
        assert (report.created, report.updated, report.unchanged, report.deactivated) == (0, 0, 64, 0), fmt
        assert snapshot(db) == first, fmt


def test_importing_again_changes_nothing(db):
    data = SAMPLE.read_bytes()
    run_import(db, "roster.csv", data)
    before = snapshot(db)
    counts = [count(db, m) for m in (Unit, Department, Person, PersonRole, VillageCover, ChatIdentity)]
    report = run_import(db, "roster.csv", data)
    assert (report.created, report.updated, report.unchanged, report.deactivated) == (0, 0, 64, 0)
    assert report.errors == [] and not report.refused
    assert snapshot(db) == before
    assert [count(db, m) for m in (Unit, Department, Person, PersonRole, VillageCover, ChatIdentity)] == counts


def test_headers_in_another_order_with_extra_columns_and_blank_rows(db):
    header, *rows = sample_rows()
    order = [6, 4, 9, 5, 3, 2, 1, 0, 8, 7]  # 角色 姓名 企业微信账号 手机号 网格 村 乡镇 县 包联村 部门
    table = [[f"  {header[i]} " for i in order] + ["备注"]]
    for n, row in enumerate(rows):
        table.append([row[i] for i in order] + ["随便写点什么"])
        if n == 10:
            table.append([""] * 11)  # an empty row: skipped, but it still takes up a row number
    report = run_import(db, "roster.csv", to_csv(table))
    assert report.errors == [] and report.created == 64
    assert snapshot(db)["people"] == expected_people([header, *rows])
    # Row numbers count the blank row, as a spreadsheet does.
    table[20][0] = "村长"  # the 20th data line is spreadsheet row 21
    report = run_import(db, "roster.csv", to_csv(table))
    assert report.refused and errors_at(report) == {(21, "角色")}


def test_read_roster_keys_rows_by_header_and_numbers_them():
    data = to_csv([[" 姓名", "角色 ", "乡镇", "无关列"], ["张三", "网格员", "东岭镇", "x"], ["", "", "", ""],
                   ["李四", "村书记", "西河乡", ""]])
    rows, errors = read_roster("a.csv", data)
    assert errors == []
    assert rows == [{"姓名": "张三", "角色": "网格员", "乡镇": "东岭镇", "_row": "2"},
                    {"姓名": "李四", "角色": "村书记", "乡镇": "西河乡", "_row": "4"}]


def test_xlsx_numbers_come_back_as_digits():
    table = [["乡镇", "姓名", "手机号", "角色"], ["东岭镇", "张三", "13800138000", "办公室"],
             ["东岭镇", "李四", "13800138001", "办公室"]]
    data = to_xlsx(table)
    # Excel may store a typed number as a float in exponent form: make the second one so.
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                assert b"<v>13800138001</v>" in body
                body = body.replace(b"<v>13800138001</v>", b"<v>1.3800138001E10</v>")
            dst.writestr(item, body)
    rows, errors = read_roster("r.xlsx", out.getvalue())
    assert errors == []
    assert [r["手机号"] for r in rows] == ["13800138000", "13800138001"]


def test_missing_required_header_is_one_error_on_row_1(db):
    report = run_import(db, "r.csv", to_csv([["乡镇", "姓名", "手机号"], ["东岭镇", "张三", "13800138000"]]))
    assert report.refused and [(e.row, e.column) for e in report.errors] == [(1, "角色")]
    assert "缺少" in report.errors[0].reason
    # 乡镇 may be missing when the 县 column is there (a county-only roster).
    ok = to_csv([["县", "姓名", "手机号", "角色"], ["平安县", "张三", "13800138000", "主要领导"]])
    report = run_import(db, "r.csv", ok)
    assert report.errors == [] and report.created == 1
    report = run_import(db, "r.csv", to_csv([["姓名", "手机号", "角色"], ["张三", "13800138000", "主要领导"]]))
    assert [(e.row, e.column) for e in report.errors] == [(1, "乡镇")]


def test_undecodable_file_is_one_clear_error(db):
    report = run_import(db, "r.csv", "乡镇,姓名".encode() + b"\x80\x80\xff\xff,\r\n")
    assert report.refused and len(report.errors) == 1 and "编码" in report.errors[0].reason
    report = run_import(db, "r.xlsx", b"PK\x03\x04 not really a workbook")
    assert report.refused and len(report.errors) == 1 and "XLSX" in report.errors[0].reason
    report = run_import(db, "r.csv", b"")
    assert report.refused and len(report.errors) == 1
    assert count(db, Unit) == 0


# -- validation ----------------------------------------------------------------------------

BAD_EXPECTED = {
    (3, "网格"): "网格员须填写网格",
    (4, "村"): "村书记须填写村",
    (4, "姓名"): "必填",
    (5, "手机号"): "11位",
    (6, "角色"): "“村长”不是有效角色",
    (7, "部门"): "部门联络员须填写部门",
    (8, "部门"): "“宣传部”不是有效部门",
    (10, "包联村"): "“北山村”不是东岭镇的村",
    (11, "手机号"): "与第2行重复",
    (12, "企业微信账号"): "与第2行重复",
    (13, "乡镇"): "必填",
    (15, "手机号"): "科学计数法",
    (16, "企业微信账号"): "字母、数字",
}


def test_bad_rows_are_all_reported_and_nothing_is_written(db):
    report = run_import(db, "roster_bad.csv", BAD.read_bytes())
    assert report.refused
    assert errors_at(report) == set(BAD_EXPECTED)
    for error in report.errors:
        assert BAD_EXPECTED[(error.row, error.column)] in error.reason, error
    assert [e.row for e in report.errors] == sorted(e.row for e in report.errors)
    assert str(RowError(3, "网格", "网格员须填写网格")) == "第3行 网格：网格员须填写网格"
    assert (report.created, report.updated, report.deactivated) == (0, 0, 0)
    for model in (Unit, Department, Person, PersonRole, ChatIdentity):
        assert count(db, model) == 0


def test_a_refused_file_leaves_an_existing_org_alone(db):
    run_import(db, "roster.csv", SAMPLE.read_bytes())
    before = snapshot(db)
    report = run_import(db, "roster_bad.csv", BAD.read_bytes())
    assert report.refused
    assert snapshot(db) == before
    # Even in the caller's session, before any rollback, nothing is pending.
    with db() as s:
        report = import_roster(s, "roster_bad.csv", BAD.read_bytes())
        assert report.refused and not s.new and not s.dirty and not s.deleted


def test_skip_bad_rows_imports_the_good_ones(db):
    report = run_import(db, "roster_bad.csv", BAD.read_bytes(), skip_bad_rows=True)
    assert not report.refused
    assert errors_at(report) == set(BAD_EXPECTED)
    assert (report.created, report.updated, report.unchanged, report.deactivated) == (2, 0, 0, 0)
    people = snapshot(db)["people"]
    assert {p["name"] for p in people.values()} == {"梁振华", "冯好人"}
    assert people["13910000141"]["idents"] == {("work", "wg1", True)}


def test_skipping_bad_rows_never_deactivates_the_people_in_them(db):
    run_import(db, "roster.csv", SAMPLE.read_bytes())
    header, *rows = sample_rows()
    rows[0][6] = "县长"  # a bad role for the county's main leader
    report = run_import(db, "roster.csv", to_csv([header, *rows]), skip_bad_rows=True)
    assert errors_at(report) == {(2, "角色")}
    assert (report.unchanged, report.deactivated) == (63, 0)
    assert snapshot(db)["people"][rows[0][5]]["active"] is True


def test_a_file_where_every_row_is_bad_is_refused_even_when_skipping(db):
    run_import(db, "roster.csv", SAMPLE.read_bytes())
    table = [["乡镇", "姓名", "手机号", "角色"], ["东岭镇", "张三", "123", "办公室"]]
    report = run_import(db, "r.csv", to_csv(table), skip_bad_rows=True)
    assert report.refused and report.deactivated == 0
    assert all(p["active"] for p in snapshot(db)["people"].values())


def test_village_and_county_rules(db):
    table = [
        ["县", "乡镇", "村", "网格", "姓名", "手机号", "角色", "部门", "包联村"],
        ["平安县", "", "", "", "县书记", "13800000001", "主要领导", "", ""],
        ["平安县", "", "", "", "县网格员", "13800000002", "网格员", "", ""],  # county-level grid worker
        ["平安县", "", "", "", "县联络员", "13800000003", "部门联络员", "纪委", ""],  # no county departments
        ["平安县", "东岭镇", "", "第一网格", "无村", "13800000004", "网格员", "", ""],
        ["平安县", "东岭镇", "", "", "村两委甲", "13800000005", "村两委", "", ""],
        ["平安县", "东岭镇", "", "", "包村甲", "13800000006", "包村领导", "", ""],
        ["平安县", "东岭镇", "东岭村", "", "书记甲", "13800000007", "村书记、网格员", "", ""],
        ["平安县", "东岭镇", "", "", "包村乙", "13800000008", "包村领导", "", "西河村"],
        ["平安县", "西河乡", "西河村", "", "书记乙", "13800000009", "村书记", "", ""],
        ["大安县", "西河乡", "", "", "办公室甲", "13800000010", "办公室", "", ""],
    ]
    report = run_import(db, "r.csv", to_csv(table))
    assert errors_at(report) == {
        (3, "角色"), (4, "角色"), (4, "部门"), (5, "村"), (6, "村"), (7, "包联村"), (8, "网格"),
        (9, "包联村"), (11, "县"),
    }, report.errors


def test_multiple_roles_in_one_cell(db):
    table = [["乡镇", "村", "网格", "姓名", "手机号", "角色", "部门"],
             ["东岭镇", "东岭村", "第一网格", "马学军", "13910000127", "村书记、网格员", ""],
             ["东岭镇", "", "", "杨文斌", "13910000036", "分管领导,新闻发言人", "网信办"]]
    report = run_import(db, "r.csv", to_csv(table))
    assert report.errors == [] and report.created == 2
    people = snapshot(db)["people"]
    assert people["13910000127"]["roles"] == {"村书记", "网格员"}
    assert people["13910000127"]["unit"] == "东岭镇/东岭村/第一网格"
    assert people["13910000036"]["dept"] == "东岭镇:网信办"


def test_userid_bound_to_someone_else_in_the_database(db):
    run_import(db, "roster.csv", SAMPLE.read_bytes())
    # A new person claims the county main leader's userid: bad.
    table = [["乡镇", "姓名", "手机号", "角色", "企业微信账号"],
             ["东岭镇", "新来的", "13700000001", "办公室", "zhuyaolingdao"]]
    report = run_import(db, "r.csv", to_csv(table))
    assert report.refused and errors_at(report) == {(2, "企业微信账号")}
    assert "王建国" in report.errors[0].reason
    # Two people swapping userids in the same file is fine: each frees the other's.
    header, *rows = sample_rows()
    a = next(r for r in rows if r[9] == "dl_v1_sj")
    b = next(r for r in rows if r[9] == "dl_v1_wg1")
    a[9], b[9] = b[9], a[9]
    report = run_import(db, "roster.csv", to_csv([header, *rows]))
    assert report.errors == [] and (report.updated, report.unchanged) == (2, 62)
    people = snapshot(db)["people"]
    assert ("work", "dl_v1_wg1", True) in people[a[5]]["idents"]
    assert ("work", "dl_v1_sj", True) in people[b[5]]["idents"]
    # Giving a userid freed by someone whose own row is bad (so keeps it) is bad.
    header, *rows = sample_rows()
    c = next(r for r in rows if r[9] == "xh_v1_sj")
    d = next(r for r in rows if r[9] == "xh_v1_wg1")
    c[9], d[9] = "xh_new", "xh_v1_sj"
    c[6] = "书记"
    report = run_import(db, "roster.csv", to_csv([header, *rows]), skip_bad_rows=True)
    assert {(e.column) for e in report.errors} == {"角色", "企业微信账号"}


# -- changes ---------------------------------------------------------------------------------

def test_a_changed_file_updates_in_place_and_deactivates_the_missing(db):
    run_import(db, "roster.csv", SAMPLE.read_bytes())
    with db() as s:
        ids = {p.phone: p.id for p in s.scalars(select(Person))}
        s.add(ChatIdentity(person_id=ids["13910000148"], channel="mp", external_id="openid-1"))
        s.commit()
    header, *rows = sample_rows()
    by_phone = {r[5]: r for r in rows}
    by_phone["13910000127"][4] = "马学君"  # renamed
    by_phone["13910000141"][3] = "第三网格"  # moved to a new grid
    by_phone["13910000134"][6] = "村两委、网格员"  # a new role …
    by_phone["13910000134"][3] = "第二网格"  # … with a grid
    by_phone["13910000008"][6] = "新闻发言人"  # role replaced
    by_phone["13910000113"][8] = "东岭村"  # covers one village fewer
    by_phone["13910000029"][9] = "dl_shuji2"  # new userid
    by_phone["13910000015"][9] = ""  # userid removed
    removed = by_phone.pop("13910000148")  # 宋雪梅 leaves
    rows = list(by_phone.values()) + [["平安县", "西河乡", "西河村", "第一网格", "新网格员", "13600000001", "网格员",
                                       "", "", "newbie"]]
    report = run_import(db, "roster.csv", to_csv([header, *rows]))
    assert report.errors == []
    assert (report.created, report.updated, report.unchanged, report.deactivated) == (1, 7, 56, 1)
    people = snapshot(db)["people"]
    assert people["13910000127"]["name"] == "马学君"
    assert people["13910000141"]["unit"] == "平安县/东岭镇/东岭村/第三网格"
    assert people["13910000134"]["roles"] == {"村两委", "网格员"}
    assert people["13910000134"]["unit"] == "平安县/东岭镇/东岭村/第二网格"
    assert people["13910000008"]["roles"] == {"新闻发言人"}
    assert people["13910000113"]["covers"] == {"平安县/东岭镇/东岭村"}
    assert people["13910000029"]["idents"] == {("work", "dl_shuji", False), ("work", "dl_shuji2", True)}
    assert people["13910000015"]["idents"] == {("work", "xianban01", False)}
    gone = people[removed[5]]
    assert gone["active"] is False and gone["roles"] == {"网格员"}
    assert gone["idents"] == {("work", "dl_v1_wg2", False), ("mp", "openid-1", False)}
    with db() as s:
        assert ids == {p.phone: p.id for p in s.scalars(select(Person)) if p.phone in ids}  # same rows, updated
    # The same changed file again: nothing to do.
    report = run_import(db, "roster.csv", to_csv([header, *rows]))
    assert (report.created, report.updated, report.unchanged, report.deactivated) == (0, 0, 64, 0)
    # The original again: the leaver comes back (their WeCom userid too), the newcomer goes.
    report = run_import(db, "roster.csv", SAMPLE.read_bytes())
    assert (report.created, report.updated, report.unchanged, report.deactivated) == (0, 8, 56, 1)
    people = snapshot(db)["people"]
    assert people[removed[5]]["active"] is True
    # Their WeCom userid is back (the roster says so); the Official Account needs binding again.
    assert people[removed[5]]["idents"] == {("work", "dl_v1_wg2", True), ("mp", "openid-1", False)}
    assert people["13910000029"]["idents"] == {("work", "dl_shuji", True), ("work", "dl_shuji2", False)}
    assert people["13600000001"]["active"] is False


def test_county_column_added_later_moves_townships_under_it(db):
    header, *rows = sample_rows()
    no_county = [r[1:] for r in [header, *rows] if r[1]]  # township people only, no 县 column
    report = run_import(db, "r.csv", to_csv(no_county))
    assert report.errors == [] and report.created == 60
    with db() as s:
        assert {u.parent_id for u in s.scalars(select(Unit).where(Unit.kind == "township"))} == {None}
    report = run_import(db, "r.csv", SAMPLE.read_bytes())
    assert report.errors == [] and (report.created, report.updated, report.unchanged) == (4, 0, 60)
    assert snapshot(db)["people"] == expected_people(sample_rows())


# -- command line -----------------------------------------------------------------------------

def test_cli_imports_and_refuses(database_url, db, tmp_path):
    runner = CliRunner()
    env = {"GRIDLINE_DATABASE_URL": database_url}
    result = runner.invoke(cli, ["org", "import", str(SAMPLE)], env=env)
    assert result.exit_code == 0, result.output
    assert "新增64人" in result.output
    assert count(db, Person) == 64

    result = runner.invoke(cli, ["org", "import", str(BAD)], env=env)
    assert result.exit_code == 1
    assert "第3行 网格：网格员须填写网格" in result.output
    assert "第11行 手机号：手机号与第2行重复" in result.output
    assert "未导入任何数据" in result.output
    assert count(db, Person) == 64 and all(p["active"] for p in snapshot(db)["people"].values())

    result = runner.invoke(cli, ["org", "import", "--skip-bad-rows", str(BAD)], env=env)
    assert result.exit_code == 0, result.output
    assert "第16行 企业微信账号" in result.output
    assert "新增1人" in result.output and "更新1人" in result.output and "停用61人" in result.output and "已跳过" in result.output

    result = runner.invoke(cli, ["org", "import", str(tmp_path / "nope.csv")], env=env)
    assert result.exit_code == 2


def test_cli_large_file_through_a_subprocess(database_url, tmp_path):
    path = tmp_path / "big.xlsx"
    path.write_bytes(to_xlsx(big_roster(600)))
    env = {**os.environ, "GRIDLINE_DATABASE_URL": database_url}
    result = subprocess.run([sys.executable, "-m", "app.cli", "org", "import", str(path)],
                            cwd=Path(__file__).parents[1], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "新增600人" in result.stdout


# -- a large roster ------------------------------------------------------------------------------

def big_roster(n: int) -> list[list[str]]:
    """n people: 10 townships × 25 villages × 4 grids, a secretary, committee and grid workers."""
    table = [["乡镇", "村", "网格", "姓名", "手机号", "角色", "部门", "包联村", "企业微信账号"]]
    i = 0
    while len(table) - 1 < n:
        t, v, k = i // 500 % 10, i // 20 % 25, i % 20
        township, village = f"第{t + 1}镇", f"第{v + 1}村"
        if k == 0:
            row = [township, village, "", f"书记{i}", "", "村书记", "", "", ""]
        elif k == 1:
            row = [township, "", "", f"包村{i}", "", "包村领导", "", village, ""]
        elif k == 2:
            row = [township, "", "", f"联络{i}", "", "部门联络员", "纪委", "", ""]
        elif k < 6:
            row = [township, village, "", f"两委{i}", "", "村两委", "", "", ""]
        else:
            row = [township, village, f"第{k % 4 + 1}网格", f"网格员{i}", "", "网格员", "", "", f"u{i}"]
        row[4] = f"15{i + 100000000:09d}"
        table.append(row)
        i += 1
    return table


def test_a_5000_row_roster(db, database_url, capsys):
    table = big_roster(5000)
    data = to_csv(table)
    seen: list[tuple[int, int]] = []
    started = time.perf_counter()
    report = run_import(db, "big.csv", data, progress=lambda done, total: seen.append((done, total)))
    took = time.perf_counter() - started
    assert report.errors == [] and report.created == 5000
    assert seen[0] == (0, 5000) and seen[-1] == (5000, 5000)
    started = time.perf_counter()
    again = run_import(db, "big.csv", data)
    took_again = time.perf_counter() - started
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5000)
    xlsx = to_xlsx(table)
    started = time.perf_counter()
    rows, errors = read_roster("big.xlsx", xlsx)
    took_xlsx = time.perf_counter() - started
    assert len(rows) == 5000 and not errors
    engine = database_url.split(":")[0]
    with capsys.disabled():
        print(f"\n5000-row roster on {engine}: first import {took:.2f}s, again {took_again:.2f}s, "
              f"reading the XLSX {took_xlsx:.2f}s")


def test_a_title_line_above_the_header_is_passed_over():
    table = [["东岭镇网格人员花名册", "", ""], ["乡镇", "姓名", "角色"], ["东岭镇", "张三", "办公室"]]
    rows, errors = read_roster("r.csv", to_csv(table))
    assert errors == [] and rows == [{"乡镇": "东岭镇", "姓名": "张三", "角色": "办公室", "_row": "3"}]
    rows, errors = read_roster("r.csv", to_csv([["乡镇", "名字", "角色"], ["东岭镇", "张三", "办公室"]]))
    assert [(e.row, e.column) for e in errors] == [(1, "姓名")]
