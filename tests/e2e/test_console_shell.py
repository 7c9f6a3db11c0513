"""The browser console's shell in headless Chromium against the real binary:
served at / from the binary, strict CSP, the hash router and nav bar, the
live event-stream indicator, the keyboard help, 404 for unknown files."""
import urllib.error

import pytest

from console_support import browser, console  # noqa: F401 (fixtures)
from http_client import get

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def test_console_is_served_from_the_binary_with_a_strict_csp(mailnest):
    r = get(mailnest.http_port, "/")
    assert r.status == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["content-security-policy"] == CSP
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-cache"
    assert b'<script type="module" src="/console/app.js">' in r.body
    etag = r.headers["etag"]
    again = get(mailnest.http_port, "/", headers={"If-None-Match": etag})
    assert again.status == 304 and again.body == b""
    for path, ctype in (("/console/app.js", "text/javascript; charset=utf-8"),
                        ("/console/app.css", "text/css; charset=utf-8"),
                        ("/console/pages/mail.js", "text/javascript; charset=utf-8")):
        a = get(mailnest.http_port, path)
        assert a.status == 200, path
        assert a.headers["content-type"] == ctype
        assert a.headers["content-security-policy"] == CSP
    # Only the embedded table is served: no file system path, no traversal.
    for bad in ("/console/nope.js", "/console/../src/main.cc", "/console/%2e%2e/etc/passwd", "/console/",
                "/console/pages", "/index.html"):
        assert get(mailnest.http_port, bad).status == 404, bad
    assert get(mailnest.http_port, "/", method="DELETE").status == 405


def test_console_asks_for_credentials_like_the_api(mailnest_factory):
    # alice-password's yescrypt hash is computed by the binary itself.
    import subprocess
    from conftest import BINARY
    hashed = subprocess.run([str(BINARY), "passwd"], input=b"pw\n", capture_output=True, check=True).stdout
    mn = mailnest_factory(http={"users": {"ops": hashed.decode().strip()}})
    assert get(mn.http_port, "/").status == 401
    assert get(mn.http_port, "/console/app.js").status == 401
    import base64
    auth = {"Authorization": "Basic " + base64.b64encode(b"ops:pw").decode()}
    assert get(mn.http_port, "/", headers=auth).status == 200


def test_shell_loads_navigates_and_logs_nothing_severe(console):
    c = console
    c.open("#/mail")
    assert c.js("return document.title") == "mailnest console"
    # The event stream is open (the indicator says so).
    c.wait(lambda d: c.css("#live").get_attribute("data-status") == "live", what="the live indicator")
    for name, route in (("Sessions", "#/sessions"), ("Dashboard", "#/dashboard"), ("Mail", "#/mail")):
        c.css(f'#nav a[href="{route}"]').click()
        c.wait(lambda d: d.execute_script("return location.hash") == route, what=route)
        c.wait_css(f'#nav a.active[href="{route}"]')
        c.wait_css(f"#view .page-{route[2:]}")
    # An unknown route says so and offers the way back.
    c.js("location.hash = '#/nowhere'")
    c.wait(lambda d: "No page at /nowhere" in c.css("#view").text, what="the unknown-route text")
    # The keyboard help lists the shell's key.
    c.open("#/mail")
    c.css("body").send_keys("?")
    c.wait(lambda d: c.css("#help").get_attribute("open") is not None, what="the help dialog")
    keys = [r.text for r in c.all("#help-keys tr")]
    assert keys[:5] == ["j next message", "k previous message", "Enter open the selected message",
                        "Delete delete the selected message", "/ search"], keys
    c.screenshot("console-shell-help")
    c.css("#help-close").click()
    c.screenshot("console-shell")
    c.assert_no_severe_logs()


def test_dark_mode_follows_the_system_setting(mailnest_factory):
    from console_support import Console, make_driver, wait_ready
    mn = mailnest_factory()
    wait_ready(mn)
    driver = make_driver(dark=True)
    try:
        c = Console(driver, mn).open("#/mail")
        assert c.js("return matchMedia('(prefers-color-scheme: dark)').matches") is True
        bg = c.js("return getComputedStyle(document.body).backgroundColor")
        assert bg == "rgb(21, 24, 30)", bg
        c.screenshot("console-dark")
        c.assert_no_severe_logs()
    finally:
        driver.quit()


def test_console_works_behind_basic_auth(browser, mailnest_factory):
    """With http.users set, the browser's Basic credentials carry the
    console's own API calls, the event stream and the message iframe (opened
    as http://user:password@host/, the form a test harness uses)."""
    import smtplib
    import subprocess
    from email.message import EmailMessage
    from conftest import BINARY
    from console_support import Console, wait_ready
    hashed = subprocess.run([str(BINARY), "passwd"], input=b"pw\n", capture_output=True, check=True).stdout
    mn = mailnest_factory(http={"users": {"ops": hashed.decode().strip()}})
    m = EmailMessage()
    m["From"] = "s@remote.test"
    m["To"] = "alice@localhost"
    m["Subject"] = "behind auth"
    m.set_content("text")
    m.add_alternative("<p id='p'>html behind auth</p>", subtype="html")
    with smtplib.SMTP("127.0.0.1", mn.smtp_port, timeout=10) as s:
        s.send_message(m)
    c = Console(browser, mn)
    browser.get(f"http://ops:pw@127.0.0.1:{mn.http_port}/#/mail")
    c.wait(lambda d: c.all("#mail-list .row"), what="the row")
    c.wait(lambda d: c.css("#live").get_attribute("data-status") == "live", what="the event stream")
    c.all("#mail-list .row")[0].click()
    frame = c.wait_css("#html-frame")
    browser.switch_to.frame(frame)
    c.wait(lambda d: c.all("#p"), what="the HTML part")
    assert c.css("#p").text == "html behind auth"
    browser.switch_to.default_content()
    c.assert_no_severe_logs()
