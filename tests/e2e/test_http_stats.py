"""GET /api/v1/stats: counts of what really happened to the real binary."""
import poplib
import smtplib

import pytest

from http_client import get
from test_http_index import deliver, eventually


def stats(mn, query=""):
    r = get(mn.http_port, "/api/v1/stats" + query)
    assert r.status == 200, r.body
    assert r.headers["content-type"] == "application/json"
    return r.json()


def test_stats_count_smtp_outcomes_pop3_commands_mailboxes_and_top_addresses(mailnest_factory):
    mn = mailnest_factory(smtp={"max_message_size": 2000})
    for i in range(3):
        deliver(mn, "alice@localhost", subject=f"a{i}")
    with smtplib.SMTP("127.0.0.1", mn.smtp_port, timeout=10) as c:
        c.sendmail("other@remote.test", ["bob@localhost", "alice@localhost"], b"Subject: two\r\n\r\nx\r\n")
        # Refused at the end of DATA: too large (552).
        c.mail("big@remote.test")
        c.rcpt("bob@localhost")
        code, _ = c.data(b"Subject: big\r\n\r\n" + b"y" * 3000 + b"\r\n")
        assert code == 552
    p = poplib.POP3("127.0.0.1", mn.pop3_port, timeout=10)
    p.user("alice")
    with pytest.raises(poplib.error_proto):
        p.pass_("wrong")
    p.quit()
    p = poplib.POP3("127.0.0.1", mn.pop3_port, timeout=10)
    p.user("alice")
    p.pass_("alice-password")
    p.retr(1)
    p.retr(2)
    p.dele(1)
    p.quit()

    s = stats(mn)
    assert s["smtp"]["connections"] == 4
    assert s["smtp"]["messages_accepted"] == 4
    assert s["smtp"]["messages_by_reply"] == {"250": 4, "552": 1}
    assert s["smtp"]["replies"]["552"] == 1 and s["smtp"]["replies"]["354"] == 5
    assert s["smtp"]["octets_accepted"] > 4 * 40
    assert s["smtp"]["commit_latency"]["count"] == 4
    assert s["pop3"] == {"connections": 2, "sessions_open": s["pop3"]["sessions_open"], "logins": 1,
                         "login_failures": 1, "retr": 2, "dele": 1}
    # POP3's deletion reaches the index through inotify: a moment later.
    boxes = eventually(lambda: {b["name"]: b for b in stats(mn)["mailboxes"] if b["messages"] == 3})
    boxes = {b["name"]: b for b in stats(mn)["mailboxes"]}
    assert boxes["alice"]["messages"] == 3 and boxes["bob"]["messages"] == 1  # one of alice's 4 deleted
    assert s["top_senders"][0] == {"address": "s@remote.test", "messages": 3, "error": 0}
    assert s["top_senders"][1]["address"] == "other@remote.test"
    assert s["top_recipients"][0] == {"address": "alice@localhost", "messages": 4, "error": 0}
    assert len(stats(mn, "?top=1")["top_senders"]) == 1
    assert get(mn.http_port, "/api/v1/stats?top=0").status == 400
    assert get(mn.http_port, "/api/v1/stats?x=1").status == 400
