"""The OpenAPI 3 document (src/http/openapi.json, served at
/api/v1/openapi.json) is well-formed, is what the server serves, and
describes the REAL answers of every endpoint: each request below is checked
by openapi_check (status documented, Content-Type documented, body matches
the schema). A new endpoint gets validated by adding one api.request line."""
import json
import poplib

import pytest

from conftest import PASSWORDS, base_config
from openapi_check import OpenApi
from test_http_index import boxes, deliver, eventually


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
    bad = OpenApi({"openapi": "2.0", "info": {}, "paths": {"x": {"get": {}}, "/a/{id}": {"get": {"responses": {
        "200": {"description": "d", "content": {"application/json": {"schema": {"$ref": "#/nope"}}}}}}}}})
    problems = " ".join(bad.problems())
    assert "openapi" in problems and "info" in problems and "unresolvable" in problems


def test_served_document_is_the_source_file(mailnest, api):
    r = api.request(mailnest.http_port, "GET", "/api/v1/openapi.json")
    assert r.status == 200
    assert r.json() == api.doc
    assert r.headers["x-content-type-options"] == "nosniff"


def test_every_endpoint_answers_as_documented(mailnest_factory, api):
    mn = mailnest_factory()
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
    assert json.loads(api.request(p, "GET", "/api/v1/openapi.json", headers=auth).body)["openapi"].startswith("3.")
