"""GET, PUT and DELETE /api/v1/faults (docs/HTTP_API.md) against the real
binary: the rules change what the SMTP server answers at once, a bad body
is a 400 naming the key as the config check would, an oversized one is
413, http.read_only refuses writes (403), Basic auth guards them (401),
and CORS preflights list PUT."""
import base64
import json

import pytest

from conftest import PASSWORDS, base_config
from faults_support import RawSmtp, reply_rule
from http_client import get

pytestmark = pytest.mark.e2

RULE = reply_rule("rcpt", 451, "4.7.1", "try later", recipient="bob@*", first=2)


def put(port, body, headers=None):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return get(port, "/api/v1/faults", method="PUT", body=data,
               headers={"Content-Type": "application/json", **(headers or {})})


def rcpt(mn, address="bob@example.test"):
    c = RawSmtp(mn.smtp_port)
    assert c.reply().startswith("220 ")
    assert c.cmd("EHLO client.test").startswith("250 ")
    assert c.cmd("MAIL FROM:<alice@example.test>").startswith("250 ")
    r = c.cmd(f"RCPT TO:<{address}>")
    c.close()
    return r


def test_put_get_delete_change_the_smtp_answers_at_run_time(mailnest_factory):
    # Its own instance: the lab's external appliance has no HTTP port here, and
    # its fault list must not change under the other tests.
    mailnest = mailnest_factory()
    p = mailnest.http_port
    assert get(p, "/api/v1/faults").json() == {"faults": [], "counters": [], "injected_total": 0}
    assert rcpt(mailnest) == "250 2.1.5 Ok"

    r = put(p, {"faults": [RULE]})
    assert r.status == 200
    assert r.json()["faults"] == [RULE]
    assert [rcpt(mailnest) for _ in range(3)] == ["451 4.7.1 try later"] * 2 + ["250 2.1.5 Ok"]
    assert rcpt(mailnest, "alice@example.test") == "250 2.1.5 Ok"  # pattern: bob only
    state = get(p, "/api/v1/faults").json()
    assert state["counters"] == [{"rule": 0, "matched": 3, "injected": 2}]
    assert state["injected_total"] == 2

    # GET's rules put back as they are: the same list, counters from zero.
    r = put(p, {"faults": state["faults"]})
    assert r.json() == {"faults": [RULE], "counters": [{"rule": 0, "matched": 0, "injected": 0}],
                        "injected_total": 2}
    assert rcpt(mailnest) == "451 4.7.1 try later"

    r = get(p, "/api/v1/faults", method="DELETE")
    assert r.status == 200 and r.json()["faults"] == [] and r.json()["injected_total"] == 3
    assert rcpt(mailnest) == "250 2.1.5 Ok"
    logs = mailnest.logs()
    assert "fault injection: 1 rule(s) from PUT /api/v1/faults" in logs
    assert "fault injection: 0 rule(s) from DELETE /api/v1/faults" in logs


@pytest.mark.parametrize("body, error", [
    (b"", "body: not valid JSON"),
    (b"{not json", "body: not valid JSON"),
    ([RULE], "body: must be an object {\"faults\": [rules]}"),
    ({}, "faults: required"),
    ({"faults": [RULE], "rules": []}, "rules: unknown key"),
    ({"faults": {}}, "faults: must be a list of rules"),
    ({"faults": [{"stage": "rset", "disconnect": True}]}, "faults[0].stage: must be connect, helo, mail, rcpt, data or dot"),
    ({"faults": [RULE, {"stage": "rcpt", "reply": {"code": 250}}]}, "faults[1].reply.code: 250 is out of range 400..599"),
    ({"faults": [{"stage": "rcpt", "delay_ms": 600001}]}, "faults[0].delay_ms: 600001 is out of range 1..600000"),
    ({"faults": [{"stage": "rcpt", "disconnect": True, "reply": {"code": 421}}]},
     "faults[0]: exactly one action: reply, delay_ms or disconnect (2 given)"),
    ({"faults": [{"stage": "connect", "recipient": "x*", "disconnect": True}]},
     "faults[0].recipient: not known at stage connect (rcpt or later)"),
])
def test_bad_bodies_are_400_naming_the_problem_and_change_nothing(mailnest_factory, body, error):
    mn = mailnest_factory(faults=[RULE])
    r = put(mn.http_port, body)
    assert r.status == 400
    assert r.json() == {"error": error}
    assert get(mn.http_port, "/api/v1/faults").json()["faults"] == [RULE]  # the old list stays


def test_the_same_message_as_the_config_check(mailnest_factory, tmp_path):
    import subprocess
    from conftest import BINARY
    bad = {"faults": [{"stage": "dot", "reply": {"code": 451, "enhanced": "5.1.1"}}]}
    cfg = tmp_path / "bad.json"
    cfg.write_text(json.dumps(bad))
    check = subprocess.run([str(BINARY), "--check-config", "--config", str(cfg)], capture_output=True, text=True)
    assert check.returncode != 0
    mn = mailnest_factory()
    r = put(mn.http_port, bad)
    assert r.status == 400
    assert r.json()["error"] in check.stderr
    assert "faults[0].reply.enhanced" in r.json()["error"]


def test_oversized_body_is_413(mailnest_factory):
    mn = mailnest_factory(http={"max_body_bytes": 256})
    r = put(mn.http_port, {"faults": [RULE] * 5})
    assert r.status == 413
    assert get(mn.http_port, "/api/v1/faults").json()["faults"] == []


def test_query_parameters_are_refused(mailnest_factory):
    # Its own instance: the lab's external appliance has no HTTP port here, and
    # its fault list must not change under the other tests.
    mailnest = mailnest_factory()
    assert get(mailnest.http_port, "/api/v1/faults?x=1").status == 400
    assert get(mailnest.http_port, "/api/v1/faults?all=1", method="DELETE").status == 400


def test_read_only_refuses_writes(mailnest_factory):
    mn = mailnest_factory(http={"read_only": True}, faults=[RULE])
    assert put(mn.http_port, {"faults": []}).status == 403
    assert get(mn.http_port, "/api/v1/faults", method="DELETE").status == 403
    r = get(mn.http_port, "/api/v1/faults")
    assert r.status == 200 and r.json()["faults"] == [RULE]


def test_basic_auth_guards_the_rules(mailnest_factory):
    mn = mailnest_factory(http={"users": {"ops": base_config()["users"]["alice"]["password"]}})
    assert get(mn.http_port, "/api/v1/faults").status == 401
    assert put(mn.http_port, {"faults": [RULE]}).status == 401
    auth = {"Authorization": "Basic " + base64.b64encode(b"ops:" + PASSWORDS["alice"].encode()).decode()}
    assert put(mn.http_port, {"faults": [RULE]}, headers=auth).status == 200
    assert get(mn.http_port, "/api/v1/faults", headers=auth).json()["faults"] == [RULE]


def test_cors_preflight_allows_put(mailnest_factory):
    origin = "https://console.example:8443"
    mn = mailnest_factory(http={"cors_origins": [origin]})
    r = get(mn.http_port, "/api/v1/faults", method="OPTIONS",
            headers={"Origin": origin, "Access-Control-Request-Method": "PUT"})
    assert r.status == 204
    assert "PUT" in r.headers["access-control-allow-methods"]
