"""The sandbox: a faithful in-memory fake of the WeChat Official Account and WeCom APIs.

    fake = FakeWeChat(clock)                      # or: app = create_fake(clock); fake = app.state.fake
    fake.add_mp_account("wx123", "secret").add_openid("o...", last_message_at=now)
    fake.add_work_app("ww123", "wsecret", 1000002).add_userid("zhangsan").add_robot("KEY")
    server = fake.serve()                         # or tests' LiveServer(fake.app)
    # GRIDLINE_WECHAT_API_BASE=server.mp_base, GRIDLINE_WECOM_API_BASE=server.work_base
    fake.delivered("zhangsan"); fake.calls(); fake.fail(0.3, seed=1); fake.down(True)

See ``fake_wechat.py`` for the endpoints and behaviours, ``errcodes.py`` for codes and sources.
"""

from app.sandbox.fake_wechat import (
    DEFAULT_FAULT_KINDS,
    ENDPOINTS,
    FAULT_KINDS,
    CallRecord,
    Delivery,
    Dropped,
    FakeWeChat,
    create_fake,
)
from app.sandbox.server import SandboxServer

__all__ = [
    "DEFAULT_FAULT_KINDS",
    "ENDPOINTS",
    "FAULT_KINDS",
    "CallRecord",
    "Delivery",
    "Dropped",
    "FakeWeChat",
    "SandboxServer",
    "create_fake",
]
