"""POP3 serves any Maildir file exactly: files written by an older mailnest
(CRLF, ",S=" only), by Dovecot (LF, ",S=,W="), by procmail or getmail (LF,
no size fields, other name shapes), with flags or without. RETR/TOP send
CR LF lines whatever the file holds, and STAT/LIST (and `mailnest
mailboxes`) count exactly the octets RETR sends."""
import subprocess

import pytest

from conftest import BINARY
from test_pop3_support import listing, login

pytestmark = pytest.mark.e3

# (sub-directory, file name, content), in the order the maildrop lists them.
FOREIGN = [
    # An older mailnest: CRLF on disk, S= alone (the octets POP3 sends).
    ("cur", "1700000001.M1P100Q0.oldhost,S={crlf}", b"Subject: old\r\n\r\nCRLF body\r\n.dot\r\n"),
    # Dovecot's IMAP APPEND (LF, S= and W=), already seen (flag S).
    ("cur", "1700000002.M2P200.dovecot,S={lf},W={wire}:2,S", b"Subject: dovecot\n\nLF body\n.dot\n"),
    # A file edited by hand: LF and CRLF lines mixed, no final line end.
    ("new", "1700000004.M4P400.editor", b"Subject: mixed\r\nX: 1\n\r\none\ntwo\r\nno end"),
    # procmail / getmail: LF, no size fields, still in new/ (a name
    # without ".M<usec>" sorts after the others).
    ("new", "1700000003.3_0.mda", b"Subject: procmail\n\nno sizes\n"),
]


def wire(content: bytes) -> bytes:
    """What RETR sends (before stuffing): every line end as CR LF."""
    out = content.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return out if out.endswith(b"\r\n") else out + b"\r\n"


def plant(mn):
    box = mn.maildir("alice")
    for sub in ("tmp", "new", "cur"):
        (box / sub).mkdir(parents=True, exist_ok=True)
    names = []
    for sub, name, content in FOREIGN:
        name = name.format(crlf=len(content), lf=len(content), wire=len(wire(content)))
        (box / sub / name).write_bytes(content)
        names.append(name)
    return names


def test_foreign_and_old_files_are_served_exactly_with_exact_sizes(mailnest):
    names = plant(mailnest)
    p = login(mailnest)
    sent = [p.retr(n) for n in range(1, len(FOREIGN) + 1)]
    # The "no end" file gets the CRLF before the terminator, which is not
    # part of its size: strip it for the comparison of sizes.
    assert sent == [wire(c) for _, _, c in FOREIGN]
    sizes = [len(wire(c)) - (0 if c.endswith(b"\n") else 2) for _, _, c in FOREIGN]
    assert listing(p, "LIST") == [(str(i + 1).encode(), str(s).encode()) for i, s in enumerate(sizes)]
    assert p.cmd("STAT") == f"+OK {len(FOREIGN)} {sum(sizes)}".encode()
    assert p.cmd("RETR 2") == f"+OK {sizes[1]} octets".encode()
    p.multiline_raw()
    # TOP of a LF file: CRLF lines on the wire, the header and blank line.
    assert p.cmd("TOP 4 0") == b"+OK top of message follows"
    assert p.multiline_raw() == b"Subject: procmail\r\n\r\n"
    # UIDL: the file name without its ":2,<flags>" part (Dovecot's %f).
    uidls = [u for _, u in listing(p, "UIDL")]
    assert uidls == [n.split(":2,")[0].encode() for n in names]
    assert p.cmd("QUIT").startswith(b"+OK")

    # A new session sees the same sizes and UIDLs (the counts remembered
    # or counted again, the names moved from new/ to cur/ unchanged).
    p = login(mailnest)
    assert listing(p, "LIST") == [(str(i + 1).encode(), str(s).encode()) for i, s in enumerate(sizes)]
    assert [u for _, u in listing(p, "UIDL")] == uidls
    p.cmd("QUIT")

    # `mailnest mailboxes` reports the same octets.
    if mailnest.config_path is None:
        pytest.skip("the external instance's config is unknown: `mailnest mailboxes` not checked")
    out = subprocess.run([str(BINARY), "mailboxes", "--config", str(mailnest.config_path)],
                         capture_output=True, check=True, timeout=10).stdout.decode()
    [row] = [line.split() for line in out.splitlines() if line.startswith("alice")]
    assert row == ["alice", str(len(FOREIGN)), str(sum(sizes))]


def test_a_wrong_w_field_is_not_trusted(mailnest):
    # W= smaller than S= cannot be a CR LF count: the file is counted.
    box = mailnest.maildir("alice")
    for sub in ("tmp", "new", "cur"):
        (box / sub).mkdir(parents=True, exist_ok=True)
    content = b"Subject: liar\n\nx\n"
    (box / "cur" / f"1700000005.M5P5.liar,S={len(content)},W=3:2,").write_bytes(content)
    p = login(mailnest)
    assert p.cmd("LIST 1") == f"+OK 1 {len(wire(content))}".encode()
    assert p.retr(1) == wire(content)
    p.cmd("QUIT")
