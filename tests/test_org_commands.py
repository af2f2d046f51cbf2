"""gridline org chats / org invite, and the roster upload through the admin API."""

from pathlib import Path

import httpx
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app as cli
from handlers import texts
from models import ChatTarget, Invite, Person, Unit
from tests.conftest import T0
from tests.wxclient import Peer

SAMPLE = Path(__file__).parent / "data" / "roster.csv"
ADMIN = {"Authorization": "Bearer adm"}
ROBOT = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


def invoke(database_url, *args):
    return CliRunner().invoke(cli, list(args), env={"GRIDLINE_DATABASE_URL": database_url})


def imported(database_url):
    result = invoke(database_url, "org", "import", str(SAMPLE))
    assert result.exit_code == 0, result.output


def chats_file(tmp_path, rows, name="chats.csv") -> str:
    path = tmp_path / name
    path.write_text("\n".join(",".join(r) for r in [["乡镇", "村", "类型", "标识"], *rows]), encoding="utf-8")
    return str(path)


def targets(db) -> set[tuple[str, str, str]]:
    with db() as s:
        rows = s.execute(select(Unit.name, ChatTarget.kind, ChatTarget.key).join(Unit, Unit.id == ChatTarget.unit_id))
        return set(map(tuple, rows))


def test_chats_import_is_idempotent_and_the_file_is_the_truth(database_url, db, tmp_path):
    imported(database_url)
    rows = [["东岭镇", "杏花村", "群机器人", f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={ROBOT}"],
            ["东岭镇", "", "应用群聊", "dlzhen01"],
            ["西河乡", "南沟村", "群机器人", "a" * 36]]
    path = chats_file(tmp_path, rows)
    result = invoke(database_url, "org", "chats", path)
    assert result.exit_code == 0, result.output
    assert "新增3个群" in result.output
    assert targets(db) == {("杏花村", "robot", ROBOT), ("东岭镇", "appchat", "dlzhen01"), ("南沟村", "robot", "a" * 36)}
    assert "未变3个" in invoke(database_url, "org", "chats", path).output
    # moved to another village, one dropped
    path = chats_file(tmp_path, [["东岭镇", "柳河村", "群机器人", ROBOT], rows[1]])
    result = invoke(database_url, "org", "chats", path)
    assert "更新1个" in result.output and "删除1个" in result.output
    assert targets(db) == {("柳河村", "robot", ROBOT), ("东岭镇", "appchat", "dlzhen01")}


def test_chats_with_errors_are_refused_whole(database_url, db, tmp_path):
    imported(database_url)
    path = chats_file(tmp_path, [
        ["东岭镇", "杏花村", "群机器人", ROBOT],
        ["无此镇", "", "群机器人", "b" * 36],
        ["东岭镇", "无此村", "应用群聊", "x1"],
        ["东岭镇", "", "电话", "x2"],
        ["东岭镇", "", "应用群聊", "有空格 的id"],
        ["西河乡", "南沟村", "群机器人", ROBOT],
    ])
    result = invoke(database_url, "org", "chats", path)
    assert result.exit_code == 1
    for line in ("第3行 乡镇：" + texts.T_CHAT_TOWNSHIP_UNKNOWN.format(township="无此镇"),
                 "第4行 村：" + texts.T_CHAT_VILLAGE_UNKNOWN.format(township="东岭镇", village="无此村"),
                 "第5行 类型：" + texts.T_CHAT_KIND,
                 "第6行 标识：" + texts.T_CHAT_KEY_BAD,
                 "第7行 标识：" + texts.T_CHAT_KEY_DUP.format(row=2)):
        assert line in result.output
    assert targets(db) == set()


def test_invite_prints_the_code_alone_on_its_last_line(database_url, db):
    imported(database_url)
    result = invoke(database_url, "org", "invite", "13910000029")
    assert result.exit_code == 0, result.output
    code = result.output.strip().splitlines()[-1]
    assert len(code) == 6 and code.isdigit()
    with db() as s:
        invite = s.scalars(select(Invite)).one()
        assert (invite.code, s.get(Person, invite.person_id).name) == (code, "陈海燕")
    assert invoke(database_url, "org", "invite", "陈海燕").exit_code == 0  # by name too


def test_invite_for_nobody_or_an_ambiguous_name(database_url, db):
    imported(database_url)
    result = invoke(database_url, "org", "invite", "查无此人")
    assert result.exit_code == 1 and "没有找到" in result.output
    with db.begin() as s:  # a namesake
        other = s.scalars(select(Person).where(Person.name == "陈海燕")).one()
        s.add(Person(name="陈海燕", phone="13999999999", unit_id=other.unit_id))
    result = invoke(database_url, "org", "invite", "陈海燕")
    assert result.exit_code == 1 and "13999999999" in result.output


def test_an_invite_from_the_command_line_binds_in_chat(database_url, serve):
    imported(database_url)
    code = invoke(database_url, "org", "invite", "陈海燕").output.strip().splitlines()[-1]
    server = serve(mp_token="tok", mp_allow_plaintext=True)
    peer = Peer(server.url, "mp", "tok", timestamp=T0)
    reply = peer.open_reply(peer.send(peer.message("o-chen", Content=f"绑定 {code}")))
    assert reply["Content"] == texts.BOUND.format(name="陈海燕")


def test_roster_upload_through_the_api(serve, db):
    server = serve(admin_token="adm")
    files = {"file": ("roster.csv", SAMPLE.read_bytes(), "text/csv")}
    resp = httpx.post(server.url + "/api/org/import", files=files, headers=ADMIN, timeout=60)
    assert resp.status_code == 200, resp.text
    assert (resp.json()["created"], resp.json()["refused"]) == (64, False)
    bad = {"file": ("bad.csv", (Path(__file__).parent / "data" / "roster_bad.csv").read_bytes(), "text/csv")}
    resp = httpx.post(server.url + "/api/org/import", files=bad, headers=ADMIN, timeout=60)
    assert resp.status_code == 422
    errors = resp.json()["detail"]["errors"]
    assert {"row": 3, "column": "网格", "reason": "网格员须填写网格"} in errors
    assert httpx.get(server.url + "/api/people", headers=ADMIN).json()["total"] == 64  # nothing changed
    assert httpx.post(server.url + "/api/org/import", headers=ADMIN).status_code == 422  # no file at all
