"""GMime parsing in the HTTP API against the real binary: header summaries in
listings and waits, the message view, part downloads. Messages are built with
Python's email package and delivered with smtplib."""
import smtplib
import threading
import time
from email.header import Header
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

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
