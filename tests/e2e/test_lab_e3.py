"""E3 lab scenario: deliver over SMTP, then USER/PASS/LIST/RETR/DELE/QUIT over POP3.

Works against the `mailnest` fixture's own instance and, under scripts/e3,
against the external instance on 127.0.0.1:2525/2110 that tcpdump captures.
SMTP commands go in upper case over a raw socket so the capture rules R1-R6
see them; POP3 uses poplib (upper-case verbs). Message content is compared
only through booleans, never printed.
"""
import poplib
import socket
import threading
import uuid

import pytest

from test_pop3_support import wait_for

pytestmark = pytest.mark.e3

TIMEOUT = 10.0
PASSWORDS = {"alice": "alice-password", "bob": "bob-password"}


def smtp_deliver(port, rcpt, marker):
    """One upper-case SMTP conversation; the body has a dot-stuffed line."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        f = s.makefile("rb")

        def reply():
            while True:
                line = f.readline(4096)
                if not line:
                    raise ConnectionError("SMTP connection closed")
                if line[3:4] != b"-":
                    return int(line[:3])

        def cmd(text):
            s.sendall(text.encode() + b"\r\n")
            return reply()

        assert reply() == 220
        assert cmd("EHLO client.example") == 250
        assert cmd("MAIL FROM:<sender@example.org>") == 250
        assert cmd(f"RCPT TO:<{rcpt}>") == 250
        assert cmd("DATA") == 354
        s.sendall((f"Subject: {marker}\r\nMessage-ID: <{marker}@example.org>\r\n\r\n"
                   "hello\r\n..dotted line\r\nbye\r\n.\r\n").encode())
        assert reply() == 250
        assert cmd("QUIT") == 221
        f.close()


def pop3(mailnest, user=None):
    p = poplib.POP3("127.0.0.1", mailnest.pop3_port, timeout=TIMEOUT)
    if user:
        p.user(user)
        p.pass_(PASSWORDS[user])
    return p


def test_pop3_user_pass_list_retr_dele_quit(mailnest):
    markers = [f"lab-e3-{uuid.uuid4().hex}" for _ in range(2)]
    for m in markers:
        smtp_deliver(mailnest.smtp_port, "bob@mailnest.local", m)
    assert wait_for(lambda: len(mailnest.all_messages("bob")) == 2)

    p = pop3(mailnest)
    assert p.getwelcome().startswith(b"+OK")
    assert p.user("bob").startswith(b"+OK")
    assert p.pass_("bob-password").startswith(b"+OK")
    count, octets = p.stat()
    assert count == 2 and octets > 0
    resp, listing, _ = p.list()
    assert resp.startswith(b"+OK") and len(listing) == 2
    sizes = {int(n): int(sz) for n, sz in (entry.split() for entry in listing)}
    assert set(sizes) == {1, 2}

    resp, lines, got_octets = p.retr(1)
    assert resp.startswith(b"+OK")
    body = b"\r\n".join(lines)
    first = next((i for i, m in enumerate(markers) if m.encode() in body), None)
    assert first is not None, "RETR returned a message we did not send"
    # poplib unstuffs, so the dot line comes back as sent before stuffing.
    assert b".dotted line" in lines, "dot-stuffed line did not round-trip"

    assert p.dele(1).startswith(b"+OK")
    with pytest.raises(poplib.error_proto):
        p.dele(1)  # already deleted
    with pytest.raises(poplib.error_proto):
        p.retr(1)  # deleted messages cannot be read
    assert p.quit().startswith(b"+OK")  # UPDATE: message 1 is removed now

    assert wait_for(lambda: len(mailnest.all_messages("bob")) == 1)
    p = pop3(mailnest, "bob")
    assert p.stat()[0] == 1
    resp, lines, _ = p.retr(1)
    remaining = b"\r\n".join(lines)
    assert markers[1 - first].encode() in remaining, "the wrong message was deleted"
    assert p.quit().startswith(b"+OK")


def test_pop3_wrong_order_gets_err(mailnest):
    p = pop3(mailnest)
    with pytest.raises(poplib.error_proto):
        p.pass_("bob-password")          # PASS before USER
    with pytest.raises(poplib.error_proto):
        p.list()                          # LIST before login
    with pytest.raises(poplib.error_proto):
        p.retr(1)                         # RETR before login
    with pytest.raises(poplib.error_proto):
        p.dele(1)                         # DELE before login
    assert p.user("bob").startswith(b"+OK")
    assert p.pass_("bob-password").startswith(b"+OK")
    with pytest.raises(poplib.error_proto):
        p.retr(99)                        # no such message
    assert p.quit().startswith(b"+OK")


def test_concurrent_session_on_same_mailbox_is_in_use(mailnest):
    smtp_deliver(mailnest.smtp_port, "alice@mailnest.local", f"lab-e3-{uuid.uuid4().hex}")
    first = pop3(mailnest, "alice")  # holds alice's maildrop lock
    second = pop3(mailnest)
    assert second.user("alice").startswith(b"+OK")
    with pytest.raises(poplib.error_proto) as err:
        second.pass_("alice-password")
    assert b"[IN-USE]" in err.value.args[0]
    second.close()
    assert first.stat()[0] == 1
    assert first.quit().startswith(b"+OK")  # releases the lock

    third = pop3(mailnest, "alice")  # free again
    assert third.stat()[0] == 1
    assert third.quit().startswith(b"+OK")


def test_sessions_on_different_mailboxes_run_concurrently(mailnest):
    smtp_deliver(mailnest.smtp_port, "alice@mailnest.local", f"lab-e3-{uuid.uuid4().hex}")
    smtp_deliver(mailnest.smtp_port, "bob@mailnest.local", f"lab-e3-{uuid.uuid4().hex}")
    results, errors = {}, []
    barrier = threading.Barrier(2, timeout=TIMEOUT)

    def session(user):
        try:
            p = pop3(mailnest, user)
            barrier.wait()  # both are logged in at the same time
            results[user] = p.stat()[0]
            p.quit()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"{user}: {e!r}")

    threads = [threading.Thread(target=session, args=(u,)) for u in ("alice", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=3 * TIMEOUT)
    assert not errors
    assert results == {"alice": 1, "bob": 1}
