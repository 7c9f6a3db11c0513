"""Store-and-forward (docs/RELAY.md): a relaying mailnest "a" queues mail
for b.test durably before its 250 and delivers it to the next hop named in
relay.transport: a second mailnest "b", or Postfix's smtp-sink. Deferrals
are retried (backoff 1 s here), a 5xx for one recipient bounces only that
one, and the bounce reaches the local sender's mailbox as an RFC 3464
report."""
import email
import os
import email.policy
import signal
import smtplib
import subprocess

import pytest

from relay_support import (envelope_text, free_port, next_hop, queue_files, queued_ids, relay_overrides,
                           sink_available, user_has, wait_for)

pytestmark = pytest.mark.e2


def send(mn, rcpts, subject, sender="alice@example.test", body="hello over the relay\r\n"):
    msg = f"Subject: {subject}\r\nFrom: <{sender}>\r\n\r\n{body}"
    with smtplib.SMTP("127.0.0.1", mn.smtp_port, timeout=10) as s:
        return s.sendmail(sender, rcpts, msg.encode())


def test_relayed_to_a_second_mailnest(mailnest_factory):
    b = next_hop(mailnest_factory)
    a = mailnest_factory(name="a", **relay_overrides(b.smtp_port))
    assert send(a, ["bob@b.test"], "relay-one", body="hello over the relay\r\n.leading dot\r\n..two\r\n") == {}
    wait_for(lambda: user_has(b, "bob", b"Subject: relay-one"), what="delivery at b")
    got = b.all_messages("bob")[0].read_bytes()
    assert b"hello over the relay\n.leading dot\n..two\n" in got  # stuffed by us, un-stuffed by b
    assert got.count(b"Received: from") == 2  # ours, then b's
    wait_for(lambda: not queue_files(a), what="queue empty")
    logs = a.logs()
    assert f"to=<bob@b.test>, relay=127.0.0.1[127.0.0.1]:{b.smtp_port}" in logs
    assert "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as" in logs
    assert "hello over the relay" not in logs  # never bodies


def test_local_and_relayed_recipients_in_one_message(mailnest_factory):
    b = next_hop(mailnest_factory)
    a = mailnest_factory(name="a", **relay_overrides(b.smtp_port))
    assert send(a, ["bob@example.test", "bob@b.test"], "mixed") == {}
    wait_for(lambda: user_has(b, "bob", b"Subject: mixed"), what="delivery at b")
    assert user_has(a, "bob", b"Subject: mixed")


def test_deferred_while_next_hop_down_then_delivered(mailnest_factory):
    port = free_port()
    a = mailnest_factory(name="a", **relay_overrides(port))
    assert send(a, ["bob@b.test"], "later") == {}
    wait_for(lambda: "status=deferred" in a.logs(), what="a deferral")
    assert queued_ids(a)
    logs = a.logs()
    assert "dsn=4.4.1, status=deferred (4.4.1 connect to 127.0.0.1[127.0.0.1]" in logs
    b = next_hop(mailnest_factory, port=port)
    wait_for(lambda: user_has(b, "bob", b"Subject: later"), what="delivery after the next hop came up")
    wait_for(lambda: not queue_files(a), what="queue empty")


def test_one_recipient_refused_other_delivered_and_bounce_to_local_sender(mailnest_factory):
    b = next_hop(mailnest_factory)
    a = mailnest_factory(name="a", **relay_overrides(b.smtp_port))
    assert send(a, ["bob@b.test", "carol@b.test"], "half") == {}
    wait_for(lambda: user_has(b, "bob", b"Subject: half"), what="bob's copy at b")
    wait_for(lambda: user_has(a, "alice", b"multipart/report"), what="the bounce in alice's mailbox")
    wait_for(lambda: not queue_files(a), what="queue empty")
    raw = [p for p in a.all_messages("alice") if b"multipart/report" in p.read_bytes()][0].read_bytes()
    assert raw.startswith(b"Return-Path: <>\n")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "message/delivery-status", "text/rfc822-headers"]
    assert "carol@b.test" in parts[0].get_content()
    # message/delivery-status: the per-message block, then one per recipient.
    blocks = parts[1].get_payload()
    per_msg, per_rcpt = blocks[0], blocks[1:]
    assert per_msg["Reporting-MTA"] == "dns; mailnest.local"
    assert per_msg["Arrival-Date"]
    assert len(per_rcpt) == 1
    r = per_rcpt[0]
    assert r["Final-Recipient"] == "rfc822; carol@b.test"
    assert r["Action"] == "failed"
    assert r["Status"] == "5.1.1"
    assert r["Remote-MTA"] == "dns; 127.0.0.1"
    assert r["Diagnostic-Code"].startswith("smtp; 550 5.1.1")
    assert r["Last-Attempt-Date"]
    assert b"Subject: half" in raw
    logs = a.logs()
    assert "to=<carol@b.test>" in logs and "dsn=5.1.1, status=bounced (550 5.1.1" in logs
    assert "to=<bob@b.test>" in logs and "status=sent" in logs
    assert not user_has(b, "bob", b"multipart/report")


def test_killed_after_250_delivered_after_restart(mailnest_factory):
    port = free_port()
    a = mailnest_factory(name="a", **relay_overrides(port, minimal_backoff_s=2, maximal_backoff_s=2))
    assert send(a, ["bob@b.test"], "survivor") == {}
    a.stop(sig=signal.SIGKILL)
    [qid] = queued_ids(a)
    assert envelope_text(a, qid).startswith("mailnest-queue 1\n")
    b = next_hop(mailnest_factory, port=port)
    a.start()
    wait_for(lambda: user_has(b, "bob", b"Subject: survivor"), what="delivery after restart")
    wait_for(lambda: not queue_files(a), what="queue empty")
    assert len(b.all_messages("bob")) == 1


@pytest.mark.skipif(not sink_available(), reason="Postfix's smtp-sink is not installed (/usr/sbin/smtp-sink)")
def test_relayed_to_smtp_sink(mailnest_factory):
    port = free_port()
    cmd = ["/usr/sbin/smtp-sink"]
    if os.geteuid() == 0:
        cmd += ["-u", "nobody"]  # smtp-sink refuses to run as root otherwise
    sink = subprocess.Popen(cmd + [f"127.0.0.1:{port}", "10"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: _listening(port), what="smtp-sink listening")
        a = mailnest_factory(name="a", **relay_overrides(port))
        assert send(a, ["x@b.test", "y@b.test"], "to-sink", body="caf\u00e9\r\n.leading dot\r\n") == {}
        wait_for(lambda: a.logs().count("status=sent") == 2, what="two recipients sent")
        logs = a.logs()
        assert f"to=<x@b.test>, relay=127.0.0.1[127.0.0.1]:{port}" in logs
        assert "dsn=2.0.0, status=sent (250 2.0.0 Ok" in logs
        wait_for(lambda: not queue_files(a), what="queue empty")
    finally:
        sink.terminate()
        sink.wait(timeout=5)


def _listening(port):
    import socket
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_queue_command_lists_a_deferred_recipient(mailnest_factory):
    port = free_port()
    a = mailnest_factory(name="a", **relay_overrides(port, minimal_backoff_s=300, maximal_backoff_s=300))
    assert send(a, ["bob@b.test"], "listed") == {}
    wait_for(lambda: "status=deferred" in a.logs(), what="a deferral")
    out = subprocess.run([str(a.proc.args[0]), "queue", "--config", str(a.config_path)], capture_output=True,
                         text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "STATE", "ATTEMPTS"]
    row = lines[1].split()
    assert row[1:3] == ["queued", "1"]
    assert "<alice@example.test> -> <bob@b.test> 4.4.1 connect to 127.0.0.1[127.0.0.1]" in lines[1]
    assert lines[-1].startswith("1 message(s) in ")
