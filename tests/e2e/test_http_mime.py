"""GMime parsing in the HTTP API against the real binary: header summaries in
listings and waits, the message view, part downloads. Messages are built with
Python's email package and delivered with smtplib."""
import shutil
import smtplib
import subprocess
import threading

import pytest
from email.message import EmailMessage

from http_client import get
from test_http_index import boxes, eventually, messages

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 4


def rich_message(subject="Caf\u00e9 r\u00e9sum\u00e9", to="alice@localhost"):
    """multipart/mixed: multipart/alternative (ISO-8859-1 text, UTF-8 HTML) + a PDF."""
    msg = EmailMessage()
    msg["From"] = "Ren\u00e9 M\u00fcller <rene@remote.test>"
    msg["To"] = f"Alice <{to}>"
    msg["Cc"] = "carol@remote.test"
    msg["Subject"] = subject  # non-ASCII: RFC 2047 encoded by the email package
    msg["Date"] = "Tue, 01 Dec 2026 10:00:00 +0000"
    msg["Message-ID"] = "<rich-1@remote.test>"
    msg.set_content("Gr\u00fc\u00dfe   aus\n\n   K\u00f6ln. " + "x" * 300 + "\n", charset="iso-8859-1")
    msg.add_alternative("<html><body><p>Gr\u00fc\u00dfe <b>aus</b> K\u00f6ln</p>"
                        "<script>alert(1)</script></body></html>\n", subtype="html")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="report \"Q3\".pdf")
    return msg


def send(mn, msg, rcpts=("alice@localhost",)):
    with smtplib.SMTP("127.0.0.1", mn.smtp_port, timeout=10) as s:
        s.sendmail("sender@remote.test", list(rcpts), msg.as_bytes())


def only_message(mn, box="alice"):
    assert eventually(lambda: boxes(mn).get(box, {}).get("messages") == 1)
    [m] = messages(mn, f"?mailbox={box}")["messages"]
    return m


def test_list_items_carry_decoded_header_summaries(mailnest):
    msg = rich_message()
    assert "=?" in msg.as_string()  # the subject travels RFC 2047 encoded
    send(mailnest, msg)
    m = only_message(mailnest)
    assert m["subject"] == "Caf\u00e9 r\u00e9sum\u00e9"
    assert m["from"] == "Ren\u00e9 M\u00fcller <rene@remote.test>"
    assert m["to"] == "Alice <alice@localhost>"
    assert m["cc"] == "carol@remote.test"
    assert m["date"].startswith("2026-12-01T10:00:00")
    assert m["message_id"] == "rich-1@remote.test"
    assert m["return_path"] == "<sender@remote.test>"  # written by our SMTP intake
    assert m["attachments"] == 1
    # The ISO-8859-1 text part, converted to UTF-8, whitespace collapsed, ~200 chars.
    assert m["snippet"].startswith("Gr\u00fc\u00dfe aus K\u00f6ln. xxx")
    assert len(m["snippet"]) == 200
    # Cached: a second listing answers the same.
    assert messages(mailnest, "?mailbox=alice")["messages"][0] == m


def test_summaries_of_plain_and_foreign_files(mailnest_factory, tmp_path):
    root = tmp_path / "mail"
    for sub in ("new", "cur", "tmp"):
        (root / "carol" / sub).mkdir(parents=True)
    (root / "carol" / "new" / "1700000000.M1P1Q1.h,S=40").write_bytes(
        b"Subject: =?iso-8859-1?q?na=EFve?=\nFrom: x@y\n\nplain body\n")
    (root / "carol" / "new" / "1700000001.M1P1Q2.h,S=9").write_bytes(b"\xff\xfe\x00junk")
    mn = mailnest_factory(mail_root=root)
    assert eventually(lambda: boxes(mn).get("carol", {}).get("messages") == 2)
    page = messages(mn, "?mailbox=carol")["messages"]
    junk, plain = page
    assert plain["subject"] == "na\u00efve" and plain["snippet"] == "plain body"
    assert plain["attachments"] == 0 and plain["date"] is None
    # A file that is no message still lists, with empty (valid UTF-8) fields.
    assert junk["subject"] == "" and junk["attachments"] == 0


def test_wait_answers_with_the_summary(mailnest):
    cursor = messages(mailnest)["last_seq"]
    sender = threading.Timer(0.5, send, args=(mailnest, rich_message(subject="waited for")))
    sender.start()
    try:
        r = get(mailnest.http_port, f"/api/v1/wait?mailbox=alice&after={cursor}&timeout=20", timeout=30)
    finally:
        sender.join()
    assert r.status == 200, r.body
    m = r.json()["message"]
    assert m["subject"] == "waited for" and m["attachments"] == 1
    # The immediate case answers with the cached summary.
    r = get(mailnest.http_port, f"/api/v1/wait?mailbox=alice&after={cursor}&timeout=0")
    assert r.status == 200 and r.json()["message"] == m


def test_message_view_envelope_headers_parts_and_tree(mailnest):
    msg = rich_message()
    send(mailnest, msg)
    m = only_message(mailnest)
    r = get(mailnest.http_port, f"/api/v1/messages/{m['id']}")
    assert r.status == 200, r.body
    assert r.headers["content-type"] == "application/json"
    v = r.json()
    assert (v["id"], v["mailbox"], v["seq"], v["truncated"]) == (m["id"], "alice", m["seq"], False)
    # Our SMTP intake writes Return-Path and, for one recipient, "for <rcpt>" in its Received line.
    assert v["envelope"] == {"return_path": "<sender@remote.test>", "mailbox": "alice",
                             "recipients": ["alice@localhost"], "recipients_from": "received",
                             "delivered": m["time"]}
    headers = {h["name"]: h["value"] for h in v["headers"]}
    assert headers["Subject"] == "Caf\u00e9 r\u00e9sum\u00e9"  # decoded
    assert headers["Return-Path"] == "<sender@remote.test>"
    assert "Received" in headers
    # ISO-8859-1 quoted-printable text and the HTML part, both as UTF-8.
    assert v["text"].startswith("Gr\u00fc\u00dfe   aus\n\n   K\u00f6ln.")
    assert v["html"].startswith("<html><body><p>Gr\u00fc\u00dfe <b>aus</b>")
    assert v["attachments"] == [{"part": 5, "filename": 'report "Q3".pdf',
                                 "content_type": "application/pdf", "size": len(PDF)}]
    tree = v["mime"]
    assert tree["content_type"] == "multipart/mixed" and tree["part"] == 1
    alt, pdf = tree["parts"]
    assert [p["content_type"] for p in alt["parts"]] == ["text/plain", "text/html"]
    assert alt["parts"][0]["charset"] == "iso-8859-1" and alt["parts"][0]["attachment"] is False
    assert (pdf["part"], pdf["attachment"], pdf["size"]) == (5, True, len(PDF))


def test_recipients_fall_back_to_to_and_cc(mailnest):
    send(mailnest, rich_message(), rcpts=("alice@localhost", "bob@localhost"))
    m = only_message(mailnest, "bob")
    env = get(mailnest.http_port, f"/api/v1/messages/{m['id']}").json()["envelope"]
    # Two recipients: our Received line names none, so To and Cc tell.
    assert env["recipients"] == ["alice@localhost", "carol@remote.test"]
    assert env["recipients_from"] == "to-cc"


def test_delivered_to_is_the_envelope_when_present(mailnest_factory, tmp_path):
    root = tmp_path / "mail"
    for sub in ("new", "cur", "tmp"):
        (root / "dave" / sub).mkdir(parents=True)
    (root / "dave" / "cur" / "1700000000.M1P1Q1.h,S=60:2,S").write_bytes(
        b"Delivered-To: dave@example.org\nTo: list@example.org\nSubject: via Dovecot\n\nbody\n")
    mn = mailnest_factory(mail_root=root)
    m = only_message(mn, "dave")
    env = get(mn.http_port, f"/api/v1/messages/{m['id']}").json()["envelope"]
    assert (env["recipients"], env["recipients_from"], env["return_path"]) == (["dave@example.org"], "delivered-to", None)


def test_parts_download_decoded_with_safe_headers(mailnest):
    msg = rich_message()
    msg.get_payload()[1].set_param("filename", "Bericht K\u00f6ln \"Q3\".pdf", header="Content-Disposition")
    send(mailnest, msg)
    m = only_message(mailnest)
    base = f"/api/v1/messages/{m['id']}/parts"
    r = get(mailnest.http_port, f"{base}/5")
    assert r.status == 200
    assert r.body == PDF  # base64 decoded
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"Bericht K_ln Q3.pdf\"; filename*=UTF-8''Bericht%20K%C3%B6ln%20Q3.pdf")
    assert r.headers["x-content-type-options"] == "nosniff"
    # The HTML part is data: a download, nothing in it may load or run.
    r = get(mailnest.http_port, f"{base}/4")
    assert r.status == 200 and r.body.startswith(b"<html><body><p>Gr\xc3\xbc\xc3\x9fe")
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert r.headers["content-disposition"] == 'attachment; filename="part-4"'
    assert r.headers["x-content-type-options"] == "nosniff"
    # The text part keeps its charset: the octets are the part's, decoded from quoted-printable.
    r = get(mailnest.http_port, f"{base}/3")
    assert r.headers["content-type"] == "text/plain; charset=iso-8859-1"
    assert r.body.startswith("Gr\u00fc\u00dfe".encode("iso-8859-1"))
    for n in ("1", "2", "6", "0", "abc", "5/x", ""):
        r = get(mailnest.http_port, f"{base}/{n}")
        assert (r.status, r.json()) == (404, {"error": "no such part"}), n


def test_unknown_ids_are_404_for_views_and_parts(mailnest):
    for target in ("/api/v1/messages/0123456789abcdef", "/api/v1/messages/0123456789abcdef/parts/1",
                   "/api/v1/messages/..%2f..%2fetc%2fpasswd", "/api/v1/messages/..%2f..%2fetc%2fpasswd/parts/1"):
        r = get(mailnest.http_port, target)
        assert (r.status, r.json()) == (404, {"error": "no such message"}), target


def test_parsing_is_bounded_by_max_parse_bytes(mailnest_factory):
    mn = mailnest_factory(http={"max_parse_bytes": 65536})
    msg = rich_message()
    msg.add_attachment(b"\x00" * 200000, maintype="application", subtype="octet-stream", filename="big.bin")
    send(mn, msg)
    m = only_message(mn)
    assert m["truncated"] is True and m["subject"] == "Caf\u00e9 r\u00e9sum\u00e9"
    v = get(mn.http_port, f"/api/v1/messages/{m['id']}").json()
    assert v["truncated"] is True
    assert v["text"].startswith("Gr\u00fc\u00dfe")
    big = [a for a in v["attachments"] if a["filename"] == "big.bin"]
    assert not big or big[0]["size"] < 65536  # only what lies within the bound


@pytest.mark.skipif(not shutil.which("curl"), reason="curl not installed")
def test_curl_downloads_a_part_with_its_name(mailnest, tmp_path):
    send(mailnest, rich_message())
    m = only_message(mailnest)
    url = f"http://127.0.0.1:{mailnest.http_port}/api/v1/messages/{m['id']}/parts/5"
    out = subprocess.run(["curl", "-s", "-f", "-O", "-J", url], cwd=tmp_path, capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    # curl -J takes the ASCII filename= (quotes removed by our sanitizer).
    assert (tmp_path / "report Q3.pdf").read_bytes() == PDF


def test_show_prints_headers_text_and_attachments(mailnest):
    from conftest import BINARY
    msg = rich_message()
    msg["X-Trick"] = "a\x1b[31mred"  # the email package folds/keeps it; the terminal must not get ESC
    send(mailnest, msg)
    m = only_message(mailnest)
    out = subprocess.run([str(BINARY), "show", m["id"], "--config", str(mailnest.config_path)],
                         capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    assert text.startswith("Mailbox: alice\nFile: new/")
    assert "\nSubject: Caf\u00e9 r\u00e9sum\u00e9\n" in text  # decoded
    assert "\nReturn-Path: <sender@remote.test>\n" in text
    assert "\n\nGr\u00fc\u00dfe   aus\n\n   K\u00f6ln." in text  # ISO-8859-1 text part as UTF-8
    assert '  part 5: report "Q3".pdf (application/pdf, %d octets)' % len(PDF) in text
    assert "\x1b" not in text
    # The same id as the API; errors are named.
    bad = subprocess.run([str(BINARY), "show", "0123456789abcdef", "--config", str(mailnest.config_path)],
                         capture_output=True, timeout=30)
    assert bad.returncode == 1 and b"no message 0123456789abcdef" in bad.stderr
    bad = subprocess.run([str(BINARY), "show", "../etc/passwd", "--config", str(mailnest.config_path)],
                         capture_output=True, timeout=30)
    assert bad.returncode == 2 and b"is not a message id" in bad.stderr
