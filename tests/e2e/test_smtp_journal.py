"""The delivery journal (docs/ARCHITECTURE.md, "Delivery journal"): every
message a 250 was given for survives the process being killed, and a
message a POP3 client deleted does not come back.

kill -9 keeps the page cache, so on its own it loses nothing; the tests
stand in for what a power cut could do by truncating or removing the
Maildir files that no checkpoint covered yet, then restart on the same
mail_root and expect recovery to put back exactly what was accepted."""
import poplib
import random
import signal
import smtplib
import threading
import time

import pytest

from test_pop3_support import PASSWORDS

pytestmark = pytest.mark.e2

# No checkpoint during the test: every record stays live in the journal.
NO_CHECKPOINT = {"store": {"journal_checkpoint_ms": 60000}}


def send(mn, n, prefix="m"):
    bodies = []
    with smtplib.SMTP("127.0.0.1", mn.smtp_port, timeout=10) as s:
        for i in range(n):
            body = f"Subject: {prefix}{i}\r\n\r\n{prefix} body {i} " + "x" * (100 * i) + "\r\n"
            s.sendmail("sender@remote.test", ["alice@localhost"], body)
            bodies.append(body)
    return bodies


def contents(mn, user="alice"):
    return sorted(p.read_bytes() for p in mn.all_messages(user))


def test_killed_after_250_then_restarted_every_message_is_back(mailnest_factory):
    mn = mailnest_factory(name="a", **NO_CHECKPOINT)
    # A mailbox's first delivery after start takes the per-file fsync path
    # (store/mailbox_fs.h finds out whether it is on mail_root's filesystem);
    # it is durable on its own, so the crash below cannot touch it.
    warm_up = set(p.name for p in (send(mn, 1, "w") and mn.new_files("alice")))
    bodies = send(mn, 6)
    files = [p for p in mn.new_files("alice") if p.name not in warm_up]
    assert len(files) == 6
    before = contents(mn)
    journals = sorted((mn.mail_root / ".journal").iterdir())
    assert len(journals) == 2

    mn.stop(sig=signal.SIGKILL)
    assert sorted((mn.mail_root / ".journal").iterdir()) == journals  # nothing cleaned up
    files[0].write_bytes(files[0].read_bytes()[:10])  # torn: the data never reached the disk
    files[1].unlink()                                  # lost: the rename never reached the disk
    files[2].write_bytes(b"")                          # an inode without its data

    mn2 = mailnest_factory(mail_root=mn.mail_root, name="b", **NO_CHECKPOINT)
    assert contents(mn2) == before
    assert all(any(c.endswith(b.replace("\r\n", "\n").encode()) for c in before) for b in bodies)
    assert mn2.tmp_files("alice") == []
    log = mn2.logs()
    assert "journal recovery: 2 journal(s), 6 records: 3 intact, 1 restored, 2 repaired" in log
    assert not any(p.name in {j.name for j in journals} for p in (mn.mail_root / ".journal").iterdir())


def test_message_deleted_over_pop3_does_not_come_back(mailnest_factory):
    mn = mailnest_factory(name="a", **NO_CHECKPOINT)
    send(mn, 3)
    pop = poplib.POP3("127.0.0.1", mn.pop3_port, timeout=10)
    pop.user("alice")
    pop.pass_(PASSWORDS["alice"])
    assert pop.stat()[0] == 3
    pop.dele(1)
    pop.quit()  # UPDATE waits for a checkpoint before it unlinks
    left = contents(mn)
    assert len(left) == 2

    mn.stop(sig=signal.SIGKILL)
    mn2 = mailnest_factory(mail_root=mn.mail_root, name="b", **NO_CHECKPOINT)
    assert contents(mn2) == left


def test_graceful_stop_retires_and_removes_the_journal(mailnest_factory):
    mn = mailnest_factory(name="a", **NO_CHECKPOINT)
    send(mn, 2)
    assert mn.stop() == 0
    assert list((mn.mail_root / ".journal").iterdir()) == []
    mn2 = mailnest_factory(mail_root=mn.mail_root, name="b")
    assert "journal recovery" not in mn2.logs()
    assert len(mn2.new_files("alice")) == 2


def test_journal_off_uses_per_file_fsync(mailnest_factory):
    mn = mailnest_factory(store={"journal": False})
    send(mn, 2)
    assert len(mn.new_files("alice")) == 2
    assert not (mn.mail_root / ".journal").exists()


def test_two_instances_on_one_mail_root_keep_their_own_journals(mailnest_factory):
    a = mailnest_factory(name="a", **NO_CHECKPOINT)
    b = mailnest_factory(mail_root=a.mail_root, name="b", **NO_CHECKPOINT)  # a's journals are locked
    assert "journal recovery" not in b.logs()
    send(a, 1, "a")
    send(b, 1, "b")
    assert len(list((a.mail_root / ".journal").iterdir())) == 4  # two files per process
    assert len(a.new_files("alice")) == 2


@pytest.mark.slow
def test_kill_during_load_loses_no_acknowledged_message(mailnest_factory):
    """Ten clients send as fast as they can; the server is killed mid-load,
    the 50 newest Maildir files are torn or removed (what a power cut could
    do to files no checkpoint covered), and after a restart every message a
    client got 250 for is there, byte for byte."""
    mn = mailnest_factory(name="a", **NO_CHECKPOINT)
    acked, lock, stop = [], threading.Lock(), threading.Event()

    def client(t):
        try:
            with smtplib.SMTP("127.0.0.1", mn.smtp_port, timeout=10, local_hostname="client.test") as s:
                for i in range(100_000):
                    if stop.is_set():
                        return
                    body = f"Subject: {t}-{i}\r\n\r\n" + ("z" * 70 + "\r\n") * random.randint(0, 40)
                    s.sendmail("load@remote.test", ["alice@localhost"], body)
                    with lock:
                        acked.append(body.encode())
        except (smtplib.SMTPException, OSError):
            pass  # the kill

    threads = [threading.Thread(target=client, args=(t,)) for t in range(10)]
    for th in threads:
        th.start()
    time.sleep(2.0)
    mn.stop(sig=signal.SIGKILL)
    stop.set()
    for th in threads:
        th.join(timeout=20)
    assert len(acked) > 100
    newest = sorted(mn.new_files("alice"), key=lambda p: p.stat().st_mtime_ns)[-50:]
    for p in newest[:25]:
        p.write_bytes(b"")
    for p in newest[25:]:
        p.unlink()

    mn2 = mailnest_factory(mail_root=mn.mail_root, name="b", **NO_CHECKPOINT)
    files = [p.read_bytes() for p in mn2.new_files("alice")]
    have = {f[f.index(b"\nSubject: ") + 1:].replace(b"\n", b"\r\n") for f in files}  # the body after our trace headers
    missing = [b for b in acked if b not in have]
    assert missing == []
    assert len(files) >= len(acked)  # more only for messages synced but not yet acknowledged
