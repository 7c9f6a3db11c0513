"""SMTP intake: greeting, commands, envelope rules, pipelining (real binary)."""
import hashlib
import os
import re
import smtplib
import stat
import time

import pytest

from test_smtp_wire import Wire, lf, stored_message

pytestmark = pytest.mark.e2


def sha(b):
    return hashlib.sha256(b).hexdigest()


def test_greeting_and_ehlo_keywords(mailnest):
    with Wire(mailnest.smtp_port) as w:
        g = w.reply()
        assert g.code == 220
        assert re.match(r"^\S+ ESMTP mailnest$", g.lines[0])
        r = w.cmd("EHLO client.test")
        assert r.code == 250
        keywords = {line.split()[0].upper(): line for line in r.lines[1:]}
        assert set(keywords) >= {"SIZE", "PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"}
        size = int(keywords["SIZE"].split()[1])
        assert size == mailnest.config["smtp"]["max_message_size"]
        assert w.cmd("NOOP").text == "2.0.0 Ok"
        r = w.cmd("QUIT")
        assert (r.code, r.enhanced) == (221, "2.0.0")
        assert w.is_closed()


def test_happy_path_with_smtplib(mailnest):
    msg = (b"From: Sender <sender@remote.test>\r\nTo: alice@localhost\r\nSubject: hello\r\n\r\n"
           b"first line\r\n.leading dot survives\r\n\r\nlast line\r\n")
    with smtplib.SMTP("127.0.0.1", mailnest.smtp_port, timeout=10) as s:
        code, _ = s.ehlo("client.test")
        assert code == 250
        assert s.has_extn("pipelining") and s.has_extn("8bitmime") and s.has_extn("enhancedstatuscodes")
        refused = s.sendmail("sender@remote.test", ["alice@localhost"], msg)
        assert refused == {}
    files = mailnest.new_files("alice")
    assert len(files) == 1
    assert stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600
    assert mailnest.tmp_files("alice") == []
    return_path, received, body = stored_message(files[0])
    assert return_path == b"Return-Path: <sender@remote.test>"
    assert received.startswith(b"Received: from client.test ([127.0.0.1])\n\tby ")
    assert b" (mailnest) with ESMTP id " in received
    assert b"\n\tfor <alice@localhost>; " in received
    assert re.search(rb"; \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$", received)
    # Stored in the Maildir convention: LF line ends, no CR anywhere.
    assert b"\r" not in files[0].read_bytes()
    assert sha(body) == sha(lf(msg)), "stored body differs from what was sent"
    assert mailnest.new_files("bob") == []


def test_queue_id_matches_file_name(mailnest):
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        w.start_data()
        w.send(b"Subject: x\r\n\r\nbody\r\n.\r\n")
        r = w.reply()
        assert (r.code, r.enhanced) == (250, "2.0.0")
        queue_id = re.search(r"queued as (\S+)", r.text).group(1)
    [f] = mailnest.new_files("alice")
    assert f.name.startswith(queue_id)
    assert f"id {queue_id}".encode() in f.read_bytes()


def test_wrong_order_is_503_and_changes_nothing(mailnest):
    with Wire(mailnest.smtp_port) as w:
        assert w.reply().code == 220
        r = w.cmd("MAIL FROM:<a@remote.test>")
        assert (r.code, r.enhanced) == (503, "5.5.1")  # before HELO/EHLO
        w.cmd("EHLO client.test")
        for line in ("RCPT TO:<alice@localhost>", "DATA"):
            r = w.cmd(line)
            assert (r.code, r.enhanced) == (503, "5.5.1"), line
        assert w.cmd("MAIL FROM:<a@remote.test>").code == 250
        r = w.cmd("MAIL FROM:<a@remote.test>")
        assert (r.code, r.enhanced) == (503, "5.5.1")
        r = w.cmd("DATA")  # no valid recipient yet
        assert (r.code, r.enhanced) == (503, "5.5.1")
        # The transaction is still open: a recipient is accepted now.
        assert w.cmd("RCPT TO:<alice@localhost>").code == 250
        assert w.cmd("DATA").code == 354


def test_unknown_verb_syntax_and_parameters(mailnest):
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        r = w.cmd("XYZZY plugh")
        assert (r.code, r.enhanced) == (500, "5.5.2")
        r = w.cmd("MAIL FROM a@remote.test")
        assert (r.code, r.enhanced) == (501, "5.5.4")
        r = w.cmd("MAIL FROM:<a b@remote.test>")
        assert (r.code, r.enhanced) == (501, "5.5.4")
        r = w.cmd("EHLO")
        assert (r.code, r.enhanced) == (501, "5.5.4")
        r = w.cmd("MAIL FROM:<a@remote.test> FROBNICATE=yes")
        assert (r.code, r.enhanced) == (555, "5.5.4")
        r = w.cmd("MAIL FROM:<a@remote.test> BODY=8BITMIME SIZE=1000")
        assert (r.code, r.enhanced) == (250, "2.1.0")
        r = w.cmd("RCPT TO:<alice@localhost> NOTIFY=SUCCESS")
        assert (r.code, r.enhanced) == (555, "5.5.4")


def test_size_parameter_too_big_is_552_at_once(mailnest_factory):
    mn = mailnest_factory(smtp={"max_message_size": 100000})
    with Wire(mn.smtp_port) as w:
        w.greet()
        r = w.cmd("MAIL FROM:<a@remote.test> SIZE=100001")
        assert (r.code, r.enhanced) == (552, "5.3.4")
        assert w.cmd("MAIL FROM:<a@remote.test> SIZE=100000").code == 250


def test_null_sender(mailnest):
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        w.start_data(sender="")
        w.send(b"Subject: bounce\r\n\r\nbody\r\n.\r\n")
        assert w.reply().code == 250
    [f] = mailnest.new_files("alice")
    assert f.read_bytes().startswith(b"Return-Path: <>\n")


def test_relaying_denied_and_unknown_user(mailnest):
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        assert w.cmd("MAIL FROM:<a@remote.test>").code == 250
        r = w.cmd("RCPT TO:<alice@elsewhere.example>")
        assert (r.code, r.enhanced) == (550, "5.7.1")
        assert "relaying denied" in r.text
        r = w.cmd("RCPT TO:<nosuchuser@localhost>")
        assert (r.code, r.enhanced) == (550, "5.1.1")
        r = w.cmd("RCPT TO:<ALICE@LocalHost>")  # both parts case-insensitive
        assert (r.code, r.enhanced) == (250, "2.1.5")


@pytest.mark.parametrize("local", ["../x", "a/b", "%2e%2e", "..", "\"../../etc/passwd\"",
                                   "\"alice/../bob\"", ".alice", "alice\\x"])
def test_path_traversal_local_parts_are_refused(mailnest, local):
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        assert w.cmd("MAIL FROM:<a@remote.test>").code == 250
        r = w.cmd(f"RCPT TO:<{local}@localhost>")
        assert r.code in (550, 501), r  # 501 only where the RFC syntax itself forbids it
        if r.code == 550:
            assert r.enhanced == "5.1.1"
    root = mailnest.mail_root
    assert all(p.name in ("alice", "bob", ".journal") for p in root.iterdir())  # .journal: store/delivery_journal.h
    assert not (root.parent / "x").exists() and not (root / "x").exists()


def test_nul_in_a_local_part_is_refused(mailnest):
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        assert w.cmd("MAIL FROM:<a@remote.test>").code == 250
        w.send(b"RCPT TO:<ali\x00ce@localhost>\r\n")
        r = w.reply()
        assert r.code in (501, 550), r
        assert w.cmd("NOOP").code == 250  # the session is still in sync


def test_alias_delivery(mailnest):
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        assert w.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert w.cmd("RCPT TO:<team@localhost>").code == 250        # alice + bob
        assert w.cmd("RCPT TO:<postmaster@localhost>").code == 250  # alice again
        assert w.cmd("DATA").code == 354
        w.send(b"Subject: to the team\r\n\r\nhi all\r\n.\r\n")
        assert w.reply().code == 250
    # One copy per mailbox, even though alice was named twice.
    assert len(mailnest.new_files("alice")) == 1
    assert len(mailnest.new_files("bob")) == 1
    received = stored_message(mailnest.new_files("bob")[0])[1]
    assert b"\tfor " not in received  # several recipients: no "for" (as Postfix)


def test_bare_postmaster_is_accepted(mailnest):
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        assert w.cmd("MAIL FROM:<a@remote.test>").code == 250
        r = w.cmd("RCPT TO:<Postmaster>")  # RFC 5321 §4.1.1.3
        assert r.code == 250


def test_recipient_limit_452_keeps_earlier(mailnest_factory):
    mn = mailnest_factory(smtp={"max_recipients": 3})
    with Wire(mn.smtp_port) as w:
        w.greet()
        assert w.cmd("MAIL FROM:<a@remote.test>").code == 250
        for rcpt in ("alice@localhost", "bob@localhost", "postmaster@localhost"):
            assert w.cmd(f"RCPT TO:<{rcpt}>").code == 250
        r = w.cmd("RCPT TO:<team@localhost>")
        assert (r.code, r.enhanced) == (452, "4.5.3")
        assert w.cmd("DATA").code == 354
        w.send(b"Subject: limited\r\n\r\nx\r\n.\r\n")
        assert w.reply().code == 250
    assert len(mn.new_files("alice")) == 1
    assert len(mn.new_files("bob")) == 1


def test_pipelining_replies_in_order(mailnest):
    with Wire(mailnest.smtp_port) as w:
        assert w.reply().code == 220
        w.send(b"EHLO client.test\r\n"
               b"MAIL FROM:<a@remote.test>\r\n"
               b"RCPT TO:<alice@localhost>\r\n"
               b"RCPT TO:<nobody@localhost>\r\n"
               b"RCPT TO:<bob@elsewhere.example>\r\n"
               b"RCPT TO:<bob@localhost>\r\n"
               b"DATA\r\n")
        codes = [w.reply().code for _ in range(7)]
        assert codes == [250, 250, 250, 550, 550, 250, 354]
        # The body, the end of data and the next transaction in one segment.
        w.send(b"Subject: p\r\n\r\npipelined\r\n.\r\n"
               b"MAIL FROM:<b@remote.test>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\n")
        codes = [w.reply().code for _ in range(4)]
        assert codes == [250, 250, 250, 354]
        w.send(b"second\r\n.\r\nQUIT\r\n")
        assert w.reply().code == 250
        assert w.reply().code == 221
    assert len(mailnest.new_files("alice")) == 1
    assert len(mailnest.new_files("bob")) == 2


def test_early_talker_is_refused(mailnest_factory):
    mn = mailnest_factory(smtp={"greeting_delay_ms": 500})
    with Wire(mn.smtp_port) as w:
        w.send(b"EHLO impatient.test\r\n")
        r = w.reply()
        assert (r.code, r.enhanced) == (554, "5.5.0")
        assert w.is_closed()
    with Wire(mn.smtp_port) as w:  # a patient client is greeted after the delay
        t0 = time.monotonic()
        assert w.reply().code == 220
        assert time.monotonic() - t0 >= 0.4
        assert w.cmd("EHLO patient.test").code == 250


def test_line_too_long_then_session_continues(mailnest):
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        w.send(b"NOOP " + b"x" * 2000 + b"\r\n")
        r = w.reply()
        assert (r.code, r.enhanced) == (500, "5.5.2")
        assert "line too long" in r.text
        assert w.cmd("MAIL FROM:<a@remote.test>").code == 250
        # Exactly 512 octets with CRLF is still fine.
        line = "NOOP " + "y" * (512 - 7)
        assert w.cmd(line).code == 250


@pytest.mark.parametrize("bad", [b"NOOP\n", b"NOOP\rQUIT\r\n", b"MAIL FROM:<a@remote.test>\nRCPT TO:<alice@localhost>\r\n"])
def test_bare_newline_in_command_closes_in_reject_mode(mailnest_factory, bad):
    mailnest = mailnest_factory(smtp={"bare_newline": "reject"})
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        w.send(bad)
        r = w.reply()
        assert (r.code, r.enhanced) == (550, "5.5.2")
        assert "bare LF/CR" in r.text
        assert w.is_closed()


def test_bare_lf_command_lines_are_taken_as_lines_in_normalize_mode(mailnest):
    # Postfix 3.9's smtpd_forbid_bare_newline = normalize, the default.
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        w.send(b"MAIL FROM:<a@remote.test>\nRCPT TO:<alice@localhost>\r\nDATA\n")
        assert [w.reply().code for _ in range(3)] == [250, 250, 354]
        w.send(b"Subject: lf\n\nunix\n.\r\n")  # the LF before the dot: not the end
        w.send(b"still the body\r\n.\r\n")
        assert w.reply().code == 250
        w.send(b"NOOP\rQUIT\r\n")  # a bare CR is refused in every mode
        r = w.reply()
        assert (r.code, r.enhanced) == (550, "5.5.2")
        assert w.is_closed()
    [f] = mailnest.new_files("alice")
    assert stored_message(f)[2] == b"Subject: lf\n\nunix\n\nstill the body\n"


def test_vrfy_help_rset_noop(mailnest):
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        r = w.cmd("VRFY alice")
        assert (r.code, r.enhanced) == (252, "2.0.0")  # RFC 5321 §3.5.3: no user disclosure
        r = w.cmd("HELP")
        assert r.code == 214 and "MAIL" in r.text
        assert w.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert w.cmd("RSET").code == 250
        r = w.cmd("RCPT TO:<alice@localhost>")  # RSET ended the transaction
        assert r.code == 503
        r = w.cmd("NOOP some text")
        assert r.code == 250


def test_helo_session_says_smtp(mailnest):
    with Wire(mailnest.smtp_port) as w:
        assert w.reply().code == 220
        r = w.cmd("HELO old.client.test")
        assert r.code == 250
        r = w.cmd("MAIL FROM:<a@remote.test> SIZE=10")  # no extensions after HELO
        assert r.code == 555
        w.start_data()
        w.send(b"hi\r\n.\r\n")
        assert w.reply().code == 250
    received = stored_message(mailnest.new_files("alice")[0])[1]
    assert b"from old.client.test ([127.0.0.1])" in received
    assert b" with SMTP id " in received


def test_logs_have_session_ids_verbs_and_codes(mailnest):
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        w.cmd("MAIL FROM:<a@remote.test>")
        w.cmd("RCPT TO:<nobody@localhost>")
        w.cmd("QUIT")
    time.sleep(0.2)
    logs = mailnest.logs()
    assert re.search(r"smtp info \[[0-9a-f]+\] connect from 127\.0\.0\.1:\d+", logs)
    if "smtp debug" in logs:  # per-command lines are debug level
        assert re.search(r"\[[0-9a-f]+\] 127\.0\.0\.1:\d+ RCPT TO:<nobody@localhost> -> 550 5\.1\.1", logs)
    assert re.search(r"\[[0-9a-f]+\] disconnect from 127\.0\.0\.1", logs)
