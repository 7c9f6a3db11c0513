"""GET /metrics: Prometheus text that counts what really happened (real binary)."""
import poplib
import re
import shutil
import subprocess

import pytest

from http_client import get
from test_http_index import deliver


def sample(text, name):
    m = re.search(r"^" + re.escape(name) + r" (\S+)$", text, re.M)
    assert m, f"{name} missing from:\n{text}"
    return float(m.group(1))


def test_metrics_count_connections_messages_logins_and_open_sessions(mailnest):
    deliver(mailnest, "alice@localhost")
    deliver(mailnest, "bob@localhost")
    p = poplib.POP3("127.0.0.1", mailnest.pop3_port, timeout=10)
    p.user("alice")
    p.pass_("alice-password")
    r = get(mailnest.http_port, "/metrics")
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert r.headers["x-content-type-options"] == "nosniff"
    text = r.body.decode()
    assert sample(text, 'mailnest_connections_total{protocol="smtp"}') == 2
    assert sample(text, "mailnest_smtp_messages_accepted_total") == 2
    assert sample(text, "mailnest_pop3_logins_total") == 1
    assert sample(text, 'mailnest_connections_total{protocol="pop3"}') == 1
    assert sample(text, 'mailnest_sessions_open{protocol="pop3"}') == 1  # p is still logged in
    p.quit()
    import time
    deadline = time.monotonic() + 5
    while sample(get(mailnest.http_port, "/metrics").body.decode(), 'mailnest_sessions_open{protocol="pop3"}') != 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_metrics_count_replies_by_code_and_the_commit_latency_histogram(mailnest):
    deliver(mailnest, "alice@localhost")
    import smtplib
    with smtplib.SMTP("127.0.0.1", mailnest.smtp_port, timeout=10) as c:
        c.ehlo()
        c.mail("s@remote.test")
        assert c.rcpt("nobody@localhost")[0] == 550
    text = get(mailnest.http_port, "/metrics").body.decode()
    assert sample(text, 'mailnest_smtp_replies_total{code="550"}') == 1
    assert sample(text, 'mailnest_smtp_replies_total{code="354"}') == 1
    assert sample(text, 'mailnest_smtp_messages_total{code="250"}') == 1
    assert sample(text, 'mailnest_smtp_commit_latency_seconds_count') == 1
    assert sample(text, 'mailnest_smtp_commit_latency_seconds_bucket{le="+Inf"}') == 1
    assert sample(text, 'mailnest_smtp_commit_latency_seconds_bucket{le="2.5"}') == 1
    assert 0 < sample(text, "mailnest_smtp_commit_latency_seconds_sum") < 2.5
    buckets = [float(v) for v in re.findall(r'^mailnest_smtp_commit_latency_seconds_bucket\{le="[^"]+"\} (\S+)$', text, re.M)]
    assert buckets == sorted(buckets)  # cumulative


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool (Debian prometheus) not installed")
def test_promtool_accepts_the_metrics(mailnest):
    deliver(mailnest, "alice@localhost")
    p = poplib.POP3("127.0.0.1", mailnest.pop3_port, timeout=10)
    p.user("alice")
    p.pass_("alice-password")
    p.retr(1)
    p.quit()
    body = get(mailnest.http_port, "/metrics").body
    out = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == b"" and out.stderr.strip() == b""  # no lint complaints either
