"""Helpers shared by the test_pop3_*.py files (no tests here).

RawPop3 is a minimal client over a plain socket: unlike poplib it shows the
exact bytes on the wire (stuffing, terminators) and can pipeline. Every read
has a socket timeout and every loop a bound, so no test can hang.
"""
import smtplib
import socket
import time

TIMEOUT = 10.0
PASSWORDS = {"alice": "alice-password", "bob": "bob-password"}
AUTH_FAILED = b"-ERR [AUTH] invalid user or password"


class RawPop3:
    def __init__(self, port, timeout=TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.greeting = self.line()

    def close(self):
        self.sock.close()

    def send(self, data: bytes):
        self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("POP3 connection closed")
        self.buf += data

    def line(self) -> bytes:
        """One reply line without its CRLF."""
        for _ in range(1_000_000):
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out, self.buf = self.buf[:i], self.buf[i + 2:]
                return out
            self._fill()
        raise AssertionError("no CRLF")

    def cmd(self, text: str) -> bytes:
        self.send(text.encode() + b"\r\n")
        return self.line()

    def multiline_raw(self) -> bytes:
        """The body of a multi-line reply as sent (still stuffed), up to and
        including the CRLF before the terminating '.'."""
        for _ in range(1_000_000):
            if self.buf.startswith(b".\r\n"):  # empty body
                self.buf = self.buf[3:]
                return b""
            i = self.buf.find(b"\r\n.\r\n")
            if i >= 0:
                out, self.buf = self.buf[:i + 2], self.buf[i + 5:]
                return out
            self._fill()
        raise AssertionError("no terminator")

    def login(self, user, password=None):
        assert self.cmd(f"USER {user}").startswith(b"+OK")
        reply = self.cmd(f"PASS {password if password is not None else PASSWORDS[user]}")
        assert reply.startswith(b"+OK"), reply
        return reply

    def retr(self, n) -> bytes:
        """RETR n, returned un-stuffed: the message's octets."""
        reply = self.cmd(f"RETR {n}")
        assert reply.startswith(b"+OK"), reply
        return unstuff(self.multiline_raw())

    def expect_closed(self, timeout=5.0) -> bytes:
        """Reads until the server closes; returns what came before."""
        self.sock.settimeout(timeout)
        rest = self.buf
        for _ in range(1_000_000):
            data = self.sock.recv(65536)
            if not data:
                return rest
            rest += data
        raise AssertionError("server did not close")


def unstuff(body: bytes) -> bytes:
    lines = body.split(b"\r\n")
    return b"\r\n".join(l[1:] if l.startswith(b".") else l for l in lines)


def strip_trace(message: bytes) -> bytes:
    """Removes the leading Return-Path:/Received: fields (and their folded
    continuation lines) that the SMTP server prepends."""
    lines = message.split(b"\r\n")
    i = 0
    while i < len(lines) and (lines[i].lower().startswith((b"return-path:", b"received:"))):
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    return b"\r\n".join(lines[i:])


def as_sent(msg: bytes) -> bytes:
    """What smtplib's DATA carries before its dot-stuffing: bytes go out as
    given (tests use CRLF only), with a CRLF added at the end if missing."""
    assert b"\n" not in msg.replace(b"\r\n", b""), "tests send CRLF-only messages"
    return msg if msg.endswith(b"\r\n") else msg + b"\r\n"


def send(mn, rcpt, msg: bytes, sender="sender@example.test"):
    with smtplib.SMTP("127.0.0.1", mn.smtp_port, timeout=TIMEOUT) as s:
        refused = s.sendmail(sender, [rcpt], msg)
        assert refused == {}


def login(mn, user="alice", password=None) -> RawPop3:
    p = RawPop3(mn.pop3_port)
    p.login(user, password)
    return p


def login_retrying(mn, user="alice", timeout=5.0) -> RawPop3:
    """Logs in, retrying while an ended session's lock is still being
    released (the server learns of a dropped client asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        p = RawPop3(mn.pop3_port)
        assert p.cmd(f"USER {user}").startswith(b"+OK")
        reply = p.cmd(f"PASS {PASSWORDS[user]}")
        if reply.startswith(b"+OK"):
            return p
        p.close()
        assert reply.startswith(b"-ERR [IN-USE]") and time.monotonic() < deadline, reply
        time.sleep(0.05)


def listing(p: RawPop3, verb: str):
    reply = p.cmd(verb)
    assert reply.startswith(b"+OK"), reply
    body = p.multiline_raw()
    return [tuple(l.split(b" ")) for l in body.split(b"\r\n") if l]


def wait_for(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return pred()
