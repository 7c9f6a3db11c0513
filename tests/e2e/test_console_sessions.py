"""The console's Sessions page in headless Chromium against the real binary:
an smtplib session's EHLO/MAIL/RCPT/DATA lines with reply codes explained on
hover and the SMTP state diagram ending in CLOSING; a POP3 login whose
password is shown as **** and appears nowhere in the page; a live session's
lines and states arriving while it is open; j/k/Enter; light and dark
screenshots."""
import poplib
import smtplib
import socket
import time

from console_support import browser, console  # noqa: F401 (fixtures; skips without selenium)


def set_dark(c, dark):
    """prefers-color-scheme through the DevTools protocol (no restart)."""
    c.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "media": "", "features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})


def background(c):
    return c.js("return getComputedStyle(document.body).backgroundColor")


def screenshots(c, name):
    """Saves <name>-light.png and <name>-dark.png and checks the dark one is dark."""
    set_dark(c, False)
    assert background(c) == "rgb(255, 255, 255)"
    c.screenshot(f"{name}-light")
    set_dark(c, True)
    c.wait(lambda d: background(c) != "rgb(255, 255, 255)", what="the dark colours")
    assert background(c) == "rgb(21, 24, 30)"
    c.screenshot(f"{name}-dark")
    set_dark(c, False)


def open_live(c, route):
    c.open(route)
    c.wait(lambda d: c.css("#live").get_attribute("data-status") == "live", what="the event stream")


def session_row(c, protocol, live=None):
    """The id of the newest listed session of protocol (and liveness), or None.
    Read in one script: the list is redrawn as events arrive."""
    return c.js("""const [p, live] = arguments;
        const r = [...document.querySelectorAll('#view .session-row')]
          .find((x) => x.dataset.protocol === p && (live === null || x.dataset.live === live));
        return r ? r.dataset.id : null;""", protocol, live)


def click_row(c, sid):
    c.js("document.querySelector(`#view .session-row[data-id='${arguments[0]}'] a`).click()", sid)


def transcript_lines(c):
    """Each line as 'time dir text' (its cells' text joined by spaces)."""
    return c.js("return [...document.querySelectorAll('.transcript li')]"
                ".map((li) => [...li.children].map((x) => x.textContent).join(' '))")


def current_state(c):
    nodes = c.all("svg.state-diagram .sd-node.current")
    if len(nodes) != 1:
        return None
    assert nodes[0].get_attribute("data-current") == "true"
    return nodes[0].get_attribute("data-state")


def test_smtp_session_transcript_codes_and_diagram(console):
    c = console
    open_live(c, "#/sessions")
    c.wait_css(".sessions-list[data-loaded]")
    with smtplib.SMTP("127.0.0.1", c.mn.smtp_port, timeout=10) as s:
        s.sendmail("sender@remote.test", ["alice@localhost"], b"Subject: hi\r\n\r\nthe body stays out\r\n")
    # The session appears (session.open) and ends (session.close) with no reload.
    sid = c.wait(lambda d: session_row(c, "smtp", live="false"), timeout=5, what="the ended SMTP session in the list")
    assert c.js("return location.hash") == "#/sessions"
    # Keyboard: j selects the newest row, Enter opens it.
    c.css("body").send_keys("j")
    c.wait(lambda d: c.js("return document.querySelector('.session-row.selected')?.dataset.id") == sid,
           what="j selects the newest session")
    c.css("body").send_keys("\n")
    c.wait(lambda d: c.js("return location.hash") == f"#/sessions/{sid}", what="the session route")
    c.wait_css(".session-detail[data-loaded]")
    lines = transcript_lines(c)
    text = "\n".join(lines)
    for wanted in ("C: ehlo ", "C: mail FROM:<sender@remote.test>", "C: rcpt TO:<alice@localhost>", "C: data",
                   "S: 354 ", "S: 250 2.0.0", "C: QUIT", "S: 221 2.0.0"):
        assert any(wanted in l for l in lines), (wanted, text)
    assert any("<" in l and "octets>" in l for l in lines)
    assert "the body stays out" not in c.driver.page_source
    # Every line has a timestamp hh:mm:ss.mmm.
    assert all(l[2] == ":" and l[8] == "." for l in lines), lines[:3]

    # The diagram: CLOSING lit, the path through DATA and DELIVERING drawn in order.
    assert current_state(c) == "CLOSING"
    assert c.css("svg.state-diagram").get_attribute("data-current") == "CLOSING"
    order = {(e.get_attribute("data-from"), e.get_attribute("data-to")): e.get_attribute("data-order")
             for e in c.all("svg.state-diagram .sd-edge.visited")}
    assert order[("NEW", "CONNECTED")] == "1"
    assert order[("CONNECTED", "GREETED")] == "2"
    assert order[("GREETED", "MAIL")] == "3"
    assert order[("MAIL", "RCPT")] == "4"
    assert order[("RCPT", "DATA")] == "5"
    assert order[("DATA", "DELIVERING")] == "6"
    assert order[("DELIVERING", "GREETED")] == "7"
    assert order[("GREETED", "CLOSING")] == "8"
    assert len(order) == 8
    visited = {n.get_attribute("data-state") for n in c.all("svg.state-diagram .sd-node.visited")}
    assert visited == {"NEW", "CONNECTED", "GREETED", "MAIL", "RCPT", "DATA", "DELIVERING", "CLOSING"}

    # Reply codes: coloured by class and explained on hover (title).
    code354 = c.css('.transcript .rc[data-code="354"]')
    assert "rc-3" in code354.get_attribute("class")
    assert "Start mail input" in code354.get_attribute("title")
    code250 = c.all('.transcript .rc[data-code="250"]')[-1]
    assert "rc-2" in code250.get_attribute("class")
    assert "Requested mail action okay" in code250.get_attribute("title")
    enh = [e.get_attribute("title") for e in c.all(".transcript .rc-enh")]
    assert any(t.startswith("2.1.5: Success; Addressing status: Destination address valid (RFC 3463)") for t in enh), enh
    assert "RCPT: add a recipient" in c.all(".transcript .tl-in .tl-text")[2].get_attribute("title")
    screenshots(c, "console-sessions-smtp")
    c.assert_no_severe_logs()


def test_pop3_password_is_masked_and_diagram_ends_in_update(console):
    c = console
    with smtplib.SMTP("127.0.0.1", c.mn.smtp_port, timeout=10) as s:
        s.sendmail("sender@remote.test", ["alice@localhost"], b"Subject: hi\r\n\r\nhello\r\n")
    p = poplib.POP3("127.0.0.1", c.mn.pop3_port, timeout=10)
    p.user("alice")
    try:
        p.pass_("Wrong-Secret-4711")
    except poplib.error_proto:
        pass
    p.user("alice")
    p.pass_("alice-password")
    p.stat()
    p.quit()
    open_live(c, "#/sessions")
    row = c.wait(lambda d: session_row(c, "pop3", live="false"), what="the POP3 session")
    click_row(c, row)
    c.wait_css(".session-detail[data-loaded]")
    lines = transcript_lines(c)
    passes = [l for l in lines if "C: PASS" in l]
    assert len(passes) == 2 and all(l.endswith("C: PASS ****") for l in passes), lines
    source = c.driver.page_source
    assert "alice-password" not in source and "Wrong-Secret-4711" not in source
    assert current_state(c) == "UPDATE"
    visited = [(e.get_attribute("data-from"), e.get_attribute("data-to"), e.get_attribute("data-order"))
               for e in c.all("svg.state-diagram .sd-edge.visited")]
    assert sorted(visited) == [("AUTHORIZATION", "TRANSACTION", "1"), ("TRANSACTION", "UPDATE", "2")]
    ok = c.all('.transcript .rc[data-code="+OK"]')[0]
    assert "rc-ok" in ok.get_attribute("class") and "RFC 1939" in ok.get_attribute("title")
    err = c.css('.transcript .rc[data-code="-ERR"]')
    assert "rc-err" in err.get_attribute("class") and "negative" in err.get_attribute("title")
    assert "credentials were not accepted" in c.css(".transcript .rc-enh").get_attribute("title")  # [AUTH]
    screenshots(c, "console-sessions-pop3")
    c.assert_no_severe_logs()


def test_live_session_lines_appear_while_it_is_open(console):
    c = console
    open_live(c, "#/sessions")
    c.wait_css(".sessions-list[data-loaded]")
    sock = socket.create_connection(("127.0.0.1", c.mn.smtp_port), timeout=10)
    try:
        f = sock.makefile("rb")
        assert f.readline().startswith(b"220 ")
        row = c.wait(lambda d: session_row(c, "smtp", live="true"), timeout=2, what="the live session in the list")
        click_row(c, row)
        c.wait_css(".session-detail[data-loaded]")
        assert c.css(".session-head .live-badge")
        c.wait(lambda d: current_state(c) == "CONNECTED", timeout=2, what="CONNECTED lit")

        def command(line, state):
            t0 = time.monotonic()
            sock.sendall(line.encode() + b"\r\n")
            c.wait(lambda d: any(("C: " + line) in l for l in transcript_lines(c)) and current_state(c) == state,
                   timeout=2, what=f"{line!r} and state {state} within 2 s")
            return time.monotonic() - t0

        assert command("EHLO live.test", "GREETED") <= 2.0
        assert command("MAIL FROM:<live@remote.test>", "MAIL") <= 2.0
        assert command("RCPT TO:<alice@localhost>", "RCPT") <= 2.0
        assert command("RSET", "GREETED") <= 2.0
        assert any("S: 250 2.1.5" in l for l in transcript_lines(c))
        edge = c.css('svg.state-diagram .sd-edge[data-from="RCPT"][data-to="GREETED"]')
        assert "visited" in edge.get_attribute("class") and "last" in edge.get_attribute("class")
        # What a client sends is shown as text, never as markup.
        hostile = "NOOP <img src=x onerror=window.__pwned=1>"
        command(hostile, "GREETED")
        assert c.js("return window.__pwned") is None
        assert not c.all(".transcript img")
        # The list's line count follows the transcript (lines and state changes alike).
        c.wait(lambda d: c.js("return document.querySelector('.session-row.open td.c-lines').textContent")
               == str(len(transcript_lines(c))), timeout=2, what="the list's line count")
        c.screenshot("console-sessions-live")
        sock.sendall(b"QUIT\r\n")
        c.wait(lambda d: current_state(c) == "CLOSING", timeout=2, what="CLOSING after QUIT")
        while not f.readline().startswith(b"221 "):
            pass
        sock.close()
        c.wait(lambda d: not c.js("return document.querySelector('.session-head .live-badge')"), timeout=5,
               what="the session marked ended")
    finally:
        sock.close()
    c.assert_no_severe_logs()
