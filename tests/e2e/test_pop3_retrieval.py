"""POP3 retrieval scenarios: mail sent with smtplib through the real SMTP
server, read back over POP3 byte for byte."""
import os
import re
import time
import uuid

import pytest

from test_pop3_support import (RawPop3, as_sent, listing, login, login_retrying, send,
                               strip_trace, wait_for)
from test_smtp_wire import binary_is_sanitized

pytestmark = pytest.mark.e3

DOTTY = (b"From: sender@example.test\r\n"
         b"To: alice@mailnest.local\r\n"
         b"Subject: dots\r\n"
         b"\r\n"
         b".leading dot\r\n"
         b"..two dots\r\n"
         b".\r\n"
         b"middle . dot\r\n"
         b"last line without CRLF")


def message(subject, body=b"hello\r\n"):
    return (b"From: sender@example.test\r\nTo: alice@mailnest.local\r\nSubject: "
            + subject.encode() + b"\r\n\r\n" + body)


def test_retr_is_byte_exact_and_dot_stuffed_on_the_wire(mailnest):
    send(mailnest, "alice@mailnest.local", DOTTY)
    p = login(mailnest)
    assert p.cmd("RETR 1").startswith(b"+OK")
    wire = p.multiline_raw()
    # Every line that starts with '.' went out with one more.
    assert b"\r\n..leading dot\r\n...two dots\r\n..\r\nmiddle . dot\r\n" in wire
    got = strip_trace(p.retr(1))
    assert got == as_sent(DOTTY)
    assert p.cmd("QUIT").startswith(b"+OK")


def test_stat_and_list_sizes_equal_retr_octets(mailnest):
    bodies = [b"x\r\n", b".\r\n" * 50, b"".join(b"line %d\r\n" % i for i in range(3000))]
    for i, body in enumerate(bodies):
        send(mailnest, "alice@mailnest.local", message(f"size {i}", body))
    p = login(mailnest)
    octets = [len(p.retr(n)) for n in (1, 2, 3)]
    stat = p.cmd("STAT").split()
    assert stat == [b"+OK", b"3", str(sum(octets)).encode()]
    assert listing(p, "LIST") == [(b"1", str(octets[0]).encode()), (b"2", str(octets[1]).encode()),
                                  (b"3", str(octets[2]).encode())]
    assert p.cmd("LIST 2") == f"+OK 2 {octets[1]}".encode()
    # RETR's +OK line announces the same count.
    assert p.cmd("RETR 3") == f"+OK {octets[2]} octets".encode()
    p.multiline_raw()
    # And the sizes are the stored files' W= fields (their S= is the LF
    # size on disk: one octet less per line).
    files = mailnest.all_messages("alice")
    fields = [dict(kv.split("=") for kv in f.name.split(":")[0].split(",")[1:]) for f in files]
    assert sorted(octets) == sorted(int(x["W"]) for x in fields)
    for f, x in zip(files, fields):
        data = f.read_bytes()
        assert b"\r" not in data
        assert int(x["S"]) == len(data) == f.stat().st_size
        assert int(x["W"]) == len(data) + data.count(b"\n")


def test_top_sends_header_blank_line_and_n_body_lines(mailnest):
    body = b".b1\r\nb2\r\nb3\r\n"
    send(mailnest, "alice@mailnest.local", message("top", body))
    p = login(mailnest)
    full = p.retr(1)
    header = full[:full.index(b"\r\n\r\n") + 4]
    assert p.cmd("TOP 1 0").startswith(b"+OK")
    assert p.multiline_raw() == header
    assert p.cmd("TOP 1 2").startswith(b"+OK")
    assert p.multiline_raw() == header + b"..b1\r\nb2\r\n"
    assert p.cmd("TOP 1 99").startswith(b"+OK")
    assert p.multiline_raw() == header + b"..b1\r\nb2\r\nb3\r\n"
    assert p.cmd("TOP 1").startswith(b"-ERR")
    assert p.cmd("TOP 1 x").startswith(b"-ERR")
    assert p.cmd("TOP 2 0") == b"-ERR no such message"


def test_dele_then_quit_removes_only_marked(mailnest):
    for i in range(3):
        send(mailnest, "alice@mailnest.local", message(f"m{i}"))
    p = login(mailnest)
    uidls = listing(p, "UIDL")
    assert p.cmd("DELE 2") == b"+OK message 2 deleted"
    assert p.cmd("DELE 2") == b"-ERR message 2 already deleted"
    assert p.cmd("RETR 2") == b"-ERR message 2 already deleted"
    assert p.cmd("LIST 2") == b"-ERR message 2 already deleted"
    assert p.cmd("STAT").startswith(b"+OK 2 ")
    assert [u[0] for u in listing(p, "LIST")] == [b"1", b"3"]
    assert p.cmd("QUIT") == b"+OK mailnest signing off (1 messages removed)"
    assert p.expect_closed() == b""
    assert len(mailnest.all_messages("alice")) == 2
    p = login_retrying(mailnest)
    assert listing(p, "UIDL") == [(b"1", uidls[0][1]), (b"2", uidls[2][1])]


def test_dele_then_dropped_connection_keeps_everything(mailnest):
    for i in range(2):
        send(mailnest, "alice@mailnest.local", message(f"m{i}"))
    p = login(mailnest)
    assert p.cmd("DELE 1").startswith(b"+OK")
    assert p.cmd("DELE 2").startswith(b"+OK")
    p.close()  # no QUIT: no UPDATE
    p = login_retrying(mailnest)
    assert p.cmd("STAT").startswith(b"+OK 2 ")
    assert len(mailnest.all_messages("alice")) == 2


def test_rset_restores_marked_messages(mailnest):
    for i in range(2):
        send(mailnest, "alice@mailnest.local", message(f"m{i}"))
    p = login(mailnest)
    stat = p.cmd("STAT")
    p.cmd("DELE 1")
    p.cmd("DELE 2")
    assert p.cmd("STAT") == b"+OK 0 0"
    assert p.cmd("RSET").startswith(b"+OK maildrop has 2 messages")
    assert p.cmd("STAT") == stat
    assert p.cmd("QUIT") == b"+OK mailnest signing off (0 messages removed)"
    assert len(mailnest.all_messages("alice")) == 2


def test_uidl_stable_across_sessions_and_restart_and_never_reused(mailnest_factory, tmp_path):
    root = tmp_path / "shared-mail"
    mn = mailnest_factory(mail_root=root)
    for i in range(3):
        send(mn, "alice@mailnest.local", message(f"u{i}"))
    p = login(mn)
    first = listing(p, "UIDL")
    assert p.cmd("UIDL 2") == b"+OK 2 " + first[1][1]
    for _, uid in first:
        assert 1 <= len(uid) <= 70 and all(0x21 <= c <= 0x7E for c in uid)
    assert len({u for _, u in first}) == 3
    p.cmd("QUIT")
    p = login_retrying(mn)
    assert listing(p, "UIDL") == first
    p.cmd("DELE 3")
    p.cmd("QUIT")
    assert mn.stop() == 0

    mn2 = mailnest_factory(mail_root=root)
    send(mn2, "alice@mailnest.local", message("after restart"))
    p = login(mn2)
    again = listing(p, "UIDL")
    assert again[:2] == first[:2]
    assert again[2][1] not in {u for _, u in first}  # the deleted one's UIDL is not reused


def test_delivery_during_a_session_is_kept_and_shown_next_session(mailnest):
    send(mailnest, "alice@mailnest.local", message("before"))
    p = login(mailnest)
    assert p.cmd("STAT").startswith(b"+OK 1 ")
    marker = uuid.uuid4().hex
    send(mailnest, "alice@mailnest.local", message(marker))
    assert p.cmd("STAT").startswith(b"+OK 1 ")  # the snapshot does not change
    p.cmd("DELE 1")
    assert p.cmd("QUIT") == b"+OK mailnest signing off (1 messages removed)"
    p = login_retrying(mailnest)
    assert p.cmd("STAT").startswith(b"+OK 1 ")
    assert marker.encode() in p.retr(1)


def test_pipelined_commands_are_answered_in_order(mailnest):
    bodies = [b".x\r\n" * 2000, b"short\r\n"]
    for i, body in enumerate(bodies):
        send(mailnest, "alice@mailnest.local", message(f"p{i}", body))
    p = RawPop3(mailnest.pop3_port)
    p.send(b"USER alice\r\nPASS alice-password\r\nSTAT\r\nRETR 1\r\nRETR 2\r\nRETR 1\r\nNOOP\r\nQUIT\r\n")
    assert p.line() == b"+OK send PASS"
    assert p.line().startswith(b"+OK maildrop has 2 messages")
    assert p.line().startswith(b"+OK 2 ")
    r = []
    for _ in range(3):
        assert p.line().startswith(b"+OK") and True
        r.append(p.multiline_raw())
    assert r[0] == r[2] and b"\r\n..x\r\n" in r[0]
    assert strip_trace(r[1]).endswith(b"\r\n\r\nshort\r\n")
    assert p.line() == b"+OK"
    assert p.line().startswith(b"+OK mailnest signing off")


def _rss_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(field)


def test_10mib_message_byte_exact_with_bounded_memory(mailnest_factory, tmp_path):
    """An SMTP-only process delivers; a POP3-only process on the same mail
    root streams it. The POP3 process's peak RSS must not grow by anything
    near the message size."""
    root = tmp_path / "big-mail"
    smtp_only = mailnest_factory(mail_root=root, name="smtp-only", pop3={"enabled": False})
    pop_only = mailnest_factory(mail_root=root, name="pop3-only", smtp={"enabled": False})
    assert smtp_only.pop3_port is None and pop_only.smtp_port is None
    line = b".%07d the quick brown fox jumps over the lazy dog 0123456789 abcdefghij\r\n"
    body = b"".join(line % i for i in range((10 * 1024 * 1024 - 8192) // len(line % 0)))
    msg = message("big", body)
    assert 10_000_000 < len(msg) < 10_485_760 - 4096
    send(smtp_only, "alice@mailnest.local", msg)

    pid = pop_only.proc.pid
    p = login(pop_only)
    # The login's yescrypt hash alone touches 16 MiB: reset the peak-RSS
    # mark after it (Linux: "5" > clear_refs), so only the RETR counts.
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")
    before = _rss_kib(pid, "VmRSS")
    got = p.retr(1)
    peak = _rss_kib(pid, "VmHWM")
    assert strip_trace(got) == msg
    assert p.cmd("LIST 1") == f"+OK 1 {len(got)}".encode()
    if not binary_is_sanitized(pop_only.proc.args[0]):  # ASan's quarantine holds freed chunks
        assert peak - before < 6 * 1024, f"POP3 RSS grew by {peak - before} KiB for a 10 MiB RETR"
    p.cmd("QUIT")


def test_retr_of_a_file_that_vanished_is_a_clear_error(mailnest):
    send(mailnest, "alice@mailnest.local", message("gone"))
    send(mailnest, "alice@mailnest.local", message("stays"))
    p = login(mailnest)
    # Pick the file by its content: the server orders by the numeric delivery
    # time in the name, which a lexical sort gets wrong ("M99" > "M100000").
    cur = (mailnest.maildir("alice") / "cur").iterdir()
    (first,) = [f for f in cur if b"gone" in f.read_bytes()]
    first.unlink()  # behind the session's back (another program sharing the Maildir)
    assert p.cmd("RETR 1") == b"-ERR message 1 no longer exists (removed by another program)"
    assert p.cmd("TOP 1 0").startswith(b"-ERR message 1 no longer exists")
    assert b"stays" in p.retr(2)  # the session goes on
    assert p.cmd("NOOP") == b"+OK"


def test_a_message_renamed_by_another_program_is_still_served_and_deleted(mailnest):
    # Dovecot marking a message \Seen renames cur/<unique>:2, to <unique>:2,S.
    send(mailnest, "alice@mailnest.local", message("renamed"))
    p = login(mailnest)
    uidl = p.cmd("UIDL 1")
    [f] = (mailnest.maildir("alice") / "cur").iterdir()
    f.rename(f.with_name(f.name + "S"))
    assert strip_trace(p.retr(1)) == as_sent(message("renamed"))
    assert p.cmd("DELE 1").startswith(b"+OK")
    assert p.cmd("QUIT") == b"+OK mailnest signing off (1 messages removed)"
    assert list((mailnest.maildir("alice") / "cur").iterdir()) == []
    assert uidl.split()[2] == f.name.split(":")[0].encode()


def test_symlink_planted_in_the_maildir_is_never_served(mailnest, tmp_path):
    secret = tmp_path / "outside-secret"
    secret.write_bytes(b"not mail\r\n")
    for sub in ("new", "cur", "tmp"):
        (mailnest.mail_root / "alice" / sub).mkdir(parents=True, exist_ok=True)
    os.symlink(secret, mailnest.mail_root / "alice" / "new" / "1.M1P1Q1.evil,S=10")
    os.symlink(secret, mailnest.mail_root / "alice" / "cur" / "2.M2P2Q2.evil,S=10:2,")
    p = login(mailnest)
    assert p.cmd("STAT") == b"+OK 0 0"
    assert p.cmd("RETR 1").startswith(b"-ERR")
    p.cmd("QUIT")
