"""Settings from the environment and .env, secrets kept out of sight, and the CLI."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from app.cli import app as cli
from app.main import ConfigError, create_app
from app.settings import Settings
from tests.conftest import LiveServer

ROOT = Path(__file__).parents[1]


def test_env_prefix_and_dotenv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("GRIDLINE_MP_TOKEN=from-dotenv\nGRIDLINE_TIMEZONE=Asia/Urumqi\n")
    monkeypatch.setenv("GRIDLINE_TIMEZONE", "Asia/Shanghai")  # the environment wins over .env
    monkeypatch.setenv("GRIDLINE_MAX_MESSAGE_AGE_S", "0")
    settings = Settings()
    assert settings.mp_token.get_secret_value() == "from-dotenv"
    assert settings.timezone == "Asia/Shanghai"
    assert settings.max_message_age_s == 0


def test_defaults(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("GRIDLINE_"):
            monkeypatch.delenv(name)
    s = Settings()
    assert s.database_url == "sqlite:///./var/gridline.db"
    assert (s.wechat_api_base, s.wecom_api_base) == ("https://api.weixin.qq.com", "https://qyapi.weixin.qq.com")
    assert (s.timezone, s.max_message_age_s, s.reply_budget_s) == ("Asia/Shanghai", 300, 4.0)


def test_secrets_never_shown():
    s = Settings(_env_file=None, admin_token="adm-secret", mp_app_secret="mp-secret", work_secret="wk-secret",
                 mp_token="mp-tok", work_aes_key="k" * 43, database_url="postgresql+psycopg://u:pw-secret@h/db")
    shown = repr(s) + str(s.model_dump())
    for secret in ("adm-secret", "mp-secret", "wk-secret", "mp-tok", "k" * 43):
        assert secret not in shown


def test_bad_aes_key_is_a_clear_startup_error():
    with pytest.raises(ConfigError, match="GRIDLINE_WORK_AES_KEY"):
        create_app(Settings(_env_file=None, work_token="t", work_aes_key="short", work_corp_id="ww1"))
    with pytest.raises(ConfigError, match="GRIDLINE_MP_AES_KEY"):
        create_app(Settings(_env_file=None, mp_token="t", mp_aes_key="a" * 43))  # no app id


def test_cli_help_lists_commands():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "serve" in result.output and "db" in result.output


def test_db_upgrade_command_creates_the_sqlite_file(tmp_path):
    db = tmp_path / "nested" / "g.db"
    env = {**os.environ, "GRIDLINE_DATABASE_URL": f"sqlite:///{db}"}
    result = subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert db.exists()


def test_startup_log_hides_database_password(database_url, caplog):
    caplog.set_level(logging.INFO)
    url = database_url.replace("gridline@", "gridline:pw-secret@") if "postgresql" in database_url else database_url
    server = LiveServer(create_app(Settings(_env_file=None, database_url=url))).start()
    try:
        assert httpx.get(server.url + "/healthz").status_code == 200
    finally:
        server.stop()
    assert "pw-secret" not in caplog.text
    assert any(r.msg == "started" for r in caplog.records)


def test_health_says_so_when_the_database_is_down():
    settings = Settings(_env_file=None, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    server = LiveServer(create_app(settings)).start()
    try:
        resp = httpx.get(server.url + "/healthz", timeout=30)
    finally:
        server.stop()
    assert resp.status_code == 503 and resp.json() == {"status": "database unavailable"}


def test_dispatch_writers_are_one_on_sqlite_four_on_postgresql_unless_set():
    pg = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    assert Settings(_env_file=None, database_url="sqlite:///./x.db").writers == 1
    assert Settings(_env_file=None, database_url=pg).writers == 4
    assert Settings(_env_file=None, database_url=pg, dispatch_writers=2).writers == 2
    with pytest.raises(ValueError):
        Settings(_env_file=None, dispatch_writers=-1)


def test_the_server_handles_messages_with_the_writers_it_is_given(database_url):
    app = create_app(Settings(_env_file=None, database_url=database_url, dispatch_writers=3))
    server = LiveServer(app).start()
    try:
        assert httpx.get(server.url + "/healthz").status_code == 200
        assert len(app.state.dispatcher.writers) == 3
    finally:
        server.stop()
