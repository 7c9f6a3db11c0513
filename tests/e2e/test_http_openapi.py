"""The OpenAPI 3 document (src/http/openapi.json, served at
/api/v1/openapi.json) is well-formed, is what the server serves, and
describes the REAL answers of every endpoint: each request below is checked
by openapi_check (status documented, Content-Type documented, body matches
the schema). A new endpoint gets validated by adding one api.request line."""
import http.client
import json
import poplib
import smtplib
from email.message import EmailMessage

import pytest

# The schema checker needs Debian's python3-jsonschema (scripts/install-deps
# --test); without it (the container's tester image) these tests skip.
pytest.importorskip("jsonschema", reason="python3-jsonschema is not installed")

from conftest import PASSWORDS, base_config  # noqa: E402
from http_client import Response, get  # noqa: E402
from openapi_check import OpenApi  # noqa: E402
from test_http_index import boxes, deliver, eventually  # noqa: E402


@pytest.fixture
def api():
    return OpenApi.load()


def test_document_is_well_formed_openapi_3(api):
    assert api.problems() == []


def test_checker_catches_what_the_document_does_not_say(api):
    from http_client import Response
    ok = Response(200, {"content-type": "application/json"}, b'{"deleted": 1}')
    api.check("DELETE", "/api/v1/messages/0123456789abcdef", ok)
    for method, target, resp, what in [
        ("GET", "/nowhere", ok, "path not in"),
        ("PUT", "/api/v1/mailboxes", ok, "method not documented"),
        ("GET", "/api/v1/mailboxes", Response(418, {}, b""), "status not documented"),
        ("GET", "/api/v1/mailboxes", Response(200, {"content-type": "text/html"}, b"x"), "Content-Type"),
        ("GET", "/api/v1/mailboxes", Response(200, {"content-type": "application/json"}, b'{"mailboxes": 3}'),
         "does not match"),
        ("DELETE", "/api/v1/messages/0123456789abcdef",
         Response(200, {"content-type": "application/json"}, b'{"deleted": -1}'), "does not match"),
    ]:
        with pytest.raises(AssertionError, match=what):
            api.check(method, target, resp)
    # nullable + allOf ($ref or null), and a media range.
    wait = lambda body: Response(200, {"content-type": "application/json"}, json.dumps(body).encode())
    api.check("GET", "/api/v1/wait", wait({"message": None, "last_seq": 3, "scanned": 9, "scan_limit_reached": True}))
    with pytest.raises(AssertionError, match="does not match"):
        api.check("GET", "/api/v1/wait", wait({"message": 3, "last_seq": 3}))
    api.check("GET", "/api/v1/messages/0123456789abcdef/parts/2",
              Response(200, {"content-type": "application/pdf"}, b"%PDF"))
    api.check("GET", "/api/v1/events", Response(200, {"content-type": "text/event-stream; charset=utf-8"}, b""))
    bad = OpenApi({"openapi": "2.0", "info": {}, "paths": {"x": {"get": {}}, "/a/{id}": {"get": {"responses": {
        "200": {"description": "d", "content": {"application/json": {"schema": {"$ref": "#/nope"}}}}}}}}})
    problems = " ".join(bad.problems())
    assert "openapi" in problems and "info" in problems and "unresolvable" in problems


def test_served_document_is_the_source_file(mailnest, api):
    r = api.request(mailnest.http_port, "GET", "/api/v1/openapi.json")
    assert r.status == 200
    assert r.json() == api.doc
    assert r.headers["x-content-type-options"] == "nosniff"


def deliver_with_attachment(mn, rcpt):
    msg = EmailMessage()
    msg["From"] = "René <rene@remote.test>"
    msg["To"] = rcpt
    msg["Subject"] = "report attached"
    msg["Message-ID"] = "<report-1@remote.test>"
    msg["Date"] = "Tue, 01 Dec 2026 10:00:00 +0000"
    msg.set_content("Grüße, the report is attached.\n")
    msg.add_attachment(b"%PDF-1.4 not really\n", maintype="application", subtype="pdf", filename="report.pdf")
    with smtplib.SMTP("127.0.0.1", mn.smtp_port, timeout=10) as s:
        s.sendmail("rene@remote.test", [rcpt], msg.as_bytes())


def test_every_endpoint_answers_as_documented(mailnest_factory, api):
    mn = mailnest_factory(http={"max_subscribers": 1})
    p = mn.http_port
    assert eventually(lambda: api.request(p, "GET", "/readyz").status == 200)
    api.request(p, "GET", "/livez")
    api.request(p, "HEAD", "/livez")
    api.request(p, "GET", "/metrics")
    api.request(p, "GET", "/api/v1/openapi.json")
    deliver(mn, "alice@localhost", subject="one")
    deliver(mn, "alice@localhost", subject="two")
    deliver(mn, "bob@localhost", subject="three")
    assert eventually(lambda: boxes(mn).get("alice", {}).get("messages") == 2)
    api.request(p, "GET", "/api/v1/mailboxes")
    page = api.request(p, "GET", "/api/v1/messages?limit=1").json()
    assert page["next_cursor"]
    api.request(p, "GET", f"/api/v1/messages?limit=1&cursor={page['next_cursor']}")
    api.request(p, "GET", "/api/v1/messages?mailbox=alice")
    api.request(p, "GET", "/api/v1/messages?mailbox=nobody")  # 404
    api.request(p, "GET", "/api/v1/messages?limit=0")        # 400
    [m] = api.request(p, "GET", "/api/v1/messages?mailbox=bob").json()["messages"]
    api.request(p, "GET", f"/api/v1/messages/{m['id']}/raw")
    api.request(p, "GET", "/api/v1/messages/0123456789abcdef/raw")  # 404
    api.request(p, "GET", "/api/v1/wait?after=0&timeout=1")                      # 200
    api.request(p, "GET", f"/api/v1/wait?after={page['last_seq']}&timeout=0")   # 204
    api.request(p, "GET", "/api/v1/wait?timeout=999")                           # 400
    api.request(p, "GET", "/api/v1/wait?mailbox=nobody")                        # 404
    # The message view and its parts, on a MIME message with an attachment.
    deliver_with_attachment(mn, "bob@localhost")
    assert eventually(lambda: boxes(mn).get("bob", {}).get("messages") == 2)
    c = api.request(p, "GET", "/api/v1/messages?mailbox=bob&limit=1").json()["messages"][0]
    view = api.request(p, "GET", f"/api/v1/messages/{c['id']}").json()
    assert view["attachments"][0]["filename"] == "report.pdf" and view["mime"]["parts"]
    api.request(p, "GET", "/api/v1/messages/0123456789abcdef")                       # 404
    part = view["attachments"][0]["part"]
    assert api.request(p, "GET", f"/api/v1/messages/{c['id']}/parts/{part}").body == b"%PDF-1.4 not really\n"
    api.request(p, "GET", f"/api/v1/messages/{c['id']}/parts/{view['mime']['parts'][0]['part']}")  # 200 text
    text_part = view['mime']['parts'][0]['part']
    r = api.request(p, "GET", f"/api/v1/messages/{c['id']}/parts/{text_part}?inline=1&images=1")  # the console's view
    assert r.headers["content-disposition"].startswith("inline;")
    api.request(p, "GET", f"/api/v1/messages/{c['id']}/parts/{text_part}?inline=yes")  # 400
    api.request(p, "GET", f"/api/v1/messages/{c['id']}/parts/1")                    # 404 a container
    api.request(p, "GET", f"/api/v1/messages/{c['id']}/parts/99")                   # 404
    api.request(p, "GET", "/api/v1/messages/0123456789abcdef/parts/1")              # 404
    # query= on the listing and the wait; the summary fields once parsed.
    found = api.request(p, "GET", "/api/v1/messages?query=has:attachment").json()
    assert [m["id"] for m in found["messages"]] == [c["id"]] and found["scanned"] >= 1
    assert found["messages"][0]["subject"] == "report attached" and found["messages"][0]["attachments"] == 1
    api.request(p, "GET", "/api/v1/messages?query=frm:x")                            # 400
    assert api.request(p, "GET", "/api/v1/wait?query=subject:report&timeout=1").json()["message"]["id"] == c["id"]
    api.request(p, "GET", f"/api/v1/wait?query=subject:nothing&after={page['last_seq']}&timeout=0")  # 204
    api.request(p, "GET", "/api/v1/wait?query=has:pdf")                              # 400
    # Sessions (the SMTP deliveries above) and stats.
    sessions = api.request(p, "GET", "/api/v1/sessions").json()["sessions"]
    assert sessions and sessions[0]["protocol"] == "smtp"
    api.request(p, "GET", "/api/v1/sessions?limit=1")
    api.request(p, "GET", "/api/v1/sessions?limit=0")                                # 400
    assert api.request(p, "GET", f"/api/v1/sessions/{sessions[0]['id']}").json()["transcript"]
    api.request(p, "GET", "/api/v1/sessions/999999")                                 # 404
    api.request(p, "GET", "/api/v1/sessions/1?x=1")                                  # 400
    stats = api.request(p, "GET", "/api/v1/stats?top=5").json()
    assert stats["smtp"]["messages_accepted"] == 4 and stats["top_recipients"]
    api.request(p, "GET", "/api/v1/stats?top=0")                                     # 400
    # Events: one stream open (http.max_subscribers is 1 here), so a second is 503.
    api.request(p, "GET", "/api/v1/events?types=bogus")                              # 400
    api.request(p, "HEAD", "/api/v1/events")
    held = http.client.HTTPConnection("127.0.0.1", p, timeout=10)
    held.request("GET", "/api/v1/events?types=message.new")
    stream = held.getresponse()
    api.check("GET", "/api/v1/events?types=message.new", Response(stream.status, {
        k.lower(): v for k, v in stream.getheaders()}, b""))
    assert stream.status == 200 and stream.readline().startswith(b":")
    assert eventually(lambda: api.request(p, "GET", "/api/v1/events").status == 503)
    held.close()
    # Deleting, with POP3 holding alice's mailbox first (409).
    pop = poplib.POP3("127.0.0.1", mn.pop3_port, timeout=10)
    pop.user("alice")
    pop.pass_(PASSWORDS["alice"])
    assert api.request(p, "DELETE", "/api/v1/messages?mailbox=alice").status == 409
    pop.quit()
    assert api.request(p, "DELETE", "/api/v1/messages?mailbox=alice").status == 200
    api.request(p, "DELETE", "/api/v1/messages")                       # 400
    api.request(p, "DELETE", "/api/v1/messages?mailbox=nobody")        # 404
    assert api.request(p, "DELETE", f"/api/v1/messages/{m['id']}").json() == {"deleted": 1}
    api.request(p, "DELETE", f"/api/v1/messages/{m['id']}")            # 404
    # Fault injection rules (a PUT has a body: sent here, checked by api.check).
    api.request(p, "GET", "/api/v1/faults")
    api.request(p, "GET", "/api/v1/faults?x=1")                        # 400
    rule = {"stage": "rcpt", "recipient": "bob@*", "first": 2, "comment": "fail twice",
            "reply": {"code": 451, "enhanced": "4.7.1", "text": "later"}}
    for body in ({"faults": [rule, {"stage": "dot", "delay_ms": 5}, {"stage": "helo", "disconnect": True}]},
                 {"faults": 3}):                                        # 200, 400
        api.check("PUT", "/api/v1/faults", get(p, "/api/v1/faults", method="PUT", body=json.dumps(body)))
    api.request(p, "GET", "/api/v1/faults")
    api.request(p, "DELETE", "/api/v1/faults")
    # The relay queue (this instance relays nothing: test_relay_queue_http.py
    # checks the 200s of a relaying one against the same document).
    assert api.request(p, "GET", "/api/v1/queue").json()["relay"] is False
    api.request(p, "GET", "/api/v1/queue?limit=0")                                   # 400
    api.request(p, "GET", "/api/v1/queue/1765141200.M1P1Q1")                         # 404
    api.request(p, "POST", "/api/v1/queue/1765141200.M1P1Q1/retry")                  # 404
    api.request(p, "POST", "/api/v1/queue/flush")                                    # 409
    api.request(p, "DELETE", "/api/v1/queue/1765141200.M1P1Q1")                      # 404
    # Every documented operation was exercised.
    assert api.unchecked() == []


def test_refusals_answer_as_documented(mailnest_factory, api):
    hash_ = base_config()["users"]["alice"]["password"]
    mn = mailnest_factory(http={"users": {"ops": hash_}, "read_only": True})
    p = mn.http_port
    assert api.request(p, "GET", "/api/v1/mailboxes").status == 401
    assert api.request(p, "GET", "/metrics").status == 401
    assert api.request(p, "GET", "/livez").status == 200
    import base64
    auth = {"Authorization": "Basic " + base64.b64encode(b"ops:" + PASSWORDS["alice"].encode()).decode()}
    assert api.request(p, "DELETE", "/api/v1/messages?mailbox=alice", headers=auth).status == 403
    assert api.request(p, "DELETE", "/api/v1/messages/0123456789abcdef", headers=auth).status == 403
    assert api.request(p, "DELETE", "/api/v1/faults", headers=auth).status == 403
    assert api.request(p, "GET", "/api/v1/faults").status == 401
    for body, status in ((b'{"faults": []}', 403), (b"x" * 70000, 413)):
        r = get(p, "/api/v1/faults", method="PUT", body=body, headers=auth)
        assert r.status == status
        api.check("PUT", "/api/v1/faults", r)
    assert json.loads(api.request(p, "GET", "/api/v1/openapi.json", headers=auth).body)["openapi"].startswith("3.")
