"""Retry logic proved with deterministic faults (docs/RELAY.md): a relaying
mailnest "a" (backoff 1 s) delivers to a second mailnest "b" whose fault
rules make it fail exactly as told: "451 at RCPT twice, then accept", a
dropped connection at the final dot, a final dot slower than a's timeout
(and the one duplicate that can cause).
And a temporary DNS failure (no server answering yet) that defers, then
succeeds once dnsmasq answers on that port."""
import getpass
import os
import shutil
import smtplib
import socket
import subprocess
import time

import pytest

from http_client import get
from relay_support import FAST_RETRY, free_port, queue_files, queued_ids, relay_overrides, user_has, wait_for

pytestmark = pytest.mark.e2

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


def send(mn, rcpts, subject, sender="alice@example.test"):
    with smtplib.SMTP("127.0.0.1", mn.smtp_port, timeout=10) as s:
        return s.sendmail(sender, rcpts, f"Subject: {subject}\r\nFrom: <{sender}>\r\n\r\nbody\r\n".encode())


def faulty_next_hop(mailnest_factory, faults):
    """mailnest for b.test with fault rules; HTTP on for its counters."""
    return mailnest_factory(name="b", local_domains=["b.test"], pop3={"enabled": False}, faults=faults)


def outcomes(a, rcpt):
    """The status= words a logged for rcpt, in order."""
    out = []
    for line in a.logs().splitlines():
        if f"to=<{rcpt}>," in line and "status=" in line:
            out.append(line.split("status=")[1].split()[0])
    return out


def test_next_hop_fails_rcpt_twice_then_accepts(mailnest_factory):
    b = faulty_next_hop(mailnest_factory, [{"stage": "rcpt", "recipient": "*@B.TEST", "first": 2,
                                            "reply": {"code": 451, "enhanced": "4.7.1", "text": "greylisted"}}])
    a = mailnest_factory(name="a", **relay_overrides(b.smtp_port))
    assert send(a, ["bob@b.test"], "fail-twice") == {}
    wait_for(lambda: user_has(b, "bob", b"Subject: fail-twice"), timeout=30, what="delivery on the third attempt")
    wait_for(lambda: not queue_files(a), what="queue empty")
    assert outcomes(a, "bob@b.test") == ["deferred", "deferred", "sent"]
    logs = a.logs()
    assert logs.count("dsn=4.7.1, status=deferred (451 4.7.1 greylisted)") == 2
    assert len(b.all_messages("bob")) == 1  # exactly one copy
    # b counted three attempts of its rule and injected two faults.
    assert get(b.http_port, "/api/v1/faults").json()["counters"] == [{"rule": 0, "matched": 3, "injected": 2}]
    assert b.logs().count("fault injected: rule 0 at rcpt: reply 451 4.7.1") == 2


def test_connection_dropped_at_the_final_dot_is_retried_and_stored_once(mailnest_factory):
    b = faulty_next_hop(mailnest_factory, [{"stage": "dot", "disconnect": True, "first": 1}])
    a = mailnest_factory(name="a", **relay_overrides(b.smtp_port))
    assert send(a, ["bob@b.test"], "dropped-dot") == {}
    wait_for(lambda: user_has(b, "bob", b"Subject: dropped-dot"), timeout=30, what="delivery on the retry")
    wait_for(lambda: not queue_files(a), what="queue empty")
    assert outcomes(a, "bob@b.test") == ["deferred", "sent"]
    time.sleep(0.5)
    assert len(b.all_messages("bob")) == 1  # the dropped transaction stored nothing


def test_final_dot_slower_than_the_client_timeout_gives_rfc_1047s_duplicate_and_no_more(mailnest_factory):
    # b stores the message once its delay is over, as a slow disk would;
    # a has given up by then and retries: two copies, the one duplicate a
    # late end-of-data reply can cause (RFC 1047), never a loss.
    b = faulty_next_hop(mailnest_factory, [{"stage": "dot", "delay_ms": 4000, "first": 1}])
    a = mailnest_factory(name="a", **relay_overrides(b.smtp_port, data_term_timeout_s=1, data_block_timeout_s=1))
    assert send(a, ["bob@b.test"], "slow-dot") == {}
    wait_for(lambda: user_has(b, "bob", b"Subject: slow-dot"), timeout=30, what="delivery on the retry")
    wait_for(lambda: not queue_files(a), what="queue empty")
    assert outcomes(a, "bob@b.test") == ["deferred", "sent"]
    assert "status=deferred (4.4.2 conversation with" in a.logs() and "timed out" in a.logs()
    wait_for(lambda: len(b.all_messages("bob")) == 2, timeout=10, what="the delayed copy stored as well")
    time.sleep(1.5)
    assert len(b.all_messages("bob")) == 2


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_dnsmasq(port, *records):
    args = [DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
            f"--port={port}", "--listen-address=127.0.0.1", "--bind-interfaces", "--pid-file=",
            f"--user={getpass.getuser()}", "--local=/lab/", *records]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.3)
    if proc.poll() is not None:
        pytest.fail(f"dnsmasq did not start: {proc.stderr.read().decode(errors='replace')}")
    return proc


def test_temporary_dns_failure_defers_then_delivers_once_dns_answers(mailnest_factory):
    if not os.path.exists(DNSMASQ):
        pytest.skip("dnsmasq is not installed (Debian package dnsmasq-base)")
    dns_port = free_udp_port()  # nothing answers here yet
    hop_port = free_port()
    b = mailnest_factory(name="b", local_domains=["b.lab"], smtp={"listen": "127.0.0.2", "port": hop_port},
                         pop3={"enabled": False}, http={"enabled": False})
    relay = {"enabled": True, "dns_servers": [f"127.0.0.1:{dns_port}"], "mx_port": hop_port,
             "dns_timeout_ms": 200, "connect_timeout_s": 5}
    relay.update(FAST_RETRY)
    a = mailnest_factory(name="a", relay=relay)
    assert send(a, ["bob@b.lab"], "dns-later") == {}
    wait_for(lambda: outcomes(a, "bob@b.lab")[:2] == ["deferred", "deferred"], timeout=20,
             what="two deferrals while DNS does not answer")
    assert "status=bounced" not in a.logs()  # temporary: never a bounce
    assert queued_ids(a)
    dns = start_dnsmasq(dns_port, "--mx-host=b.lab,mx.b.lab,10", "--host-record=mx.b.lab,127.0.0.2")
    try:
        wait_for(lambda: user_has(b, "bob", b"Subject: dns-later"), timeout=30, what="delivery once DNS answers")
        wait_for(lambda: not queue_files(a), what="queue empty")
    finally:
        dns.terminate()
        dns.wait(timeout=5)
    seen = outcomes(a, "bob@b.lab")
    assert seen[-1] == "sent" and set(seen[:-1]) == {"deferred"}
    assert f"relay=mx.b.lab[127.0.0.2]:{hop_port}" in a.logs()
