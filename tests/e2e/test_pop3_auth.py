"""POP3 login: USER/PASS, failure delay and wording, locks, log hygiene."""
import time

import pytest

from test_pop3_support import AUTH_FAILED, RawPop3, login, login_retrying, send

pytestmark = pytest.mark.e3

DELAY_MS = 300


def failed_login(mn, user, password):
    """Returns (reply, seconds from PASS to reply)."""
    p = RawPop3(mn.pop3_port)
    assert p.cmd(f"USER {user}") == b"+OK send PASS"
    start = time.monotonic()
    reply = p.cmd(f"PASS {password}")
    elapsed = time.monotonic() - start
    # The session stays in AUTHORIZATION and can try again.
    assert p.cmd("STAT") == b"-ERR command not valid in this state"
    p.close()
    return reply, elapsed


def test_wrong_password_and_unknown_user_look_the_same(mailnest_factory):
    mn = mailnest_factory(pop3={"auth_failure_delay_ms": DELAY_MS})
    wrong, t_wrong = failed_login(mn, "alice", "not-her-password")
    unknown, t_unknown = failed_login(mn, "nobody", "whatever")
    assert wrong == unknown == AUTH_FAILED
    assert t_wrong >= DELAY_MS / 1000 and t_unknown >= DELAY_MS / 1000
    # A dummy crypt(3) runs for unknown users, so the times match closely.
    assert abs(t_wrong - t_unknown) < 0.15


def test_failed_login_delay_does_not_block_other_sessions(mailnest_factory):
    mn = mailnest_factory(pop3={"auth_failure_delay_ms": 1500})
    slow = RawPop3(mn.pop3_port)
    slow.cmd("USER alice")
    slow.send(b"PASS wrong\r\n")
    time.sleep(0.1)
    start = time.monotonic()
    p = login(mn, "bob")
    assert p.cmd("STAT").startswith(b"+OK")
    assert time.monotonic() - start < 1.0  # served while alice's failure waits
    assert slow.line() == AUTH_FAILED


def test_path_traversal_user_names_are_refused_like_any_unknown_user(mailnest):
    before = sorted(p.name for p in mailnest.mail_root.parent.iterdir())
    for user in ("../alice", "a/b", "%2e%2e", "..", "alice/../bob", "/etc", "ALICE"):
        reply, _ = failed_login(mailnest, user, "alice-password")
        assert reply == AUTH_FAILED, user
    # Nothing was created next to (or above) the mail root.
    assert sorted(p.name for p in mailnest.mail_root.parent.iterdir()) == before
    assert not (mailnest.mail_root / "a").exists()


def test_password_never_in_the_logs(mailnest_factory):
    mn = mailnest_factory(log_level="debug")
    secret = "pw-Zq81-never-logged"
    failed_login(mn, "alice", secret)
    failed_login(mn, "nobody", secret + "2")
    p = RawPop3(mn.pop3_port)
    p.cmd(f"PASS {secret}3")           # PASS without USER
    p.cmd(f"PASSX {secret}4")          # unknown verb carrying it
    p.close()
    p = login(mn)                      # a good login's password
    p.cmd("QUIT")
    logs = mn.logs()
    for s in (secret, "alice-password"):
        assert s not in logs
    assert "PASS ****" in logs
    assert "login failed" in logs and "login ok" in logs


def test_second_concurrent_login_gets_in_use(mailnest):
    send(mailnest, "alice@mailnest.local", b"Subject: x\r\n\r\nbody\r\n")
    first = login(mailnest)
    second = RawPop3(mailnest.pop3_port)
    second.cmd("USER alice")
    assert second.cmd("PASS alice-password") == b"-ERR [IN-USE] mailbox locked by another session"
    # Still in AUTHORIZATION: it may log in as someone else.
    assert second.cmd("USER bob").startswith(b"+OK")
    assert second.cmd("PASS bob-password").startswith(b"+OK")
    assert first.cmd("STAT").startswith(b"+OK 1 ")
    assert first.cmd("QUIT").startswith(b"+OK")
    first.expect_closed()
    third = login(mailnest)  # released by QUIT before its +OK
    assert third.cmd("STAT").startswith(b"+OK 1 ")
    assert "lock busy" in mailnest.logs()


def test_lock_is_shared_by_two_processes_on_one_mail_root(mailnest_factory, tmp_path):
    root = tmp_path / "mail"
    a = mailnest_factory(mail_root=root, name="a", smtp={"enabled": False})
    b = mailnest_factory(mail_root=root, name="b", smtp={"enabled": False})
    held = login(a)
    p = RawPop3(b.pop3_port)
    p.cmd("USER alice")
    assert p.cmd("PASS alice-password").startswith(b"-ERR [IN-USE]")
    # A process that dies holding the lock releases it (the kernel drops flock).
    a.stop(sig=9)
    held.close()
    assert login_retrying(b).cmd("STAT").startswith(b"+OK")


def test_wrong_state_commands_change_nothing(mailnest_factory):
    mailnest = mailnest_factory(pop3={"max_errors": 100})  # more bad commands than the default 20
    send(mailnest, "alice@mailnest.local", b"Subject: x\r\n\r\nbody\r\n")
    p = RawPop3(mailnest.pop3_port)
    assert p.greeting == b"+OK mailnest POP3 server ready"
    for cmd in ("STAT", "LIST", "RETR 1", "DELE 1", "NOOP", "RSET", "UIDL", "TOP 1 1"):
        assert p.cmd(cmd) == b"-ERR command not valid in this state", cmd
    assert p.cmd("PASS alice-password") == b"-ERR USER first"
    assert p.cmd("USER") == b"-ERR wrong number of arguments"
    assert p.cmd("APOP alice 0123456789abcdef0123456789abcdef") == b"-ERR unknown command"
    p.login("alice")
    for cmd in ("USER alice", "PASS alice-password"):
        assert p.cmd(cmd) == b"-ERR command not valid in this state", cmd
    assert p.cmd("RETR 0") == b"-ERR no such message"
    assert p.cmd("RETR 2") == b"-ERR no such message"
    assert p.cmd("RETR -1") == b"-ERR no such message"
    assert p.cmd("RETR 99999999999999999999999") == b"-ERR no such message"
    assert p.cmd("DELE x") == b"-ERR no such message"
    assert p.cmd("STAT 1") == b"-ERR wrong number of arguments"
    assert p.cmd("bogus") == b"-ERR unknown command"
    assert p.cmd("stat").startswith(b"+OK 1 ")  # keywords are case-insensitive
    assert p.cmd("QUIT") == b"+OK mailnest signing off (0 messages removed)"
    assert len(mailnest.all_messages("alice")) == 1


def test_quit_in_authorization_removes_nothing_and_closes(mailnest):
    p = RawPop3(mailnest.pop3_port)
    p.cmd("USER alice")
    assert p.cmd("QUIT") == b"+OK mailnest POP3 server signing off"
    assert p.expect_closed() == b""


def test_password_with_nul_after_the_real_one_is_refused(mailnest):
    # crypt(3) reads up to a NUL; "alice-password\0junk" must not log in.
    reply, _ = failed_login(mailnest, "alice", "alice-password\0junk")
    assert reply.startswith(b"-ERR"), reply
