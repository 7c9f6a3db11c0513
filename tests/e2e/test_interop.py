"""Sharing mailnest's mail root with Dovecot 2.3, mutt and curl, as a user
would: Dovecot started here as an unprivileged user with a private config on
a free loopback port (mail_location = maildir:<mail_root>/%u), mailnest
running as the same user. Each test skips, with the reason, when the
program it needs is not installed (scripts/install-deps --test installs
them)."""
import grp
import imaplib
import os
import poplib
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from test_pop3_support import PASSWORDS, listing, login, send

pytestmark = pytest.mark.e3

DOVECOT = shutil.which("dovecot", path="/usr/sbin:/usr/bin:/sbin:/bin")
needs_dovecot = pytest.mark.skipif(
    DOVECOT is None or not os.path.exists("/usr/lib/dovecot/imap"),
    reason="Dovecot's IMAP server is not installed (apt-get install dovecot-imapd dovecot-pop3d)")
DOVECOT_POP3 = os.path.exists("/usr/lib/dovecot/pop3")  # dovecot-pop3d
MUTT = shutil.which("mutt") or shutil.which("neomutt")
TMUX = shutil.which("tmux")
CURL = shutil.which("curl")

MESSAGES = [
    b"From: a@remote.test\r\nTo: alice@mailnest.local\r\nSubject: one\r\n\r\nplain body\r\n",
    b"From: a@remote.test\r\nTo: alice@mailnest.local\r\nSubject: two\r\n\r\n.leading dot\r\n..two\r\n.\r\nend\r\n",
    "From: a@remote.test\r\nTo: alice@mailnest.local\r\nSubject: three\r\n\r\nGrüße, ½ €\r\n\r\n".encode(),
    b"From: a@remote.test\r\nTo: alice@mailnest.local\r\nSubject: four\r\n\r\n"
    + b"".join(b"line %d of a longer message\r\n" % i for i in range(2000)),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, log, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dovecot exited: {log.read_text(errors='replace')}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"dovecot did not listen: {log.read_text(errors='replace')}")


class Shared:
    """mailnest and Dovecot on one mail root, as one unprivileged user."""

    def __init__(self, mailnest, base, imap_port, pop3_port):
        self.mn = mailnest
        self.base = base
        self.imap_port = imap_port
        self.pop3_port = pop3_port  # Dovecot's POP3, None without dovecot-pop3d

    def imap(self, user="alice"):
        m = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=10)
        m.login(user, PASSWORDS[user])
        return m


@pytest.fixture
def shared(mailnest_factory):
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("nobody")
        except KeyError:
            pytest.skip("running as root and there is no 'nobody' user to share the mail root as")
        extra = {"run_as": {"user": "nobody"}}
    else:
        pw = pwd.getpwuid(os.geteuid())
        extra = {}
    group = grp.getgrgid(pw.pw_gid).gr_name
    base = Path(tempfile.mkdtemp(prefix="mn-interop-"))
    base.chmod(0o755)
    try:
        yield from _run_shared(mailnest_factory, base, pw, group, extra)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _run_shared(mailnest_factory, base, pw, group, extra):
    mail_root = base / "mail"
    mn = mailnest_factory(mail_root=mail_root, **extra)
    for sub in ("run", "state"):
        (base / sub).mkdir()
    port = free_port()
    pop3_port = free_port() if DOVECOT_POP3 else None
    log = base / "dovecot.log"
    # Dovecot's POP3 with the UIDL format mailnest's matches (%f: the file
    # name without its ":2,<flags>").
    pop3_conf = f"""
pop3_uidl_format = %f
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
""" if DOVECOT_POP3 else ""
    (base / "passwd").write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in PASSWORDS.items()))
    (base / "dovecot.conf").write_text(f"""
base_dir = {base}/run
state_dir = {base}/state
log_path = {log}
protocols = imap{" pop3" if DOVECOT_POP3 else ""}
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {pw.pw_name}
default_internal_group = {group}
default_login_user = {pw.pw_name}
mail_location = maildir:{mail_root}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid={pw.pw_uid} gid={pw.pw_gid} home={base}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
""" + pop3_conf)
    if os.geteuid() == 0:
        for p in [base] + list(base.rglob("*")):
            if p != mail_root and mail_root not in p.parents:
                os.chown(p, pw.pw_uid, pw.pw_gid)
        creds = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    else:
        creds = {}
    proc = subprocess.Popen([DOVECOT, "-F", "-c", str(base / "dovecot.conf")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, **creds)
    try:
        wait_for_port(port, proc, log)
        yield Shared(mn, base, port, pop3_port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        mn.stop()  # before the caller removes its mail root


def fetch_all(m):
    """[(RFC822.SIZE, BODY[] bytes, UID)] of every message in the selected box."""
    typ, data = m.fetch("1:*", "(UID RFC822.SIZE BODY.PEEK[])")
    assert typ == "OK", data
    out = []
    for item in data:
        if isinstance(item, tuple):
            head = item[0].decode()
            size = int(re.search(r"RFC822\.SIZE (\d+)", head).group(1))
            uid = int(re.search(r"UID (\d+)", head).group(1))
            out.append((size, item[1], uid))
    return out


def pop3_all(mn):
    """[(LIST size, RETR bytes)] of alice's maildrop, in POP3 order."""
    p = login(mn)
    sizes = [int(s) for _, s in listing(p, "LIST")]
    got = [p.retr(n) for n in range(1, len(sizes) + 1)]
    assert p.cmd("QUIT").startswith(b"+OK")
    return list(zip(sizes, got))


@needs_dovecot
def test_dovecot_reads_every_message_mailnest_stored(shared):
    for msg in MESSAGES:
        send(shared.mn, "alice@mailnest.local", msg)
    ours = pop3_all(shared.mn)
    assert all(size == len(body) for size, body in ours)
    m = shared.imap()
    assert m.select("INBOX")[1] == [str(len(MESSAGES)).encode()]
    theirs = fetch_all(m)
    m.logout()
    # RFC822.SIZE over IMAP equals our LIST size, the FETCHed bytes our RETR bytes.
    assert sorted((s, b) for s, b, _ in theirs) == sorted(ours)
    # And both see the files Dovecot now indexed the same way.
    assert sorted(pop3_all(shared.mn)) == sorted(ours)
    if shared.pop3_port:
        # Dovecot's own POP3 (pop3_uidl_format = %f) lists the same sizes
        # and UIDLs as ours.
        p = login(shared.mn)
        our_list = sorted((int(s), u) for (_, s), (_, u) in zip(listing(p, "LIST"), listing(p, "UIDL")))
        p.cmd("QUIT")
        d = poplib.POP3("127.0.0.1", shared.pop3_port, timeout=10)
        d.user("alice")
        d.pass_(PASSWORDS["alice"])
        sizes = [int(x.split()[1]) for x in d.list()[1]]
        uidls = [x.split()[1] for x in d.uidl()[1]]
        d.quit()
        assert sorted(zip(sizes, uidls)) == our_list


@needs_dovecot
def test_message_appended_through_dovecot_is_served_byte_exact(shared):
    msg = b"From: imap@remote.test\r\nSubject: appended\r\n\r\nvia IMAP APPEND\r\n.dot line\r\nlast\r\n"
    m = shared.imap()
    typ, _ = m.append("INBOX", None, None, msg)
    assert typ == "OK"
    m.logout()
    # Dovecot stored it the Maildir way: LF line ends, ",S=<disk>,W=<CRLF>".
    files = [f for sub in ("new", "cur") for f in (shared.mn.maildir("alice") / sub).iterdir()]
    [f] = files
    assert b"\r" not in f.read_bytes()
    disk = len(msg.replace(b"\r\n", b"\n"))
    assert f",S={disk},W={len(msg)}" in f.name

    p = login(shared.mn)
    assert p.cmd("LIST 1") == f"+OK 1 {len(msg)}".encode()
    assert p.cmd("STAT") == f"+OK 1 {len(msg)}".encode()
    raw_reply = p.cmd("RETR 1")
    assert raw_reply == f"+OK {len(msg)} octets".encode()
    wire = p.multiline_raw()
    assert wire == msg.replace(b"\r\n.dot", b"\r\n..dot")  # CRLF lines, dot-stuffed
    assert p.cmd("UIDL 1").split()[2] == f.name.split(":")[0].encode()
    assert p.cmd("QUIT").startswith(b"+OK")

    if CURL:  # curl's POP3 client waits for CRLF . CRLF: it must not hang
        out = subprocess.run([CURL, "-s", "--max-time", "10", "-u", f"alice:{PASSWORDS['alice']}",
                              f"pop3://127.0.0.1:{shared.mn.pop3_port}/1"], capture_output=True, timeout=20)
        assert out.returncode == 0, out
        assert out.stdout == msg

    boxes = subprocess.run([shared.mn.proc.args[0], "mailboxes", "--config", str(shared.mn.config_path)],
                           capture_output=True, check=True, timeout=10).stdout.decode()
    [row] = [line.split() for line in boxes.splitlines() if line.startswith("alice")]
    assert row == ["alice", "1", str(len(msg))]


@needs_dovecot
def test_deleting_through_dovecot_during_a_pop3_session(shared):
    for msg in MESSAGES[:3]:
        send(shared.mn, "alice@mailnest.local", msg)
    p = login(shared.mn)  # the snapshot: three messages
    assert p.cmd("STAT").startswith(b"+OK 3 ")
    m = shared.imap()
    m.select("INBOX")
    subjects = {}
    for _, body, uid in fetch_all(m):
        subjects[re.search(rb"Subject: (\w+)", body).group(1)] = uid
    # Expunge "two"; mark "three" seen (Dovecot renames it to ...:2,S).
    m.uid("STORE", str(subjects[b"two"]), "+FLAGS", r"(\Deleted)")
    m.expunge()
    m.uid("STORE", str(subjects[b"three"]), "+FLAGS", r"(\Seen)")
    m.logout()
    assert any(f.name.endswith(":2,S") for f in (shared.mn.maildir("alice") / "cur").iterdir())

    assert b"Subject: one" in p.retr(1)
    assert p.cmd("RETR 2") == b"-ERR message 2 no longer exists (removed by another program)"
    assert b"Subject: three" in p.retr(3)  # renamed meanwhile: found again
    assert p.cmd("STAT").startswith(b"+OK 3 ")  # the snapshot stands
    assert p.cmd("DELE 3").startswith(b"+OK")
    assert p.cmd("QUIT") == b"+OK mailnest signing off (1 messages removed)"
    left = [f.read_bytes() for sub in ("new", "cur") for f in (shared.mn.maildir("alice") / sub).iterdir()]
    assert len(left) == 1 and b"Subject: one" in left[0]
    # Dovecot agrees after its own resync.
    m = shared.imap()
    assert m.select("INBOX")[1] == [b"1"]
    m.logout()


@pytest.mark.skipif(MUTT is None or TMUX is None, reason="needs mutt (or neomutt) and tmux")
def test_mutt_shows_no_carriage_returns_in_headers(mailnest, tmp_path):
    send(mailnest, "alice@mailnest.local", MESSAGES[0])
    muttrc = tmp_path / "muttrc"
    muttrc.write_text(f'set folder="{mailnest.mail_root}"\nset spoolfile="{mailnest.maildir("alice")}"\n'
                      'set mbox_type=Maildir\nunignore *\nset header_cache=""\nset beep=no\n'
                      'set wait_key=no\nset mail_check=0\nset timeout=1\nset help=no\n')
    env = dict(os.environ, HOME=str(tmp_path), TERM="xterm", LANG="C.UTF-8")
    sock = f"mn-mutt-{os.getpid()}"
    tmux = [TMUX, "-L", sock]
    subprocess.run(tmux + ["new-session", "-d", "-x", "160", "-y", "50",
                           f"{MUTT} -n -F {muttrc} -R -f {mailnest.maildir('alice')} "
                           "-e 'push <display-message>'"],
                   env=env, check=True, timeout=10)
    try:
        screen = ""
        for _ in range(100):  # mutt opens the pager itself (the push in its command line)
            time.sleep(0.1)
            screen = subprocess.run(tmux + ["capture-pane", "-p"], capture_output=True, text=True,
                                    env=env, timeout=10).stdout
            if "Subject: one" in screen and "plain body" in screen:
                break
    finally:
        subprocess.run(tmux + ["kill-server"], env=env, timeout=10)
    assert "Subject: one" in screen and "Return-Path:" in screen, screen
    assert "^M" not in screen, screen
