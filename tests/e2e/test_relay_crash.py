"""The relay queue under a crash in the middle of its intake: every message
that got its 250 before SIGKILL reaches the next hop after the restart,
and the queue holds no file it could not read (docs/RELAY.md "Durability").
Messages killed before their 250 may or may not arrive (RFC 5321 §6.1:
duplicates and unacknowledged deliveries are allowed, losses are not)."""
import signal
import smtplib
import threading

import pytest

from relay_support import free_port, next_hop, queue_files, relay_overrides, wait_for

pytestmark = pytest.mark.e2


def subjects_at(mn, user):
    out = set()
    for p in mn.all_messages(user):
        for line in p.read_bytes().split(b"\n"):
            if line.startswith(b"Subject: crash-"):
                out.add(line[len(b"Subject: "):].decode())
                break
    return out


def test_every_acknowledged_message_survives_sigkill_during_intake(mailnest_factory):
    port = free_port()  # the next hop is down while mailnest takes the mail in
    a = mailnest_factory(name="a", **relay_overrides(port, minimal_backoff_s=1, maximal_backoff_s=1))
    acked = []
    lock = threading.Lock()
    stop = threading.Event()

    def sender(n):
        i = 0
        while not stop.is_set() and i < 400:  # bounded: SIGKILL comes long before
            subject = f"crash-{n}-{i}"
            msg = f"Subject: {subject}\r\nFrom: <alice@example.test>\r\n\r\n{'x' * 700}\r\n"
            try:
                with smtplib.SMTP("127.0.0.1", a.smtp_port, timeout=5) as s:
                    if s.sendmail("alice@example.test", ["bob@b.test"], msg.encode()) == {}:
                        with lock:
                            acked.append(subject)
            except (OSError, smtplib.SMTPException):
                return  # killed under us: this one was not acknowledged
            i += 1

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    wait_for(lambda: len(acked) >= 60, timeout=30, what="60 acknowledged messages")
    a.stop(sig=signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join(timeout=15)
    with lock:
        acknowledged = set(acked)
    assert len(acknowledged) >= 60

    b = next_hop(mailnest_factory, port=port)
    a.start()
    wait_for(lambda: acknowledged <= subjects_at(b, "bob"), timeout=60,
             what="every acknowledged message at the next hop")
    # Empty: no half-written file left, none put aside as unreadable (*.bad).
    wait_for(lambda: not queue_files(a), timeout=30, what="queue empty")
    assert "kept as" not in a.logs()
    # Each message once: a duplicate needs a crash between a next hop's 250
    # and the queue's update, and the hop was down until the restart.
    crash_copies = [p for p in b.all_messages("bob") if b"Subject: crash-" in p.read_bytes()]
    assert len(crash_copies) == len(subjects_at(b, "bob"))
