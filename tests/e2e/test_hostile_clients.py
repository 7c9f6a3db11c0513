"""Hostile clients: what one misbehaving peer may cost the server.

Each test drives the real binary the way an attacker would (pipelining
without reading, trickling, flooding logins, exhausting descriptors) and
checks the bound the server keeps: memory (VmRSS from /proc), time, and the
reply the client gets.
"""
import os
import resource
import signal
import socket
import time

import pytest

from conftest import BINARY, Mailnest
from test_pop3_support import PASSWORDS
from test_smtp_wire import Wire, binary_is_sanitized


def rss_kib(pid, field="VmRSS"):
    """VmRSS (or VmHWM, its peak) of a process, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field}")


def under_sanitizer():
    """RSS says nothing under AddressSanitizer: its quarantine keeps freed
    memory (256 MiB by default) and its allocator has its own overhead."""
    return binary_is_sanitized(BINARY)


def skip_under_sanitizers():
    if under_sanitizer():
        pytest.skip("RSS bounds are not meaningful in a sanitizer build")


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
def test_pop3_client_pipelining_without_reading_cannot_grow_memory(mailnest_factory, command, login):
    # At info level: debug logs two lines per command, and the replies the
    # kernel takes (megabytes) are each a command answered and logged.
    mailnest = mailnest_factory(log_level="info")
    skip_under_sanitizers()
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
        assert grown < 4 * MIB, f"RSS grew {grown} KiB after {sent} octets of {command!r}"
        assert blocked, f"the server kept reading a client that does not read ({sent} octets)"
    finally:
        s.close()
    # Others are still served.
    with socket.create_connection(("127.0.0.1", mailnest.pop3_port), timeout=10) as other:
        assert read_line(other).startswith(b"+OK")


def test_smtp_client_pipelining_noop_without_reading_cannot_grow_memory(mailnest_factory):
    mailnest = mailnest_factory(log_level="info")
    skip_under_sanitizers()
    s = small_receive_buffer_socket(mailnest.smtp_port)
    try:
        assert read_line(s).startswith(b"220")
        s.sendall(b"HELO client.example\r\n")
        assert read_line(s).startswith(b"250")
        before = rss_kib(mailnest.proc.pid)
        sent, blocked = flood_without_reading(s, b"NOOP\r\n")
        time.sleep(0.5)
        grown = rss_kib(mailnest.proc.pid) - before
        assert grown < 4 * MIB, f"RSS grew {grown} KiB after {sent} octets"
        assert blocked, f"the server kept reading a client that does not read ({sent} octets)"
    finally:
        s.close()
    with Wire(mailnest.smtp_port) as w:
        assert w.reply().code == 220


# --------------------------------------------------------------- slow DATA, slow stops

def test_trickled_data_is_cut_off_by_the_whole_message_deadline(mailnest_factory):
    mn = mailnest_factory(smtp={"data_total_timeout_s": 2, "data_timeout_s": 60})
    with Wire(mn.smtp_port) as w:
        w.greet()
        w.start_data()
        t0 = time.monotonic()
        body = b"Subject: slow\r\n\r\n" + b"x" * 100
        # One octet every 0.3 s (never idle for data_timeout_s) until the
        # server says something. Bounded: 8 s.
        for i in range(len(body)):
            if time.monotonic() - t0 > 8:
                break
            w.sock.settimeout(0.3)
            try:
                w.sock.recv(1, socket.MSG_PEEK)
                break  # a reply (or EOF) is waiting
            except socket.timeout:
                pass
            try:
                w.send(body[i:i + 1])
            except OSError:
                break
        r = w.reply(timeout=5)
        elapsed = time.monotonic() - t0
        assert (r.code, r.enhanced) == (421, "4.4.2"), r
        assert 1.8 <= elapsed < 4.5, elapsed
        assert w.is_closed()
    time.sleep(0.3)
    assert mn.all_messages("alice") == []
    assert mn.tmp_files("alice") == []
    assert "not complete after 2 s" in mn.logs()


def test_sigterm_with_a_stalled_data_ends_after_the_grace(mailnest_factory):
    mn = mailnest_factory(shutdown_grace_s=1)
    with Wire(mn.smtp_port) as w:
        w.greet()
        w.start_data()
        # Over the spill threshold, so a file is already in tmp/; then stall.
        w.send(b"Subject: stalled\r\n\r\n" + b"half a message\r\n" * 30000)
        time.sleep(0.5)
        t0 = time.monotonic()
        mn.proc.send_signal(signal.SIGTERM)
        r = w.reply(timeout=6)
        assert (r.code, r.enhanced) == (421, "4.3.2"), r
        assert w.is_closed()
        assert mn.proc.wait(timeout=6) == 0
        assert time.monotonic() - t0 < 4
    assert mn.all_messages("alice") == []
    assert mn.tmp_files("alice") == []


def test_sigterm_with_a_pop3_client_not_reading_ends_after_the_grace(mailnest_factory):
    mn = mailnest_factory(shutdown_grace_s=1)
    s = small_receive_buffer_socket(mn.pop3_port)
    try:
        assert read_line(s).startswith(b"+OK")
        flood_without_reading(s, b"CAPA\r\n", max_bytes=4 << 20, max_seconds=5)
        t0 = time.monotonic()
        mn.proc.send_signal(signal.SIGTERM)
        assert mn.proc.wait(timeout=6) == 0
        assert time.monotonic() - t0 < 4
    finally:
        s.close()


# --------------------------------------------------------------- descriptor limit

def test_connection_limits_are_fitted_to_the_descriptor_limit(tmp_path):
    # 64 descriptors, 2 pool threads: 36 kept in reserve leave 28, 14 per
    # listener: 100 + 100 connections (2 and 3 descriptors each) become 7 + 4.
    mn = Mailnest(tmp_path, {"store": {"io_threads": 2},
                             "smtp": {"max_connections": 100}, "pop3": {"max_connections": 100}},
                  name="fd")
    mn.popen_extra = {"preexec_fn": lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))}
    mn.start()
    smtp, pop3 = [], []
    try:
        logs = mn.logs()
        assert "descriptor limit 64" in logs
        assert "smtp.max_connections 100 -> 7" in logs and "pop3.max_connections 100 -> 4" in logs
        for _ in range(7):
            w = Wire(mn.smtp_port)
            smtp.append(w)
            assert w.reply().code == 220
        with Wire(mn.smtp_port) as extra:
            r = extra.reply()
            assert (r.code, r.enhanced) == (421, "4.3.2"), r
        # An open session still delivers (its files fit in the reserve).
        w = smtp[0]
        assert w.cmd("EHLO client.test").code == 250
        w.start_data()
        w.send(b"Subject: fits\r\n\r\n" + b"line of a message that spills\r\n" * 20000 + b".\r\n")
        assert w.reply(timeout=15).code == 250
        assert len(mn.all_messages("alice")) == 1
        for _ in range(4):
            s = socket.create_connection(("127.0.0.1", mn.pop3_port), timeout=10)
            pop3.append(s)
            assert read_line(s).startswith(b"+OK")
        with socket.create_connection(("127.0.0.1", mn.pop3_port), timeout=10) as extra:
            assert read_line(extra).startswith(b"-ERR [SYS/TEMP]")
    finally:
        for c in smtp + pop3:
            c.close()
        assert mn.stop() == 0


def test_accepts_near_the_descriptor_limit_are_answered(mailnest):
    """Descriptors taken by something else than connections (here: the limit
    lowered from outside) must not make accepts fail silently."""
    pid = mailnest.proc.pid
    keep = Wire(mailnest.smtp_port)
    assert keep.reply().code == 220
    in_use = len(os.listdir(f"/proc/{pid}/fd"))
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (in_use + 4, in_use + 4))
    for _ in range(3):
        with Wire(mailnest.smtp_port) as extra:
            r = extra.reply()
            assert (r.code, r.enhanced) == (421, "4.3.2"), r
        with socket.create_connection(("127.0.0.1", mailnest.pop3_port), timeout=10) as extra:
            assert read_line(extra).startswith(b"-ERR [SYS/TEMP]")
    assert "descriptor limit nearly reached" in mailnest.logs()
    # The open session still delivers with the descriptors kept free.
    assert keep.cmd("EHLO client.test").code == 250
    keep.start_data()
    keep.send(b"Subject: near the limit\r\n\r\nstill delivered\r\n.\r\n")
    assert keep.reply(timeout=15).code == 250
    keep.close()
    assert len(mailnest.all_messages("alice")) == 1


# --------------------------------------------------------------- login floods

def pop3_from(port, source="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(20)
    s.connect(("127.0.0.1", port))
    return s


def timed_failed_pass(s):
    s.sendall(b"USER alice\r\n")
    assert read_line(s).startswith(b"+OK")
    t0 = time.monotonic()
    s.sendall(b"PASS not-her-password\r\n")
    reply = read_line(s)
    return reply, time.monotonic() - t0


def test_failure_delay_grows_per_address(mailnest_factory):
    mn = mailnest_factory(pop3={"auth_failure_delay_ms": 500})
    s = pop3_from(mn.pop3_port)
    try:
        assert read_line(s).startswith(b"+OK")
        times = []
        for _ in range(5):
            reply, t = timed_failed_pass(s)
            assert reply.startswith(b"-ERR [AUTH]"), reply
            times.append(t)
    finally:
        s.close()
    # Three at the base delay, then doubling: 0.5 0.5 0.5 1.0 2.0 s, each
    # plus the time of the check itself (which a loaded machine stretches).
    base = max(times[:3])
    assert min(times[:3]) >= 0.48 and base < 1.5, times
    assert times[3] >= base + 0.35, times
    assert times[4] >= times[3] + 0.75, times
    # Another address starts from the base delay.
    other = pop3_from(mn.pop3_port, source="127.0.0.2")
    try:
        assert read_line(other).startswith(b"+OK")
        reply, t = timed_failed_pass(other)
        assert reply.startswith(b"-ERR [AUTH]") and t < times[3], (reply, t, times)
    finally:
        other.close()


def test_concurrent_logins_per_address_are_limited(mailnest_factory):
    mn = mailnest_factory(pop3={"auth_failure_delay_ms": 1500, "max_logins_per_ip": 2})
    socks = [pop3_from(mn.pop3_port) for _ in range(4)]
    try:
        for s in socks:
            assert read_line(s).startswith(b"+OK")
            s.sendall(b"USER alice\r\n")
            assert read_line(s).startswith(b"+OK")
        for s in socks:
            s.sendall(b"PASS not-her-password\r\n")
        replies = sorted(read_line(s) for s in socks)
    finally:
        for s in socks:
            s.close()
    refused = b"-ERR [SYS/TEMP] too many logins from your address, try again later\r\n"
    assert replies == [b"-ERR [AUTH] invalid user or password\r\n"] * 2 + [refused] * 2, replies
    # The limit counts logins in progress, not failures: later ones are checked.
    s = pop3_from(mn.pop3_port)
    try:
        assert read_line(s).startswith(b"+OK")
        s.sendall(b"USER bob\r\n")
        assert read_line(s).startswith(b"+OK")
        s.sendall(f"PASS {PASSWORDS['bob']}\r\n".encode())
        assert read_line(s).startswith(b"+OK")
    finally:
        s.close()


def test_login_flood_does_not_starve_delivery(mailnest_factory):
    mn = mailnest_factory(pop3={"auth_failure_delay_ms": 100})
    flood = []
    before = rss_kib(mn.proc.pid)
    try:
        # 150 connections, each with five bad logins pipelined: 750 checks.
        for i in range(150):
            s = pop3_from(mn.pop3_port)
            flood.append(s)
            s.sendall(b"USER alice\r\nPASS not-her-password\r\n" * 5)
        time.sleep(0.5)
        body = b"Subject: during a login flood\r\n\r\n" + b"x" * 998 + b"\r\n"
        t0 = time.monotonic()
        with Wire(mn.smtp_port, timeout=60) as w:
            w.greet()
            w.start_data()
            w.send(body * 400 + b".\r\n")  # 400 kB
            r = w.reply(timeout=60)
        elapsed = time.monotonic() - t0
        assert r.code == 250, r
        assert elapsed < 5, f"a 400 kB delivery took {elapsed:.1f} s during the flood"
        assert len(mn.all_messages("alice")) == 1
        # Each yescrypt check holds ~16 MiB while it runs: only a few at once.
        peak = rss_kib(mn.proc.pid, "VmHWM") - before
        assert peak < 100 * MIB or under_sanitizer(), f"peak RSS grew {peak} KiB during the flood"
    finally:
        for s in flood:
            s.close()
