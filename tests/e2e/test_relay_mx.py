"""MX routing (docs/RELAY.md) against a private dnsmasq on a free loopback
port: preference order with fallback to the second MX, the implicit MX of
a domain without MX records, null MX (RFC 7505: 556 5.1.10 bounce) and
NXDOMAIN (bounce)."""
import email
import email.policy
import getpass
import os
import shutil
import smtplib
import socket
import subprocess
import time

import pytest

from relay_support import FAST_RETRY, queue_files, wait_for, user_has

pytestmark = pytest.mark.e2

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


def free_port(addr="127.0.0.1", kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


@pytest.fixture
def lab_dns():
    """dnsmasq answering for *.lab only; yields its port and the next hop's port."""
    if not os.path.exists(DNSMASQ):
        pytest.skip("dnsmasq is not installed (Debian package dnsmasq-base)")
    port = free_port(kind=socket.SOCK_DGRAM)
    hop_port = free_port("127.0.0.2")
    args = [DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
            f"--port={port}", "--listen-address=127.0.0.1", "--bind-interfaces", "--pid-file=",
            f"--user={getpass.getuser()}", "--local=/lab/",
            # b.lab: the preferred MX has no server (127.0.0.3), the second one has.
            "--mx-host=b.lab,mx1.b.lab,10", "--mx-host=b.lab,mx2.b.lab,20",
            "--host-record=mx1.b.lab,127.0.0.3", "--host-record=mx2.b.lab,127.0.0.2",
            # c.lab: no MX, an address: its own implicit MX.
            "--host-record=c.lab,127.0.0.2",
            # nomail.lab: null MX (preference 0, root name).
            "--dns-rr=nomail.lab,15,000000"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.3)
    if proc.poll() is not None:
        pytest.skip(f"dnsmasq did not start: {proc.stderr.read().decode(errors='replace')}")
    try:
        yield port, hop_port
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def start_pair(mailnest_factory, dns_port, hop_port):
    b = mailnest_factory(name="b", local_domains=["b.lab", "c.lab"], smtp={"listen": "127.0.0.2", "port": hop_port},
                         pop3={"enabled": False}, http={"enabled": False})
    relay = {"enabled": True, "dns_servers": [f"127.0.0.1:{dns_port}"], "mx_port": hop_port,
             "connect_timeout_s": 5}
    relay.update(FAST_RETRY)
    a = mailnest_factory(name="a", relay=relay)
    return a, b


def send(mn, rcpts, subject, sender="alice@example.test"):
    with smtplib.SMTP("127.0.0.1", mn.smtp_port, timeout=10) as s:
        return s.sendmail(sender, rcpts, f"Subject: {subject}\r\n\r\nbody\r\n".encode())


def test_mx_preference_and_fallback_to_the_second_mx(mailnest_factory, lab_dns):
    a, b = start_pair(mailnest_factory, *lab_dns)
    assert send(a, ["bob@b.lab"], "via-mx2") == {}
    wait_for(lambda: user_has(b, "bob", b"Subject: via-mx2"), what="delivery through mx2")
    logs = a.logs()
    # mx1 (preference 10) first: refused, then mx2 in the same attempt.
    assert f"connect to mx1.b.lab[127.0.0.3]:{lab_dns[1]}" in logs and "trying the next address" in logs
    assert f"to=<bob@b.lab>, relay=mx2.b.lab[127.0.0.2]:{lab_dns[1]}" in logs
    wait_for(lambda: not queue_files(a), what="queue empty")


def test_implicit_mx(mailnest_factory, lab_dns):
    a, b = start_pair(mailnest_factory, *lab_dns)
    assert send(a, ["bob@c.lab"], "implicit") == {}
    wait_for(lambda: user_has(b, "bob", b"Subject: implicit"), what="delivery to the implicit MX")
    assert f"relay=c.lab[127.0.0.2]:{lab_dns[1]}" in a.logs()


def test_null_mx_and_nxdomain_bounce_at_once(mailnest_factory, lab_dns):
    a, _ = start_pair(mailnest_factory, *lab_dns)
    assert send(a, ["x@nomail.lab", "y@none.lab"], "nowhere") == {}
    wait_for(lambda: _both_in_one(a), what="the bounces")
    wait_for(lambda: not queue_files(a), what="queue empty")
    fields = {}
    for p in a.all_messages("alice"):
        msg = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        if msg.get_content_type() != "multipart/report":
            continue
        for block in list(msg.iter_parts())[1].get_payload()[1:]:
            fields[block["Final-Recipient"]] = block
    null, nx = fields["rfc822; x@nomail.lab"], fields["rfc822; y@none.lab"]
    assert null["Status"] == "5.1.10"
    assert null["Diagnostic-Code"].startswith("smtp; 556 5.1.10")
    assert nx["Status"] == "5.4.4"
    assert "Host or domain name not found" in nx["Diagnostic-Code"]
    logs = a.logs()
    assert "to=<x@nomail.lab>, relay=none" in logs and "status=bounced" in logs
    assert "deferred" not in logs  # neither waited for a retry


def _both_in_one(a):
    found = b"".join(p.read_bytes() for p in a.all_messages("alice"))
    return b"x@nomail.lab" in found and b"y@none.lab" in found and b"multipart/report" in found
