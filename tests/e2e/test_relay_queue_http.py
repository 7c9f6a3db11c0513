"""The relay queue over HTTP (docs/HTTP_API.md "Relay queue"): list
(paginated), detail, retry, flush, delete and their refusals, every answer
validated against src/http/openapi.json; queue.* events over SSE; the queue
gauge in /metrics."""
import base64
import time

import pytest

from conftest import PASSWORDS, base_config
from http_client import get
from relay_support import free_port, next_hop, queue_files, queued_ids, relay_overrides, user_has, wait_for
from sse_client import SseStream
from test_relay_delivery import send

pytestmark = pytest.mark.e2

SLOW = {"minimal_backoff_s": 300, "maximal_backoff_s": 300}


@pytest.fixture
def api():
    pytest.importorskip("jsonschema", reason="python3-jsonschema is not installed")
    from openapi_check import OpenApi
    return OpenApi.load()


def relay_with_http(mailnest_factory, port, **http):
    o = relay_overrides(port, **SLOW)
    o["http"] = {"enabled": True, **http}
    return mailnest_factory(name="a", **o)


def deferred(a, n, headers=None):
    for i in range(n):
        assert send(a, ["bob@b.test"], f"http-{i}") == {}
    wait_for(lambda: a.logs().count("status=deferred") >= n, what=f"{n} deferrals")
    wait_for(lambda: all(m["state"] == "waiting"
                         for m in get(a.http_port, "/api/v1/queue", headers=headers).json()["messages"]),
             what="envelopes written")


def test_list_detail_retry_delete_flush(mailnest_factory, api):
    port = free_port()
    a = relay_with_http(mailnest_factory, port)
    p = a.http_port
    deferred(a, 3)
    first = api.request(p, "GET", "/api/v1/queue?limit=2").json()
    assert first["relay"] is True and first["loaded"] is True and first["total"] == 3
    assert len(first["messages"]) == 2 and first["next_cursor"] == first["messages"][1]["id"]
    rest = api.request(p, "GET", f"/api/v1/queue?limit=2&cursor={first['next_cursor']}").json()
    assert len(rest["messages"]) == 1 and rest["next_cursor"] is None
    ids = [m["id"] for m in first["messages"] + rest["messages"]]
    assert sorted(ids) == queued_ids(a)
    one = api.request(p, "GET", f"/api/v1/queue/{ids[0]}").json()
    assert one["sender"] == "alice@example.test"
    [r] = one["recipients"]
    assert r["address"] == "bob@b.test" and r["state"] == "queued" and r["attempts"] == 1
    assert r["last_reply"].startswith("4.4.1 connect to") and r["next_try"] > time.time() + 200
    # Refusals: unknown ids, malformed ids (never a path), bad parameters.
    assert api.request(p, "GET", "/api/v1/queue/1765141200.M1P1Q1").status == 404
    assert api.request(p, "GET", "/api/v1/queue/..%2F..%2Fetc%2Fpasswd").status == 404
    assert get(p, "/api/v1/queue/../../etc/passwd").status in (400, 404)
    assert api.request(p, "POST", "/api/v1/queue/1765141200.M1P1Q1/retry").status == 404
    assert api.request(p, "DELETE", "/api/v1/queue/1765141200.M1P1Q1").status == 404
    assert api.request(p, "DELETE", "/api/v1/queue/a%2Fb").status == 404
    assert api.request(p, "GET", "/api/v1/queue?limit=0").status == 400
    assert api.request(p, "GET", "/api/v1/queue?cursor=../x").status == 400
    assert get(p, "/api/v1/queue/flush").status == 404  # GET of the flush action: no such message
    assert get(p, "/api/v1/queue", method="POST").status == 405
    # Delete one: answered once its files are gone.
    assert api.request(p, "DELETE", f"/api/v1/queue/{ids[0]}").json() == {"deleted": ids[0]}
    assert not any(n.startswith(ids[0]) for n in queue_files(a))
    assert api.request(p, "GET", f"/api/v1/queue/{ids[0]}").status == 404
    # The next hop comes up: retry one, then flush the rest.
    b = next_hop(mailnest_factory, port=port)
    assert api.request(p, "POST", f"/api/v1/queue/{ids[1]}/retry").json() == {"retry": ids[1]}
    wait_for(lambda: api.request(p, "GET", f"/api/v1/queue/{ids[1]}").status == 404, what="retried one sent")
    assert len(b.all_messages("bob")) == 1
    assert api.request(p, "POST", "/api/v1/queue/flush").json() == {"flushed": 1}
    wait_for(lambda: len(b.all_messages("bob")) == 2, what="flushed one sent")
    wait_for(lambda: get(p, "/api/v1/queue").json()["total"] == 0, what="queue empty")
    time.sleep(0.5)
    assert not user_has(b, "bob", b"Subject: http-0")  # the deleted one never went
    metrics = get(p, "/metrics").body.decode()
    assert "# TYPE mailnest_relay_queue_messages gauge" in metrics
    assert "\nmailnest_relay_queue_messages 0\n" in metrics


def test_metrics_gauge_counts_the_queue(mailnest_factory):
    a = relay_with_http(mailnest_factory, free_port())
    deferred(a, 2)
    assert "\nmailnest_relay_queue_messages 2\n" in get(a.http_port, "/metrics").body.decode()


def test_writes_refused_when_read_only(mailnest_factory, api):
    hash_ = base_config()["users"]["alice"]["password"]
    a = relay_with_http(mailnest_factory, free_port(), users={"ops": hash_}, read_only=True)
    p = a.http_port
    auth = {"Authorization": "Basic " + base64.b64encode(b"ops:" + PASSWORDS["alice"].encode()).decode()}
    deferred(a, 1, auth)
    assert api.request(p, "GET", "/api/v1/queue").status == 401
    [m] = api.request(p, "GET", "/api/v1/queue", headers=auth).json()["messages"]
    assert api.request(p, "POST", "/api/v1/queue/flush", headers=auth).status == 403
    assert api.request(p, "POST", f"/api/v1/queue/{m['id']}/retry", headers=auth).status == 403
    assert api.request(p, "DELETE", f"/api/v1/queue/{m['id']}", headers=auth).status == 403
    assert api.request(p, "DELETE", f"/api/v1/queue/{m['id']}").status == 401
    assert len(queued_ids(a)) == 1  # still queued


def test_cors_preflight_allows_post(mailnest_factory):
    a = relay_with_http(mailnest_factory, free_port(), cors_origins=["http://console.test"])
    r = get(a.http_port, "/api/v1/queue/flush", method="OPTIONS",
            headers={"Origin": "http://console.test", "Access-Control-Request-Method": "POST"})
    assert "POST" in r.headers.get("access-control-allow-methods", ""), r.headers


def test_queue_events_over_sse(mailnest_factory):
    port = free_port()
    a = relay_with_http(mailnest_factory, port)
    s = SseStream(a.http_port, "/api/v1/events?types=queue.new,queue.deferred,queue.delivered,queue.bounced,"
                               "queue.deleted")
    assert s.response_head() == 200
    assert send(a, ["bob@b.test"], "ev-1") == {}
    evs = s.events_until(lambda e: e["event"] == "queue.deferred")
    new = [e for e in evs if e["event"] == "queue.new"][0]["data"]
    qid = new["id"]
    assert new == {"id": qid, "sender": "alice@example.test", "recipients": 1}
    d = evs[-1]["data"]
    assert d["id"] == qid and d["recipient"] == "bob@b.test" and d["reply"].startswith("4.4.1")
    assert d["next_try"] > time.time()
    b = next_hop(mailnest_factory, port=port)
    assert get(a.http_port, "/api/v1/queue/flush", method="POST").status == 200
    ev = s.events_until(lambda e: e["event"] == "queue.delivered")[-1]["data"]
    assert ev["id"] == qid and ev["reply"].startswith("250 ")
    assert send(a, ["carol@b.test"], "ev-2") == {}  # b refuses carol: 5xx
    ev = s.events_until(lambda e: e["event"] == "queue.bounced")[-1]["data"]
    assert ev["recipient"] == "carol@b.test" and ev["reply"].startswith("550")
    b.stop()
    assert send(a, ["bob@b.test"], "ev-3") == {}
    qid3 = s.events_until(lambda e: e["event"] == "queue.deferred")[-1]["data"]["id"]
    assert get(a.http_port, f"/api/v1/queue/{qid3}", method="DELETE").status == 200
    ev = s.events_until(lambda e: e["event"] == "queue.deleted")[-1]["data"]
    assert ev == {"id": qid3, "sender": "alice@example.test"}
    s.close()
