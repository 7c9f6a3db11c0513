"""The store on a small or full filesystem, and after crashes (docs/E1_specification.md,
"Storage limits"): mail is never lost, POP3 keeps serving so users can delete mail, and
what a crash leaves behind is cleaned up at the next start.

Each test mounts its own small filesystem (a size-limited tmpfs, or a loop-mounted ext4
image where directory blocks matter) under pytest's tmp_path; logs and configs stay
outside it. The tests need root and mount(8); they skip with the reason otherwise."""
import errno
import os
import poplib
import shutil
import signal
import smtplib
import socket
import subprocess
import time
from pathlib import Path

import pytest

from test_pop3_support import PASSWORDS

NO_CHECKPOINT = {"journal_checkpoint_ms": 60000}


class SmallFs:
    """A filesystem of `size_mib` mounted at `path` (tmpfs, or ext4 on a loop image)."""

    def __init__(self, path: Path, size_mib: int, kind="tmpfs"):
        self.path = path
        self.kind = kind
        self.image = None
        path.mkdir()
        if os.geteuid() != 0:
            pytest.skip("mounting a small filesystem needs root")
        if kind == "tmpfs":
            cmd = ["mount", "-t", "tmpfs", "-o", f"size={size_mib}m,mode=0700", "tmpfs", str(path)]
        else:
            self.image = path.parent / f"{path.name}.img"
            with open(self.image, "wb") as f:
                f.truncate(size_mib << 20)
            mkfs = shutil.which("mkfs.ext4")
            if not mkfs:
                pytest.skip("mkfs.ext4 not installed (e2fsprogs)")
            r = subprocess.run([mkfs, "-q", "-F", "-m", "0", "-b", "1024", "-O", "^has_journal",
                                str(self.image)], capture_output=True)
            if r.returncode != 0:
                pytest.skip(f"mkfs.ext4 failed: {r.stderr.decode(errors='replace')}")
            cmd = ["mount", "-o", "loop", str(self.image), str(path)]
        r = subprocess.run(cmd, capture_output=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a {kind} of {size_mib} MiB: {r.stderr.decode(errors='replace')}")

    def fill(self):
        """Writes a filler file until the filesystem is full; returns it."""
        filler = self.path / "filler"
        chunk = b"\0" * 4096
        with open(filler, "wb", buffering=0) as f:
            try:
                for _ in range(1 << 20):
                    f.write(chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC
        # Small files may still fit in a last partial block: take those too.
        for i in range(10_000):
            try:
                with open(self.path / f"filler{i}", "wb", buffering=0) as f:
                    f.write(b"\0" * 512)
            except OSError:
                break
        return filler

    def unfill(self):
        for p in self.path.glob("filler*"):
            p.unlink()

    def free_bytes(self):
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def unmount(self):
        for _ in range(50):
            if subprocess.run(["umount", str(self.path)], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)  # a process of the test may still be exiting
        else:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
        if self.image:
            self.image.unlink()


@pytest.fixture
def small_fs(tmp_path):
    """small_fs(size_mib, kind="tmpfs") mounts one; all are unmounted after the test
    (request this fixture before mailnest_factory so the servers stop first)."""
    mounted = []

    def make(size_mib, kind="tmpfs", name=None):
        fs = SmallFs(tmp_path / (name or f"fs{len(mounted)}"), size_mib, kind)
        mounted.append(fs)
        return fs

    yield make
    for fs in reversed(mounted):
        fs.unmount()


def send(mn, n, prefix="m", size=100, to="alice@localhost"):
    bodies = []
    with smtplib.SMTP("127.0.0.1", mn.smtp_port, timeout=10) as s:
        for i in range(n):
            body = f"Subject: {prefix}{i}\r\n\r\n{prefix} body {i} " + "x" * size + "\r\n"
            s.sendmail("sender@remote.test", [to], body)
            bodies.append(body)
    return bodies


def pop3_login(mn, user="alice"):
    pop = poplib.POP3("127.0.0.1", mn.pop3_port, timeout=10)
    pop.user(user)
    pop.pass_(PASSWORDS[user])
    return pop


def wait_for(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_recovery_on_a_full_disk_serves_and_restores_once_space_is_freed(small_fs, mailnest_factory):
    fs = small_fs(12)
    root = fs.path / "mail"
    mn = mailnest_factory(name="a", mail_root=root, store=NO_CHECKPOINT)
    # A mailbox's first delivery takes the per-file fsync path (store/mailbox_fs.h):
    # durable on its own, it is not part of what the crash below can lose.
    send(mn, 1, prefix="warm")
    warm = mn.new_files("alice")
    send(mn, 3)
    journaled = [p for p in mn.new_files("alice") if p not in warm]
    before = sorted(p.read_bytes() for p in journaled)
    mn.stop(sig=signal.SIGKILL)
    for p in journaled:
        p.unlink()  # the renames never reached the disk
    # Every record is in the "-a" file (no checkpoint ran); without the empty
    # "-b" one, recovery cannot free space by removing it first.
    for p in (root / ".journal").glob("*-b.journal"):
        p.unlink()
    fs.fill()

    # Without the journal, so that only recovery needs space.
    mn2 = mailnest_factory(name="b", mail_root=root, store={"journal": False, "recovery_retry_ms": 100})
    assert "journal recovery failed, serving anyway" in mn2.logs()
    pop = pop3_login(mn2)  # POP3 serves on the full disk
    assert pop.stat()[0] == 1  # the warm-up message; the others are not restored yet
    pop.quit()

    fs.unfill()
    assert wait_for(lambda: len(mn2.new_files("alice")) == 3)
    assert sorted(p.read_bytes() for p in mn2.new_files("alice")) == before
    assert wait_for(lambda: "0 intact, 3 restored" in mn2.logs() and "succeeded" in mn2.logs())
    assert not any(p.suffix == ".journal" for p in (root / ".journal").iterdir())


def test_start_removes_tmp_debris_of_dead_processes_only(mailnest_factory):
    """A large message is being spilled to tmp/ when the server is killed; the next
    start removes that partial file (it carries the dead process's pid) at once, not
    36 hours later, and keeps a file whose pid runs."""
    mn = mailnest_factory(name="a")
    s = smtplib.SMTP("127.0.0.1", mn.smtp_port, timeout=10)
    s.ehlo("client.test")
    s.mail("sender@remote.test")
    s.rcpt("alice@localhost")
    s.putcmd("data")
    assert s.getreply()[0] == 354
    s.sock.sendall(b"Subject: big\r\n\r\n" + (b"y" * 78 + b"\r\n") * 6000)  # 480 kB, no final dot
    assert wait_for(lambda: any(p.stat().st_size > 256 * 1024 for p in mn.tmp_files("alice")))
    mn.stop(sig=signal.SIGKILL)
    s.close()
    spill = mn.tmp_files("alice")
    assert len(spill) == 1
    host = mn.config["hostname"]
    live = mn.maildir("alice") / "tmp" / f"{int(time.time())}.M1P1Q0.{host}"  # pid 1 always runs
    live.write_bytes(b"a delivery of a running process")

    mn2 = mailnest_factory(name="b", mail_root=mn.mail_root)
    assert mn2.tmp_files("alice") == [live]
    assert "removed 1 tmp/ file(s)" in mn2.logs()


def journal_sizes(root):
    d = root / ".journal"
    return sorted(p.stat().st_size for p in d.iterdir() if p.suffix == ".journal") if d.exists() else []


def test_starts_with_6_mib_free_journal_sized_to_fit(small_fs, mailnest_factory):
    """Two 4 MiB journal files do not fit: they are made smaller, and SMTP and POP3 work."""
    fs = small_fs(6)
    root = fs.path / "mail"
    mn = mailnest_factory(mail_root=root)
    assert "delivery journal files sized to" in mn.logs()
    sizes = journal_sizes(root)
    assert len(sizes) == 2 and max(sizes) <= (6 << 20) // 8
    send(mn, 3)
    pop = pop3_login(mn)
    assert pop.stat()[0] == 3
    pop.quit()


def test_starts_on_a_nearly_full_disk_without_the_journal(small_fs, mailnest_factory):
    """With almost nothing free the journal is off (logged): mail still gets the
    per-file fsync path while it fits, and POP3 serves so mail can be deleted."""
    fs = small_fs(12)
    root = fs.path / "mail"
    mn = mailnest_factory(name="a", mail_root=root, store={"journal": False})
    send(mn, 2)
    mn.stop()
    filler = fs.fill()
    os.truncate(filler, filler.stat().st_size - (512 << 10))  # leave 512 KiB
    mn2 = mailnest_factory(name="b", mail_root=root)
    assert "delivery journal off" in mn2.logs()
    assert journal_sizes(root) == []
    send(mn2, 1, prefix="late")
    pop = pop3_login(mn2)
    assert pop.stat()[0] == 3
    pop.dele(1)
    pop.quit()
    assert len(mn2.all_messages("alice")) == 2


def test_pop3_lists_and_serves_messages_whose_move_into_cur_fails(small_fs, mailnest_factory):
    """On a full ext4, moving new/ into cur/ at login needs new directory blocks for
    cur/ and fails with ENOSPC for most messages: they are still listed and served,
    from new/, and the failure is logged."""
    fs = small_fs(16, kind="ext4")
    root = fs.path / "mail"
    mn = mailnest_factory(mail_root=root)
    bodies = send(mn, 300, size=20)
    fs.fill()
    pop = pop3_login(mn)
    assert pop.stat()[0] == 300
    assert len(list((root / "alice" / "cur").iterdir())) < 300  # most moves failed
    last = b"\r\n".join(pop.retr(300)[1]) + b"\r\n"
    assert last.endswith(bodies[-1].encode())
    uidls = [line.split()[1] for line in pop.uidl()[1]]
    assert len(set(uidls)) == 300
    pop.quit()
    assert "new messages could not be moved into cur/ and are served from new/" in mn.logs()
    assert "No space left on device" in mn.logs()


def test_mailbox_symlinked_to_another_filesystem_stays_off_the_journal(small_fs, mailnest_factory, tmp_path):
    """The journal's checkpoint syncs mail_root's filesystem only, so a mailbox
    elsewhere must not rely on it: found at its first delivery, logged, and all
    its messages get per-file fsync (none has a journal record to replay)."""
    fs = small_fs(16)
    root = tmp_path / "mail"
    root.mkdir()
    (fs.path / "bob").mkdir()
    (root / "bob").symlink_to(fs.path / "bob")
    mn = mailnest_factory(name="a", mail_root=root, store=NO_CHECKPOINT)
    send(mn, 3, to="bob@localhost")
    send(mn, 1, to="alice@localhost")
    send(mn, 1, prefix="again", to="alice@localhost")
    assert wait_for(lambda: "is not on mail_root's filesystem" in mn.logs())
    assert mn.logs().count("is not on mail_root's filesystem") == 1
    mn.stop(sig=signal.SIGKILL)

    mn2 = mailnest_factory(name="b", mail_root=root)
    # alice's first message took the per-file path too (first delivery), her second the journal.
    assert "journal recovery: 2 journal(s), 1 records: 1 intact" in mn2.logs()
    assert len(mn2.new_files("bob")) == 3
