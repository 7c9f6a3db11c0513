"""The search language on GET /api/v1/messages?query= and GET /api/v1/wait?query=
against the real binary, with MIME messages built by Python's email package."""
import json
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from email.message import EmailMessage

import pytest

from http_client import get
from test_http_index import boxes, eventually, messages
from test_http_mime import rich_message, send


def plain(subject, body, sender="Bob Builder <bob@remote.test>", to="alice@localhost"):
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


def search(mn, query, extra=""):
    """Through urllib, as a test harness would."""
    url = f"http://127.0.0.1:{mn.http_port}/api/v1/messages?query={urllib.parse.quote(query)}{extra}"
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.status == 200
        return json.loads(r.read())


def subjects(mn, query, extra=""):
    return sorted(m["subject"] for m in search(mn, query, extra)["messages"])


@pytest.fixture
def stocked(mailnest):
    send(mailnest, rich_message())  # René, Café résumé, PDF attached, ISO-8859-1 "Grüße aus Köln"
    send(mailnest, plain("Quarterly numbers", "The budget is in the spreadsheet.\n" + "z" * 2000))
    send(mailnest, plain("Lunch?", "Pizza at noon", to="bob@localhost"), rcpts=("bob@localhost",))
    assert eventually(lambda: sum(b["messages"] for b in boxes(mailnest).values()) == 3)
    return mailnest


def test_fields_phrases_and_free_text(stocked):
    mn = stocked
    assert subjects(mn, "from:rene") == ["Caf\u00e9 r\u00e9sum\u00e9"]
    assert subjects(mn, "from:REN\u00e9") == ["Caf\u00e9 r\u00e9sum\u00e9"]  # decoded RFC 2047, ASCII case folded
    assert subjects(mn, "to:bob@localhost") == ["Lunch?"]
    assert subjects(mn, "to:carol") == ["Caf\u00e9 r\u00e9sum\u00e9"]  # To or Cc
    assert subjects(mn, 'subject:"quarterly numbers"') == ["Quarterly numbers"]
    assert subjects(mn, '"numbers quarterly"') == []
    assert subjects(mn, "builder") == ["Lunch?", "Quarterly numbers"]  # free text over headers
    assert subjects(mn, "builder lunch") == ["Lunch?"]  # AND of terms
    assert subjects(mn, "has:attachment") == ["Caf\u00e9 r\u00e9sum\u00e9"]
    assert subjects(mn, "mailbox:bob") == ["Lunch?"]
    assert subjects(mn, "mailbox:alice has:attachment") == ["Caf\u00e9 r\u00e9sum\u00e9"]


def test_sizes_and_days(stocked):
    mn = stocked
    assert subjects(mn, "larger:2k") == ["Caf\u00e9 r\u00e9sum\u00e9", "Quarterly numbers"]
    assert subjects(mn, "smaller:1k") == ["Lunch?"]
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert len(subjects(mn, f"after:{today}")) == 3
    assert subjects(mn, f"before:{today}") == []
    assert len(subjects(mn, "after:2000-01-01 before:2999-01-01")) == 3


def test_body_searches_decoded_text(stocked):
    mn = stocked
    # The text part is ISO-8859-1 quoted-printable: matched after conversion to UTF-8.
    assert subjects(mn, "body:k\u00f6ln") == ["Caf\u00e9 r\u00e9sum\u00e9"]
    assert subjects(mn, 'body:"the budget"') == ["Quarterly numbers"]
    assert subjects(mn, "body:pizza mailbox:alice") == []
    assert subjects(mn, "body:pizza") == ["Lunch?"]
    assert subjects(mn, "body:nowhere") == []
    # Not in headers: free text does not look at bodies.
    assert subjects(mn, "pizza") == []


@pytest.mark.parametrize("query,error", [
    ("frm:alice", "query: unknown field 'frm:'"),
    ('subject:"open', "query: unterminated quote"),
    ("before:2024-02-30", "query: 'before:' needs a date YYYY-MM-DD, not '2024-02-30'"),
    ("larger:big", "query: 'larger:' needs a size like 500, 10k or 2M, not 'big'"),
    ("has:pdf", "query: has: only takes 'attachment', not 'pdf'"),
])
def test_malformed_queries_are_400_naming_the_problem(mailnest, query, error):
    for path in ("/api/v1/messages", "/api/v1/wait"):
        r = get(mailnest.http_port, f"{path}?query={urllib.parse.quote(query)}&" + ("limit=5" if "messages" in path else "timeout=0"))
        assert (r.status, r.json()) == (400, {"error": error}), path


def test_a_search_is_bounded_and_says_so(mailnest_factory):
    mn = mailnest_factory(http={"max_search_scan": 2})
    for i in range(3):
        send(mn, plain(f"m{i}", "x"))
    assert eventually(lambda: boxes(mn).get("alice", {}).get("messages") == 3)
    first = search(mn, "from:nobody")
    assert (first["messages"], first["scanned"], first["scan_limit_reached"]) == ([], 2, True)
    assert first["next_cursor"]
    rest = search(mn, "from:nobody", "&cursor=" + first["next_cursor"])
    assert (rest["scanned"], rest["scan_limit_reached"], rest["next_cursor"]) == (1, False, None)
    # A listing without query= is not a search: no bound, no fields.
    assert "scanned" not in messages(mn)
    # The matches of a bounded search come with the cursor to go on.
    hit = search(mn, "subject:m", "&limit=1")
    assert [m["subject"] for m in hit["messages"]] == ["m2"] and hit["next_cursor"]
    # /wait: the first 2 past after=0 do not match; it says where it stopped.
    r = get(mn.http_port, "/api/v1/wait?query=subject:m2&timeout=0")
    body = r.json()
    assert (r.status, body["message"], body["scan_limit_reached"], body["scanned"]) == (200, None, True, 2)
    r = get(mn.http_port, f"/api/v1/wait?query=subject:m2&timeout=0&after={body['last_seq']}")
    assert r.status == 200 and r.json()["message"]["subject"] == "m2"


def test_wait_with_a_query_returns_at_once_or_skips_non_matching_arrivals(stocked):
    mn = stocked
    r = get(mn.http_port, "/api/v1/wait?query=" + urllib.parse.quote("has:attachment") + "&timeout=5")
    assert r.status == 200 and r.json()["message"]["subject"] == "Caf\u00e9 r\u00e9sum\u00e9"
    cursor = messages(mn)["last_seq"]

    def deliveries():
        send(mn, plain("not this one", "no"))
        time.sleep(0.5)
        send(mn, plain("the reset link", "click https://x.test/reset?t=42"))

    t = threading.Timer(0.5, deliveries)
    t0 = time.monotonic()
    t.start()
    try:
        r = get(mn.http_port, f"/api/v1/wait?mailbox=alice&after={cursor}&timeout=20&query="
                + urllib.parse.quote('body:"reset?t="'), timeout=30)
    finally:
        t.join()
    assert r.status == 200, r.body
    assert r.json()["message"]["subject"] == "the reset link"
    assert time.monotonic() - t0 > 0.9  # it waited past the first, non-matching arrival
    # No match before the timeout: 204.
    r = get(mn.http_port, f"/api/v1/wait?after={cursor}&timeout=1&query=from:nobody")
    assert (r.status, r.body) == (204, b"")


@pytest.mark.skipif(not shutil.which("curl"), reason="curl not installed")
def test_curl_searches(stocked):
    url = f"http://127.0.0.1:{stocked.http_port}/api/v1/messages"
    out = subprocess.run(["curl", "-s", "-f", "-G", url, "--data-urlencode", "query=has:attachment from:ren\u00e9"],
                         capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)["messages"]
    assert [m["attachments"] for m in found] == [1]
