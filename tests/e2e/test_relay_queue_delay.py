"""Delay warnings (relay.delay_warning_s, docs/RELAY.md "Delay warnings"):
once a message has been deferred that long, its sender gets ONE RFC 3464
report with Action: delayed and a 4.x.x status, the message stays queued
and is still delivered later; a bounce (sender <>) never gets one; 0 (the
default) sends none."""
import email
import email.policy
import smtplib
import time

import pytest

from relay_support import (envelope_text, free_port, next_hop, queue_files, queued_ids, relay_overrides, user_has,
                           wait_for)
from test_relay_delivery import send

pytestmark = pytest.mark.e2

FAST = {"minimal_backoff_s": 1, "maximal_backoff_s": 1}


def delay_reports(mn):
    return [p for p in mn.all_messages("alice") if b"Delayed Mail" in p.read_bytes()]


def test_one_delay_warning_then_delivery(mailnest_factory):
    port = free_port()
    a = mailnest_factory(name="a", **relay_overrides(port, delay_warning_s=2, **FAST))
    assert send(a, ["bob@b.test"], "slow one") == {}
    wait_for(lambda: delay_reports(a), timeout=20, what="the delay warning")
    [qid] = queued_ids(a)
    wait_for(lambda: a.logs().count("status=deferred") >= 5, timeout=20, what="more deferrals")
    assert len(delay_reports(a)) == 1  # one per message, not one per deferral
    env = envelope_text(a, qid)
    assert "\nwarned " in env  # remembered across restarts

    raw = delay_reports(a)[0].read_bytes()
    assert raw.startswith(b"Return-Path: <>\n")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == "Delayed Mail (still being retried)"
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "message/delivery-status", "text/rfc822-headers"]
    assert "WARNING ONLY" in parts[0].get_content()
    per_msg, per_rcpt = parts[1].get_payload()
    assert per_msg["X-Mailnest-Queue-ID"] == qid
    assert per_rcpt["Final-Recipient"] == "rfc822; bob@b.test"
    assert per_rcpt["Action"] == "delayed"
    assert per_rcpt["Status"].startswith("4.")
    assert per_rcpt["Diagnostic-Code"].startswith("X-Mailnest; 4.4.1 connect to")
    assert per_rcpt["Will-Retry-Until"]
    assert "Subject: slow one" in parts[2].as_string()

    b = next_hop(mailnest_factory, port=port)
    wait_for(lambda: user_has(b, "bob", b"Subject: slow one"), timeout=20, what="delivery after the warning")
    wait_for(lambda: not queue_files(a), what="queue empty")
    assert len(delay_reports(a)) == 1
    assert not [p for p in a.all_messages("alice") if b"Undelivered Mail" in p.read_bytes()]


def test_no_delay_warning_for_a_bounce_or_when_off(mailnest_factory, tmp_path):
    a = mailnest_factory(name="a", **relay_overrides(free_port(), delay_warning_s=1, **FAST))
    with smtplib.SMTP("127.0.0.1", a.smtp_port, timeout=10) as s:  # a bounce: MAIL FROM:<>
        s.sendmail("", ["bob@b.test"], b"Subject: a bounce\r\n\r\nreport\r\n")
    off = mailnest_factory(name="off", mail_root=tmp_path / "off", **relay_overrides(free_port(), **FAST))
    assert send(off, ["bob@b.test"], "no warning") == {}
    wait_for(lambda: a.logs().count("status=deferred") >= 4 and off.logs().count("status=deferred") >= 4,
             timeout=20, what="several deferrals on both")
    assert "delay notification" not in a.logs()
    assert "delay notification" not in off.logs()
    assert not delay_reports(off)
