"""The HTTP API's access rules against the real binary: optional Basic auth
(http.users with crypt hashes; /livez and /readyz stay open), http.read_only,
CORS only for configured origins, and X-Content-Type-Options: nosniff on
every answer, the server's own refusals (413, 431) included."""
import base64
import socket
import subprocess
import threading
import time

import pytest

from conftest import PASSWORDS, base_config
from http_client import get
from test_http_index import boxes, deliver, eventually

# The demo hash of alice-password (etc/mailnest.json), reused for an HTTP user.
OPS_HASH = base_config()["users"]["alice"]["password"]
OPS_PASSWORD = PASSWORDS["alice"]


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_no_users_no_authentication(mailnest):
    r = get(mailnest.http_port, "/api/v1/mailboxes")
    assert r.status == 200
    assert "www-authenticate" not in r.headers


@pytest.fixture
def secured(mailnest_factory):
    return mailnest_factory(http={"users": {"ops": OPS_HASH}, "auth_failure_delay_ms": 100})


def test_basic_auth_required_and_checked(secured):
    port = secured.http_port
    for headers, why in [({}, "authentication required"),
                         ({"Authorization": "Bearer abc"}, "malformed Basic credentials"),
                         ({"Authorization": "Basic !!!"}, "malformed Basic credentials"),
                         (basic("ops", "wrong"), "wrong user name or password"),
                         (basic("nobody", OPS_PASSWORD), "wrong user name or password")]:
        r = get(port, "/api/v1/mailboxes", headers=headers)
        assert (r.status, r.json()) == (401, {"error": why}), headers
        assert r.headers["www-authenticate"] == 'Basic realm="mailnest", charset="UTF-8"'
        assert r.headers["x-content-type-options"] == "nosniff"
    r = get(port, "/api/v1/mailboxes", headers=basic("ops", OPS_PASSWORD))
    assert r.status == 200 and "mailboxes" in r.json()
    # Remembered success: the same credentials again, and a wrong one still fails.
    assert get(port, "/metrics", headers=basic("ops", OPS_PASSWORD)).status == 200
    assert get(port, "/metrics", headers=basic("ops", OPS_PASSWORD + "x")).status == 401
    # Unknown paths are behind the gate too (no probing without credentials).
    assert get(port, "/no/such").status == 401


def timed_get(port, path, headers):
    t0 = time.monotonic()
    r = get(port, path, headers=headers)
    return r, time.monotonic() - t0


def test_failed_logins_wait_longer_per_address_and_a_success_forgets(mailnest_factory):
    # As POP3 (LoginGuard): three failures at the base delay, then doubling.
    mn = mailnest_factory(http={"users": {"ops": OPS_HASH}, "auth_failure_delay_ms": 300})
    took = []
    for _ in range(5):
        r, t = timed_get(mn.http_port, "/api/v1/mailboxes", basic("ops", "wrong"))
        assert r.status == 401
        took.append(t)
    assert all(t >= 0.29 for t in took[:3]), took
    assert took[3] >= 0.59 and took[4] >= 1.19, took
    r, t = timed_get(mn.http_port, "/api/v1/mailboxes", basic("ops", OPS_PASSWORD))
    assert r.status == 200 and t < 0.29 + 2.0
    r, t = timed_get(mn.http_port, "/api/v1/mailboxes", basic("ops", "wrong"))
    assert r.status == 401 and 0.29 <= t < 0.59, t  # forgotten: the base delay again


def test_logins_at_once_per_address_are_bounded(mailnest_factory):
    mn = mailnest_factory(http={"users": {"ops": OPS_HASH}, "auth_failure_delay_ms": 1500,
                                "max_logins_per_ip": 2})
    results = []

    def wrong():
        results.append(get(mn.http_port, "/api/v1/mailboxes", headers=basic("ops", "wrong")).status)

    slow = [threading.Thread(target=wrong) for _ in range(2)]
    for t in slow:
        t.start()
    time.sleep(0.7)  # both checked and waiting out their delay
    r = get(mn.http_port, "/api/v1/mailboxes", headers=basic("ops", OPS_PASSWORD))
    assert r.status == 429 and "too many logins" in r.json()["error"]
    for t in slow:
        t.join()
    assert results == [401, 401]
    # Once they are answered the address may log in again.
    assert get(mn.http_port, "/api/v1/mailboxes", headers=basic("ops", OPS_PASSWORD)).status == 200


def test_probes_stay_open(secured):
    assert get(secured.http_port, "/livez").status == 200
    assert eventually(lambda: get(secured.http_port, "/readyz").status == 200)


def test_curl_with_user(secured):
    url = f"http://127.0.0.1:{secured.http_port}/api/v1/mailboxes"
    out = subprocess.run(["curl", "-sS", "-i", "-u", f"ops:{OPS_PASSWORD}", url],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("HTTP/1.1 200")
    out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", url],
                         capture_output=True, text=True, timeout=30)
    assert out.stdout == "401"


def test_read_only_refuses_every_write(mailnest_factory):
    mn = mailnest_factory(http={"read_only": True})
    deliver(mn, "alice@localhost")
    assert eventually(lambda: boxes(mn).get("alice", {}).get("messages") == 1)
    for method, target in [("DELETE", "/api/v1/messages?mailbox=alice"), ("POST", "/api/v1/messages"),
                           ("PUT", "/livez"), ("PATCH", "/no/such")]:
        r = get(mn.http_port, target, method=method, body=b"" if method != "DELETE" else None)
        assert (r.status, r.json()) == (403, {"error": "read-only: http.read_only is set"}), (method, target)
        assert r.headers["x-content-type-options"] == "nosniff"
    assert len(mn.all_messages("alice")) == 1
    assert get(mn.http_port, "/api/v1/mailboxes").status == 200


def test_read_only_with_auth_asks_for_credentials_first(mailnest_factory):
    mn = mailnest_factory(http={"read_only": True, "users": {"ops": OPS_HASH}})
    assert get(mn.http_port, "/api/v1/messages?mailbox=alice", method="DELETE").status == 401
    r = get(mn.http_port, "/api/v1/messages?mailbox=alice", method="DELETE", headers=basic("ops", OPS_PASSWORD))
    assert r.status == 403


PREFLIGHT = {"Origin": "http://localhost:3000", "Access-Control-Request-Method": "DELETE"}


def test_no_cors_unless_configured(mailnest):
    r = get(mailnest.http_port, "/api/v1/mailboxes", headers={"Origin": "http://localhost:3000"})
    assert r.status == 200
    assert not [h for h in r.headers if h.startswith("access-control-")]
    r = get(mailnest.http_port, "/api/v1/mailboxes", method="OPTIONS", headers=PREFLIGHT)
    assert r.status == 405
    assert not [h for h in r.headers if h.startswith("access-control-")]


def test_cors_for_configured_origins_only(mailnest_factory):
    mn = mailnest_factory(http={"cors_origins": ["http://localhost:3000"], "users": {"ops": OPS_HASH}})
    # A preflight carries no credentials: answered before authentication.
    r = get(mn.http_port, "/api/v1/messages?mailbox=alice", method="OPTIONS", headers=PREFLIGHT)
    assert r.status == 204
    assert r.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert r.headers["access-control-allow-methods"] == "GET, HEAD, POST, PUT, DELETE"
    assert "Authorization" in r.headers["access-control-allow-headers"]
    assert r.headers["vary"] == "Origin"
    assert r.headers["x-content-type-options"] == "nosniff"
    # The real request from that origin gets the header (its 401 too).
    r = get(mn.http_port, "/api/v1/mailboxes", headers={"Origin": "http://localhost:3000"})
    assert (r.status, r.headers["access-control-allow-origin"]) == (401, "http://localhost:3000")
    r = get(mn.http_port, "/api/v1/mailboxes",
            headers={"Origin": "http://localhost:3000", **basic("ops", OPS_PASSWORD)})
    assert (r.status, r.headers["access-control-allow-origin"]) == (200, "http://localhost:3000")
    # Another origin: nothing.
    other = {"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"}
    r = get(mn.http_port, "/api/v1/mailboxes", method="OPTIONS", headers=other)
    assert r.status in (401, 405)
    assert not [h for h in r.headers if h.startswith("access-control-")]


def raw_request(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        out = b""
        while b"\r\n\r\n" not in out:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    head = out.split(b"\r\n\r\n")[0].decode(errors="replace").split("\r\n")
    headers = {}
    for line in head[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(head[0].split()[1]), headers


def test_limits_and_nosniff_on_every_answer(mailnest_factory):
    mn = mailnest_factory(http={"max_url_length": 100, "max_header_bytes": 300, "max_body_bytes": 1000})
    port = mn.http_port
    cases = [
        ("GET", "/livez", {}, None, 200),
        ("GET", "/api/v1/messages?limit=0", {}, None, 400),
        ("GET", "/no/such", {}, None, 404),
        ("POST", "/livez", {}, b"x", 405),
        ("GET", "/livez?" + "a" * 120, {}, None, 414),
        ("GET", "/livez", {"X-Big": "b" * 400}, None, 431),
        ("POST", "/livez", {}, b"x" * 5000, 413),  # refused by h2o before our handler
    ]
    for method, target, headers, body, status in cases:
        r = get(port, target, method=method, headers=headers, body=body)
        assert r.status == status, (method, target)
        assert r.headers.get("x-content-type-options") == "nosniff", (method, target, status)
    # A request head over h2o's own 8 KiB ceiling: h2o answers without us.
    status, headers = raw_request(port, b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Huge: " + b"h" * 9000 + b"\r\n\r\n")
    assert status in (400, 431)
    assert headers.get("x-content-type-options") == "nosniff"
