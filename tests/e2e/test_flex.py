"""Flex: the independent Go client (flex/, `mailnest-flex`) interoperates with mailnest.

The client is built from source with `go build`; it speaks SMTP and POP3 itself
(no net/smtp). A message with dot lines and 8-bit UTF-8 text goes in over SMTP
with the flex client, comes back out over POP3 with the flex client (alice) and
with Python's poplib (bob), and both copies must equal what was sent once the
two trace fields the server prepends (Return-Path, Received) are removed.
Nothing here reads the server's Maildir: only the protocols are used.
"""
import os
import poplib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e3

ROOT = Path(__file__).resolve().parents[2]
FLEX_DIR = ROOT / "flex"
TIMEOUT = 10.0
RUN_TIMEOUT = 60
PASSWORDS = {"alice": "alice-password", "bob": "bob-password"}

# Input file uses bare LF line endings on purpose: the client must turn them
# into CRLF. The body has a line starting with ".", one starting with "..",
# a line that is exactly ".", "..." and 8-bit UTF-8 text.
SENT_LF = (
    "From: <sender@example.test>\n"
    "To: <alice@mailnest.local>, <bob@mailnest.local>\n"
    "Subject: flex interop\n"
    "Date: Tue, 05 Mar 2024 06:07:08 +0000\n"
    "Message-ID: <flex-interop-1@example.test>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    ".leading dot\n"
    "..two leading dots\n"
    ".\n"
    "...\n"
    "not at start . or ..\n"
    "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \U0001f4ec\n"
    "\n"
    "last line\n"
).encode("utf-8")
EXPECTED = SENT_LF.replace(b"\n", b"\r\n")


@pytest.fixture(scope="module")
def flex_bin(tmp_path_factory):
    go = shutil.which("go") or ("/usr/bin/go" if os.path.exists("/usr/bin/go") else None)
    if go is None:
        pytest.skip("go toolchain not installed (Debian: apt-get install golang-go); cannot build flex/")
    tmp = tmp_path_factory.mktemp("flex-build")
    out = tmp / "mailnest-flex"
    env = dict(os.environ, GOCACHE=str(tmp / "gocache"), GOPATH=str(tmp / "gopath"),
               GOFLAGS="", GOPROXY="off", GO111MODULE="on", GOTOOLCHAIN="local")
    r = subprocess.run([go, "build", "-o", str(out), "./cmd/mailnest-flex"], cwd=FLEX_DIR, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"go build failed:\n{r.stdout}\n{r.stderr}"
    return out


def flex(bin_path, *args, stdin=None):
    return subprocess.run([str(bin_path), *args], input=stdin, capture_output=True, timeout=RUN_TIMEOUT)


def smtp_addr(mn):
    return f"127.0.0.1:{mn.smtp_port}"


def pop3_addr(mn):
    return f"127.0.0.1:{mn.pop3_port}"


def split_message(data):
    head, sep, body = data.partition(b"\r\n\r\n")
    assert sep, f"no header/body separator in {data[:200]!r}"
    return head, body


def header_fields(head):
    """Header section → list of whole (unfolded-in-place) fields, each the raw bytes with CRLFs."""
    fields = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\r\n" + line
        else:
            fields.append(line)
    return fields


def strip_trace_fields(data):
    """Removes Return-Path and Received fields (the ones the server prepends)."""
    head, body = split_message(data)
    kept = [f for f in header_fields(head)
            if f.split(b":", 1)[0].strip().lower() not in (b"return-path", b"received")]
    return b"\r\n".join(kept) + b"\r\n\r\n" + body


def poplib_fetch_all(mn, user, delete=False):
    p = poplib.POP3("127.0.0.1", mn.pop3_port, timeout=TIMEOUT)
    try:
        p.user(user)
        p.pass_(PASSWORDS[user])
        count, _ = p.stat()
        msgs = []
        for i in range(1, count + 1):
            _, lines, _ = p.retr(i)
            msgs.append(b"".join(line + b"\r\n" for line in lines))
            if delete:
                p.dele(i)
    finally:
        p.quit()
    return msgs


def test_flex_send_then_fetch_with_flex_and_poplib_is_byte_identical(mailnest, flex_bin, tmp_path):
    src = tmp_path / "message.txt"
    src.write_bytes(SENT_LF)
    r = flex(flex_bin, "send", "--smtp", smtp_addr(mailnest), "--timeout", "10",
             "--from", "sender@example.test", "--to", "alice@mailnest.local", "--to", "bob@mailnest.local",
             str(src))
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, f"send failed rc={r.returncode}\n{out}\n{r.stderr.decode(errors='replace')}"
    # Every reply is printed; EHLO's multi-line reply is parsed (the client got past it).
    for expected in ("C: EHLO ", "C: MAIL FROM:<sender@example.test>", "C: RCPT TO:<alice@mailnest.local>",
                     "C: RCPT TO:<bob@mailnest.local>", "C: DATA", "C: QUIT"):
        assert expected in out, f"{expected!r} missing from transcript:\n{out}"
    assert re.search(r"^S: 220[ -]", out, re.M), out
    assert re.search(r"^S: 354", out, re.M), out
    assert re.search(r"^S: 221", out, re.M), out

    # alice's copy with the flex client: one file per message, then DELE.
    outdir = tmp_path / "alice"
    r = flex(flex_bin, "fetch", "--pop3", pop3_addr(mailnest), "--timeout", "10",
             "--user", "alice", "--pass", "alice-password", "--delete", "--out", str(outdir))
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, f"fetch failed rc={r.returncode}\n{out}\n{r.stderr.decode(errors='replace')}"
    for expected in ("C: USER alice", "C: PASS ********", "C: STAT", "C: LIST", "C: RETR 1", "C: DELE 1", "C: QUIT"):
        assert expected in out, f"{expected!r} missing from transcript:\n{out}"
    assert "alice-password" not in out
    files = sorted(p for p in outdir.iterdir() if p.suffix == ".eml")
    assert len(files) == 1, files
    flex_copy = files[0].read_bytes()
    assert strip_trace_fields(flex_copy) == EXPECTED

    # bob's copy with Python's poplib.
    bob_msgs = poplib_fetch_all(mailnest, "bob")
    assert len(bob_msgs) == 1
    assert strip_trace_fields(bob_msgs[0]) == EXPECTED

    # The server's own trace fields differ only by recipient, the body is shared.
    assert split_message(flex_copy)[1] == split_message(bob_msgs[0])[1]

    # --delete took effect at QUIT: alice's mailbox is now empty.
    assert poplib_fetch_all(mailnest, "alice") == []


def test_flex_generates_headers_for_plain_body(mailnest, flex_bin):
    body = ".dot\n..dots\n.\nna\u00efve caf\u00e9 \u2713\n".encode("utf-8")
    r = flex(flex_bin, "send", "--smtp", smtp_addr(mailnest), "--from", "sender@example.test",
             "--to", "alice@localhost", "--subject", "gr\u00fc\u00dfe from flex", "-", stdin=body)
    assert r.returncode == 0, r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")

    # Without --out the message goes to stdout after a separator line, the transcript to stderr.
    r = flex(flex_bin, "fetch", "--pop3", pop3_addr(mailnest), "--user", "alice", "--pass", "alice-password")
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert b"C: RETR 1" in r.stderr
    sep, _, msg = r.stdout.partition(b"\r\n")
    assert sep.startswith(b"--- mailnest-flex message 1 "), sep
    head, got_body = split_message(msg)
    assert got_body == body.replace(b"\n", b"\r\n")
    names = [f.split(b":", 1)[0].lower() for f in header_fields(head)]
    for want in (b"from", b"to", b"subject", b"date", b"message-id"):
        assert names.count(want) == 1, (want, head)
    assert b"Subject: =?utf-8?q?gr=C3=BC=C3=9Fe_from_flex?=" in head
    # No --delete: the message is still there for poplib.
    again = poplib_fetch_all(mailnest, "alice")
    assert len(again) == 1 and split_message(again[0])[1] == got_body


def test_flex_fetch_bad_password_fails_with_err(mailnest, flex_bin):
    r = flex(flex_bin, "fetch", "--pop3", pop3_addr(mailnest), "--user", "alice", "--pass", "wrong-password",
             "--timeout", "10")
    printed = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode != 0, printed
    assert re.search(r"^S: -ERR", printed, re.M), printed
    assert "wrong-password" not in printed


def test_flex_send_unknown_user_fails_with_550(mailnest, flex_bin):
    r = flex(flex_bin, "send", "--smtp", smtp_addr(mailnest), "--from", "sender@example.test",
             "--to", "alice@mailnest.local", "--to", "nobody-here@mailnest.local", "-",
             stdin=b"Subject: should not arrive\n\nhello\n")
    printed = r.stdout.decode(errors="replace")
    assert r.returncode != 0, printed
    assert re.search(r"^S: 550[ -]", printed, re.M), printed
    assert "C: DATA" not in printed  # all-or-nothing: no partial delivery
    assert poplib_fetch_all(mailnest, "alice") == []
