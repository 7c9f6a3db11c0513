"""Deterministic fault injection on the receiving side (docs/RELAY.md, "Fault
injection"), against the real binary: each stage (connect, helo, mail,
rcpt, data, dot) with each action (reply, delay, disconnect), first N /
every N / always, sender and recipient patterns, and that faults are
logged and counted."""
import time

import pytest

from faults_support import RawSmtp, reply_rule
from http_client import get
from relay_support import wait_for

pytestmark = pytest.mark.e2

STAGES = ["connect", "helo", "mail", "rcpt", "data", "dot"]


# Each stage before "dot": how it is played and the reply that lets the
# session go on.
STEPS = [
    ("connect", lambda c: c.reply(), "220 "),
    ("helo", lambda c: c.cmd("EHLO client.test"), "250 "),
    ("mail", lambda c: c.cmd("MAIL FROM:<alice@example.test>"), "250 "),
    ("rcpt", lambda c: c.cmd("RCPT TO:<bob@example.test>"), "250 "),
    ("data", lambda c: c.cmd("DATA"), "354"),
]


def run_to(c, stage, subject="m"):
    """Plays a normal session up to `stage` and returns the reply of that step."""
    for name, play, ok in STEPS:
        if stage == name:
            return play(c)
        assert play(c).startswith(ok)
    return c.body(subject)


# What the session answers next when the faulted step was refused: the
# state is the one before that step.
AFTER_REFUSAL = {
    "helo": ("MAIL FROM:<alice@example.test>", "503 5.5.1"),  # still no greeting
    "mail": ("RCPT TO:<bob@example.test>", "503 5.5.1"),       # no transaction
    "rcpt": ("DATA", "503 5.5.1"),                              # no recipient
    "data": ("RCPT TO:<alice@example.test>", "250 2.1.5"),      # still collecting recipients
    "dot": ("MAIL FROM:<alice@example.test>", "250 2.1.0"),     # the transaction is over
}


@pytest.mark.parametrize("stage", STAGES)
def test_reply_at_each_stage(mailnest_factory, stage):
    code, enhanced = (554, "5.3.2") if stage == "connect" else (451, "4.7.1")
    mn = mailnest_factory(faults=[reply_rule(stage, code, enhanced)])
    c = RawSmtp(mn.smtp_port)
    assert run_to(c, stage, subject="secret-subject") == f"{code} {enhanced} fault at {stage}"
    if stage == "connect":
        assert c.closed()  # no session follows a refused greeting
    else:
        command, expected = AFTER_REFUSAL[stage]
        assert c.cmd(command).startswith(expected)
        assert c.cmd("QUIT").startswith("221")
    c.close()
    time.sleep(0.2)
    assert mn.all_messages("bob") == []  # nothing stored, also not at the final dot
    logs = mn.logs()
    assert f"fault injected: rule 0 at {stage}: reply {code} {enhanced}" in logs
    assert "secret-subject" not in logs  # never bodies


@pytest.mark.parametrize("stage", STAGES)
def test_disconnect_at_each_stage(mailnest_factory, stage):
    mn = mailnest_factory(faults=[{"stage": stage, "disconnect": True}])
    c = RawSmtp(mn.smtp_port)
    assert run_to(c, stage) == ""  # closed without a reply
    assert c.closed()
    c.close()
    time.sleep(0.2)
    assert mn.all_messages("bob") == []
    assert mn.tmp_files("bob") == []  # the dot's half-made file is gone too
    assert f"fault injected: rule 0 at {stage}: disconnect" in mn.logs()


NORMAL = {"connect": "220 ", "helo": "250 ", "mail": "250 2.1.0", "rcpt": "250 2.1.5", "data": "354",
          "dot": "250 2.0.0 Ok: queued as"}
SEND = {"helo": "EHLO client.test\r\n", "mail": "MAIL FROM:<alice@example.test>\r\n",
        "rcpt": "RCPT TO:<bob@example.test>\r\n", "data": "DATA\r\n", "dot": "Subject: slow\r\n\r\nbody\r\n.\r\n"}


@pytest.mark.parametrize("stage", STAGES)
def test_delay_at_each_stage_then_normal_and_the_loop_keeps_serving(mailnest_factory, stage):
    mn = mailnest_factory(faults=[{"stage": stage, "delay_ms": 1500, "first": 1}])
    started = time.monotonic()
    c = RawSmtp(mn.smtp_port)
    for s in STAGES[:STAGES.index(stage)]:
        if s != "connect":
            c.send(SEND[s])
        assert c.reply().startswith(NORMAL[s])
    if stage != "connect":
        c.send(SEND[stage])
        started = time.monotonic()
    # Meanwhile another client is served at once: the delay is a timer, not
    # a wait on the loop.
    other = RawSmtp(mn.smtp_port)
    assert other.reply().startswith("220 ") and other.cmd("NOOP").startswith("250")
    assert time.monotonic() - started < 1.0  # well before the delay ends
    other.close()
    assert c.reply().startswith(NORMAL[stage])  # then carries on normally
    assert time.monotonic() - started >= 1.45
    if stage == "data":
        assert c.body("after a slow 354").startswith("250 2.0.0")
    if stage == "dot":
        assert len(mn.all_messages("bob")) == 1  # stored after the delay
    assert c.cmd("QUIT").startswith("221")
    c.close()
    assert f"fault injected: rule 0 at {stage}: delay 1500 ms" in mn.logs()


def test_pipelined_commands_behind_a_delayed_one_are_answered_in_order(mailnest_factory):
    mn = mailnest_factory(faults=[{"stage": "rcpt", "recipient": "bob@*", "delay_ms": 500, "first": 1}])
    c = RawSmtp(mn.smtp_port)
    assert c.reply().startswith("220 ")
    assert c.cmd("EHLO client.test").startswith("250 ")
    c.send("MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nRCPT TO:<alice@example.test>\r\n"
           "DATA\r\n")
    assert c.reply() == "250 2.1.0 Ok"
    assert c.reply() == "250 2.1.5 Ok" and c.elapsed >= 0.4
    assert c.reply() == "250 2.1.5 Ok"
    assert c.reply().startswith("354")
    assert c.body("pipelined").startswith("250 2.0.0")
    c.close()
    assert len(mn.all_messages("bob")) == 1 and len(mn.all_messages("alice")) == 1


def rcpt_replies(mn, n, rcpt="bob@example.test"):
    c = RawSmtp(mn.smtp_port)
    assert c.reply().startswith("220 ")
    assert c.cmd("EHLO client.test").startswith("250 ")
    assert c.cmd("MAIL FROM:<alice@example.test>").startswith("250 ")
    out = [c.cmd(f"RCPT TO:<{rcpt}>")[:3] for _ in range(n)]
    c.close()
    return out


def test_first_n(mailnest_factory):
    mn = mailnest_factory(faults=[reply_rule("rcpt", first=2)])
    assert rcpt_replies(mn, 4) == ["451", "451", "250", "250"]
    assert rcpt_replies(mn, 1) == ["250"]  # counted per rule, not per session


def test_every_n(mailnest_factory):
    mn = mailnest_factory(faults=[reply_rule("rcpt", every=3)])
    assert rcpt_replies(mn, 7) == ["250", "250", "451", "250", "250", "451", "250"]


def test_always_is_the_default_and_does_not_count_as_client_errors(mailnest_factory):
    mn = mailnest_factory(smtp={"max_errors": 3}, faults=[reply_rule("rcpt")])
    assert rcpt_replies(mn, 6) == ["451"] * 6  # no 421 "too many errors"


def test_421_closes(mailnest_factory):
    mn = mailnest_factory(faults=[reply_rule("mail", 421, "4.3.2", "going away")])
    c = RawSmtp(mn.smtp_port)
    assert run_to(c, "mail") == "421 4.3.2 going away"
    assert c.closed()


def test_patterns_are_case_insensitive_globs_on_the_right_addresses(mailnest_factory):
    mn = mailnest_factory(faults=[
        reply_rule("mail", 550, "5.7.1", "no bounces", sender="<>"),
        reply_rule("rcpt", 550, "5.1.1", "no bob", recipient="BOB@*.test"),
        reply_rule("dot", 452, "4.3.1", "not for the team", recipient="team@*"),
    ])
    c = RawSmtp(mn.smtp_port)
    assert c.reply().startswith("220 ")
    assert c.cmd("EHLO client.test").startswith("250 ")
    assert c.cmd("MAIL FROM:<>") == "550 5.7.1 no bounces"
    assert c.cmd("MAIL FROM:<carol@example.test>").startswith("250 ")
    assert c.cmd("RCPT TO:<Bob@Example.Test>") == "550 5.1.1 no bob"
    assert c.cmd("RCPT TO:<alice@example.test>").startswith("250 ")
    assert c.cmd("DATA").startswith("354")
    assert c.body("to alice").startswith("250 2.0.0")  # no recipient matches team@*
    assert c.cmd("MAIL FROM:<carol@example.test>").startswith("250 ")
    assert c.cmd("RCPT TO:<alice@example.test>").startswith("250 ")
    assert c.cmd("RCPT TO:<team@example.test>").startswith("250 ")
    assert c.cmd("DATA").startswith("354")
    assert c.body("to the team") == "452 4.3.1 not for the team"  # one of them matches
    c.close()
    time.sleep(0.2)
    assert len(mn.all_messages("alice")) == 1


def test_faults_are_counted_in_metrics_and_stats(mailnest_factory):
    mn = mailnest_factory(faults=[reply_rule("rcpt", first=2), {"stage": "helo", "delay_ms": 1, "every": 2}])
    assert rcpt_replies(mn, 3) == ["451", "451", "250"]
    metrics = get(mn.http_port, "/metrics").body.decode()
    assert "mailnest_fault_rules 2\n" in metrics
    assert 'mailnest_faults_injected_total{rule="0",stage="rcpt",action="reply"} 2\n' in metrics
    assert 'mailnest_faults_injected_total{rule="1",stage="helo",action="delay"} 0\n' in metrics
    stats = get(mn.http_port, "/api/v1/stats").json()
    assert stats["faults"] == {"rules": 2, "injected": [2, 0], "injected_total": 2}
    wait_for(lambda: mn.logs().count("fault injected: rule 0 at rcpt: reply 451 4.7.1") == 2, what="two log lines")


def test_no_faults_by_default(mailnest_factory):
    # Its own instance: the lab's external appliance has no HTTP port here, and
    # its fault list must not change under the other tests.
    mailnest = mailnest_factory()
    c = RawSmtp(mailnest.smtp_port)
    assert run_to(c, "dot").startswith("250 2.0.0")
    c.close()
    assert get(mailnest.http_port, "/api/v1/faults").json() == {"faults": [], "counters": [], "injected_total": 0}


def test_shutdown_cuts_a_delayed_dot_short_and_the_message_is_kept(mailnest_factory):
    mn = mailnest_factory(shutdown_grace_s=1, faults=[{"stage": "dot", "delay_ms": 600000}])
    c = RawSmtp(mn.smtp_port)
    assert run_to(c, "data").startswith("354")
    c.send("Subject: held\r\n\r\nbody\r\n.\r\n")
    time.sleep(0.3)
    started = time.monotonic()
    assert mn.stop() == 0
    assert time.monotonic() - started < 8  # the grace (1 s), not the ten-minute delay
    assert c.reply().startswith("250 2.0.0")  # stored at the grace's end, then told 421
    assert c.reply().startswith("421 4.3.2")
    assert len(mn.all_messages("bob")) == 1
