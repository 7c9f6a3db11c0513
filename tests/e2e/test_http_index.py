"""The message index behind the HTTP API: built from Maildir names at start,
kept current by our deliveries, POP3 deletions and other processes (real binary)."""
import os
import poplib
import smtplib
import time

import pytest

from http_client import get


def deliver(mn, rcpt, subject="hi", body="hello\r\n"):
    msg = f"From: s@remote.test\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\n{body}"
    with smtplib.SMTP("127.0.0.1", mn.smtp_port, timeout=10) as s:
        s.sendmail("s@remote.test", [rcpt], msg.encode())


def eventually(fn, timeout=5.0):
    """Polls fn() until it returns something true (the index follows the disk
    through inotify and a thread-pool look, so not in the same instant)."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.05)


def boxes(mn):
    return {b["name"]: b for b in get(mn.http_port, "/api/v1/mailboxes").json()["mailboxes"]}


def messages(mn, query=""):
    r = get(mn.http_port, "/api/v1/messages" + query)
    assert r.status == 200, r.body
    return r.json()


def test_index_built_at_start_from_names_only(mailnest_factory, tmp_path):
    root = tmp_path / "mail"
    for sub in ("new", "cur", "tmp"):
        (root / "carol" / sub).mkdir(parents=True)
    (root / "carol" / "new" / "1700000000.M1P1Q1.h,S=10,W=11").write_bytes(b"x" * 10)
    (root / "carol" / "cur" / "1700000100.M1P1Q2.h,S=20,W=22:2,S").write_bytes(b"y" * 20)
    # A file whose name lies about its size: the index trusts names (no reads).
    (root / "carol" / "cur" / "1700000200.M1P1Q3.h,S=5:2,").write_bytes(b"z" * 500)
    (root / "carol" / "tmp" / "1700000300.M1P1Q4.h").write_bytes(b"not delivered")
    (root / ".hidden").mkdir()
    mn = mailnest_factory(mail_root=root)
    assert eventually(lambda: get(mn.http_port, "/readyz").status == 200)
    b = boxes(mn)
    assert set(b) == {"carol"}
    assert b["carol"] == {"name": "carol", "messages": 3, "octets": 11 + 22 + 5, "unseen": 1}
    page = messages(mn, "?mailbox=carol")
    assert [m["time"] for m in page["messages"]] == [1700000200, 1700000100, 1700000000]
    assert [m["size"] for m in page["messages"]] == [5, 22, 11]
    assert [m["unseen"] for m in page["messages"]] == [False, False, True]
    assert page["messages"][1]["flags"] == "S"
    assert page["next_cursor"] is None


def test_our_deliveries_and_pop3_deletions_reach_the_index(mailnest):
    for i in range(3):
        deliver(mailnest, "alice@localhost", subject=f"m{i}")
    deliver(mailnest, "team@localhost")  # alias: alice and bob
    assert eventually(lambda: boxes(mailnest).get("alice", {}).get("messages") == 4)
    assert eventually(lambda: boxes(mailnest).get("bob", {}).get("messages") == 1)
    files = {p.name: p.stat().st_size for p in mailnest.all_messages("alice")}
    page = messages(mailnest, "?mailbox=alice")
    assert len(page["messages"]) == 4
    # Sizes are POP3's (W=): what LIST reports.
    p = poplib.POP3("127.0.0.1", mailnest.pop3_port, timeout=10)
    p.user("alice")
    p.pass_("alice-password")
    listed = sorted(int(line.split()[1]) for line in p.list()[1])
    assert sorted(m["size"] for m in page["messages"]) == listed
    assert sum(listed) == boxes(mailnest)["alice"]["octets"]
    assert len(files) == 4
    p.dele(1)
    p.dele(2)
    p.quit()
    assert eventually(lambda: boxes(mailnest)["alice"]["messages"] == 2)
    assert len(messages(mailnest, "?mailbox=alice")["messages"]) == 2


def test_files_added_and_removed_by_other_processes(mailnest):
    deliver(mailnest, "alice@localhost")  # makes the mailbox
    assert eventually(lambda: boxes(mailnest).get("alice", {}).get("messages") == 1)
    new = mailnest.maildir("alice") / "new"
    tmp = mailnest.maildir("alice") / "tmp" / "1800000000.M5P5Q5.other,S=7,W=9"
    tmp.write_bytes(b"a\nb\nc\n\n")
    os.rename(tmp, new / tmp.name)  # another MDA's delivery: tmp → new
    assert eventually(lambda: boxes(mailnest)["alice"]["messages"] == 2)
    newest = messages(mailnest, "?mailbox=alice&limit=1")["messages"][0]
    assert (newest["time"], newest["size"], newest["unseen"]) == (1800000000, 9, True)
    # A reader (Dovecot, mutt) moves it to cur/ with a flag: same id.
    os.rename(new / tmp.name, mailnest.maildir("alice") / "cur" / (tmp.name + ":2,S"))
    assert eventually(lambda: boxes(mailnest)["alice"]["unseen"] == 1)
    moved = messages(mailnest, "?mailbox=alice&limit=1")["messages"][0]
    assert (moved["id"], moved["unseen"], moved["flags"]) == (newest["id"], False, "S")
    assert moved["seq"] == newest["seq"]  # moved, not dropped and re-added (a waiter would fire)
    # A person's rm.
    os.system(f"rm -f '{mailnest.maildir('alice') / 'cur' / (tmp.name + ':2,S')}'")
    assert eventually(lambda: boxes(mailnest)["alice"]["messages"] == 1)
    # A mailbox made by someone else after start is found too.
    for sub in ("tmp", "new", "cur"):
        (mailnest.mail_root / "dave" / sub).mkdir(parents=True, exist_ok=True)
    (mailnest.mail_root / "dave" / "new" / "1800000001.M1P1Q1.x,S=3,W=3").write_bytes(b"abc")
    assert eventually(lambda: boxes(mailnest).get("dave", {}).get("messages") == 1)


def test_list_pagination_newest_first(mailnest_factory, tmp_path):
    root = tmp_path / "mail"
    for sub in ("new", "cur", "tmp"):
        (root / "erin" / sub).mkdir(parents=True)
    for i in range(7):
        (root / "erin" / "new" / f"{1700000000 + i}.M1P1Q{i}.h,S=1,W=1").write_bytes(b"x")
    mn = mailnest_factory(mail_root=root, http={"max_list_limit": 5})
    assert eventually(lambda: get(mn.http_port, "/readyz").status == 200)
    seen, cursor = [], None
    while True:
        page = messages(mn, "?mailbox=erin&limit=3" + (f"&cursor={cursor}" if cursor else ""))
        seen += [m["time"] for m in page["messages"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [1700000000 + i for i in reversed(range(7))]
    assert len(messages(mn)["messages"]) == 5  # default 50, bounded by max_list_limit 5


@pytest.mark.parametrize("query,status,error", [
    ("?mailbox=nobody", 404, "mailbox: no mailbox 'nobody'"),
    ("?mailbox=../etc", 400, "mailbox: not a valid mailbox name"),
    ("?limit=0", 400, "limit: must be 1..1000"),
    ("?limit=abc", 400, "limit: must be 1..1000"),
    ("?limit=1001", 400, "limit: must be 1..1000"),
    ("?cursor=zzz", 400, "cursor: not a cursor this API returned"),
    ("?colour=red", 400, "colour: unknown parameter (mailbox, query, limit, cursor)"),
    ("?limit=1&limit=2", 400, "limit: given more than once"),
    ("?mailbox=%zz", 400, "mailbox: bad %-escape"),
])
def test_bad_list_parameters(mailnest, query, status, error):
    r = get(mailnest.http_port, "/api/v1/messages" + query)
    assert r.status == status
    assert r.json() == {"error": error}
    assert r.headers["x-content-type-options"] == "nosniff"


def test_periodic_rescan_keeps_ids_and_seqs_and_wakes_no_waiter(mailnest_factory):
    mn = mailnest_factory(http={"index_rescan_s": 1})
    deliver(mn, "alice@localhost")
    assert eventually(lambda: boxes(mn).get("alice", {}).get("messages") == 1)
    before = messages(mn)
    time.sleep(2.5)  # two rescans
    after = messages(mn)
    assert after == before
    r = get(mn.http_port, f"/api/v1/wait?after={before['last_seq']}&timeout=0")
    assert r.status == 204


@pytest.mark.parametrize("rescan_s", [1, 0])
def test_rescan_finds_what_inotify_cannot_see(mailnest_factory, rescan_s):
    # new/ replaced by a fresh directory: the watch still follows the old
    # inode (now new.old), so files put in the new new/ raise no event we
    # hear. Only the periodic rescan finds them.
    mn = mailnest_factory(http={"index_rescan_s": rescan_s})
    deliver(mn, "alice@localhost")
    assert eventually(lambda: boxes(mn).get("alice", {}).get("messages") == 1)
    box = mn.maildir("alice")
    (box / "new").rename(box / "new.old")
    (box / "new").mkdir()
    (box / "new" / "1800000000.M1P1Q1.x,S=3,W=3").write_bytes(b"abc")
    found = eventually(lambda: boxes(mn)["alice"]["messages"] == 1 and
                       messages(mn)["messages"][0]["time"] == 1800000000, timeout=4)
    assert bool(found) == (rescan_s > 0)
