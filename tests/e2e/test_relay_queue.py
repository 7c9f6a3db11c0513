"""Queue control (docs/RELAY.md "Control"): `mailnest queue flush`,
`retry ID` and `delete ID` against a running relay's queue directory (the
running scheduler notices the request file at once and acts), and with no
instance running (the command takes the queue's lock and acts on the files
itself). A restart re-reads a populated queue."""
import socket
import subprocess
import threading
import time

import pytest

from conftest import BINARY
from relay_support import (envelope_text, free_port, next_hop, queue_files, queued_ids, relay_overrides, user_has,
                           wait_for)
from test_relay_delivery import send

pytestmark = pytest.mark.e2

SLOW = {"minimal_backoff_s": 300, "maximal_backoff_s": 300}  # no retry on its own during a test


def queue_cli(mn, *args):
    return subprocess.run([str(BINARY), "queue", *args, "--config", str(mn.config_path)],
                          capture_output=True, text=True, timeout=30)


def deferred_relay(mailnest_factory, port, subject="q", **relay):
    a = mailnest_factory(name="a", **relay_overrides(port, **{**SLOW, **relay}))
    assert send(a, ["bob@b.test"], subject) == {}
    wait_for(lambda: "status=deferred" in a.logs(), what="a deferral")
    [qid] = queued_ids(a)
    return a, qid


def test_flush_sends_a_deferred_message_at_once(mailnest_factory):
    port = free_port()
    a, qid = deferred_relay(mailnest_factory, port, "flushed")
    b = next_hop(mailnest_factory, port=port)
    time.sleep(1.0)
    assert not user_has(b, "bob", b"Subject: flushed")  # backoff is 300 s: nothing goes on its own
    r = queue_cli(a, "flush")
    assert r.returncode == 0, r.stderr
    assert "done by the running instance" in r.stdout
    wait_for(lambda: user_has(b, "bob", b"Subject: flushed"), timeout=10, what="delivery after flush")
    wait_for(lambda: not queue_files(a), what="queue empty")
    assert not (a.mail_root / ".queue" / "ctl" / "flush").exists()


def test_retry_one_message(mailnest_factory):
    port = free_port()
    a, qid = deferred_relay(mailnest_factory, port, "retried")
    b = next_hop(mailnest_factory, port=port)
    r = queue_cli(a, "retry", qid)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: user_has(b, "bob", b"Subject: retried"), timeout=10, what="delivery after retry")
    assert f"[{qid}] retry requested: due now" in a.logs()


def test_delete_of_a_deferred_message_leaves_nothing_and_never_delivers(mailnest_factory):
    port = free_port()
    a, qid = deferred_relay(mailnest_factory, port, "deleted")
    r = queue_cli(a, "delete", qid)
    assert r.returncode == 0, r.stderr
    assert "done by the running instance" in r.stdout
    assert queue_files(a) == []
    assert "deleted from the queue, undelivered" in a.logs()
    b = next_hop(mailnest_factory, port=port)
    assert queue_cli(a, "flush").returncode == 0
    time.sleep(1.5)
    assert not user_has(b, "bob", b"Subject: deleted")
    assert queue_files(a) == []


class SilentHop:
    """A next hop that accepts and never greets: an attempt hangs in GREETING."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.closed = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._watch, args=(c,), daemon=True).start()

    def _watch(self, c):
        try:
            while c.recv(4096):
                pass
        except OSError:
            pass
        self.closed.set()

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def test_delete_while_an_attempt_hangs_aborts_it_and_removes_the_files(mailnest_factory):
    hop = SilentHop()
    try:
        a = mailnest_factory(name="a", **relay_overrides(hop.port, **SLOW))
        assert send(a, ["bob@b.test"], "hanging") == {}
        wait_for(lambda: hop.conns, what="the attempt's connection")
        [qid] = queued_ids(a)
        t0 = time.monotonic()
        r = queue_cli(a, "delete", qid)
        assert r.returncode == 0, r.stderr
        assert "done by the running instance" in r.stdout
        assert time.monotonic() - t0 < 5  # not after the 300 s greeting timeout
        assert queue_files(a) == []
        assert hop.closed.wait(5)  # the session was cut
        time.sleep(0.5)
        assert queue_files(a) == []  # no envelope rewrite brought it back
        assert "delete requested: waiting for the work under way" in a.logs()
    finally:
        hop.close()


def test_unknown_and_bad_ids(mailnest_factory, tmp_path):
    a = mailnest_factory(name="a", **relay_overrides(free_port(), **SLOW))
    r = queue_cli(a, "delete", "1765141200.M1P1Q1")
    assert r.returncode == 3 and "not queued" in r.stderr
    victim = tmp_path / "victim.env"
    victim.write_text("x")
    r = queue_cli(a, "delete", "../../victim")
    assert r.returncode == 2 and "not a queue id" in r.stderr
    assert victim.exists()
    assert not (a.mail_root / ".queue" / "ctl").exists() or not any(
        n.name.startswith("delete") for n in (a.mail_root / ".queue" / "ctl").iterdir())


def test_control_with_no_instance_running(mailnest_factory):
    port = free_port()
    a, qid = deferred_relay(mailnest_factory, port, "offline")
    a.stop()
    r = queue_cli(a, "flush")
    assert r.returncode == 0 and "no instance running" in r.stdout, r
    env = envelope_text(a, qid)
    assert "\nrcpt queued\t1\t0\t" in env  # next try 0: due at the next start
    r = queue_cli(a, "delete", qid)
    assert r.returncode == 0 and "no instance running" in r.stdout, r
    assert queue_files(a) == []
    listing = queue_cli(a)
    assert listing.returncode == 0 and "0 message(s)" in listing.stdout


def test_restart_re_reads_the_queue_off_the_loop(mailnest_factory):
    port = free_port()
    a, qid = deferred_relay(mailnest_factory, port, "restarted")
    a.stop()
    a.start()
    wait_for(lambda: "relay: 1 queued messages in" in a.logs(), what="the load line")
    assert "(loaded in " in a.logs()
    b = next_hop(mailnest_factory, port=port)
    assert queue_cli(a, "retry", qid).returncode == 0
    wait_for(lambda: user_has(b, "bob", b"Subject: restarted"), timeout=10, what="delivery after restart")


def test_a_second_instance_on_the_same_queue_is_refused(mailnest_factory, tmp_path):
    a = mailnest_factory(name="a", **relay_overrides(free_port(), **SLOW))
    with pytest.raises(RuntimeError, match="locked by a running instance"):
        mailnest_factory(name="a2", mail_root=a.mail_root, **relay_overrides(free_port(), **SLOW))
