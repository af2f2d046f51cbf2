"""The console in a real Chromium (Debian's chromium + chromium-driver, driven by Selenium): a township's
day from sign-in through the fake WeCom QR page to the ledger. Screenshots at phone and desktop size go to
artefacts/console/ (git-ignored) for people to look at."""

import os
import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from handlers import wording
from models import Unit
from tests.casework import file, person
from tests.test_console_pages import file_cadre_case

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ARTEFACTS = Path(__file__).resolve().parent.parent / "artefacts" / "console"
PHONE, DESKTOP = (390, 844), (1280, 900)


@pytest.fixture
def once(database_url):
    """The browser walks run once, on SQLite: the HTTP tests cover both engines."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the browser walks run on SQLite only (the HTTP tests cover both engines)")


@pytest.fixture
def browser(tmp_path):
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        reason = os.environ.get("GRIDLINE_TEST_BROWSER_SKIP", "chromium / chromium-driver not installed")
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests: {reason}")
        pytest.skip(f"browser tests skipped: {reason}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--lang=zh-CN",
                f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={DESKTOP[0]},{DESKTOP[1]}"):
        options.add_argument(arg)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    driver.downloads = downloads
    yield driver
    driver.quit()


def shoot(driver, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in (("phone", PHONE), ("desktop", DESKTOP)):
        driver.set_window_size(width, height)
        driver.save_screenshot(str(ARTEFACTS / f"{name}-{label}.png"))
    driver.set_window_size(*DESKTOP)


def sign_in_as(driver, console, name: str) -> None:
    """Through the fake QR page, as a person would: open the console, pick who scans."""
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(console.url + "/console")
    assert "扫码登录" in driver.title
    driver.find_element(By.PARTIAL_LINK_TEXT, name).click()


def wait_for(driver, text: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while text not in driver.page_source:
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never appeared on {driver.current_url}")
        time.sleep(0.1)


def test_a_township_day_in_the_browser(once, console, browser):
    from selenium.webdriver.common.by import By

    clock = console.clock
    code = file(console.sessions, clock.now(), "北坡村", "信访诉求", "信访办", "北坡村征地补偿款没发，有人说要去县里")
    cadre = file_cadre_case(console)
    with console.sessions.begin() as s:
        beipo = s.scalars(select(Unit.id).where(Unit.name == "北坡村")).one()
        number = wording.draft(s, person(s, "office"), "北坡村征地补偿说明",
                               "一、基本情况：补偿款已拨付\n二、已采取措施：入户说明", wording.Audience((beipo,), ("村书记",)),
                               clock.now()).wording_id

    # The office worker signs in on a desktop through the QR page and works the case.
    sign_in_as(browser, console, "办公室小赵")
    wait_for(browser, code)
    assert cadre in browser.page_source
    shoot(browser, "inbox")
    browser.find_element(By.PARTIAL_LINK_TEXT, code).click()
    wait_for(browser, "通知了谁")
    shoot(browser, "case")
    form = browser.find_element(By.CSS_SELECTOR, "form.row input[name=note][placeholder^='督办']")
    form.send_keys("请今天约见群众")
    form.find_element(By.XPATH, "following-sibling::button").click()
    wait_for(browser, "已列为督办")
    assert "请今天约见群众" in browser.page_source and "办公室小赵" in browser.page_source

    # The ledger downloads.
    browser.get(console.url + "/console/ledger")
    browser.find_element(By.CSS_SELECTOR, "form.stack button").click()
    deadline = time.monotonic() + 15
    while not list(browser.downloads.glob("*.xlsx")):
        assert time.monotonic() < deadline, "the ledger never downloaded"
        time.sleep(0.2)

    browser.get(console.url + "/console/figures")
    wait_for(browser, "分单位统计")
    shoot(browser, "figures")

    # The main leader approves the wording in person; the office publishes and sees who is pending.
    sign_in_as(browser, console, "乡长")
    browser.get(f"{console.url}/console/wordings/{number}")
    browser.find_element(By.XPATH, "//button[text()='批准']").click()
    wait_for(browser, "已批准")
    sign_in_as(browser, console, "办公室小赵")
    browser.get(f"{console.url}/console/wordings/{number}")
    browser.find_element(By.XPATH, "//button[text()='发布']").click()
    wait_for(browser, "收到 0/1")
    assert "北坡村书记" in browser.page_source and "未回复" in browser.page_source
    shoot(browser, "wording")

    # The accused village's secretary finds no trace of the cadre case.
    sign_in_as(browser, console, "西岔村书记")
    wait_for(browser, "工作台仅供乡镇干部使用")
    assert cadre not in browser.page_source and "贪污" not in browser.page_source
    shutil.rmtree(browser.downloads)


def test_inside_the_wecom_client_on_a_phone_sign_in_is_web_oauth(once, console, browser):
    from selenium.webdriver.common.by import By

    code = file(console.sessions, console.clock.now(), "西岔村", "涉贫政策", "乡村振兴办", "低保评定不公开")
    browser.execute_cdp_cmd("Network.setUserAgentOverride", {
        "userAgent": "Mozilla/5.0 (Linux; Android 13) Mobile MicroMessenger/8.0 wxwork/4.1.30 Language/zh_CN"})
    browser.set_window_size(*PHONE)
    browser.get(console.url + f"/console/cases/{code}")
    assert "网页授权" in browser.title  # the fake OAuth page, not the QR login
    browser.find_element(By.PARTIAL_LINK_TEXT, "包村领导甲").click()
    wait_for(browser, code)  # back on the case page it was opening
    assert "低保评定不公开" in browser.page_source and "网格员小王" not in browser.page_source


def test_the_office_checks_a_roster_sees_the_bad_row_then_imports(once, console, browser, tmp_path):
    """The roster import through htmx: 检查 swaps in every bad row while the chosen file stays; a
    corrected file checks clean and 导入 applies it."""
    from selenium.webdriver.common.by import By

    from tests import township

    first_new_row = len(township.roster_rows()) + 2
    bad = tmp_path / "花名册.csv"
    bad.write_text("\n".join([township.HEADER, *township.roster_rows(),
                              "白水乡,北坡村,三网格,网格员小孙,1380000,网格员,,,gw3"]), encoding="utf-8")
    sign_in_as(browser, console, "办公室小赵")
    wait_for(browser, "办公室小赵")
    browser.get(console.url + "/console/settings/roster")
    chooser = browser.find_element(By.CSS_SELECTOR, "input[type=file]")
    chooser.send_keys(str(bad))
    browser.find_element(By.XPATH, "//button[@value='check']").click()
    wait_for(browser, "不能导入")
    cells = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "table.roster-errors td")]
    assert cells == [str(first_new_row), "手机号", "应为以1开头的11位手机号"]
    assert "roster" in browser.current_url  # htmx swapped the result in; the page stayed
    shoot(browser, "roster")

    good = tmp_path / "花名册（改）.csv"
    good.write_text(bad.read_text(encoding="utf-8").replace("1380000,", "13800000009,"), encoding="utf-8")
    chooser = browser.find_element(By.CSS_SELECTOR, "input[type=file]")
    chooser.clear()
    chooser.send_keys(str(good))
    browser.find_element(By.XPATH, "//button[@value='check']").click()
    wait_for(browser, "检查通过")
    browser.find_element(By.XPATH, "//button[@value='apply']").click()
    wait_for(browser, "已导入：新增1人")
    with console.sessions() as s:
        from models import Person

        assert s.scalars(select(Person.name).where(Person.phone == "13800000009")).one() == "网格员小孙"
