"""`mailnest messages`: the terminal twin of GET /api/v1/messages, built on
the same index code (the index watcher's first scan), no server running."""
import json
import subprocess

from conftest import BINARY


def run(*args):
    return subprocess.run([str(BINARY), "messages", *args], capture_output=True, text=True, timeout=30)


def test_newest_first_with_mailbox_and_limit(tmp_path):
    root = tmp_path / "mail"
    for box in ("carol", "dave"):
        for sub in ("new", "cur", "tmp"):
            (root / box / sub).mkdir(parents=True)
    (root / "carol" / "new" / "1700000000.M1P1Q1.h,S=10,W=11").write_bytes(b"x" * 10)
    (root / "carol" / "cur" / "1700000100.M1P1Q2.h,S=20,W=22:2,S").write_bytes(b"y" * 20)
    (root / "dave" / "cur" / "1700000200.M1P1Q3.h,S=5:2,RS").write_bytes(b"z" * 5)
    (root / "carol" / "tmp" / "1700000300.M1P1Q4.h").write_bytes(b"not delivered")
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"mail_root": str(root)}))

    out = run("--config", str(cfg))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["ID", "MAILBOX", "DATE", "SIZE", "FLAGS"]
    rows = [line.split() for line in lines[1:]]
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        ("dave", "2023-11-14T22:16:40Z", "5", "RS"),
        ("carol", "2023-11-14T22:15:00Z", "22", "S"),
        ("carol", "2023-11-14T22:13:20Z", "11", "new"),
    ]
    assert all(len(r[0]) == 16 for r in rows)

    out = run("--config", str(cfg), "--mailbox", "carol", "--limit", "1")
    assert out.returncode == 0
    assert [line.split()[1:4] for line in out.stdout.splitlines()[1:]] == [["carol", "2023-11-14T22:15:00Z", "22"]]

    out = run("--config", str(cfg), "--mailbox", "nobody")
    assert out.returncode == 1 and "no mailbox 'nobody'" in out.stderr


def test_ids_match_the_api(mailnest):
    from test_http_index import boxes, deliver, eventually, messages
    deliver(mailnest, "alice@localhost", subject="same id")
    assert eventually(lambda: boxes(mailnest).get("alice", {}).get("messages") == 1)
    [m] = messages(mailnest, "?mailbox=alice")["messages"]
    out = run("--config", str(mailnest.config_path), "--mailbox", "alice")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[1].split()[0] == m["id"]


def test_bad_arguments_exit_2():
    for args in (["--limit", "0"], ["--limit", "x"], ["--bogus", "1"], ["--mailbox"], ["--mailbox", "../etc"]):
        out = run(*args)
        assert out.returncode == 2, args
        assert out.stderr


def test_query_selects_by_headers_body_and_name_fields(tmp_path):
    root = tmp_path / "mail"
    for sub in ("new", "cur", "tmp"):
        (root / "erin" / sub).mkdir(parents=True)

    def put(name, subject, body):
        text = f"From: Bob <bob@example.org>\nSubject: {subject}\n\n{body}\n".encode()
        (root / "erin" / "new" / f"{name},S={len(text)}").write_bytes(text)

    put("1700000000.M1P1Q1.h", "Invoice 42", "please pay")
    put("1700000100.M1P1Q2.h", "Lunch", "the invoice is attached")
    put("1700000200.M1P1Q3.h", "Invoice 43", "second reminder")
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"mail_root": str(root)}))

    def dates(*query):
        out = run("--config", str(cfg), *query)
        assert out.returncode == 0, out.stderr
        return [line.split()[2] for line in out.stdout.splitlines()[1:]]

    assert dates("--query", "subject:invoice") == ["2023-11-14T22:16:40Z", "2023-11-14T22:13:20Z"]
    assert dates("--query", "body:attached") == ["2023-11-14T22:15:00Z"]
    assert dates("--query", "from:bob subject:invoice", "--limit", "1") == ["2023-11-14T22:16:40Z"]
    assert dates("--query", "subject:nothing") == []
    out = run("--config", str(cfg), "--query", "frm:bob")
    assert out.returncode == 2 and "unknown field" in out.stderr
