"""Seeded random POP3 sessions against a model of the maildrop (marker e3).

test_pop3_retrieval.py pins each command once; here a fixed-seed sequence
of sessions mixes them (STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP,
numbers out of range, junk) and ends each session with QUIT, with RSET
and QUIT, or by dropping the connection. A small model of RFC 1939 tracks
what every reply must be: the live messages and their numbers, sizes and
unique ids, the marks of the session, the octets of RETR and TOP; and that
only QUIT removes marked messages, while a dropped session removes none.
"""
import random

import pytest

from test_pop3_support import listing, login, login_retrying, send, unstuff

pytestmark = pytest.mark.e3

SESSIONS = 40
COMMANDS_PER_SESSION = 14  # under the error limit (20), so no session is cut short

BODIES = [
    b"hello\r\n",
    b".leading dot\r\n..two\r\n.\r\nend\r\n",
    b"",
    b"no final CRLF",
    b"".join(b"line %d\r\n" % i for i in range(40)),
    b"\r\n\r\nblank lines first\r\n",
]


def top(content: bytes, lines: int) -> bytes:
    """RFC 1939 TOP: the header, the blank line, then `lines` body lines."""
    end = content.find(b"\r\n\r\n")
    if end < 0:
        return content
    body = content[end + 4:].split(b"\r\n")[:-1]  # stored messages end in CRLF
    return content[:end + 4] + b"".join(l + b"\r\n" for l in body[:lines])


def number(rnd: random.Random, count: int) -> str:
    if count and rnd.random() < 0.8:
        return str(rnd.randrange(1, count + 1))
    return rnd.choice(["0", str(count + 1), "99999", "x", "-1", "18446744073709551616"])


def expected_listing(model, verb: str, marked=frozenset()):
    """The model's UIDL or LIST lines: unmarked messages under their numbers."""
    return [(str(k + 1).encode(), uid if verb == "UIDL" else str(len(c)).encode())
            for k, (uid, c) in enumerate(model) if k not in marked]


def check_listing(p, model):
    """UIDL and LIST of a fresh session show exactly the model, in order."""
    for verb in ("UIDL", "LIST"):
        assert listing(p, verb) == expected_listing(model, verb)


def run_session(p, rnd: random.Random, model: list) -> list:
    """One session's commands against the model; returns the model after it."""
    marked = set()

    def live(n: str):
        i = int(n) - 1 if n.isdigit() and len(n) < 6 else -1
        return i if 0 <= i < len(model) and i not in marked else None

    for _ in range(rnd.randrange(1, COMMANDS_PER_SESSION)):
        verb = rnd.choice(["STAT", "LIST", "LIST n", "UIDL", "UIDL n", "RETR n", "RETR n", "TOP n m",
                           "DELE n", "DELE n", "RSET", "NOOP", "JUNK"])
        n = number(rnd, len(model))
        i = live(n)
        if verb == "STAT":
            sizes = [len(c) for k, (_, c) in enumerate(model) if k not in marked]
            assert p.cmd("STAT") == b"+OK %d %d" % (len(sizes), sum(sizes))
        elif verb in ("LIST", "UIDL"):
            assert listing(p, verb) == expected_listing(model, verb, marked)
        elif verb in ("LIST n", "UIDL n"):
            reply = p.cmd(f"{verb[:4]} {n}")
            if i is None:
                assert reply.startswith(b"-ERR"), (verb, n, reply)
            else:
                uid, content = model[i]
                assert reply == b"+OK %s %s" % (n.encode(), uid if verb == "UIDL n" else str(len(content)).encode())
        elif verb in ("RETR n", "TOP n m"):
            lines = rnd.choice([0, 1, 3, 100])
            reply = p.cmd(f"RETR {n}" if verb == "RETR n" else f"TOP {n} {lines}")
            if i is None:
                assert reply.startswith(b"-ERR"), (verb, n, reply)
            else:
                assert reply.startswith(b"+OK"), reply
                content = model[i][1]
                assert unstuff(p.multiline_raw()) == (content if verb == "RETR n" else top(content, lines))
        elif verb == "DELE n":
            reply = p.cmd(f"DELE {n}")
            assert reply.startswith(b"-ERR" if i is None else b"+OK"), (n, reply)
            if i is not None:
                marked.add(i)
        elif verb == "RSET":
            assert p.cmd("RSET").startswith(b"+OK")
            marked.clear()
        elif verb == "NOOP":
            assert p.cmd("NOOP").startswith(b"+OK")
        else:
            assert p.cmd(rnd.choice(["XYZZY", "APOP alice 1", "STLS", "USER bob", "LIST 1 2"])).startswith(b"-ERR")

    ending = rnd.choice(["quit", "quit", "rset-quit", "drop"])
    if ending == "drop":
        p.close()  # no UPDATE state: every mark is forgotten
        return model
    if ending == "rset-quit":
        assert p.cmd("RSET").startswith(b"+OK")
        marked.clear()
    assert p.cmd("QUIT").startswith(b"+OK")
    p.close()
    return [m for k, m in enumerate(model) if k not in marked]


def test_random_sessions_match_the_maildrop_model(mailnest):
    for k, body in enumerate(BODIES * 2):
        send(mailnest, "alice@mailnest.local", b"Subject: m%d\r\n\r\n" % k + body)
    # The model starts from what the first session reads; test_pop3_retrieval
    # proves RETR byte-exact against the files, so it is a fair start.
    p = login(mailnest)
    uids = [uid for _, uid in listing(p, "UIDL")]
    model = [(uid, p.retr(k + 1)) for k, uid in enumerate(uids)]
    assert p.cmd("QUIT").startswith(b"+OK")
    p.close()
    assert len(model) == 2 * len(BODIES)

    rnd = random.Random(1939)
    for _ in range(SESSIONS):
        p = login_retrying(mailnest)
        check_listing(p, model)
        model = run_session(p, rnd, model)

    p = login_retrying(mailnest)
    check_listing(p, model)
    assert p.cmd("QUIT").startswith(b"+OK")
    p.close()
    assert len(mailnest.all_messages("alice")) == len(model)
    assert len(model) < 2 * len(BODIES), "no DELE was committed: the sessions no longer exercise UPDATE"
