"""E2 lab scenario: one SMTP conversation the pcap rules R1-R6 look for.

Works against the `mailnest` fixture's own instance and, under scripts/e2,
against the external instance on 127.0.0.1:2525 that tcpdump captures.
Commands are sent in upper case over a raw socket (smtplib sends lower-case
verbs, which the capture rules would not see). Message files are checked for
existence and size only; their content is never printed.
"""
import socket
import uuid

import pytest

from test_pop3_support import wait_for

pytestmark = pytest.mark.e2

TIMEOUT = 10.0


class SmtpClient:
    def __init__(self, port, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT)
        self.rfile = self.sock.makefile("rb")

    def reply(self):
        """Reads one (possibly multi-line) reply; returns (code, lines)."""
        lines = []
        while True:
            line = self.rfile.readline(4096)
            if not line:
                raise ConnectionError(f"connection closed after {lines!r}")
            lines.append(line.decode(errors="replace").rstrip("\r\n"))
            if len(line) < 4 or line[3:4] != b"-":
                return int(lines[-1][:3]), lines

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.reply()

    def close(self):
        try:
            self.rfile.close()
        finally:
            self.sock.close()


@pytest.fixture
def smtp(mailnest):
    clients = []

    def connect():
        c = SmtpClient(mailnest.smtp_port)
        clients.append(c)
        code, _ = c.reply()
        assert code == 220
        return c

    yield connect
    for c in clients:
        c.close()


def test_ehlo_mail_rcpt_data_with_dot_stuffed_line(mailnest, smtp):
    before = len(mailnest.new_files("alice"))
    marker = f"lab-e2-{uuid.uuid4().hex}"
    c = smtp()
    code, lines = c.cmd("EHLO client.example")
    assert code == 250 and len(lines) >= 1
    assert c.cmd("MAIL FROM:<sender@example.org>")[0] == 250
    assert c.cmd("RCPT TO:<alice@mailnest.local>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    body = (
        "From: sender@example.org\r\n"
        "To: alice@mailnest.local\r\n"
        f"Subject: {marker}\r\n"
        f"Message-ID: <{marker}@example.org>\r\n"
        "\r\n"
        "first line\r\n"
        "..a line that starts with a dot (dot-stuffed on the wire)\r\n"
        "last line\r\n"
        ".\r\n"
    )
    c.sock.sendall(body.encode())
    code, _ = c.reply()
    assert code == 250
    assert c.cmd("QUIT")[0] == 221

    assert wait_for(lambda: len(mailnest.new_files("alice")) == before + 1), "no new file in alice/new"
    files = [f for f in mailnest.new_files("alice") if marker.encode() in f.read_bytes()]
    assert len(files) == 1, "the delivered message is not in alice/new"
    data = files[0].read_bytes()
    assert files[0].stat().st_size > len(marker)
    # Unstuffed on delivery: stored as ".a line", not "..a line".
    assert b"\n.a line that starts" in data, "dot-stuffed line was not unstuffed"
    assert b"\n..a line that starts" not in data, "dot-stuffed line stored stuffed"
    assert not mailnest.tmp_files("alice"), "leftover file in alice/tmp"


def test_wrong_command_order_gets_503(mailnest, smtp):
    before = len(mailnest.all_messages("alice"))
    c = smtp()
    assert c.cmd("EHLO client.example")[0] == 250
    assert c.cmd("RCPT TO:<alice@mailnest.local>")[0] == 503   # RCPT before MAIL
    assert c.cmd("DATA")[0] == 503                             # DATA before MAIL
    assert c.cmd("MAIL FROM:<sender@example.org>")[0] == 250
    assert c.cmd("DATA")[0] == 503                             # DATA before RCPT
    assert c.cmd("MAIL FROM:<other@example.org>")[0] == 503    # nested MAIL
    # The session is still usable after the errors.
    assert c.cmd("RSET")[0] == 250
    assert c.cmd("QUIT")[0] == 221
    assert len(mailnest.all_messages("alice")) == before


def test_unknown_local_recipient_is_refused(mailnest, smtp):
    c = smtp()
    assert c.cmd("EHLO client.example")[0] == 250
    assert c.cmd("MAIL FROM:<sender@example.org>")[0] == 250
    code, _ = c.cmd("RCPT TO:<nobody-here@mailnest.local>")
    assert code == 550
    assert c.cmd("QUIT")[0] == 221
