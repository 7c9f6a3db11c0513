"""Browser-console test support: the real mailnest plus headless Chromium
driven by selenium (Debian's chromium, chromium-driver, python3-selenium).

    from console_support import console, browser  # noqa: F401 (fixtures)

    def test_x(console):
        console.open("#/mail")
        console.screenshot("mail")
        console.assert_no_severe_logs()

`console` starts mailnest (conftest's mailnest_factory: free ports) and one
browser; `browser` is the bare selenium driver for a test that starts its own
mailnest (console.attach(mn)). Without chromium, chromedriver or selenium the
tests skip saying which is missing (the container's tester image has none).
Screenshots go to artifacts/screenshots/<name>.png under the repository root.
"""
import os
import shutil
import time
import urllib.request
from pathlib import Path

import pytest

selenium = pytest.importorskip("selenium", reason="python3-selenium is not installed (scripts/install-deps --test)")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _missing():
    if not Path(CHROMEDRIVER).exists():
        return f"chromedriver not found at {CHROMEDRIVER} (Debian chromium-driver)"
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        return f"chromium not found at {CHROMIUM} (Debian chromium)"
    return None


def make_driver(width=1280, height=900, dark=False):
    why = _missing()
    if why:
        pytest.skip(why)
    opts = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}",
              "--disable-gpu", "--no-first-run", "--disable-extensions", "--disable-background-networking"):
        opts.add_argument(a)
    if dark:
        opts.add_argument("--force-dark-mode")
        opts.add_argument("--blink-settings=preferredColorScheme=0")
    if Path(CHROMIUM).exists():
        opts.binary_location = CHROMIUM
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_window_size(width, height)
    driver.set_page_load_timeout(30)
    return driver


class Console:
    """One mailnest and one browser looking at its console."""

    def __init__(self, driver, mn=None):
        self.driver = driver
        self.mn = mn
        self.logs = []  # every browser log entry read so far

    def attach(self, mn):
        self.mn = mn
        return self

    @property
    def base(self):
        return f"http://127.0.0.1:{self.mn.http_port}"

    def open(self, hash_route="#/mail", wait_for=None, timeout=10):
        """Loads the console at hash_route; waits for the page module to mount
        (or for the CSS selector wait_for)."""
        self.driver.get(self.base + "/" + hash_route)
        self.wait_css(wait_for or "#view .page", timeout)
        return self

    def wait(self, fn, timeout=10, what="condition"):
        # A live page re-renders under the test (SSE events): an element found
        # a moment ago may be gone, which only means "look again".
        return WebDriverWait(self.driver, timeout, poll_frequency=0.05,
                             ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(
            lambda d: fn(d), message=f"timed out waiting for {what}")

    def wait_css(self, selector, timeout=10):
        return self.wait(lambda d: (d.find_elements(By.CSS_SELECTOR, selector) or [None])[0], timeout, selector)

    def css(self, selector):
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def text(self, selector):
        """innerText of the first element matching selector, or None. Read in
        one script call, so a live re-render between finding the element and
        reading it cannot make the read fail (a stale element)."""
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.innerText : null", selector)

    def wait_text(self, selector, contains="", timeout=10):
        """Waits until an element matching selector has text containing
        contains; returns that text."""
        return self.wait(lambda d: (lambda t: t if t is not None and contains in t else None)(self.text(selector))
                         or None, timeout, f"{selector} containing {contains!r}")

    def texts(self, selector):
        """innerText of every element matching selector, read in one script call."""
        return self.js("return [...document.querySelectorAll(arguments[0])].map(e => e.innerText)", selector)

    def all(self, selector):
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def screenshot(self, name):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def browser_logs(self):
        self.logs.extend(self.driver.get_log("browser"))
        return self.logs

    def assert_no_severe_logs(self, allow=()):
        """No SEVERE entry in the browser log (console errors, failed loads,
        CSP violations) except those containing one of the strings in allow."""
        severe = [e for e in self.browser_logs() if e.get("level") == "SEVERE"
                  and not any(a in e.get("message", "") for a in allow)]
        assert not severe, "browser log has SEVERE entries:\n" + "\n".join(e["message"] for e in severe)

    def fetch(self, path):
        """GET path from the appliance with Python (not the browser): (status, headers, bytes)."""
        with urllib.request.urlopen(self.base + path, timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()


def wait_ready(mn, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{mn.http_port}/readyz", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("mailnest did not become ready")


@pytest.fixture
def browser():
    driver = make_driver()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def console(browser, mailnest_factory):
    mn = mailnest_factory()
    wait_ready(mn)
    return Console(browser, mn)
