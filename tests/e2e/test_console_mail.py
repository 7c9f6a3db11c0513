"""The console's Mail and Message pages in headless Chromium against the real
binary: live arrival through the event stream, the message view (text,
attachments that download the right bytes, envelope, trace, MIME tree, raw),
a hostile HTML message that runs nothing and loads no remote image until
asked, search errors, keyboard navigation, deletion refused while POP3 holds
the mailbox, and the list's first render with 100,000 messages."""
import base64
import http.server
import os
import poplib
import smtplib
import threading
import time
from email.message import EmailMessage

import pytest

from console_support import browser, console  # noqa: F401 (fixtures; skips without selenium)
from selenium.webdriver.common.by import By  # noqa: E402 (after the skip)
from selenium.webdriver.common.keys import Keys  # noqa: E402

ATTACHMENT = bytes(range(256)) * 40 + b"\x00end"  # binary: any decoding mistake changes it


def deliver(mn, msg, sender="sender@remote.test", rcpts=("alice@localhost",)):
    with smtplib.SMTP("127.0.0.1", mn.smtp_port, timeout=10) as s:
        s.send_message(msg, from_addr=sender, to_addrs=list(rcpts))


def rich_message(subject):
    m = EmailMessage()
    m["From"] = "René Sender <sender@remote.test>"
    m["To"] = "Alice <alice@localhost>"
    m["Subject"] = subject
    m["Message-ID"] = "<console-1@remote.test>"
    m.set_content("Hello Alice,\nthe report is attached.\n")
    m.add_attachment(ATTACHMENT, maintype="application", subtype="octet-stream", filename="report.bin")
    return m


def row_with(c, text):
    """(class, text) of the first list row whose text contains text, or None;
    read in one script call, so a live re-render cannot make it stale."""
    return c.js("""for (const r of document.querySelectorAll('#mail-list .row'))
                     if (r.innerText.includes(arguments[0])) return [r.className, r.innerText];
                   return null;""", text)


def click_row(c, text):
    """Clicks the first list row containing text; False when there is none yet.
    A row replaced by a live re-render raises StaleElementReference, which
    c.wait treats as "look again"."""
    for r in c.all("#mail-list .row"):
        if text in r.text:
            r.click()
            return True
    return False


def test_delivery_appears_live_and_opens_with_text_and_attachment(console):
    c = console
    c.open("#/mail")
    c.wait(lambda d: c.css("#live").get_attribute("data-status") == "live", what="the event stream")
    c.wait_css("#list-footer")
    t0 = time.monotonic()
    deliver(c.mn, rich_message("Quarterly report live"))
    row = c.wait(lambda d: row_with(c, "Quarterly report live"), timeout=2, what="the new row within 2 s")
    elapsed = time.monotonic() - t0
    assert elapsed <= 2.0, elapsed
    assert c.js("return location.hash") == "#/mail"  # no reload, no navigation
    assert "unseen" in row[0]
    assert "René Sender" in row[1]
    c.screenshot("console-mail")

    # Keyboard: j selects the first (newest) row, Enter opens it.
    c.css("#mail-list").send_keys("j")
    c.wait_css("#mail-list .row.selected")
    c.css("#mail-list").send_keys(Keys.ENTER)
    c.wait(lambda d: c.js("return location.hash").startswith("#/message/"), what="the message route")
    c.wait_css("#message-subject")
    assert c.css("#message-subject").text == "Quarterly report live"
    assert "the report is attached." in c.css("#message-text").text
    env = c.css("#message-envelope").text
    assert "sender@remote.test" in env and "alice@localhost" in env
    assert "Alice <alice@localhost>" in c.css("#message-headers").text
    link = c.css("#attachments a.attachment")
    assert link.text.endswith("report.bin")
    href = link.get_attribute("href")
    assert href.startswith(c.base + "/api/v1/messages/")
    # The bytes the link downloads, fetched by Python and by the browser itself.
    status, headers, data = c.fetch(href[len(c.base):])
    assert status == 200 and data == ATTACHMENT
    assert headers["content-disposition"].startswith("attachment;")
    b64 = c.driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => {
          let s = ''; for (const x of new Uint8Array(b)) s += String.fromCharCode(x); done(btoa(s));
        });""", href)
    assert base64.b64decode(b64) == ATTACHMENT
    c.screenshot("console-message")

    # The other tabs: every header, the Received trace, the MIME tree, the raw source.
    c.css("#tab-headers").click()
    assert "Message-ID" in c.css("#all-headers").text
    c.css("#tab-trace").click()
    assert "hop 1" in c.css("#trace").text
    c.screenshot("console-message-trace")
    c.css("#tab-mime").click()
    mime = c.css("#mime-tree").text
    assert "multipart/mixed" in mime and "report.bin" in mime
    c.css("#tab-raw").click()
    c.wait(lambda d: "Subject: Quarterly report live" in c.css("#raw-source").text, what="the raw source")
    c.assert_no_severe_logs()


class CountingServer:
    """A local HTTP listener that counts the requests for its image."""

    def __init__(self):
        hits = self.hits = []
        png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(png)))
                self.end_headers()
                self.wfile.write(png)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_hostile_html_runs_nothing_and_loads_remote_images_only_when_asked(console):
    c = console
    tracker = CountingServer()
    try:
        m = EmailMessage()
        m["From"] = "evil@remote.test"
        m["To"] = "alice@localhost"
        m["Subject"] = "Hostile HTML"
        m.set_content("plain alternative")
        m.add_alternative(
            "<html><body><h1 id='hello'>Hello from HTML</h1>"
            "<script>window.pwned = 'script'; try { parent.pwned = 'script'; top.pwned = 'script'; } catch (e) {}</script>"
            "<img src='data:image/png;base64,AAAA' onerror=\"parent.pwned='onerror'; window.pwned='onerror'\">"
            f"<img id='remote' src='http://127.0.0.1:{tracker.port}/pixel.png?u=alice' width=1 height=1>"
            "<p style='color: rgb(200, 0, 0)'>styled</p></body></html>", subtype="html")
        deliver(c.mn, m)
        c.open("#/mail")
        c.wait(lambda d: click_row(c, "Hostile HTML"), what="the row clicked")
        frame = c.wait_css("#html-frame")
        # The sandbox allows nothing: no allow-scripts, no allow-same-origin.
        assert frame.get_attribute("sandbox") == ""
        c.driver.switch_to.frame(frame)
        c.wait(lambda d: d.find_elements(By.ID, "hello"), what="the HTML part rendered")
        assert c.driver.find_element(By.ID, "hello").text == "Hello from HTML"
        assert c.js("return window.pwned === undefined") is True
        c.driver.switch_to.default_content()
        time.sleep(1.0)
        assert c.js("return window.pwned === undefined") is True
        assert tracker.hits == [], "the remote image was fetched before 'load images'"
        c.screenshot("console-message-html")

        c.css("#load-images").click()
        c.wait(lambda d: len(tracker.hits) == 1, timeout=5, what="one request for the remote image")
        time.sleep(0.5)
        assert tracker.hits == ["/pixel.png?u=alice"]
        assert c.js("return window.pwned === undefined") is True
        # Nothing the message carried was inserted as markup into the console itself.
        assert c.all("#view script, #view img[onerror]") == []
        # The only errors are the browser refusing what the message tried.
        c.assert_no_severe_logs(allow=("Blocked script execution", "Refused to", "sandboxed"))
    finally:
        tracker.close()


def test_search_errors_keyboard_and_delete_refused_while_pop3_holds_the_mailbox(console):
    c = console
    for subject in ("alpha one", "beta two", "gamma three"):
        m = EmailMessage()
        m["From"] = "s@remote.test"
        m["To"] = "alice@localhost"
        m["Subject"] = subject
        m.set_content("x")
        deliver(c.mn, m)
    c.open("#/mail")
    c.wait(lambda d: len(c.all("#mail-list .row")) == 3, what="three rows")
    # '/' focuses the search box; a malformed query shows the API's 400 text.
    c.css("body").send_keys("/")
    assert c.js("return document.activeElement.id") == "search"
    c.css("#search").send_keys("frm:x", Keys.ENTER)
    c.wait_css("#search-error:not([hidden])")
    assert "unknown field 'frm:'" in c.text("#search-error")
    c.screenshot("console-mail-search-error")
    c.css("#search").clear()
    c.css("#search").send_keys('subject:"beta"', Keys.ENTER)
    c.wait(lambda d: (lambda t: t and all("beta two" in x for x in t))(c.texts("#mail-list .row")), what="only the match")
    assert len(c.texts("#mail-list .row")) == 1
    assert c.js("return location.hash") == "#/mail?query=subject%3A%22beta%22"

    # POP3 holds alice's mailbox: Delete is refused with a clear message.
    c.open("#/mail")
    c.wait(lambda d: len(c.all("#mail-list .row")) == 3, what="three rows")
    c.css("#mail-list").send_keys("j")
    c.css("#mail-list").send_keys("j")
    # The second j's render comes a frame later: wait for it, not for any selection.
    c.wait_text("#mail-list .row.selected", "beta two")
    pop = poplib.POP3("127.0.0.1", c.mn.pop3_port, timeout=10)
    pop.user("alice")
    pop.pass_("alice-password")
    try:
        c.css("#mail-list").send_keys(Keys.ENTER)
        c.wait_css("#message-subject")
        c.css("body").send_keys(Keys.DELETE)
        c.wait_css("#message-status.error")
        status = c.text("#message-status.error")
        assert "in use" in status and "POP3" in status
        c.screenshot("console-message-locked")
    finally:
        pop.quit()
    # Once POP3 has quit, Delete deletes and the list no longer has it.
    c.css("#delete-message").click()
    c.wait(lambda d: c.js("return location.hash") == "#/mail", what="back to the list")
    c.wait(lambda d: len(c.all("#mail-list .row")) == 2, what="two rows")
    assert not row_with(c, "beta two")
    # Delete in the list: the selected row goes.
    c.css("#mail-list").send_keys("j")
    first = c.wait_text("#mail-list .row.selected")
    c.css("#mail-list").send_keys(Keys.DELETE)
    rows = c.wait(lambda d: (lambda t: t if len(t) == 1 else None)(c.texts("#mail-list .row")), what="one row")
    assert rows[0] != first
    # Chrome logs every non-2xx answer: the malformed query's 400 and the
    # refused deletion's 409 are the only ones.
    c.assert_no_severe_logs(allow=("status of 400 (Bad Request)", "status of 409 (Conflict)"))


def test_one_mailbox_or_all(console):
    c = console
    for rcpt, subject in (("alice@localhost", "for alice"), ("bob@localhost", "for bob"), ("alice@localhost", "alice again")):
        m = EmailMessage()
        m["From"] = "s@remote.test"
        m["To"] = rcpt
        m["Subject"] = subject
        m.set_content("x")
        deliver(c.mn, m, rcpts=(rcpt,))
    c.open("#/mail")
    c.wait(lambda d: len(c.all("#mail-list .row")) == 3, what="three rows")
    # Newest first.
    assert c.texts("#mail-list .row .subject") == ["alice again", "for bob", "for alice"]
    c.wait(lambda d: c.all("#mailbox-select option[value='bob']"), what="bob in the selector")
    assert "bob (1, 1 unseen)" in c.wait_text("#mailbox-select option[value='bob']")
    from selenium.webdriver.support.ui import Select
    Select(c.css("#mailbox-select")).select_by_value("bob")
    c.wait(lambda d: c.js("return location.hash") == "#/mail?mailbox=bob", what="the mailbox route")
    c.wait(lambda d: (lambda t: t and all("for bob" in x for x in t))(c.texts("#mail-list .row")), what="bob's rows only")
    assert len(c.texts("#mail-list .row")) == 1
    # A delivery to another mailbox does not appear here; one to bob does.
    m = EmailMessage()
    m["From"] = "s@remote.test"
    m["To"] = "bob@localhost"
    m["Subject"] = "bob live"
    m.set_content("x")
    deliver(c.mn, m, rcpts=("alice@localhost", "bob@localhost"))
    c.wait(lambda d: row_with(c, "bob live"), timeout=2, what="bob's new row")
    assert len(c.all("#mail-list .row")) == 2
    c.assert_no_severe_logs()


def make_maildir(root, n, boxes=("alice", "bob", "carol", "dave")):
    """n small messages written directly with Maildir names as mailnest writes
    them (store/maildir_name.h), one second apart, newest = the last."""
    for b in boxes:
        for sub in ("new", "cur", "tmp"):
            os.makedirs(root / b / sub, exist_ok=True)
    now = int(time.time())
    for i in range(n):
        box = boxes[i % len(boxes)]
        secs = now - (n - i)
        data = (f"From: Sender {i % 97} <s{i % 97}@example.test>\nTo: {box}@localhost\n"
                f"Subject: bulk {i:06d}\n\nbody {i}\n").encode()
        wire = len(data) + data.count(b"\n")
        name = f"{secs}.M{i % 1000000}P4242Q{i}.bulk.example,S={len(data)},W={wire}"
        sub = "new" if i % 2 else "cur"
        fd = os.open(root / box / sub / (name if sub == "new" else name + ":2,S"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, data)
        os.close(fd)


@pytest.mark.slow
def test_100k_messages_first_render_within_a_second_and_paged_scrolling(browser, mailnest_factory, tmp_path):
    from console_support import Console, wait_ready
    root = tmp_path / "mail"
    make_maildir(root, 100_000)
    mn = mailnest_factory(mail_root=root)
    wait_ready(mn, timeout=120)
    c = Console(browser, mn)
    c.open("#/mail")
    c.wait(lambda d: c.js("return performance.getEntriesByName('mail:first-render').length") == 1,
           what="the first render mark")
    first = c.js("return performance.getEntriesByName('mail:first-render')[0].startTime")
    print(f"first render of the list with 100,000 messages: {first:.0f} ms after navigation start")
    assert first <= 1000, f"first render took {first:.0f} ms"
    rows = c.texts("#mail-list .row")
    assert "bulk 099999" in rows[0]  # newest first
    assert len(rows) < 60  # virtual: only the rows in view (and a few around) exist
    assert "100,000" in c.css("#mail-count").text or "100000" in c.css("#mail-count").text
    c.screenshot("console-mail-100k")
    # Scroll to the end a few times: each time one more page comes, never all.
    loaded = []
    for _ in range(3):
        c.wait(lambda d: "Loading" not in c.css("#list-footer").text, what="no page in flight")
        before = int(c.css("#mail-list").get_attribute("data-loaded"))
        c.js("const s = document.getElementById('mail-list'); s.scrollTop = s.scrollHeight;")
        c.wait(lambda d: int(c.css("#mail-list").get_attribute("data-loaded")) > before, what="the next page")
        time.sleep(0.3)
        loaded.append(int(c.css("#mail-list").get_attribute("data-loaded")))
    assert loaded[-1] <= 600, loaded
    assert len(c.all("#mail-list .row")) < 60
    c.assert_no_severe_logs()


def test_part_served_inline_for_the_iframe_with_the_csp_it_asks(mailnest):
    """The API side of the iframe: /parts/{n}?inline=1 is shown, not
    downloaded, and may load only its inline styles and data: images;
    &images=1 adds http(s) images; the plain download is unchanged."""
    from http_client import get
    m = EmailMessage()
    m["From"] = "s@remote.test"
    m["To"] = "alice@localhost"
    m["Subject"] = "inline view"
    m.set_content("text")
    m.add_alternative("<p>html</p>", subtype="html")
    deliver(mailnest, m)
    deadline = time.monotonic() + 5
    while not (items := get(mailnest.http_port, "/api/v1/messages").json()["messages"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    view = get(mailnest.http_port, f"/api/v1/messages/{items[0]['id']}").json()
    html = [p["part"] for p in view["mime"]["parts"] if p["content_type"] == "text/html"][0]
    base = f"/api/v1/messages/{items[0]['id']}/parts/{html}"
    plain = get(mailnest.http_port, base)
    assert plain.headers["content-disposition"].startswith("attachment;")
    assert plain.headers["content-security-policy"] == "default-src 'none'; sandbox"
    shown = get(mailnest.http_port, base + "?inline=1")
    assert shown.status == 200 and shown.body == b"<p>html</p>\n"
    assert shown.headers["content-disposition"].startswith("inline;")
    assert shown.headers["content-security-policy"] == \
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
    assert get(mailnest.http_port, base + "?inline=1&images=1").headers["content-security-policy"] == \
        "default-src 'none'; style-src 'unsafe-inline'; img-src data: http: https:; sandbox"
    bad = get(mailnest.http_port, base + "?inline=yes")
    assert bad.status == 400 and bad.json() == {"error": "inline: must be 0 or 1"}
