"""Seeded random SMTP sessions against the real binary (marker e2).

The other test_smtp_* files pin one reply per scenario. These sessions
instead draw commands from a small grammar (good and bad verbs, addresses,
parameters, over-long and 8-bit lines, pipelined groups that end at DATA as
RFC 2920 requires) and message bodies dense in the octets that matter to
DATA framing (dots, bare CR and LF, over-long lines), and check properties
that must hold whatever the order:

- every reply is framed as RFC 5321 §4.2 says, and every reply except the
  greeting, the HELO/EHLO answer and 354 carries an RFC 3463 enhanced code
  of the same class as the reply code (Reply.enhanced);
- the reply to a message's final dot follows from the body alone
  (tests/unit/net/dot_codec_test.cc has the same model): 550 5.5.2 for a
  bare CR or LF, 552 5.6.0 for a text line over the limit, 250 otherwise;
- exactly the messages that got 250 are stored, once in each mailbox their
  accepted recipients resolve to, octet for octet (dot-unstuffed), and
  nothing is left in tmp/;
- the server still answers afterwards.

The seed is fixed so a failure reproduces; the number of sessions is
bounded so the file runs in seconds, also under the sanitizers.
"""
import random
import re

import pytest

from test_smtp_wire import Wire, stored_message

pytestmark = pytest.mark.e2

SESSIONS = 300
GROUPS_PER_SESSION = 12

# Recipients whose outcome the demo config decides (conftest's docstring).
MAILBOXES = {
    "alice@localhost": {"alice"},
    "bob@example.test": {"bob"},
    "team@mailnest.local": {"alice", "bob"},
    "postmaster@localhost": {"alice"},
    "Postmaster": {"alice"},
}
REFUSED = ["nobody@localhost", "x@other.org", "../x@localhost", "a%2e%2e@localhost"]


def model(body: bytes, max_line: int, mode: str):
    """(reply code, enhanced code, stored content) for DATA content `body`
    sent followed by CRLF . CRLF, where body holds no earlier terminator.
    Lines end at every LF; the stored form ends each in one LF. A CR not
    before a LF refuses the message, and so does a LF alone in reject mode
    (smtp.bare_newline); in normalize mode that line is a line."""
    raw = body + b"\r\n"
    content, bare, long_line = b"", False, False
    for line in raw.split(b"\n")[:-1]:
        long_line |= len(line) + 1 > max_line  # on the wire, with its line end
        crlf = line.endswith(b"\r")
        if crlf:
            line = line[:-1]
        elif mode == "reject":
            bare = True
        if line.startswith(b"."):
            line = line[1:]
        bare |= b"\r" in line
        content += line + b"\n"
    if bare:
        return 550, "5.5.2", None
    if long_line:
        return 552, "5.6.0", None
    return 250, "2.0.0", content


class Session:
    def __init__(self, rnd: random.Random, max_line: int, mode: str):
        self.rnd = rnd
        self.max_line = max_line
        self.mode = mode

    def address(self) -> str:
        r = self.rnd.random()
        if r < 0.6:
            return self.rnd.choice(list(MAILBOXES))
        if r < 0.85:
            return self.rnd.choice(REFUSED)
        return self.rnd.choice(["", "a@", "@b", "x" * 70 + "@localhost", "a b@localhost", "\"q\"@[127.0.0.1]"])

    def path(self) -> str:
        a = self.address()
        return self.rnd.choice([f"<{a}>", f"<{a}>", f"<{a}>", f" <{a}>", a, f"<{a}"])

    def params(self) -> str:
        return "".join(" " + self.rnd.choice(["SIZE=1000", "SIZE=99999999999", "SIZE=x", "BODY=8BITMIME",
                                               "BODY=7BIT", "BODY=BINARYMIME", "X=Y", "SIZE=1 SIZE=2"])
                       for _ in range(self.rnd.choice([0, 0, 1, 2])))

    def command(self) -> bytes:
        r = self.rnd.random()
        if r < 0.1:
            return self.rnd.choice([b"EHLO c.test", b"HELO c.test", b"EHLO", b"EHLO [192.0.2.1]"])
        if r < 0.3:
            return ("MAIL FROM:" + self.rnd.choice(["<s@remote.test>", "<>", self.path()]) + self.params()).encode()
        if r < 0.55:
            return ("RCPT TO:" + self.path() + self.params()).encode()
        if r < 0.65:
            return b"DATA"
        if r < 0.85:
            return self.rnd.choice([b"RSET", b"NOOP", b"HELP", b"VRFY alice", b"EXPN team", b"STARTTLS",
                                    b"AUTH PLAIN", b"BDAT 1 LAST", b"", b"mail from:<s@remote.test>"])
        if r < 0.95:
            return bytes(self.rnd.choice(b"abcXYZ:<>@. \t\x00\x7f\xc3\xa9") for _ in range(self.rnd.randrange(30)))
        return b"X" * self.rnd.choice([509, 510, 600])  # 510 + CRLF is the limit

    def body(self, seq: int) -> bytes:
        while True:
            parts = [b"X-Seq: %d\r\n\r\n" % seq]
            for _ in range(self.rnd.randrange(6)):
                parts.append(self.rnd.choice([
                    b"text\r\n", b"..stuffed\r\n", b".x\r\n", b"\r\n", b"\xc3\xa9\x00\r\n",
                    b"z" * (self.max_line - 2) + b"\r\n",  # exactly at the limit
                    b"z" * (self.max_line - 1) + b"\r\n",  # one over
                    b"bare\nLF\r\n", b"bare\rCR\r\n", b"\n.\n", b"\r.\r", b".\r", b"\r\n\x00.\r\n",
                ]))
            body = b"".join(parts)
            # Only the terminator we append may end the data (the parts can
            # combine into CRLF . CRLF, or "\r\n." + our CRLF).
            if (b"\r\n" + body + b"\r\n.\r\n").find(b"\r\n.\r\n") == len(body) + 2:
                return body


def run_session(w: Wire, s: Session, seq_start: int, stored: dict) -> int:
    """Drives one session; records expected deliveries in `stored`
    (X-Seq → (content, mailboxes)). Returns the next free sequence number."""
    seq = seq_start
    g = w.reply()
    assert g.code == 220, g
    if s.rnd.random() < 0.8:
        assert w.cmd("EHLO c.test").code == 250
    mailboxes = set()
    for _ in range(s.rnd.randrange(1, GROUPS_PER_SESSION)):
        group = [s.command() for _ in range(s.rnd.choice([1, 1, 2, 4]))]
        if s.rnd.random() < 0.3:  # a mostly well-formed transaction, so DATA is reached often
            group = [b"MAIL FROM:<s@remote.test>",
                     ("RCPT TO:<%s>" % s.rnd.choice(list(MAILBOXES) + REFUSED)).encode(),
                     ("RCPT TO:" + s.path()).encode(), b"DATA"]
        if b"DATA" in group:
            group = group[:group.index(b"DATA") + 1]
        w.send(b"".join(c + b"\r\n" for c in group))
        for c in group:
            r = w.reply()
            verb = c.split(b" ")[0].upper()
            if r.code != 354 and not (verb in (b"EHLO", b"HELO") and r.code == 250):
                assert r.enhanced[:1] == str(r.code)[0], (c, r)  # present, and of the reply's class
            if verb in (b"MAIL", b"RSET", b"EHLO", b"HELO") and r.code == 250:
                mailboxes = set()
            if verb == b"RCPT" and r.code == 250:
                arg = c.decode(errors="replace")[len("RCPT TO:"):].strip().split(" ")[0].strip("<>")
                assert arg in MAILBOXES, (c, r)  # a refused address got 250
                mailboxes |= MAILBOXES[arg]
            if r.code == 421:
                return seq
            if r.code == 354:
                body = s.body(seq)
                w.send(body + b"\r\n.\r\n")
                want_code, want_enhanced, content = model(body, s.max_line, s.mode)
                d = w.reply()
                assert (d.code, d.enhanced) == (want_code, want_enhanced), (body, d)
                if d.code == 250:
                    stored[seq] = (content, mailboxes)
                mailboxes = set()
                seq += 1
    if s.rnd.random() < 0.5:
        assert w.cmd("QUIT").code == 221
    return seq


@pytest.mark.parametrize("mode", ["normalize", "reject"])
def test_random_sessions_keep_every_promise(mailnest_factory, mode):
    mailnest = mailnest_factory(smtp={"bare_newline": mode})
    max_line = mailnest.config["smtp"]["max_text_line_length"]
    rnd = random.Random(20261124)
    stored = {}
    seq = 0
    for _ in range(SESSIONS):
        with Wire(mailnest.smtp_port) as w:
            seq = run_session(w, Session(rnd, max_line, mode), seq, stored)
    assert stored, "no message was accepted: the grammar no longer reaches DATA"
    assert len(stored) < seq, "no message was refused: the bodies no longer exercise the checks"

    found = {}
    for user in ("alice", "bob"):
        assert mailnest.tmp_files(user) == []
        for path in mailnest.all_messages(user):
            _, _, body = stored_message(path)
            m = re.match(rb"X-Seq: (\d+)\n", body)
            assert m, path
            n = int(m.group(1))
            assert body == stored[n][0], f"message {n} in {user} differs from what was sent"
            found.setdefault(n, []).append(user)
    assert {n: sorted(users) for n, users in found.items()} == \
        {n: sorted(boxes) for n, (_, boxes) in stored.items()}

    with Wire(mailnest.smtp_port) as w:
        w.greet()
        assert w.cmd("NOOP").code == 250
