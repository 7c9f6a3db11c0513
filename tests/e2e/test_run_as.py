"""run_as and store modes: a mail root shared with another program running
as an unprivileged user (Dovecot). Needs root (to start as root and drop)
and the `nobody` user; skipped otherwise."""
import os
import pwd
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from test_pop3_support import login, send

pytestmark = pytest.mark.e3


def nobody():
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        return None


needs_root = pytest.mark.skipif(os.geteuid() != 0 or nobody() is None,
                                reason="needs to start as root, and a 'nobody' user to drop to")


@pytest.fixture
def shared_root():
    """A mail root path that an unprivileged user can reach (pytest's
    tmp_path is 0700 root); mailnest creates the directory itself."""
    base = Path(tempfile.mkdtemp(prefix="mailnest-runas-"))
    base.chmod(0o755)
    yield base / "mail"
    subprocess.run(["rm", "-rf", str(base)], check=False)


def ids_of(pid):
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return [int(x) for x in fields["Uid"].split()], [int(x) for x in fields["Gid"].split()]


@needs_root
def test_run_as_drops_privileges_and_files_belong_to_the_user(mailnest_factory, shared_root):
    pw = nobody()
    mn = mailnest_factory(mail_root=shared_root, args=["--require-non-root"], run_as={"user": "nobody"},
                          store={"file_mode": "0640", "dir_mode": "0750"})
    uids, gids = ids_of(mn.proc.pid)
    assert uids == [pw.pw_uid] * 4, "real, effective, saved and fs uid are all the user's"
    assert gids == [pw.pw_gid] * 4
    assert f"running as user nobody (uid {pw.pw_uid})" in mn.logs()

    send(mn, "alice@mailnest.local", b"Subject: shared\r\n\r\nbody\r\n")
    [f] = mn.new_files("alice")
    st = f.stat()
    assert (st.st_uid, st.st_gid) == (pw.pw_uid, pw.pw_gid)
    assert stat.S_IMODE(st.st_mode) == 0o640
    for d in (shared_root, shared_root / "alice", shared_root / "alice" / "new", shared_root / ".journal"):
        dst = d.stat()
        assert (dst.st_uid, stat.S_IMODE(dst.st_mode)) == (pw.pw_uid, 0o750), d
    # POP3, now unprivileged, reads and deletes it.
    p = login(mn)
    assert b"shared" in p.retr(1)
    assert p.cmd("DELE 1").startswith(b"+OK")
    assert p.cmd("QUIT").startswith(b"+OK")
    assert mn.all_messages("alice") == []
    assert mn.stop() == 0  # a clean stop as the user (and before the fixture removes the mail root)


@needs_root
def test_require_non_root_refuses_root_without_run_as(mailnest_factory):
    with pytest.raises(RuntimeError, match="refusing to run as root"):
        mailnest_factory(args=["--require-non-root"])


@needs_root
def test_root_without_run_as_still_runs_and_says_so(mailnest_factory):
    mn = mailnest_factory()
    assert "running as user root (uid 0)" in mn.logs()


@needs_root
def test_a_mail_root_the_user_cannot_write_is_refused_at_start(mailnest_factory, tmp_path):
    root = tmp_path / "root-owned"  # 0700 root: no access for nobody
    root.mkdir(mode=0o700)
    with pytest.raises(RuntimeError, match="is not usable by run_as user nobody"):
        mailnest_factory(mail_root=root, run_as={"user": "nobody"})


def test_unknown_run_as_user_is_refused(mailnest_factory):
    with pytest.raises(RuntimeError, match="run_as.user: no user 'no-such-user-x'"):
        mailnest_factory(run_as={"user": "no-such-user-x"})
