"""SMTP limits and lifetime: timeouts, error limit, connection limit, shutdown."""
import signal
import socket
import time

import pytest

from test_smtp_wire import Wire

pytestmark = pytest.mark.e2


def test_command_timeout_421(mailnest_factory):
    mn = mailnest_factory(smtp={"command_timeout_s": 1})
    with Wire(mn.smtp_port) as w:
        w.greet()
        t0 = time.monotonic()
        r = w.reply(timeout=5)
        assert (r.code, r.enhanced) == (421, "4.4.2")
        assert 0.8 <= time.monotonic() - t0 < 4
        assert w.is_closed()


def test_activity_restarts_the_command_timer(mailnest_factory):
    mn = mailnest_factory(smtp={"command_timeout_s": 1})
    with Wire(mn.smtp_port) as w:
        w.greet()
        for _ in range(4):  # 2 s in all, never 1 s idle
            time.sleep(0.5)
            assert w.cmd("NOOP").code == 250


def test_trickling_a_command_does_not_restart_the_command_timer(mailnest_factory):
    mn = mailnest_factory(smtp={"command_timeout_s": 1})
    with Wire(mn.smtp_port) as w:
        w.greet()
        t0 = time.monotonic()
        for ch in b"NOO":  # one byte every 0.4 s, never a whole line
            w.send(bytes([ch]))
            time.sleep(0.4)
        r = w.reply(timeout=5)
        assert (r.code, r.enhanced) == (421, "4.4.2")
        # 1 s after the greeting; restarting per byte would give ~1.8 s.
        assert time.monotonic() - t0 < 1.5
        assert w.is_closed()


def test_data_timeout_421_nothing_stored(mailnest_factory):
    mn = mailnest_factory(smtp={"data_timeout_s": 1, "command_timeout_s": 30})
    with Wire(mn.smtp_port) as w:
        w.greet()
        w.start_data()
        w.send(b"Subject: slow\r\n\r\nstarted but never finished\r\n")
        r = w.reply(timeout=5)
        assert (r.code, r.enhanced) == (421, "4.4.2")
        assert w.is_closed()
    time.sleep(0.2)
    assert mn.all_messages("alice") == []
    assert mn.tmp_files("alice") == []


def test_error_limit_421(mailnest_factory):
    mn = mailnest_factory(smtp={"max_errors": 3})
    with Wire(mn.smtp_port) as w:
        w.greet()
        assert w.cmd("BOGUS1").code == 500
        assert w.cmd("MAIL FROM:bad").code == 501
        assert w.cmd("RCPT TO:<alice@localhost>").code == 503
        r = w.reply()  # sent at once after the third error
        assert (r.code, r.enhanced) == (421, "4.7.0")
        assert "too many errors" in r.text
        assert w.is_closed()


def test_successful_delivery_resets_the_error_count(mailnest_factory):
    mn = mailnest_factory(smtp={"max_errors": 3})
    with Wire(mn.smtp_port) as w:
        w.greet()
        assert w.cmd("BOGUS").code == 500
        assert w.cmd("BOGUS").code == 500
        w.start_data()
        w.send(b"x\r\n.\r\n")
        assert w.reply().code == 250
        assert w.cmd("BOGUS").code == 500
        assert w.cmd("BOGUS").code == 500
        assert w.cmd("NOOP").code == 250


def test_max_connections_third_gets_421(mailnest_factory):
    mn = mailnest_factory(smtp={"max_connections": 2})
    a, b = Wire(mn.smtp_port), Wire(mn.smtp_port)
    try:
        assert a.reply().code == 220
        assert b.reply().code == 220
        with Wire(mn.smtp_port) as c:
            r = c.reply()
            assert (r.code, r.enhanced) == (421, "4.3.2")
            assert c.is_closed()
        # The two admitted sessions are unaffected.
        assert a.cmd("EHLO a.test").code == 250
        a.cmd("QUIT")
        assert a.is_closed()
        # A slot is free again.
        deadline = time.monotonic() + 3
        for _ in range(30):
            with Wire(mn.smtp_port) as d:
                if d.reply().code == 220:
                    break
            assert time.monotonic() < deadline
            time.sleep(0.1)
        else:
            pytest.fail("no slot after a session ended")
    finally:
        a.close()
        b.close()


def test_sigterm_with_no_session_exits_0(mailnest_factory):
    mn = mailnest_factory()
    # One round trip first: main prints its ready line before it installs
    # the signal handlers, so a SIGTERM sent at once could beat them.
    with Wire(mn.smtp_port) as w:
        w.greet()
        w.cmd("QUIT")
    assert mn.stop(signal.SIGTERM, timeout=10) == 0


def test_sigterm_while_idle_session_421_and_exit_0(mailnest_factory):
    mn = mailnest_factory()
    with Wire(mn.smtp_port) as w:
        w.greet()
        mn.proc.send_signal(signal.SIGTERM)
        r = w.reply()
        assert (r.code, r.enhanced) == (421, "4.3.2")
        assert w.is_closed()
    assert mn.proc.wait(timeout=10) == 0
    # Nobody listens any more.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", mn.smtp_port), timeout=1).close()


def test_sigterm_during_data_finishes_the_message(mailnest_factory):
    mn = mailnest_factory()
    with Wire(mn.smtp_port) as w:
        w.greet()
        w.start_data()
        w.send(b"Subject: in flight\r\n\r\nfirst half\r\n")
        time.sleep(0.1)
        mn.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        assert mn.proc.poll() is None  # waits for the transaction
        w.send(b"second half\r\n.\r\n")
        r = w.reply()
        assert r.code == 250, r
        r = w.reply()
        assert (r.code, r.enhanced) == (421, "4.3.2")
        assert w.is_closed()
    assert mn.proc.wait(timeout=10) == 0
    assert len(mn.all_messages("alice")) == 1


def test_client_vanishing_mid_data_leaves_nothing(mailnest):
    w = Wire(mailnest.smtp_port)
    w.greet()
    w.start_data()
    w.send(b"Subject: gone\r\n\r\n" + b"partial line\r\n" * 30000)  # over the spill threshold
    w.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    w.close()  # RST
    time.sleep(0.5)
    assert mailnest.all_messages("alice") == []
    assert mailnest.tmp_files("alice") == []
    with Wire(mailnest.smtp_port) as w2:  # the server is fine
        w2.greet()


def test_client_vanishing_right_after_the_terminator_keeps_the_message_whole(mailnest):
    body = b"Subject: committed\r\n\r\n" + (b"0123456789" * 7 + b"\r\n") * 1000
    w = Wire(mailnest.smtp_port)
    w.greet()
    w.start_data()
    w.send(body + b".\r\n")
    w.close()  # do not wait for the 250
    deadline = time.monotonic() + 5
    while not mailnest.all_messages("alice") and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    msgs = mailnest.all_messages("alice")
    # The whole body arrived before the FIN, so the message is committed
    # even though nobody is left to read the 250; and never partially.
    assert len(msgs) == 1
    assert msgs[0].read_bytes().endswith(body.replace(b"\r\n", b"\n"))  # stored with LF
    assert mailnest.tmp_files("alice") == []
    with Wire(mailnest.smtp_port) as w2:
        w2.greet()


def test_peer_gone_while_replies_pending_does_not_kill_the_server(mailnest_factory):
    # Regression: the client reads up to 354, sends the body plus pipelined
    # commands and closes (FIN). After the commit the server writes the 250
    # (answered by RST) and then the NOOP replies; with SIGPIPE at its
    # default action the second write killed the process (exit 141).
    mn = mailnest_factory()
    for _ in range(3):
        w = Wire(mn.smtp_port)
        w.greet()
        w.start_data()
        w.send(b"Subject: bye\r\n\r\nhi\r\n.\r\n" + b"NOOP\r\n" * 200)
        w.close()
        time.sleep(0.2)
    assert mn.proc.poll() is None, f"server died with {mn.proc.returncode}"
    assert len(mn.all_messages("alice")) == 3
    with Wire(mn.smtp_port) as w:
        w.greet()
    assert mn.stop() == 0
