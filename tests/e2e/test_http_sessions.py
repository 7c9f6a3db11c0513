"""GET /api/v1/sessions and /api/v1/sessions/{id}: transcripts of real SMTP
(smtplib, raw sockets) and POP3 (poplib) sessions, secrets masked."""
import poplib
import smtplib
import socket
import threading
import time

from http_client import get
from test_http_index import deliver


def sessions(mn, query=""):
    r = get(mn.http_port, "/api/v1/sessions" + query)
    assert r.status == 200, r.body
    return r.json()


def transcript(mn, sid):
    r = get(mn.http_port, f"/api/v1/sessions/{sid}")
    assert r.status == 200, r.body
    return r.json()


def wait_ended(mn, protocol, n=1, timeout=5):
    deadline = time.monotonic() + timeout
    while True:
        ended = [s for s in sessions(mn)["sessions"] if s["protocol"] == protocol and not s["live"]]
        if len(ended) >= n or time.monotonic() > deadline:
            return ended
        time.sleep(0.05)


def test_smtp_transcript_has_commands_replies_states_and_data_as_octets(mailnest):
    deliver(mailnest, "alice@localhost", body="the body must never be recorded\r\n")
    [s] = wait_ended(mailnest, "smtp")
    assert s["peer"].startswith("127.0.0.1:") and s["local"] == f"127.0.0.1:{mailnest.smtp_port}"
    assert s["end_ms"] >= s["start_ms"] > 0
    t = transcript(mailnest, s["id"])
    text = [(l["dir"], l.get("text", l.get("state"))) for l in t["transcript"]]
    assert text[0][0] == "out" and text[0][1].startswith("220 ")
    ins = [x for d, x in text if d == "in"]
    assert ins[0].startswith("ehlo ") or ins[0].startswith("EHLO ")
    assert any(x.startswith("mail FROM:<s@remote.test>") or x.startswith("MAIL FROM:<s@remote.test>") for x in ins)
    octets = [x for x in ins if x.startswith("<") and x.endswith(" octets>")]
    assert len(octets) == 1 and int(octets[0][1:].split()[0]) > 0
    assert ("out", "354 3.0.0 End data with <CR><LF>.<CR><LF>") in text or any(
        d == "out" and x.startswith("354") for d, x in text)
    assert any(d == "out" and x.startswith("250 2.0.0") for d, x in text)
    states = [x for d, x in text if d == "state"]
    assert "DATA" in states and states[-1] == "CLOSING"
    assert all(l["t"] >= s["start_ms"] for l in t["transcript"])
    assert "never be recorded" not in str(t)


def test_pop3_pass_and_smtp_auth_are_masked(mailnest):
    p = poplib.POP3("127.0.0.1", mailnest.pop3_port, timeout=10)
    p.user("alice")
    p.pass_("alice-password")
    p.stat()
    p.quit()
    c = socket.create_connection(("127.0.0.1", mailnest.smtp_port), timeout=10)
    f = c.makefile("rb")
    f.readline()
    c.sendall(b"EHLO t\r\nAUTH PLAIN AGFsaWNlAGFsaWNlLXBhc3N3b3Jk\r\nAPOP alice 0123456789abcdef\r\nQUIT\r\n")
    while not f.readline().startswith(b"221"):
        pass
    c.close()
    [pop] = wait_ended(mailnest, "pop3")
    t = transcript(mailnest, pop["id"])
    ins = [l["text"] for l in t["transcript"] if l["dir"] == "in"]
    assert ins[:3] == ["USER alice", "PASS ****", "STAT"]
    assert any(l.get("state") == "TRANSACTION" for l in t["transcript"])
    [smtp] = wait_ended(mailnest, "smtp")
    t2 = transcript(mailnest, smtp["id"])
    ins2 = [l["text"] for l in t2["transcript"] if l["dir"] == "in"]
    assert "AUTH PLAIN ****" in ins2 and "APOP alice ****" in ins2
    for secret in ("alice-password", "AGFsaWNl", "0123456789abcdef"):
        assert secret not in str(t) + str(t2)


def test_concurrent_pop3_sessions_are_listed_live_then_ended_newest_first(mailnest):
    deliver(mailnest, "alice@localhost")
    deliver(mailnest, "bob@localhost")
    barrier = threading.Barrier(3)
    errors = []

    def run(user):
        try:
            p = poplib.POP3("127.0.0.1", mailnest.pop3_port, timeout=10)
            p.user(user)
            p.pass_(f"{user}-password")
            p.retr(1)
            barrier.wait(timeout=10)  # both logged in: the test looks now
            barrier.wait(timeout=10)
            p.quit()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(u,)) for u in ("alice", "bob")]
    for th in threads:
        th.start()
    barrier.wait(timeout=10)
    live = [s for s in sessions(mailnest)["sessions"] if s["protocol"] == "pop3" and s["live"]]
    assert len(live) == 2 and {s["state"] for s in live} == {"TRANSACTION"}
    barrier.wait(timeout=10)
    for th in threads:
        th.join()
    assert not errors
    ended = wait_ended(mailnest, "pop3", n=2)
    assert len(ended) == 2
    ids = [s["id"] for s in sessions(mailnest)["sessions"]]
    assert ids == sorted(ids, reverse=True)
    for s in ended:
        t = transcript(mailnest, s["id"])
        outs = [l["text"] for l in t["transcript"] if l["dir"] == "out"]
        # RETR's status line is kept, the message it streamed is not.
        assert any(o.startswith("+OK") and o.endswith("octets") for o in outs)
        assert not any("Subject" in o for o in outs)


def test_the_ring_and_line_cap_bound_what_is_kept(mailnest_factory):
    mn = mailnest_factory(http={"session_ring": 2, "session_max_lines": 10})
    for _ in range(4):
        with smtplib.SMTP("127.0.0.1", mn.smtp_port, timeout=10) as c:
            for _ in range(10):
                c.noop()
    ended = wait_ended(mn, "smtp", n=2)
    time.sleep(0.2)
    listed = sessions(mn)["sessions"]
    assert len(listed) == 2  # the two newest of four
    t = transcript(mn, listed[0]["id"])
    assert len(t["transcript"]) == 10 and t["dropped_lines"] > 0
    assert t["lines"] == len(t["transcript"]) + t["dropped_lines"]
    assert get(mn.http_port, "/api/v1/sessions/1").status == 404  # dropped from the ring
    assert get(mn.http_port, "/api/v1/sessions/x").status == 404
    assert get(mn.http_port, "/api/v1/sessions?limit=0").status == 400
    assert ended
