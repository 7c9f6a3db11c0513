"""SMTP DATA: end-of-data, smuggling, transparency, limits, streaming."""
import hashlib
import time

import pytest

from test_smtp_wire import Wire, binary_is_sanitized, lf, stored_message

pytestmark = pytest.mark.e2

# Every way a vulnerable server might be tricked into seeing an end of data
# (the SMTP smuggling family, CVE-2023-51764/51765/51766 and relatives).
SMUGGLING_ENDINGS = [
    b"\n.\n", b"\r.\r", b"\r.\n", b"\n.\r", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n", b"\r\n.\r",
    b"\r\n\x00.\r\n",
]
SMUGGLED = (b"MAIL FROM:<x@y>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\n"
            b"smuggled\r\n.\r\n")


def sha(b):
    return hashlib.sha256(b).hexdigest()


def bodies(mn, user):
    return [stored_message(f)[2] for f in mn.all_messages(user)]


# Endings whose only irregularity is a LF without CR: smtp.bare_newline =
# "normalize" (the default) takes those lines as lines, the dot line as an
# empty line, and the would-be second transaction as text of the first
# message; "reject" refuses the message. A bare CR is refused in both.
LF_ONLY_ENDINGS = {b"\n.\n", b"\n.\r\n", b"\r\n.\n"}


@pytest.fixture(params=["normalize", "reject"])
def bare_newline_mode(request, mailnest_factory):
    """(mode, a started mailnest with smtp.bare_newline = mode). The default
    mode runs on the `mailnest` fixture, so lab scripts capture it on their
    instance; "reject" always gets an instance of its own."""
    if request.param == "normalize":
        mn = request.getfixturevalue("mailnest")
        return mn.config.get("smtp", {}).get("bare_newline", "normalize"), mn
    return request.param, mailnest_factory(smtp={"bare_newline": request.param})


@pytest.mark.parametrize("split", [False, True], ids=["one-segment", "split-segments"])
@pytest.mark.parametrize("ending", SMUGGLING_ENDINGS, ids=[repr(e)[2:-1] for e in SMUGGLING_ENDINGS])
def test_smuggling_ending_neither_ends_data_nor_lets_a_message_in(bare_newline_mode, ending, split):
    mode, mailnest = bare_newline_mode
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        w.start_data(rcpt="alice@localhost")
        head = b"Subject: real\r\n\r\nhello"
        if split:  # the ending and the fake transaction in separate segments
            w.send(head + ending)
            time.sleep(0.05)
            w.send(SMUGGLED)
        else:
            w.send(head + ending + SMUGGLED)
        # A NOOP afterwards: its 250 must be the SECOND reply. A vulnerable
        # server would answer the fake end of data, MAIL, RCPT, DATA and
        # the smuggled message first.
        w.send(b"NOOP\r\n")
        data_reply = w.reply()
        noop = w.reply()
        assert (noop.code, noop.enhanced) == (250, "2.0.0"), "more than one reply for the data"
        # No bare CR/LF (the NUL line is ordinary content), or only bare LFs
        # in normalize mode: the one real end of data is after "smuggled",
        # all of it one message.
        accepted = b"\x00" in ending or (mode == "normalize" and ending in LF_ONLY_ENDINGS)
        if accepted:
            assert data_reply.code == 250
        else:
            assert (data_reply.code, data_reply.enhanced) == (550, "5.5.2")
            assert "bare LF/CR" in data_reply.text
    assert mailnest.all_messages("bob") == [], "bob received a smuggled message"
    for body in bodies(mailnest, "alice"):
        assert not body.startswith(b"smuggled"), "a message starts with the smuggled text"
        assert body.startswith(b"Subject: real\n")
        # The storage form: no CR at all, every line ends in exactly one LF.
        assert b"\r" not in body and body.endswith(b"smuggled\n")
        if b"\x00" not in ending:
            assert body == b"Subject: real\n\nhello\n\n" + lf(SMUGGLED[:-3])
    assert len(mailnest.all_messages("alice")) == (1 if accepted else 0)
    assert mailnest.tmp_files("alice") == []


def test_smuggling_logs_no_body_text(bare_newline_mode):
    mode, mailnest = bare_newline_mode
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        w.start_data()
        w.send(b"Subject: s\r\n\r\nhello\n.\n" + SMUGGLED)
        assert w.reply().code == (550 if mode == "reject" else 250)
    assert "smuggled" not in mailnest.logs()


def test_dot_unstuffing(mailnest):
    wire = b"Subject: dots\r\n\r\n..one\r\n...two\r\n..\r\n.x\r\nmid.dle\r\n"
    stored = b"Subject: dots\n\n.one\n..two\n.\nx\nmid.dle\n"
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        w.start_data()
        w.send(wire + b".\r\n")
        assert w.reply().code == 250
    [body] = bodies(mailnest, "alice")
    assert sha(body) == sha(stored)


def test_terminator_split_across_segments(mailnest):
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        w.start_data()
        for part in (b"Subject: s\r\n\r\nbody\r", b"\n", b".", b"\r", b"\nNOOP\r\n"):
            w.send(part)
            time.sleep(0.02)
        assert w.reply().code == 250
        assert w.reply().code == 250  # the NOOP behind the terminator
    [body] = bodies(mailnest, "alice")
    assert body == b"Subject: s\n\nbody\n"


def test_empty_message(mailnest):
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        w.start_data()
        w.send(b".\r\n")
        assert w.reply().code == 250
    [body] = bodies(mailnest, "alice")
    assert body == b""


def test_bare_lf_in_data_is_normalized_or_refused_and_session_goes_on(bare_newline_mode):
    mode, mailnest = bare_newline_mode
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        w.start_data()
        w.send(b"Subject: x\r\n\r\nunix line\nanother\r\n.\r\n")
        r = w.reply()
        if mode == "reject":
            assert (r.code, r.enhanced) == (550, "5.5.2")
        else:
            assert r.code == 250
        w.start_data()
        w.send(b"Subject: ok\r\n\r\nfine\r\n.\r\n")
        assert w.reply().code == 250
    got = sorted(bodies(mailnest, "alice"))
    if mode == "reject":
        assert got == [b"Subject: ok\n\nfine\n"]
    else:  # the LF-ended line stored as a line like any other
        assert got == [b"Subject: ok\n\nfine\n", b"Subject: x\n\nunix line\nanother\n"]


def test_bare_cr_in_data_is_refused_in_both_modes(bare_newline_mode):
    _, mailnest = bare_newline_mode
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        w.start_data()
        w.send(b"Subject: x\r\n\r\nold mac line\ranother\r\n.\r\n")
        r = w.reply()
        assert (r.code, r.enhanced) == (550, "5.5.2")
        assert w.cmd("NOOP").code == 250
    assert mailnest.all_messages("alice") == []


def test_oversize_message_552_nothing_stored(mailnest_factory):
    mn = mailnest_factory(smtp={"max_message_size": 65536})
    line = b"x" * 70 + b"\r\n"
    with Wire(mn.smtp_port) as w:
        w.greet()
        w.start_data()
        for _ in range(2000):  # ~144 KiB, over twice the limit
            w.send(line)
        w.send(b".\r\n")
        r = w.reply()
        assert (r.code, r.enhanced) == (552, "5.3.4")
        assert w.cmd("NOOP").code == 250
    assert mn.all_messages("alice") == []
    assert mn.tmp_files("alice") == []


def test_exactly_max_size_is_accepted(mailnest_factory):
    mn = mailnest_factory(smtp={"max_message_size": 4096})
    body = (b"y" * 62 + b"\r\n") * 64  # 4096 octets
    assert len(body) == 4096
    with Wire(mn.smtp_port) as w:
        w.greet()
        w.start_data()
        w.send(body + b".\r\n")
        assert w.reply().code == 250
    [stored] = bodies(mn, "alice")
    assert sha(stored) == sha(lf(body))  # the limit counts CR LF; the file holds LF


def test_long_text_line_refused(mailnest):
    limit = mailnest.config["smtp"]["max_text_line_length"]
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        w.start_data()
        w.send(b"Subject: l\r\n\r\n" + b"z" * limit + b"\r\n.\r\n")  # limit + CRLF: too long
        r = w.reply()
        assert r.code == 552 and r.enhanced == "5.6.0", r
        w.start_data()
        w.send(b"Subject: l\r\n\r\n" + b"z" * (limit - 2) + b"\r\n.\r\n")  # exactly at the limit
        assert w.reply().code == 250
    assert len(mailnest.all_messages("alice")) == 1


def test_eight_bit_body(mailnest):
    body = "Subject: =?utf-8?q?x?=\r\n\r\nGrüße, ½ €\r\n".encode()
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        assert w.cmd("MAIL FROM:<a@remote.test> BODY=8BITMIME").code == 250
        assert w.cmd("RCPT TO:<alice@localhost>").code == 250
        assert w.cmd("DATA").code == 354
        w.send(body + b".\r\n")
        assert w.reply().code == 250
    [stored] = bodies(mailnest, "alice")
    assert stored == lf(body)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_five_mib_message_streams_with_bounded_memory(mailnest_factory):
    mn = mailnest_factory()
    pid = mn.proc.pid
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-=+*/.,;:\r\n"  # 76
    chunk = line * 862  # ~64 KiB
    total = 5 * 1024 * 1024
    digest = hashlib.sha256()
    digest.update(lf(b"Subject: big\r\n\r\n"))
    peak = start = rss_kib(pid)
    with Wire(mn.smtp_port, timeout=30) as w:
        w.greet()
        w.start_data()
        w.send(b"Subject: big\r\n\r\n")
        sent = 0
        while sent < total:
            w.send(chunk)
            digest.update(lf(chunk))
            sent += len(chunk)
            peak = max(peak, rss_kib(pid))
        w.send(b".\r\n")
        r = w.reply(timeout=30)
        assert r.code == 250, r
        peak = max(peak, rss_kib(pid))
    if binary_is_sanitized(mn.proc.args[0]):
        # Quarantined 64 KiB chunks stay resident; a buffered body would still
        # show as far more than this.
        assert peak - start < 32 * 1024, f"RSS grew from {start} to {peak} KiB"
    else:
        assert peak < 64 * 1024, f"RSS peaked at {peak} KiB"
        assert peak - start < 4 * 1024, f"RSS grew from {start} to {peak} KiB: the 5 MiB body was buffered"
    [f] = mn.all_messages("alice")
    body = stored_message(f)[2]
    lines = sent // len(line) + 2
    assert len(body) == sent + len(b"Subject: big\r\n\r\n") - lines  # stored with LF
    assert hashlib.sha256(body).hexdigest() == digest.hexdigest()
    size, wire = f.stat().st_size, f.stat().st_size + f.read_bytes().count(b"\n")
    assert f.name.endswith(f",S={size},W={wire}")


def test_logs_contain_no_body_text(mailnest):
    secret = b"BODY-SECRET-7f3a9c"
    with Wire(mailnest.smtp_port) as w:
        w.greet()
        w.start_data()
        w.send(b"Subject: " + secret + b"\r\n\r\n" + secret + b"\r\n.\r\n")
        assert w.reply().code == 250
        # Body text sent as commands after a refused DATA is not logged either.
        assert w.cmd("DATA").code == 503
        w.send(secret + b" as a command\r\n")
        assert w.reply().code == 500
    logs = mailnest.logs()
    assert "queued as" in logs
    assert secret.decode() not in logs
