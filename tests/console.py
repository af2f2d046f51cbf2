"""The office console under test: the app on the test database, the fake WeCom serving sign-in,
and a browser-like client per person that signs in through the fake QR page."""

from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from app.sandbox import FakeWeChat
from tests import township

CORP, SECRET, AGENT = "wwconsoletest0001", "console-secret", "1000002"
SECRET_KEY = "console-test-secret-key"
ADMIN_TOKEN = "admin-token-for-machines"
STRANGER = "stranger"  # a member of the WeCom corp who is not on the roster


def roster_userids() -> dict[str, str]:
    """userid → name of everyone on the test township's roster."""
    found = {}
    for row in township.roster_rows():
        cells = row.split(",")
        found[cells[8]] = cells[3]
    return found


def fake_wecom(clock) -> FakeWeChat:
    fake = FakeWeChat(clock)
    fake.add_work_app(CORP, SECRET, AGENT)
    names = roster_userids()
    fake.add_userid(*names, STRANGER)
    fake.name_members({**names, STRANGER: "外单位人员"})
    return fake


def settings(sandbox, **overrides) -> dict:
    return {"work_corp_id": CORP, "work_agent_id": AGENT, "work_secret": SECRET, "secret_key": SECRET_KEY,
            "admin_token": ADMIN_TOKEN, "wecom_api_base": sandbox.work_base,
            "wecom_oauth_base": sandbox.url + "/open", "wecom_sso_base": sandbox.url + "/sso", **overrides}


@dataclass
class Login:
    """A sign-in halfway: the browser is at WeCom's page, holding the state cookie."""

    client: httpx.Client
    wecom_url: str

    @property
    def state(self) -> str:
        return parse_qs(urlsplit(self.wecom_url).query)["state"][0]

    def scan(self, userid: str) -> str:
        """Choose the member on the fake page: the /console/auth URL WeCom sends the browser back to."""
        url = self.wecom_url.split("#", 1)[0] + "&" + urlencode({"as_userid": userid})  # the fragment stays in the browser
        answer = httpx.get(url, follow_redirects=False)
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]

    def back(self, auth_url: str) -> httpx.Response:
        return self.client.get(auth_url)


def start_login(base_url: str, user_agent: str = "Mozilla/5.0 (X11; Linux x86_64)", next_path: str = "") -> Login:
    client = httpx.Client(base_url=base_url, follow_redirects=False, headers={"user-agent": user_agent}, timeout=30)
    answer = client.get("/console/login", params={"next": next_path} if next_path else None)
    assert answer.status_code == 303, answer.text
    return Login(client, answer.headers["location"])


def sign_in(base_url: str, userid: str) -> httpx.Client:
    login = start_login(base_url)
    answer = login.back(login.scan(userid))
    assert answer.status_code == 303, answer.text
    return login.client


def csrf(client: httpx.Client, path: str = "/console") -> str:
    """The session's CSRF token, as the page carries it."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    marker = 'name="csrf" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start:page.text.index('"', start)]
