"""A raw SMTP client for the fault injection tests: one reply per command,
the exact lines, EOF seen as such, and how long each answer took."""
import socket
import time


class RawSmtp:
    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        self.elapsed = 0.0

    def reply(self):
        """The last line of the next reply ("250 2.1.5 Ok"), "" at EOF."""
        start = time.monotonic()
        line = b""
        while True:
            try:
                line = self.file.readline()
            except ConnectionResetError:
                line = b""
            if not line or line[3:4] != b"-":
                break
        self.elapsed = time.monotonic() - start
        return line.decode(errors="replace").rstrip("\r\n")

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def envelope(self, sender="alice@example.test", rcpts=("bob@example.test",)):
        assert self.cmd("EHLO client.test").startswith("250 ")
        assert self.cmd(f"MAIL FROM:<{sender}>").startswith("250 ")
        for r in rcpts:
            assert self.cmd(f"RCPT TO:<{r}>").startswith("250 ")

    def body(self, subject):
        self.send(f"Subject: {subject}\r\n\r\nbody of {subject}\r\n.\r\n")
        return self.reply()

    def closed(self, wait=5.0):
        """True when the server has closed the connection (EOF or reset)."""
        self.sock.settimeout(wait)
        try:
            return self.file.read(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def reply_rule(stage, code=451, enhanced="4.7.1", text=None, **extra):
    rule = {"stage": stage, "reply": {"code": code, "enhanced": enhanced, "text": text or f"fault at {stage}"}}
    rule.update(extra)
    return rule
