"""Hostile clients: what one misbehaving peer may cost the server.

Each test drives the real binary the way an attacker would (pipelining
without reading, trickling, flooding logins, exhausting descriptors) and
checks the bound the server keeps: memory (VmRSS from /proc), time, and the
reply the client gets.
"""
import socket
import time

import pytest

from test_pop3_support import PASSWORDS
from test_smtp_wire import Wire


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def read_line(sock, timeout=10.0):
    """One CRLF-terminated line, byte by byte (the socket keeps the rest)."""
    sock.settimeout(timeout)
    out = b""
    while not out.endswith(b"\r\n"):
        b = sock.recv(1)
        if not b:
            raise ConnectionError(f"closed after {out!r}")
        out += b
    return out


def flood_without_reading(sock, command, max_bytes=20 << 20, max_seconds=15.0):
    """Sends `command` pipelined over and over and never reads a reply.
    Bounded: stops at max_bytes, after max_seconds, or once the server has
    stopped reading long enough for the send to block for 2 s.
    Returns (octets sent, whether the send blocked)."""
    batch = command * (65536 // len(command))
    sent = 0
    deadline = time.monotonic() + max_seconds
    sock.settimeout(2.0)
    while sent < max_bytes and time.monotonic() < deadline:
        try:
            sent += sock.send(batch)
        except socket.timeout:
            return sent, True
    return sent, False


def small_receive_buffer_socket(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A small receive window: the replies pile up in the server, not in the
    # kernel on our side.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    return s


# --------------------------------------------------------------- write backlog

MIB = 1024


@pytest.mark.parametrize("command,login", [(b"CAPA\r\n", False), (b"NOOP\r\n", True)])
def test_pop3_client_pipelining_without_reading_cannot_grow_memory(mailnest, command, login):
    s = small_receive_buffer_socket(mailnest.pop3_port)
    try:
        assert read_line(s).startswith(b"+OK")
        if login:
            s.sendall(b"USER alice\r\n")
            assert read_line(s).startswith(b"+OK")
            s.sendall(f"PASS {PASSWORDS['alice']}\r\n".encode())
            assert read_line(s).startswith(b"+OK")
        before = rss_kib(mailnest.proc.pid)
        sent, blocked = flood_without_reading(s, command)
        time.sleep(0.5)
        grown = rss_kib(mailnest.proc.pid) - before
        # The server stops reading at its 64 KiB backlog: what it holds is
        # about one read buffer of input and one backlog of replies.
        assert grown < 8 * MIB, f"RSS grew {grown} KiB after {sent} octets of {command!r}"
        assert blocked, f"the server kept reading a client that does not read ({sent} octets)"
    finally:
        s.close()
    # Others are still served.
    with socket.create_connection(("127.0.0.1", mailnest.pop3_port), timeout=10) as other:
        assert read_line(other).startswith(b"+OK")


def test_smtp_client_pipelining_noop_without_reading_cannot_grow_memory(mailnest):
    s = small_receive_buffer_socket(mailnest.smtp_port)
    try:
        assert read_line(s).startswith(b"220")
        s.sendall(b"HELO client.example\r\n")
        assert read_line(s).startswith(b"250")
        before = rss_kib(mailnest.proc.pid)
        sent, blocked = flood_without_reading(s, b"NOOP\r\n")
        time.sleep(0.5)
        grown = rss_kib(mailnest.proc.pid) - before
        assert grown < 8 * MIB, f"RSS grew {grown} KiB after {sent} octets"
        assert blocked, f"the server kept reading a client that does not read ({sent} octets)"
    finally:
        s.close()
    with Wire(mailnest.smtp_port) as w:
        assert w.reply().code == 220
