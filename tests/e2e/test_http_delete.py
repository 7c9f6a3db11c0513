"""DELETE /api/v1/messages/{id} and DELETE /api/v1/messages?mailbox=M against
the real binary: POP3's mailbox lock (409 while a session holds it), the
journal barrier (a deleted message stays deleted after kill -9 and journal
recovery), the index following at once, 404 for what does not exist."""
import poplib
import signal

import pytest

from conftest import PASSWORDS
from http_client import get
from test_http_index import boxes, deliver, eventually, messages

# No checkpoint during the test: every journal record stays live unless a
# barrier forces one.
NO_CHECKPOINT = {"store": {"journal_checkpoint_ms": 60000}}


def delete(mn, target):
    return get(mn.http_port, target, method="DELETE")


def ids(mn, mailbox):
    return [m["id"] for m in messages(mn, f"?mailbox={mailbox}")["messages"]]


def test_delete_one_message_removes_its_file_and_index_entry(mailnest):
    deliver(mailnest, "alice@localhost", subject="keep")
    deliver(mailnest, "alice@localhost", subject="drop")
    assert eventually(lambda: boxes(mailnest).get("alice", {}).get("messages") == 2)
    page = messages(mailnest, "?mailbox=alice")["messages"]
    victim = page[0]  # newest: "drop"
    r = delete(mailnest, f"/api/v1/messages/{victim['id']}")
    assert (r.status, r.json()) == (200, {"deleted": 1})
    assert r.headers["x-content-type-options"] == "nosniff"
    # The index follows at once (no inotify wait), the file is gone.
    assert ids(mailnest, "alice") == [page[1]["id"]]
    files = mailnest.all_messages("alice")
    assert len(files) == 1 and b"Subject: keep" in files[0].read_bytes()
    # Deleting it again: 404.
    r = delete(mailnest, f"/api/v1/messages/{victim['id']}")
    assert (r.status, r.json()) == (404, {"error": "no such message"})


def test_delete_follows_a_rename_the_index_has_not_seen(mailnest):
    deliver(mailnest, "alice@localhost", subject="moved")
    assert eventually(lambda: boxes(mailnest).get("alice", {}).get("messages") == 1)
    [m] = messages(mailnest, "?mailbox=alice")["messages"]
    [f] = mailnest.new_files("alice")
    f.rename(mailnest.maildir("alice") / "cur" / (f.name + ":2,S"))
    r = delete(mailnest, f"/api/v1/messages/{m['id']}")
    assert (r.status, r.json()) == (200, {"deleted": 1})
    assert mailnest.all_messages("alice") == []


def test_delete_a_whole_mailbox(mailnest):
    for i in range(3):
        deliver(mailnest, "alice@localhost", subject=f"a{i}")
    deliver(mailnest, "bob@localhost", subject="b")
    assert eventually(lambda: boxes(mailnest).get("alice", {}).get("messages") == 3)
    r = delete(mailnest, "/api/v1/messages?mailbox=alice")
    assert (r.status, r.json()) == (200, {"deleted": 3})
    assert mailnest.all_messages("alice") == []
    assert len(mailnest.all_messages("bob")) == 1
    b = boxes(mailnest)
    assert b["alice"]["messages"] == 0 and b["bob"]["messages"] == 1
    # An empty mailbox: nothing to delete, still 200.
    r = delete(mailnest, "/api/v1/messages?mailbox=alice")
    assert (r.status, r.json()) == (200, {"deleted": 0})


@pytest.mark.parametrize("target,status,error", [
    ("/api/v1/messages/0123456789abcdef", 404, "no such message"),
    ("/api/v1/messages/..%2f..%2falice", 404, "no such message"),
    ("/api/v1/messages/alice", 404, "no such message"),
    ("/api/v1/messages?mailbox=nobody", 404, "mailbox: no mailbox 'nobody'"),
    ("/api/v1/messages?mailbox=..", 400, "mailbox: not a valid mailbox name"),
    ("/api/v1/messages", 400, "mailbox: required"),
    ("/api/v1/messages?mailbox=alice&limit=3", 400, "limit: unknown parameter (mailbox)"),
])
def test_delete_of_what_does_not_exist(mailnest, target, status, error):
    deliver(mailnest, "alice@localhost")
    assert eventually(lambda: boxes(mailnest).get("alice", {}).get("messages") == 1)
    r = delete(mailnest, target)
    assert (r.status, r.json()) == (status, {"error": error})
    assert len(mailnest.all_messages("alice")) == 1


def test_methods_per_path_in_405(mailnest):
    r = get(mailnest.http_port, "/api/v1/messages", method="POST", body=b"x")
    assert (r.status, r.headers["allow"]) == (405, "GET, HEAD, DELETE")
    r = delete(mailnest, "/livez")
    assert (r.status, r.headers["allow"]) == (405, "GET, HEAD")
    assert r.headers["x-content-type-options"] == "nosniff"


def test_409_while_a_pop3_session_holds_the_mailbox(mailnest):
    deliver(mailnest, "alice@localhost", subject="held")
    assert eventually(lambda: boxes(mailnest).get("alice", {}).get("messages") == 1)
    [m] = messages(mailnest, "?mailbox=alice")["messages"]
    pop = poplib.POP3("127.0.0.1", mailnest.pop3_port, timeout=10)
    pop.user("alice")
    pop.pass_(PASSWORDS["alice"])  # the maildrop lock is held from here to QUIT
    try:
        for target in (f"/api/v1/messages/{m['id']}", "/api/v1/messages?mailbox=alice"):
            r = delete(mailnest, target)
            assert (r.status, r.json()) == (409, {"error": "mailbox in use"})
        assert pop.stat()[0] == 1
    finally:
        pop.quit()
    # Lock released: the delete goes through (the message is in cur/ now).
    r = delete(mailnest, f"/api/v1/messages/{m['id']}")
    assert (r.status, r.json()) == (200, {"deleted": 1})
    assert mailnest.all_messages("alice") == []


def test_killed_right_after_delete_the_message_does_not_come_back(mailnest_factory):
    mn = mailnest_factory(name="a", **NO_CHECKPOINT)
    # A mailbox's first delivery after start is fsynced on its own (not
    # journaled): warm up, then the messages under test are journal-only.
    deliver(mn, "alice@localhost", subject="warm-up")
    for i in range(3):
        deliver(mn, "alice@localhost", subject=f"journaled {i}")
    assert eventually(lambda: boxes(mn).get("alice", {}).get("messages") == 4)
    r = delete(mn, "/api/v1/messages?mailbox=alice")
    assert (r.status, r.json()) == (200, {"deleted": 4})
    deliver(mn, "bob@localhost", subject="warm-up")
    deliver(mn, "bob@localhost", subject="one of two")
    deliver(mn, "bob@localhost", subject="two of two")
    assert eventually(lambda: boxes(mn).get("bob", {}).get("messages") == 3)
    newest = messages(mn, "?mailbox=bob")["messages"][0]
    r = delete(mn, f"/api/v1/messages/{newest['id']}")
    assert (r.status, r.json()) == (200, {"deleted": 1})
    left = sorted(p.read_bytes() for p in mn.all_messages("bob"))
    mn.stop(sig=signal.SIGKILL)  # at once after the answer: no graceful checkpoint

    mn2 = mailnest_factory(mail_root=mn.mail_root, name="b", **NO_CHECKPOINT)
    assert "journal recovery" in mn2.logs()
    assert mn2.all_messages("alice") == []
    assert sorted(p.read_bytes() for p in mn2.all_messages("bob")) == left
