"""The console's Dashboard page in headless Chromium against the real binary:
every figure shown equals the same field of GET /api/v1/stats, before and
after a delivery made while the page is open (live, no reload); the
deliveries-per-minute chart counts it; light and dark screenshots."""
import json
import poplib
import smtplib
import time

from console_support import browser, console  # noqa: F401 (fixtures; skips without selenium)
from test_console_sessions import open_live, screenshots

FIGURES = "return [...document.querySelectorAll('#view [data-stat]')].map((e) => [e.dataset.stat, e.dataset.value, " \
          "e.hidden ? null : e.textContent])"


def api_stats(c):
    status, _, body = c.fetch("/api/v1/stats?top=10")
    assert status == 200
    return json.loads(body)


def resolve(doc, path):
    for key in path.split("."):
        doc = doc[int(key)] if isinstance(doc, list) else doc[key]
    return doc


def mismatches(c):
    """The figures on the page that differ from /api/v1/stats (none: [])."""
    stats = api_stats(c)
    shown = c.js(FIGURES)
    bad = []
    for path, value, text in shown:
        want = resolve(stats, path)
        if int(value) != want or (text is not None and int(text.replace(",", "")) != want):
            bad.append((path, value, text, want))
    return bad, {p for p, _, _ in shown}, stats


def send(mn, sender, rcpts, subject):
    with smtplib.SMTP("127.0.0.1", mn.smtp_port, timeout=10) as s:
        s.sendmail(sender, rcpts, f"Subject: {subject}\r\n\r\nhello\r\n".encode())


def test_dashboard_figures_equal_the_api_and_follow_a_delivery(console):
    c = console
    send(c.mn, "carol@remote.test", ["alice@localhost"], "one")
    send(c.mn, "carol@remote.test", ["alice@localhost", "bob@localhost"], "two")
    send(c.mn, "dave@remote.test", ["bob@localhost"], "three")
    try:
        send(c.mn, "dave@remote.test", ["nobody@localhost"], "refused")
    except smtplib.SMTPRecipientsRefused:
        pass
    p = poplib.POP3("127.0.0.1", c.mn.pop3_port, timeout=10)
    p.user("alice")
    p.pass_("alice-password")
    p.quit()

    open_live(c, "#/dashboard")
    c.wait_css(".page-dashboard[data-loaded]")
    c.wait(lambda d: not mismatches(c)[0], timeout=3, what="the figures to equal /api/v1/stats")
    bad, paths, stats = mismatches(c)
    assert not bad
    # The figures the page promises are there (and were compared above).
    for p in ("smtp.messages_accepted", "smtp.octets_accepted", "smtp.sessions_open", "pop3.sessions_open",
              "pop3.logins", "index_messages", "started_ms", "mailboxes.0.messages", "mailboxes.0.octets",
              "mailboxes.1.messages", "smtp.replies.250", "smtp.replies.550", "smtp.messages_by_reply.250",
              "top_senders.0.messages", "top_senders.1.messages", "top_recipients.0.messages"):
        assert p in paths, p
    assert stats["smtp"]["messages_accepted"] == 3
    assert [m["name"] for m in stats["mailboxes"]] == ["alice", "bob"]
    senders = c.js("return [...document.querySelectorAll('#view td.addr')].map((e) => e.textContent)")
    assert senders[:2] == ["carol@remote.test", "dave@remote.test"]
    assert c.js("return document.querySelector('h1 .uptime').textContent").startswith("up ")
    # The chart counted the four stored messages (one per mailbox reached) this minute.
    c.wait(lambda d: c.js("return document.querySelector('.chart-box').dataset.total") == "4", timeout=3, what="the chart's total")
    assert len(c.all("svg.chart rect.chart-bar")) == 30
    assert c.js("return location.hash") == "#/dashboard"
    c.driver.set_window_size(1280, 1250)  # the whole page in the picture
    screenshots(c, "console-dashboard")
    c.driver.set_window_size(1280, 900)

    # Live: a delivery while the page is open changes the figures and the chart, no reload.
    t0 = time.monotonic()
    send(c.mn, "erin@remote.test", ["team@localhost"], "live")
    c.wait(lambda d: c.js("return document.querySelector('[data-stat=\"smtp.messages_accepted\"]').textContent") == "4", timeout=2,
           what="messages accepted 4 within 2 s")
    assert time.monotonic() - t0 <= 2.0
    c.wait(lambda d: c.js("return document.querySelector('.chart-box').dataset.total") == "6", timeout=2, what="the chart's new total")
    c.wait(lambda d: not mismatches(c)[0], timeout=3, what="the figures to equal /api/v1/stats again")
    assert c.js("return performance.getEntriesByType('navigation').length") == 1  # the same document
    c.assert_no_severe_logs()


def test_dashboard_narrow_screen(console):
    c = console
    send(c.mn, "carol@remote.test", ["alice@localhost"], "one")
    c.driver.set_window_size(420, 900)
    open_live(c, "#/dashboard")
    c.wait_css(".page-dashboard[data-loaded]")
    # One column: the cards are stacked, nothing wider than the window.
    assert c.js("return document.documentElement.scrollWidth <= window.innerWidth")
    c.screenshot("console-dashboard-narrow")
    c.open("#/sessions/1")
    c.wait_css(".sessions-list[data-loaded]")
    c.wait_css(".session-detail[data-loaded]")
    assert c.js("return document.documentElement.scrollWidth <= window.innerWidth")
    c.screenshot("console-sessions-narrow")
    c.assert_no_severe_logs()


def test_stats_report_the_process_start_and_uptime(mailnest):
    # The Dashboard's uptime comes from these two fields of /api/v1/stats.
    from http_client import get
    before = time.time() * 1000
    a = get(mailnest.http_port, "/api/v1/stats").json()
    assert 0 < a["started_ms"] <= before and before - a["started_ms"] < 120_000
    assert 0 <= a["uptime_s"] < 120
    time.sleep(1.1)
    b = get(mailnest.http_port, "/api/v1/stats").json()
    assert b["started_ms"] == a["started_ms"] and b["uptime_s"] >= a["uptime_s"] + 1
