"""The relay's SMTP client against a next hop that records how commands
arrive (next_hop_recorder.py): with PIPELINING advertised, MAIL, every RCPT
and DATA come in one write and each recipient keeps its own reply; without
it, one command at a time (docs/RELAY.md "Pipelining")."""
import smtplib

import pytest

from next_hop_recorder import NextHop, wait_until
from relay_support import queue_files, relay_overrides, user_has, wait_for

pytestmark = pytest.mark.e2


@pytest.fixture
def hop_factory():
    hops = []

    def make(**kw):
        hops.append(NextHop(**kw))
        return hops[-1]

    yield make
    for h in hops:
        h.close()


def send(mn, rcpts, subject, sender="alice@example.test"):
    msg = f"Subject: {subject}\r\nFrom: <{sender}>\r\n\r\nbody of {subject}\r\n"
    with smtplib.SMTP("127.0.0.1", mn.smtp_port, timeout=10) as s:
        return s.sendmail(sender, rcpts, msg.encode())


def is_cmd(line, verb):
    return line.upper().startswith(verb)


def test_pipelined_group_in_one_write_and_mixed_recipient_results(mailnest_factory, hop_factory):
    hop = hop_factory(pipelining=True)
    a = mailnest_factory(name="a", **relay_overrides(hop.port))
    assert send(a, ["bob@b.test", "bad@b.test", "carol@b.test"], "piped") == {}
    wait_until(lambda: hop.messages, what="the message at the next hop")
    wait_for(lambda: not queue_files(a), what="queue empty")
    batches = hop.batches(0)
    group = [b for b in batches if any(is_cmd(x, "MAIL") for x in b)]
    assert group == [["MAIL FROM:<alice@example.test> SIZE=" + group[0][0].split("SIZE=")[1],
                      "RCPT TO:<bob@b.test>", "RCPT TO:<bad@b.test>", "RCPT TO:<carol@b.test>", "DATA"]]
    assert hop.messages[0][1] == ["bob@b.test", "carol@b.test"]
    logs = a.logs()
    assert "to=<bob@b.test>" in logs and "to=<carol@b.test>" in logs
    for r in ("bob", "carol"):
        assert any(f"to=<{r}@b.test>" in l and "status=sent (250 2.0.0 Ok: queued)" in l for l in logs.splitlines())
    assert any("to=<bad@b.test>" in l and "status=bounced (550 5.1.1" in l for l in logs.splitlines())
    # The one refused recipient is reported to the (local) sender.
    wait_for(lambda: user_has(a, "alice", b"Final-Recipient: rfc822; bad@b.test"), what="the bounce")


def test_without_pipelining_one_command_at_a_time(mailnest_factory, hop_factory):
    hop = hop_factory(pipelining=False)
    a = mailnest_factory(name="a", **relay_overrides(hop.port))
    assert send(a, ["bob@b.test", "bad@b.test"], "one-by-one") == {}
    wait_until(lambda: hop.messages, what="the message at the next hop")
    wait_for(lambda: not queue_files(a), what="queue empty")
    for batch in hop.batches(0):
        assert len(batch) == 1, batch  # every command waited for the previous reply
    cmds = [c.split(":")[0].split(" ")[0].upper() for c in hop.commands(0)]
    assert cmds == ["EHLO", "MAIL", "RCPT", "RCPT", "DATA", "QUIT"]
    assert hop.messages[0][1] == ["bob@b.test"]
    assert any("to=<bad@b.test>" in l and "status=bounced (550 5.1.1" in l for l in a.logs().splitlines())


def test_queued_messages_for_one_destination_share_one_connection(mailnest_factory, hop_factory):
    # The first message's final reply is held back 1.5 s: the other four are
    # queued meanwhile and, with one connection allowed to the destination,
    # wait for it; each follows on it after RSET.
    hop = hop_factory(pipelining=True, slow_first_dot=1.5)
    a = mailnest_factory(name="a", **relay_overrides(hop.port, max_per_destination=1))
    for i in range(5):
        assert send(a, ["bob@b.test"], f"reuse-{i}") == {}
    wait_until(lambda: len(hop.messages) == 5, what="five messages at the next hop")
    wait_for(lambda: not queue_files(a), what="queue empty")
    assert len(hop.connections) == 1
    cmds = hop.commands(0)
    assert sum(is_cmd(c, "RSET") for c in cmds) == 4
    assert sum(is_cmd(c, "EHLO") for c in cmds) == 1
    assert is_cmd(cmds[-1], "QUIT")
    # RSET leads each later group, in the same write.
    groups = [b for b in hop.batches(0) if any(is_cmd(x, "RSET") for x in b)]
    assert len(groups) == 4
    for g in groups:
        assert [x.split(":")[0].split(" ")[0].upper() for x in g] == ["RSET", "MAIL", "RCPT", "DATA"]
    assert sorted(m[2].split(b"Subject: ")[1][:7] for m in hop.messages) == [f"reuse-{i}".encode() for i in range(5)]


def test_messages_per_connection_are_bounded(mailnest_factory, hop_factory):
    hop = hop_factory(pipelining=True, slow_first_dot=1.5)
    a = mailnest_factory(name="a", **relay_overrides(hop.port, max_per_destination=1, max_messages_per_connection=2))
    for i in range(5):
        assert send(a, ["bob@b.test"], f"bound-{i}") == {}
    wait_until(lambda: len(hop.messages) == 5, what="five messages at the next hop")
    wait_for(lambda: not queue_files(a), what="queue empty")
    assert len(hop.connections) == 3  # 2 + 2 + 1
    for c in range(3):
        assert sum(is_cmd(x, "RSET") for x in hop.commands(c)) <= 1


def test_pipelining_can_be_turned_off(mailnest_factory, hop_factory):
    hop = hop_factory(pipelining=True)
    a = mailnest_factory(name="a", **relay_overrides(hop.port, pipelining=False))
    assert send(a, ["bob@b.test", "carol@b.test"], "no-pipe") == {}
    wait_until(lambda: hop.messages, what="the message at the next hop")
    wait_for(lambda: not queue_files(a), what="queue empty")
    for batch in hop.batches(0):
        assert len(batch) == 1, batch


def test_a_reused_connection_that_refuses_rset_costs_no_deferral(mailnest_factory, hop_factory):
    # A server that takes one message per connection (421 to RSET, then
    # closes): each later message goes over a new connection at once. With
    # a 300 s backoff a deferral would not be delivered within this test.
    hop = hop_factory(pipelining=True, slow_first_dot=1.5, refuse_rset=True)
    a = mailnest_factory(name="a", **relay_overrides(hop.port, max_per_destination=1, minimal_backoff_s=300,
                                                     maximal_backoff_s=300))
    for i in range(3):
        assert send(a, ["bob@b.test"], f"fresh-{i}") == {}
    wait_until(lambda: len(hop.messages) == 3, what="three messages at the next hop")
    wait_for(lambda: not queue_files(a), what="queue empty")
    assert len(hop.connections) >= 3
    assert "status=deferred" not in a.logs()


def test_a_session_ended_out_of_turn_while_waiting_does_not_take_the_next_message(mailnest_factory, hop_factory):
    # Behind the first message's 250 the hop says 421 unasked and keeps the
    # connection open a while: the second message, promised to that session,
    # must go over a new connection (and really arrive), not be logged as
    # sent with the first one's reply.
    hop = hop_factory(pipelining=True, slow_first_dot=1.0, bye_after_first=True)
    a = mailnest_factory(name="a", **relay_overrides(hop.port, max_per_destination=1))
    for i in range(2):
        assert send(a, ["bob@b.test"], f"stale-{i}") == {}
    wait_until(lambda: len(hop.messages) == 2, what="both messages at the next hop")
    wait_for(lambda: not queue_files(a), what="queue empty")
    assert len(hop.connections) == 2
