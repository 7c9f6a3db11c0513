"""A raw-socket Server-Sent Events client for the e2e tests: sends the GET by
hand, decodes HTTP/1.1 chunked framing and splits the stream into events
(nothing from an SSE library stands in for the server's bytes)."""
import json
import socket
import time


class SseStream:
    def __init__(self, port, target="/api/v1/events", headers=None, timeout=10, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        head = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        for k, v in (headers or {}).items():
            head += f"{k}: {v}\r\n"
        self.sock.sendall((head + "\r\n").encode())
        self.raw = b""      # bytes read, not yet de-chunked
        self.body = b""     # de-chunked, not yet split into events
        self.status = None
        self.headers = {}
        self.chunked = False
        self.eof = False

    def close(self):
        self.sock.close()

    def _read_more(self, deadline):
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.raw += data
        return True

    def _parse(self):
        if self.status is None:
            end = self.raw.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.raw[:end].decode().split("\r\n")
            self.status = int(lines[0].split()[1])
            for line in lines[1:]:
                k, _, v = line.partition(":")
                self.headers[k.strip().lower()] = v.strip()
            self.chunked = self.headers.get("transfer-encoding", "") == "chunked"
            self.raw = self.raw[end + 4:]
        if not self.chunked:
            self.body += self.raw
            self.raw = b""
            return
        while True:
            nl = self.raw.find(b"\r\n")
            if nl < 0:
                return
            size = int(self.raw[:nl].split(b";")[0], 16)
            if len(self.raw) < nl + 2 + size + 2:
                return
            self.body += self.raw[nl + 2:nl + 2 + size]
            self.raw = self.raw[nl + 2 + size + 2:]
            if size == 0:
                self.eof = True
                return

    def response_head(self, timeout=5):
        deadline = time.monotonic() + timeout
        while self.status is None and time.monotonic() < deadline and not self.eof:
            self._read_more(deadline)
            self._parse()
        return self.status

    def next_event(self, timeout=5):
        """The next event as a dict {id, event, data (parsed JSON)}; comments
        are skipped. None on timeout or end of stream."""
        deadline = time.monotonic() + timeout
        while True:
            self._parse()
            while b"\n\n" in self.body:
                block, self.body = self.body.split(b"\n\n", 1)
                ev = {}
                for line in block.decode().split("\n"):
                    if line.startswith(":"):
                        continue
                    k, _, v = line.partition(":")
                    ev[k] = v[1:] if v.startswith(" ") else v
                if "data" in ev:
                    ev["data"] = json.loads(ev["data"])
                    return ev
            if self.eof or time.monotonic() >= deadline:
                return None
            self._read_more(deadline)

    def events_until(self, pred, timeout=10):
        """Events read until one satisfies pred (that one included)."""
        out = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ev = self.next_event(timeout=deadline - time.monotonic())
            if ev is None:
                break
            out.append(ev)
            if pred(ev):
                return out
        raise AssertionError(f"no matching event in {len(out)} events: {out[-5:]}")
