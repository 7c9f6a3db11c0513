"""First contact from hand-typed and student clients (real binary).

Early talkers (input before the greeting), addresses typed without angle
brackets, the README's manual session with nc, swaks and curl, and a
mail_root that does not exist yet. Postfix 3.9's defaults are the
reference: smtpd answers input that raced its greeting, and
strict_rfc821_envelopes = no accepts "MAIL FROM: a@b".
"""
import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import BINARY, ROOT, Mailnest
from test_smtp_wire import Wire, stored_message

pytestmark = pytest.mark.e2


def talk_first(port, data: bytes, timeout=5.0) -> bytes:
    """Connects, sends `data` before reading anything, then reads to EOF.
    A reset (instead of the server's FIN) raises ConnectionResetError."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        got = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                return got
            got += chunk
        raise TimeoutError(f"no EOF; have {got!r}")


def codes(data: bytes):
    return [int(line[:3]) for line in data.split(b"\r\n") if line]


def test_input_before_the_greeting_is_answered_after_it(mailnest):
    # What `printf 'HELO me\r\nQUIT\r\n' | nc` does: the commands are on
    # the wire before the 220. With greeting_delay_ms 0 (the default) they
    # are answered in order after it, every time.
    for i in range(20):
        data = talk_first(mailnest.smtp_port, b"HELO me\r\nQUIT\r\n")
        assert codes(data) == [220, 250, 221], (i, data)


def test_early_talker_gets_its_554_not_a_reset(mailnest_factory):
    # With a delay the early talker is refused, and the refusal must reach
    # it: the server reads and discards what is still coming, half-closes
    # and only then closes. Closing on unread input would answer with an
    # RST, which throws away the 554 waiting in the client's receive queue.
    mn = mailnest_factory(smtp={"greeting_delay_ms": 300})
    junk = b"HELO me\r\n" + b"NOOP\r\n" * 50000  # 300 kB: more than one read of the server's
    for i in range(5):
        try:
            data = talk_first(mn.smtp_port, junk)
        except (ConnectionResetError, BrokenPipeError) as e:
            pytest.fail(f"round {i}: {e!r} instead of the 554 and a clean close")
        assert data.startswith(b"554 5.5.0 "), (i, data[:200])
        assert codes(data) == [554], (i, data[:200])


def test_addresses_without_angle_brackets_are_accepted(mailnest):
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        r = w.cmd("MAIL FROM: sender@remote.test")
        assert (r.code, r.enhanced) == (250, "2.1.0")
        r = w.cmd("RCPT TO: alice@localhost")
        assert (r.code, r.enhanced) == (250, "2.1.5")
        assert w.cmd("RCPT TO:bob@localhost").code == 250
        assert w.cmd("DATA").code == 354
        w.send(b"Subject: typed by hand\r\n\r\nhello\r\n.\r\n")
        assert w.reply().code == 250
    [f] = mailnest.new_files("alice")
    ret, _, body = stored_message(f)
    assert ret == b"Return-Path: <sender@remote.test>"
    assert body.endswith(b"hello\n")  # stored with LF line ends (Maildir)
    assert len(mailnest.new_files("bob")) == 1


def test_bare_addresses_keep_the_defences(mailnest):
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        for line, want in [(b"MAIL FROM: a\x00b@remote.test", 501),  # NUL
                           (b"MAIL FROM: j\xc3\xb6rg@remote.test", 501),  # no SMTPUTF8
                           (b"MAIL FROM: nobody", 501),  # no "@"
                           (b"MAIL FROM:", 501),
                           (b"MAIL FROM: a@remote.test FOO=1", 555)]:
            w.send(line + b"\r\n")
            r = w.reply()
            assert (r.code, r.enhanced) == (want, "5.5.4"), (line, r)
        assert w.cmd("MAIL FROM: a@remote.test").code == 250
        r = w.cmd("RCPT TO: ../x@localhost")
        assert (r.code, r.enhanced) == (550, "5.1.1")
        r = w.cmd("RCPT TO: alice@elsewhere.example")
        assert (r.code, r.enhanced) == (550, "5.7.1")
        assert w.cmd("NOOP").code == 250


def test_strict_envelope_syntax_refuses_them(mailnest_factory):
    mn = mailnest_factory(smtp={"strict_envelope_syntax": True})
    with Wire(mn.smtp_port) as w:
        w.greet()
        r = w.cmd("MAIL FROM: sender@remote.test")
        assert (r.code, r.enhanced) == (501, "5.5.4")
        assert w.cmd("MAIL FROM:<sender@remote.test>").code == 250
        r = w.cmd("RCPT TO: alice@localhost")
        assert (r.code, r.enhanced) == (501, "5.5.4")
        assert w.cmd("RCPT TO:<alice@localhost>").code == 250


def test_bad_strict_envelope_syntax_value_is_an_error_naming_the_key(tmp_path):
    mn = Mailnest(tmp_path, {"smtp": {"strict_envelope_syntax": "yes"}})
    p = subprocess.run([str(BINARY), "--check-config", "--config", str(mn.config_path)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "smtp.strict_envelope_syntax" in p.stderr + p.stdout


# --- the README's manual session, as typed -------------------------------------

def readme_block(start, last=None):
    """The README's indented (4 spaces) lines from the one starting with
    `start` to the line equal to `last`, or else to the first blank line."""
    lines = (ROOT / "README.md").read_text().splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("    " + start))
    block = []
    for line in lines[i:]:
        if (not line and last is None) or (line and not line.startswith("    ")):
            break
        block.append(line[4:])
        if line[4:] == last:
            break
    return block


def run_readme_line(line, mn, tmp_path):
    """Runs one README command line against `mn` (its ports instead of the
    defaults, tmp_path instead of /tmp)."""
    line = (line.replace("127.0.0.1:2525", f"127.0.0.1:{mn.smtp_port}")
                .replace("nc -C 127.0.0.1 2110", f"nc -C -q 5 127.0.0.1 {mn.pop3_port}")
                .replace("/tmp/msg.txt", str(tmp_path / "msg.txt")))
    return subprocess.run(["bash", "-c", line], capture_output=True, timeout=60)


@pytest.mark.skipif(shutil.which("nc") is None, reason="nc not installed (Debian netcat-openbsd)")
def test_readme_session_with_nc(mailnest):
    # The README's hand-typed session, piped: everything is sent before the
    # greeting arrives (the early-talker case above), nc -C makes the CRLFs.
    block = readme_block("nc -C 127.0.0.1 2525", last="QUIT")
    typed = "\n".join(block[1:]) + "\n"
    assert block[-1] == "QUIT" and "MAIL FROM: me@example.test" in block  # no brackets, as typed
    p = subprocess.run(["nc", "-C", "-q", "5", "127.0.0.1", str(mailnest.smtp_port)],
                       input=typed.encode(), capture_output=True, timeout=30)
    assert codes(p.stdout) == [220, 250, 250, 250, 354, 250, 221], p.stdout
    [f] = mailnest.new_files("alice")
    assert f.read_bytes().endswith(b"Subject: typed by hand\n\nhello from nc\n")


@pytest.mark.skipif(None in (shutil.which("swaks"), shutil.which("curl"), shutil.which("nc")),
                    reason="swaks, curl and nc needed (Debian swaks, curl, netcat-openbsd)")
def test_readme_swaks_curl_and_pop3_lines(mailnest, tmp_path):
    swaks, printf, curl, pop3 = readme_block("swaks --server 127.0.0.1:2525 ")
    for line in (swaks, printf, curl):
        p = run_readme_line(line, mailnest, tmp_path)
        assert p.returncode == 0, (line, p.stdout[-500:], p.stderr[-500:])
    bodies = sorted(f.read_bytes() for f in mailnest.new_files("alice"))
    assert len(bodies) == 2
    assert any(b.endswith(b"Subject: hi\n\nhello from curl\n") for b in bodies)
    assert any(b"hello from swaks" in b for b in bodies)
    p = run_readme_line(pop3, mailnest, tmp_path)
    out = p.stdout.replace(b"\r\n", b"\n")
    assert out.startswith(b"+OK") and b"hello from" in out and out.rstrip().splitlines()[-1].startswith(b"+OK"), out


# --- mail_root -----------------------------------------------------------------------

def test_missing_mail_root_is_created_with_its_parents(mailnest_factory, tmp_path):
    root = tmp_path / "srv" / "mailnest" / "mail"
    mn = mailnest_factory(mail_root=root)
    assert root.is_dir()
    assert (root.stat().st_mode & 0o777) == 0o700
    with Wire(mn.smtp_port) as w:
        w.greet()
        w.start_data()
        w.send(b"Subject: x\r\n\r\ny\r\n.\r\n")
        assert w.reply().code == 250
    assert len(mn.new_files("alice")) == 1


def test_unusable_mail_root_error_names_the_path_and_errno(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    mn = Mailnest(tmp_path, {})  # writes the config; --mail-root overrides its mail_root
    p = subprocess.run([str(BINARY), "--config", str(mn.config_path),
                        "--mail-root", str(tmp_path / "file" / "mail")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert f"cannot create {tmp_path}/file (for mail_root {tmp_path}/file/mail): Not a directory" in p.stderr
