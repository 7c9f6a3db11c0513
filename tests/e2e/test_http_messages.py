"""GET /api/v1/messages/{id}/raw and GET /api/v1/wait against the real binary."""
import shutil
import subprocess
import threading
import time

import pytest

from http_client import get
from test_http_index import boxes, deliver, eventually, messages


def test_raw_is_the_file_as_stored(mailnest):
    deliver(mailnest, "alice@localhost", subject="raw one", body="line 1\r\n.dot\r\nline 3\r\n")
    assert eventually(lambda: boxes(mailnest).get("alice", {}).get("messages") == 1)
    m = messages(mailnest, "?mailbox=alice")["messages"][0]
    r = get(mailnest.http_port, f"/api/v1/messages/{m['id']}/raw")
    assert r.status == 200
    assert r.headers["content-type"] == "message/rfc822"
    assert r.headers["x-content-type-options"] == "nosniff"
    [stored] = mailnest.all_messages("alice")
    assert r.body == stored.read_bytes()  # LF line ends, un-stuffed (smtplib stuffed it): as stored
    assert b"Subject: raw one\n" in r.body and b"\n.dot\n" in r.body


def test_raw_follows_a_move_to_cur(mailnest):
    deliver(mailnest, "alice@localhost", subject="moving")
    assert eventually(lambda: boxes(mailnest).get("alice", {}).get("messages") == 1)
    m = messages(mailnest, "?mailbox=alice")["messages"][0]
    [f] = mailnest.new_files("alice")
    data = f.read_bytes()
    f.rename(mailnest.maildir("alice") / "cur" / (f.name + ":2,S"))
    r = get(mailnest.http_port, f"/api/v1/messages/{m['id']}/raw")  # index may not know yet
    assert (r.status, r.body) == (200, data)


@pytest.mark.parametrize("target,status,error", [
    ("/api/v1/messages/0123456789abcdef/raw", 404, "no such message"),
    ("/api/v1/messages/..%2f..%2fetc%2fpasswd/raw", 404, "no such message"),
    ("/api/v1/messages/alice/raw", 404, "no such message"),
    ("/api/v1/messages/0123456789abcdef", 404, "no such message"),
    ("/api/v1/messages/0123456789abcdef/parts/1", 404, "no such message"),
    ("/api/v1/messages/0123456789abcdef/other", 404, "no such endpoint"),
])
def test_unknown_ids_are_404(mailnest, target, status, error):
    r = get(mailnest.http_port, target)
    assert (r.status, r.json()) == (status, {"error": error})


def test_wait_returns_at_once_when_a_message_is_past_the_cursor(mailnest):
    deliver(mailnest, "alice@localhost")
    assert eventually(lambda: boxes(mailnest).get("alice", {}).get("messages") == 1)
    t0 = time.monotonic()
    r = get(mailnest.http_port, "/api/v1/wait?mailbox=alice&after=0&timeout=30")
    assert r.status == 200
    assert time.monotonic() - t0 < 2
    body = r.json()
    assert body["message"]["mailbox"] == "alice"
    assert body["last_seq"] >= body["message"]["seq"]
    # Past the last message and timeout=0: 204 at once.
    r = get(mailnest.http_port, f"/api/v1/wait?mailbox=alice&after={body['last_seq']}&timeout=0")
    assert (r.status, r.body) == (204, b"")


def test_wait_blocks_until_a_delivery_then_answers_with_it(mailnest):
    deliver(mailnest, "bob@localhost", subject="before")
    assert eventually(lambda: boxes(mailnest).get("bob", {}).get("messages") == 1)
    cursor = messages(mailnest)["last_seq"]
    # alice has no mailbox directory yet: a configured user may still be waited for.
    sender = threading.Timer(1.0, deliver, args=(mailnest, "alice@localhost", "during"))
    t0 = time.monotonic()
    sender.start()
    try:
        r = get(mailnest.http_port, f"/api/v1/wait?mailbox=alice&after={cursor}&timeout=20", timeout=30)
    finally:
        sender.join()
    waited = time.monotonic() - t0
    assert r.status == 200, r.body
    assert 0.9 < waited < 10
    m = r.json()["message"]
    assert m["mailbox"] == "alice" and m["seq"] > cursor
    raw = get(mailnest.http_port, f"/api/v1/messages/{m['id']}/raw")
    assert b"Subject: during\n" in raw.body


def test_wait_times_out_with_204(mailnest):
    t0 = time.monotonic()
    r = get(mailnest.http_port, "/api/v1/wait?mailbox=alice&timeout=1")
    assert (r.status, r.body) == (204, b"")
    assert 0.9 < time.monotonic() - t0 < 5


def test_a_waiting_request_is_answered_204_at_shutdown(mailnest):
    result = {}

    def wait():
        result["r"] = get(mailnest.http_port, "/api/v1/wait?timeout=60", timeout=30)

    t = threading.Thread(target=wait)
    t.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    assert mailnest.stop() == 0
    t.join(10)
    assert time.monotonic() - t0 < 5
    assert result["r"].status == 204
    assert result["r"].headers.get("connection", "").lower() == "close"


def test_waiters_are_bounded(mailnest_factory):
    mn = mailnest_factory(http={"max_waiters": 1})
    t = threading.Thread(target=get, args=(mn.http_port, "/api/v1/wait?timeout=2"), kwargs={"timeout": 10})
    t.start()
    time.sleep(0.5)
    r = get(mn.http_port, "/api/v1/wait?timeout=2")
    assert (r.status, r.json()) == (503, {"error": "more than 1 waiting requests"})
    t.join()


@pytest.mark.parametrize("query,status,error", [
    ("?mailbox=nobody", 404, "mailbox: no mailbox 'nobody'"),
    ("?mailbox=Alice", 400, "mailbox: not a valid mailbox name"),
    ("?after=-1", 400, "after: must be a seq number (last_seq of an earlier answer)"),
    ("?timeout=121", 400, "timeout: must be 0..120 seconds"),
    ("?timeout=x", 400, "timeout: must be 0..120 seconds"),
    ("?colour=red", 400, "colour: unknown parameter (mailbox, query, after, timeout)"),
])
def test_bad_wait_parameters(mailnest, query, status, error):
    r = get(mailnest.http_port, "/api/v1/wait" + query)
    assert (r.status, r.json()) == (status, {"error": error})


@pytest.mark.skipif(not shutil.which("curl"), reason="curl not installed")
def test_curl_lists_and_fetches(mailnest):
    deliver(mailnest, "alice@localhost", subject="for curl")
    base = f"http://127.0.0.1:{mailnest.http_port}"
    out = subprocess.run(["curl", "-sS", "--fail", f"{base}/api/v1/wait?mailbox=alice&timeout=10"],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    import json
    mid = json.loads(out.stdout)["message"]["id"]
    raw = subprocess.run(["curl", "-sS", "--fail", f"{base}/api/v1/messages/{mid}/raw"],
                         capture_output=True, timeout=20)
    assert raw.returncode == 0 and b"Subject: for curl\n" in raw.stdout
