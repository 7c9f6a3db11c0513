"""Helpers for the relay tests: two mailnest instances (a relay "a" and a
next hop "b" for the domain b.test), free ports, waiting."""
import os
import socket
import time


def free_port():
    """A port nothing listens on (bound once by us, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


FAST_RETRY = {"minimal_backoff_s": 1, "maximal_backoff_s": 1}


def relay_overrides(next_hop_port, **relay):
    cfg = {"enabled": True, "transport": {"b.test": f"127.0.0.1:{next_hop_port}"}}
    cfg.update(FAST_RETRY)
    cfg.update(relay)
    return {"relay": cfg, "smtp": {"max_connections": 100}}


def next_hop(mailnest_factory, port=0, name="b"):
    """mailnest for b.test; its users are the demo's alice and bob."""
    return mailnest_factory(name=name, local_domains=["b.test"], smtp={"port": port},
                            pop3={"enabled": False}, http={"enabled": False})


def queue_files(mn):
    """The queue's message files (not its lock nor its ctl/ request folder)."""
    d = mn.mail_root / ".queue"
    return sorted(p.name for p in d.iterdir() if p.name not in ("lock", "ctl")) if d.exists() else []


def queued_ids(mn):
    """Ids of the queued messages: a .qf (envelope + message), or an .env
    beside its .msg (the layout of earlier releases); docs/RELAY.md."""
    return sorted({n.rsplit(".", 1)[0] for n in queue_files(mn) if n.endswith((".qf", ".env"))})


def envelope_text(mn, qid):
    """A queued message's current envelope: its .qe once rewritten, else the
    head of its .qf (up to the "end" line), else its .env."""
    d = mn.mail_root / ".queue"
    if (d / f"{qid}.qe").exists():
        return (d / f"{qid}.qe").read_text()
    if (d / f"{qid}.qf").exists():
        text = (d / f"{qid}.qf").read_bytes().decode(errors="replace")
        return text[:text.index("\nend\n") + 5]
    return (d / f"{qid}.env").read_text()


def user_has(mn, user, needle):
    return any(needle in p.read_bytes() for p in mn.all_messages(user))


def sink_available():
    return os.path.exists("/usr/sbin/smtp-sink")
