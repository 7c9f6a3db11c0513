"""POP3 session limits and lifecycle: CAPA, line length, error limit,
autologout, connection limit, shutdown, split SMTP-only/POP3-only processes."""
import os
import poplib
import signal
import time

import pytest

from test_pop3_support import (PASSWORDS, RawPop3, as_sent, login, login_retrying, send,
                               strip_trace, wait_for)

pytestmark = pytest.mark.e3

CAPS = [b"TOP", b"UIDL", b"USER", b"RESP-CODES", b"AUTH-RESP-CODE", b"PIPELINING",
        b"EXPIRE NEVER", b"IMPLEMENTATION mailnest"]


def capa(p):
    assert p.cmd("CAPA") == b"+OK capability list follows"
    return [l for l in p.multiline_raw().split(b"\r\n") if l]


def test_capa_in_both_states(mailnest):
    p = RawPop3(mailnest.pop3_port)
    assert capa(p) == CAPS
    p.login("alice")
    assert capa(p) == CAPS
    # poplib's parser agrees.
    pp = poplib.POP3("127.0.0.1", mailnest.pop3_port, timeout=10)
    assert set(pp.capa()) >= {"TOP", "UIDL", "USER", "RESP-CODES", "PIPELINING", "EXPIRE", "IMPLEMENTATION"}
    pp.quit()


def test_line_length_limit_is_255_octets_with_crlf(mailnest):
    p = RawPop3(mailnest.pop3_port)
    p.login("alice")
    assert p.cmd("NOOP" + " " * 249) == b"+OK"            # 253 + CRLF = 255: allowed
    assert p.cmd("NOOP" + " " * 250) == b"-ERR line too long"  # 256
    assert p.cmd("X" * 5000) == b"-ERR line too long"       # drained to its LF...
    assert p.cmd("NOOP") == b"+OK"                           # ...so the session is in sync
    p.send(b"NOOP" + b" " * 3000)                            # split over several segments
    time.sleep(0.05)
    p.send(b" \r\nSTAT\r\n")
    assert p.line() == b"-ERR line too long"
    assert p.line().startswith(b"+OK 0 0")


def test_argument_longer_than_40_octets_is_refused(mailnest):
    p = RawPop3(mailnest.pop3_port)
    assert p.cmd("USER " + "a" * 41) == b"-ERR argument too long"
    assert p.cmd("USER " + "a" * 40) == b"+OK send PASS"


def test_too_many_errors_closes_the_connection(mailnest_factory):
    mn = mailnest_factory(pop3={"max_errors": 3})
    p = RawPop3(mn.pop3_port)
    assert p.cmd("FOO") == b"-ERR unknown command"
    assert p.cmd("STAT") == b"-ERR command not valid in this state"
    assert p.cmd("BAR") == b"-ERR too many errors, closing connection"
    assert p.expect_closed() == b""


def test_bare_newline_is_refused_and_closes_in_reject_mode(mailnest_factory):
    mailnest = mailnest_factory(pop3={"bare_newline": "reject"})
    p = RawPop3(mailnest.pop3_port)
    p.send(b"CAPA\n")
    assert p.line() == b"-ERR line must end with CRLF"
    assert p.expect_closed() == b""


def test_bare_lf_command_is_a_line_and_bare_cr_closes_in_normalize_mode(mailnest):
    p = RawPop3(mailnest.pop3_port)
    p.send(b"NOOP\n")  # only valid in TRANSACTION: an -ERR, but the line was taken
    assert p.line().startswith(b"-ERR")
    p.send(b"CAPA\rX\r\n")
    assert p.line() == b"-ERR line must end with CRLF"
    assert p.expect_closed() == b""


def test_autologout_removes_nothing(mailnest_factory):
    mn = mailnest_factory(pop3={"autologout_timeout_s": 1})
    send(mn, "alice@mailnest.local", b"Subject: keep\r\n\r\nbody\r\n")
    p = login(mn)
    assert p.cmd("DELE 1").startswith(b"+OK")
    start = time.monotonic()
    assert p.expect_closed(timeout=5) == b"-ERR autologout: idle for too long\r\n"
    assert 0.9 <= time.monotonic() - start < 4
    assert len(mn.all_messages("alice")) == 1
    p = login_retrying(mn)
    assert p.cmd("STAT").startswith(b"+OK 1 ")
    assert "autologout" in mn.logs()


def test_max_connections_turns_extra_clients_away(mailnest_factory):
    mn = mailnest_factory(pop3={"max_connections": 1})
    first = RawPop3(mn.pop3_port)
    second = RawPop3(mn.pop3_port)
    assert second.greeting.startswith(b"-ERR [SYS/TEMP] too many connections")
    assert second.expect_closed() == b""
    assert first.cmd("NOOP") == b"-ERR command not valid in this state"  # the first one is served
    first.close()
    assert wait_for(lambda: RawPop3(mn.pop3_port).greeting.startswith(b"+OK"))


def test_shutdown_closes_sessions_without_update(mailnest_factory):
    mn = mailnest_factory()
    send(mn, "alice@mailnest.local", b"Subject: a\r\n\r\nbody\r\n")
    p = login(mn)
    assert p.cmd("DELE 1").startswith(b"+OK")
    idle = RawPop3(mn.pop3_port)
    assert mn.stop(sig=signal.SIGTERM) == 0
    assert p.expect_closed() == b"-ERR [SYS/TEMP] server shutting down\r\n"
    assert idle.expect_closed() == b"-ERR [SYS/TEMP] server shutting down\r\n"
    assert len(mn.all_messages("alice")) == 1


def test_smtp_only_and_pop3_only_processes_share_a_mail_root(mailnest_factory, tmp_path):
    root = tmp_path / "one-root"
    smtp = mailnest_factory(mail_root=root, name="in", pop3={"enabled": False})
    pop3 = mailnest_factory(mail_root=root, name="out", smtp={"enabled": False})
    assert smtp.pop3_port is None and pop3.smtp_port is None
    msg = b"Subject: split\r\n\r\n.one\r\ntwo"
    send(smtp, "team@mailnest.local", msg)  # alias: alice and bob
    for user in ("alice", "bob"):
        p = login(pop3, user)
        assert strip_trace(p.retr(1)) == as_sent(msg)
        p.cmd("DELE 1")
        assert p.cmd("QUIT") == b"+OK mailnest signing off (1 messages removed)"
    send(smtp, "alice@mailnest.local", b"Subject: later\r\n\r\nx\r\n")
    p = login_retrying(pop3)
    assert p.cmd("STAT").startswith(b"+OK 1 ")
    assert "login ok" in (tmp_path / "out-pop3.log").read_text()  # the POP3-only process's log


def test_poplib_client_round_trip(mailnest):
    send(mailnest, "bob@mailnest.local", b"Subject: poplib\r\n\r\n.dot\r\nplain\r\n")
    p = poplib.POP3("127.0.0.1", mailnest.pop3_port, timeout=10)
    p.user("bob")
    p.pass_(PASSWORDS["bob"])
    count, size = p.stat()
    resp, lines, octets = p.retr(1)
    assert count == 1 and resp == f"+OK {size} octets".encode()
    assert lines[-2:] == [b".dot", b"plain"]
    assert p.quit().startswith(b"+OK")


def test_login_removes_tmp_debris_older_than_36_hours_only(mailnest):
    tmp = mailnest.mail_root / "alice" / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    (mailnest.mail_root / "alice" / "new").mkdir(exist_ok=True)
    (mailnest.mail_root / "alice" / "cur").mkdir(exist_ok=True)
    old = tmp / "1000.M1P1Q1.crashed"
    fresh = tmp / "2000.M2P2Q2.in-progress"
    old.write_bytes(b"half a message")
    fresh.write_bytes(b"being delivered")
    day = 24 * 3600
    os.utime(old, (time.time() - 2 * day, time.time() - 2 * day))
    os.utime(fresh, (time.time() - day, time.time() - day))
    p = login(mailnest)
    assert p.cmd("STAT") == b"+OK 0 0"
    p.cmd("QUIT")
    assert not old.exists()
    assert fresh.exists()
