"""Bounces (docs/RELAY.md): a remote sender's bounce travels through the
queue with MAIL FROM:<>; a message whose sender is <> is never bounced; a
recipient deferred past relay.max_queue_lifetime_s is returned."""
import email
import email.policy
import smtplib

import pytest

from relay_support import free_port, next_hop, queue_files, relay_overrides, user_has, wait_for

pytestmark = pytest.mark.e2


def send(mn, sender, rcpts, subject):
    msg = f"Subject: {subject}\r\n\r\nbody\r\n".encode()
    with smtplib.SMTP("127.0.0.1", mn.smtp_port, timeout=10) as s:
        return s.sendmail(sender, rcpts, msg)


def report(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report"
    status = list(msg.iter_parts())[1]
    assert status.get_content_type() == "message/delivery-status"
    return status.get_payload()


def test_remote_sender_gets_the_bounce_through_the_queue_with_null_sender(mailnest_factory):
    b = next_hop(mailnest_factory)
    a = mailnest_factory(name="a", **relay_overrides(b.smtp_port))
    assert send(a, "alice@b.test", ["carol@b.test"], "to-nobody") == {}
    wait_for(lambda: user_has(b, "alice", b"multipart/report"), what="the bounce at b")
    raw = b.all_messages("alice")[0].read_bytes()
    assert raw.startswith(b"Return-Path: <>\n")  # b recorded MAIL FROM:<>
    blocks = report(raw)
    assert blocks[1]["Final-Recipient"] == "rfc822; carol@b.test"
    assert blocks[1]["Status"] == "5.1.1"
    wait_for(lambda: not queue_files(a), what="queue empty (message and bounce)")
    assert "from=<>, size=" in a.logs()


def test_a_bounce_is_never_bounced(mailnest_factory):
    b = next_hop(mailnest_factory)
    a = mailnest_factory(name="a", **relay_overrides(b.smtp_port))
    assert send(a, "", ["carol@b.test"], "bounce-of-bounce") == {}
    wait_for(lambda: "a bounce is never bounced" in a.logs(), what="the bounce refused")
    wait_for(lambda: not queue_files(a), what="queue empty")
    assert not a.all_messages("alice") and not b.all_messages("alice")


def test_expired_deferral_is_returned_to_the_sender(mailnest_factory):
    port = free_port()  # the next hop never comes up
    a = mailnest_factory(name="a", **relay_overrides(port, max_queue_lifetime_s=2))
    assert send(a, "alice@example.test", ["bob@b.test"], "too-late") == {}
    wait_for(lambda: user_has(a, "alice", b"multipart/report"), what="the expiry bounce")
    blocks = report(a.all_messages("alice")[0].read_bytes())
    r = blocks[1]
    assert r["Final-Recipient"] == "rfc822; bob@b.test"
    assert r["Status"] == "4.4.1"
    assert r["Diagnostic-Code"].startswith("X-Mailnest; 4.4.1 connect to 127.0.0.1[127.0.0.1]")
    assert "Remote-MTA" not in r
    assert "status=deferred" in a.logs() and "status=expired" in a.logs()
    wait_for(lambda: not queue_files(a), what="queue empty")


def test_mail_loop_is_bounced_not_forwarded(mailnest_factory):
    b = next_hop(mailnest_factory)
    a = mailnest_factory(name="a", **relay_overrides(b.smtp_port))
    hops = "".join(f"Received: from hop{i}.test by hop{i + 1}.test; Mon, 7 Dec 2026 10:00:00 +0000\r\n"
                   for i in range(24))
    with smtplib.SMTP("127.0.0.1", a.smtp_port, timeout=10) as s:
        # 24 + ours = 25 Received headers: still forwarded.
        s.sendmail("alice@example.test", ["bob@b.test"], f"{hops}Subject: at-limit\r\n\r\nx\r\n".encode())
        # 25 + ours = 26: a loop.
        s.sendmail("alice@example.test", ["bob@b.test"],
                   f"{hops}Received: one more\r\nSubject: looping\r\n\r\nx\r\n".encode())
    wait_for(lambda: user_has(b, "bob", b"Subject: at-limit"), what="the message at the limit")
    wait_for(lambda: user_has(a, "alice", b"multipart/report"), what="the loop bounce")
    blocks = report(a.all_messages("alice")[0].read_bytes())
    assert blocks[1]["Status"] == "5.4.6"
    assert blocks[1]["Diagnostic-Code"].startswith("smtp; 554 5.4.6 Too many hops")
    wait_for(lambda: not queue_files(a), what="queue empty")
    assert not user_has(b, "bob", b"Subject: looping")
