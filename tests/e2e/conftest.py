"""Shared fixtures: start the real mailnest binary on free ports.

`mailnest` (fixture) starts one appliance with both listeners on 127.0.0.1
port 0 and reads the real ports from its "mailnest ready ..." stdout line.
`mailnest_factory(**overrides)` starts more (e.g. SMTP-only + POP3-only on
one mail root). Overrides are merged into the JSON config, e.g.
    mailnest_factory(smtp={"max_recipients": 2})
Demo users: alice/alice-password, bob/bob-password; aliases postmaster→alice,
team→alice+bob; local domains mailnest.local, localhost, example.test.
"""
import copy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("MAILNEST_BINARY", ROOT / "build" / "mailnest"))

PASSWORDS = {"alice": "alice-password", "bob": "bob-password"}


def base_config():
    with open(ROOT / "etc" / "mailnest.json") as f:
        cfg = json.load(f)
    cfg["smtp"]["port"] = 0
    cfg["pop3"]["port"] = 0
    cfg.setdefault("http", {})["port"] = 0
    # Keep failed-login tests quick unless a test asks for the real delay.
    cfg["pop3"]["auth_failure_delay_ms"] = 200
    return cfg


def deep_merge(dst, src):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            deep_merge(dst[k], v)
        else:
            dst[k] = v
    return dst


class Mailnest:
    """One running appliance process."""

    def __init__(self, workdir: Path, overrides: dict, mail_root=None, name="mn", args=()):
        self.workdir = workdir
        self.name = name
        self.args = list(args)  # extra command-line arguments
        cfg = deep_merge(base_config(), copy.deepcopy(overrides))
        self.mail_root = Path(mail_root) if mail_root else workdir / "mail"
        cfg["mail_root"] = str(self.mail_root)
        self.smtp_log = workdir / f"{name}-smtp.log"
        self.pop3_log = workdir / f"{name}-pop3.log"
        cfg["smtp"].setdefault("log_file", "")
        cfg["pop3"].setdefault("log_file", "")
        if not cfg["smtp"]["log_file"]:
            cfg["smtp"]["log_file"] = str(self.smtp_log)
        if not cfg["pop3"]["log_file"]:
            cfg["pop3"]["log_file"] = str(self.pop3_log)
        cfg["log_level"] = overrides.get("log_level", "debug")
        self.config = cfg
        self.config_path = workdir / f"{name}.json"
        self.config_path.write_text(json.dumps(cfg, indent=2))
        self.stderr_path = workdir / f"{name}.stderr"
        self.proc = None
        self.smtp_port = None
        self.pop3_port = None
        self.popen_extra = {}  # e.g. preexec_fn to set resource limits
        self.http_port = None

    def start(self, timeout=10.0):
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [str(BINARY), "--config", str(self.config_path)] + self.args,
            stdout=subprocess.PIPE, stderr=self._stderr, cwd=self.workdir, **self.popen_extra)
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line or self.proc.poll() is not None:
                break
        text = line.decode(errors="replace")
        if not text.startswith("mailnest ready"):
            self.stop()
            raise RuntimeError(f"mailnest did not start: {text!r} stderr={self.stderr_path.read_text()!r}")
        m = re.search(r"smtp=[^ ]*:(\d+)", text)
        self.smtp_port = int(m.group(1)) if m else None
        m = re.search(r"pop3=[^ ]*:(\d+)", text)
        self.pop3_port = int(m.group(1)) if m else None
        m = re.search(r"http=[^ ]*:(\d+)", text)
        self.http_port = int(m.group(1)) if m else None
        return self

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Stops the process; returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
        return self.proc.returncode

    def maildir(self, user):
        return self.mail_root / user

    def new_files(self, user):
        d = self.mail_root / user / "new"
        return sorted(d.iterdir()) if d.exists() else []

    def all_messages(self, user):
        out = []
        for sub in ("new", "cur"):
            d = self.mail_root / user / sub
            if d.exists():
                out.extend(sorted(d.iterdir()))
        return out

    def tmp_files(self, user):
        d = self.mail_root / user / "tmp"
        return sorted(d.iterdir()) if d.exists() else []

    def logs(self):
        """Both logs as text, after giving the writer thread a moment."""
        time.sleep(0.1)
        out = ""
        for p in (self.smtp_log, self.pop3_log, self.stderr_path):
            if p.exists():
                out += p.read_text(errors="replace")
        return out


@pytest.fixture
def mailnest_factory(tmp_path):
    started = []

    def make(mail_root=None, name=None, args=(), **overrides):
        mn = Mailnest(tmp_path, overrides, mail_root=mail_root, name=name or f"mn{len(started)}", args=args)
        started.append(mn)
        return mn.start()

    yield make
    for mn in started:
        mn.stop()


# --- External instance (lab scripts scripts/e2, scripts/e3) -------------------
# When MAILNEST_SMTP_PORT and MAILNEST_MAIL_ROOT (and for POP3 MAILNEST_POP3_PORT)
# are set, the `mailnest` fixture starts nothing: it points at the appliance the
# lab script started on fixed ports, so the script's tcpdump capture sees it.
# Each test still starts with empty mailboxes (message files of the previous
# test are removed) and logs() returns only what was logged during the test.
# mailnest_factory(...) always starts its own instance on port 0.
EXTERNAL_ENV = ("MAILNEST_SMTP_PORT", "MAILNEST_MAIL_ROOT")


class ExternalMailnest(Mailnest):
    def __init__(self):  # no config file written, no process started
        self.name = "external"
        self.mail_root = Path(os.environ["MAILNEST_MAIL_ROOT"])
        self.smtp_port = int(os.environ["MAILNEST_SMTP_PORT"] or 0) or None
        self.pop3_port = int(os.environ.get("MAILNEST_POP3_PORT") or 0) or None
        self.http_port = int(os.environ.get("MAILNEST_HTTP_PORT") or 0) or None
        cfg_path = os.environ.get("MAILNEST_CONFIG")
        self.config = json.loads(Path(cfg_path).read_text()) if cfg_path else base_config()
        self.config_path = Path(cfg_path) if cfg_path else None
        self.proc = None
        self._logs = [Path(p) for p in (os.environ.get("MAILNEST_SMTP_LOG"),
                                        os.environ.get("MAILNEST_POP3_LOG")) if p]
        for sub in ("new", "cur", "tmp"):
            for f in self.mail_root.glob(f"*/{sub}/*"):
                if f.is_file():
                    f.unlink()
        self._log_start = {p: (p.stat().st_size if p.exists() else 0) for p in self._logs}

    def start(self, timeout=10.0):
        return self

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        pytest.skip("this test stops the server: not possible against the external instance")

    def logs(self):
        if not self._logs:  # e.g. the compose tester: the servers log in their own containers
            pytest.skip("the external appliance's logs are not readable here (no MAILNEST_SMTP_LOG)")
        time.sleep(0.1)
        out = ""
        for p in self._logs:
            if p.exists():
                with open(p, "rb") as f:
                    f.seek(self._log_start[p])
                    out += f.read().decode(errors="replace")
        return out


@pytest.fixture
def mailnest(mailnest_factory):
    if all(os.environ.get(k) for k in EXTERNAL_ENV):
        return ExternalMailnest()
    return mailnest_factory()


def pytest_configure(config):
    if BINARY.exists():
        return
    if os.environ.get("MAILNEST_BINARY"):
        raise pytest.UsageError(f"MAILNEST_BINARY={BINARY} does not exist")
    # A fresh clone (`pytest -m e2` typed first): build the binary as
    # scripts/e2 does, with the build dependencies of scripts/install-deps.
    print(f"{BINARY} not built yet: running scripts/build (a few minutes the first time)",
          file=sys.stderr, flush=True)
    env = dict(os.environ, BUILD_DIR="build", BUILD_TARGETS="mailnest")
    r = subprocess.run([str(ROOT / "scripts" / "build")], cwd=ROOT, env=env)
    if r.returncode != 0 or not BINARY.exists():
        raise pytest.UsageError(f"building {BINARY} failed (exit {r.returncode}); "
                                "install the build dependencies with scripts/install-deps")
