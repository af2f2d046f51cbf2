"""Settings from the environment (prefix GRIDLINE_) and an optional .env file."""

from functools import cached_property

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from handlers import weekly
from handlers.learning import RETRAIN

DEFAULT_DATABASE_URL = "sqlite:///./var/gridline.db"


PG_WRITERS = 4  # dispatch threads a process on PostgreSQL, unless GRIDLINE_DISPATCH_WRITERS says


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRIDLINE_", env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    admin_token: SecretStr = SecretStr("")

    mp_app_id: str = ""
    mp_app_secret: SecretStr = SecretStr("")
    mp_token: SecretStr = SecretStr("")
    # No AES key: the Official Account runs in plaintext mode — only when allowed below, since its
    # signature does not cover the message body.
    mp_aes_key: SecretStr = SecretStr("")
    mp_allow_plaintext: bool = False
    mp_template_id: str = ""
    # The template field that carries the message text (templates name their fields).
    mp_template_field: str = "content"

    work_corp_id: str = ""
    work_agent_id: str = ""
    work_secret: SecretStr = SecretStr("")
    work_token: SecretStr = SecretStr("")
    work_aes_key: SecretStr = SecretStr("")

    wechat_api_base: str = "https://api.weixin.qq.com"
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    # The office console's sign-in through WeCom: web OAuth inside the client, QR login on a desktop.
    wecom_oauth_base: str = "https://open.weixin.qq.com"
    wecom_sso_base: str = "https://login.work.weixin.qq.com"
    # Where people reach this server (WeCom sends them back here); unset: the address the browser used.
    public_url: str = ""
    # Signs the console's session cookie; unset: the console is off.
    secret_key: SecretStr = SecretStr("")
    console_session_hours: float = Field(default=12, gt=0)
    timezone: str = "Asia/Shanghai"
    # Reject callbacks whose timestamp is further than this from now; 0 turns the check off.
    max_message_age_s: int = Field(default=300, ge=0)
    # WeChat waits 5 s for a passive reply; work still running after this is answered later.
    reply_budget_s: float = Field(default=4.0, gt=0)
    # Threads a server process writes messages with; 0: one on SQLite (one writer at a time anyway), four on
    # PostgreSQL (more contend for the interpreter and for the day's case counter: see README, Benchmarks).
    dispatch_writers: int = Field(default=0, ge=0)
    # How often the server runs due work (reminders, escalations, outbox delivery); 0: never (run `gridline jobs run-due` instead).
    tick_s: float = Field(default=30.0, ge=0)
    # The office's own classification rules (TOML); unset: the defaults shipped in handlers/rules.toml.
    rules_file: str | None = None
    # The classifier's model, written by `gridline classify train` (and the weekly retrain); missing: the rules alone.
    model_file: str = "./var/classifier.model"
    # The weekly retrain of the classifier on the county's decisions, local time; empty: never.
    retrain_at: str = "SUN 03:00"
    # The office's deadline policy (TOML); unset: the defaults shipped in handlers/policy.toml.
    policy_file: str | None = None
    # The ledger's week, local time: units update their open cases, then the main leaders get the summary.
    weekly_update_at: str = "FRI 16:00"
    weekly_summary_at: str = "MON 08:30"
    log_level: str = "INFO"

    @field_validator("weekly_update_at", "weekly_summary_at")
    @classmethod
    def _weekly(cls, value: str) -> str:
        weekly.Weekly.parse(value)  # a bad value stops start-up, naming the setting
        return value

    @field_validator("retrain_at")
    @classmethod
    def _retrain(cls, value: str) -> str:
        return cls._weekly(value) if value else value  # empty: no weekly retrain

    @cached_property
    def weekly_schedules(self) -> dict[str, weekly.Weekly]:
        schedules = {weekly.UPDATE: weekly.Weekly.parse(self.weekly_update_at),
                     weekly.SUMMARY: weekly.Weekly.parse(self.weekly_summary_at)}
        if self.retrain_at:
            schedules[RETRAIN] = weekly.Weekly.parse(self.retrain_at)
        return schedules

    @cached_property
    def job_payloads(self) -> dict[str, dict]:
        """What a weekly job needs from the settings, stored on its row (handlers know no settings)."""
        return {RETRAIN: {"model_file": self.model_file, "rules_file": self.rules_file}}

    def secrets(self) -> list[SecretStr]:
        """Every secret setting: app/logs.py masks their values wherever they would appear."""
        return [value for value in vars(self).values() if isinstance(value, SecretStr)]

    @cached_property
    def sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def writers(self) -> int:
        """Dispatch threads of a server process (`dispatch_writers`, or the engine's default)."""
        return self.dispatch_writers or (1 if self.sqlite else PG_WRITERS)
