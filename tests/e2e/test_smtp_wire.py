"""A raw-socket SMTP client for the test_smtp_* files (no tests in here).

Reads replies exactly as RFC 5321 §4.2 frames them ("ddd-" continues a
multi-line reply, "ddd " ends it), with a deadline on every wait so no test
can hang.
"""
import re
import socket
import time

REPLY_LINE = re.compile(rb"^(\d{3})([ -])(.*)$")


class Reply:
    def __init__(self, code, lines):
        self.code = code
        self.lines = lines  # text after "ddd " / "ddd-", decoded

    @property
    def text(self):
        return "\n".join(self.lines)

    @property
    def enhanced(self):
        """The RFC 3463 status code of the last line (followed by a space or
        nothing, as RFC 3463 §2 writes it), or ''."""
        m = re.match(r"^([245]\.\d{1,3}\.\d{1,3})(?=\s|$)", self.lines[-1])
        return m.group(1) if m else ""

    def __repr__(self):
        return f"Reply({self.code}, {self.lines!r})"


class Wire:
    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data: bytes):
        self.sock.sendall(data)

    def _line(self, deadline):
        while b"\r\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete reply line; have {self.buf[:200]!r}")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection closed; have {self.buf[:200]!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self, timeout=None) -> Reply:
        deadline = time.monotonic() + (timeout or self.timeout)
        lines = []
        for _ in range(1000):  # bounded: no reply has that many lines
            m = REPLY_LINE.match(self._line(deadline))
            assert m, "malformed reply line"
            lines.append(m.group(3).decode(errors="replace"))
            if m.group(2) == b" ":
                return Reply(int(m.group(1)), lines)
        raise AssertionError("reply too long")

    def cmd(self, line: str, timeout=None) -> Reply:
        self.send(line.encode() + b"\r\n")
        return self.reply(timeout)

    def greet(self, helo="client.test") -> Reply:
        g = self.reply()
        assert g.code == 220, g
        r = self.cmd(f"EHLO {helo}")
        assert r.code == 250, r
        return r

    def start_data(self, rcpt="alice@localhost", sender="sender@remote.test"):
        assert self.cmd(f"MAIL FROM:<{sender}>").code == 250
        assert self.cmd(f"RCPT TO:<{rcpt}>").code == 250
        r = self.cmd("DATA")
        assert r.code == 354, r

    def is_closed(self, timeout=3.0) -> bool:
        """True if the peer closes (EOF or reset) within timeout, discarding data."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True
            self.buf += chunk
        return False


def stored_message(path):
    """Splits a stored file into (return_path_line, received_header, body),
    in the storage form: LF line ends (the Maildir convention)."""
    data = path.read_bytes()
    first, rest = data.split(b"\n", 1)
    # Received: and its continuation lines (starting with TAB).
    lines = rest.split(b"\n")
    received = [lines[0]]
    i = 1
    while i < len(lines) and lines[i].startswith(b"\t"):
        received.append(lines[i])
        i += 1
    body = b"\n".join(lines[i:])
    return first, b"\n".join(received), body


def lf(wire: bytes) -> bytes:
    """The storage form of CRLF message text."""
    assert b"\r" not in wire.replace(b"\r\n", b""), "CRLF-only text expected"
    return wire.replace(b"\r\n", b"\n")


def binary_is_sanitized(path) -> bool:
    """An AddressSanitizer build: its shadow memory makes the process start
    near 64 MiB and its quarantine keeps freed chunks, so RSS bounds that
    hold for the plain build only bound growth there."""
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()
