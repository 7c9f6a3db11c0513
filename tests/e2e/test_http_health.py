"""The HTTP listener: health endpoints, the response prelude and shutdown (real binary)."""
import shutil
import socket
import subprocess
import time

import pytest

from http_client import get


def test_ready_line_names_the_http_listener_and_keeps_the_others(mailnest):
    assert mailnest.http_port and mailnest.smtp_port and mailnest.pop3_port
    assert mailnest.http_port not in (mailnest.smtp_port, mailnest.pop3_port)


def test_livez_and_readyz_answer_200_with_nosniff(mailnest):
    r = get(mailnest.http_port, "/livez")
    assert (r.status, r.body) == (200, b"ok\n")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-length"] == "3"
    deadline = time.monotonic() + 5
    while True:  # ready once the first index scan is done (immediately on an empty root)
        r = get(mailnest.http_port, "/readyz")
        if r.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert (r.status, r.body) == (200, b"ready\n")
    assert r.headers["x-content-type-options"] == "nosniff"


def test_unknown_path_is_a_json_404_with_nosniff(mailnest):
    r = get(mailnest.http_port, "/no/such/thing?x=1")
    assert r.status == 404
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.json() == {"error": "no such endpoint"}


def test_other_methods_are_405_with_allow(mailnest):
    r = get(mailnest.http_port, "/livez", method="POST", body=b"x")
    assert r.status == 405
    assert r.headers["allow"] == "GET, HEAD"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_url_and_header_limits(mailnest_factory):
    mn = mailnest_factory(http={"max_url_length": 100, "max_header_bytes": 300})
    assert get(mn.http_port, "/livez?" + "a" * 80).status == 200
    r = get(mn.http_port, "/livez?" + "a" * 120)
    assert r.status == 414
    assert "100" in r.json()["error"]
    r = get(mn.http_port, "/livez", headers={"X-Big": "b" * 400})
    assert r.status == 431
    assert r.json()["error"] == "request headers larger than 300 octets"


def test_request_body_over_the_limit_is_refused(mailnest_factory):
    mn = mailnest_factory(http={"max_body_bytes": 1000})
    assert get(mn.http_port, "/livez", method="POST", body=b"x" * 5000).status == 413


def test_http_off_on_the_command_line_and_in_config(mailnest_factory):
    mn = mailnest_factory(args=["--http-listen", "off"])
    assert mn.http_port is None and mn.smtp_port
    mn2 = mailnest_factory(http={"enabled": False})
    assert mn2.http_port is None


def test_bad_http_config_is_refused_naming_the_key(mailnest_factory):
    with pytest.raises(RuntimeError, match=r"http\.max_wait_s: 121 is out of range 1\.\.120"):
        mailnest_factory(http={"max_wait_s": 121})
    with pytest.raises(RuntimeError, match=r"http\.colour: unknown key"):
        mailnest_factory(http={"colour": "blue"})


def test_sigterm_with_an_idle_keepalive_connection_exits_promptly(mailnest):
    # A client that keeps its connection open must not hold up shutdown.
    s = socket.create_connection(("127.0.0.1", mailnest.http_port))
    s.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"200 OK" in s.recv(4096)
    half = socket.create_connection(("127.0.0.1", mailnest.http_port))
    half.sendall(b"GET /livez HTTP/1.1\r\nHo")  # a request head never finished
    time.sleep(0.1)
    t0 = time.monotonic()
    assert mailnest.stop() == 0
    assert time.monotonic() - t0 < 3
    assert s.recv(4096) == b""  # closed by the server
    s.close()
    half.close()


@pytest.mark.skipif(not shutil.which("curl"), reason="curl not installed")
def test_curl_sees_livez(mailnest):
    out = subprocess.run(["curl", "-sS", "-i", f"http://127.0.0.1:{mailnest.http_port}/livez"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("HTTP/1.1 200")
    assert "x-content-type-options: nosniff" in out.stdout.lower()
