#!/usr/bin/python3
"""Mininet demo: SMTP and POP3 servers on separate hosts over one mail root.

    sudo python3 scripts/mininet_demo.py [--binary build/mailnest] [--pcap artifacts/pcap/mininet_demo.pcap]

Topology (one Linux bridge s1, no controller, no Open vSwitch daemon):
    h1 10.0.0.1  SMTP server  mailnest --smtp-listen 10.0.0.1:2525 --pop3-listen off
    h2 10.0.0.2  sender       python3 smtplib, a message with dot-stuffed lines
    h3 10.0.0.3  POP3 server  mailnest --smtp-listen off --pop3-listen 10.0.0.3:2110
    h4 10.0.0.4  receiver     python3 poplib: USER/PASS, LIST, RETR, DELE, QUIT
h1 and h3 are the same binary and share one Maildir root (Mininet hosts are
network namespaces over one file system). tcpdump captures the switch ports of
the two servers (s1-eth1, s1-eth3: every SMTP/POP3 frame crosses exactly one
of them), mergecap joins them into the pcap, and validate_pcap.py checks it
(--scenario mininet). Prints the session ids and the mailbox from both logs;
exits non-zero if any step fails (2 when the machine cannot run Mininet).

Needs root and Debian's mininet, tcpdump, tshark (mergecap). With
bridge-utils installed the stock LinuxBridge (`--switch lxbr`) is used; without
brctl, an iproute2-driven subclass of it does the same.
The script re-runs itself on h2/h4 as the client (--client smtp|pop3).
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SELF = Path(__file__).resolve()
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
SMTP_IP, SENDER_IP, POP3_IP, RECEIVER_IP = "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"
SMTP_PORT, POP3_PORT = 2525, 2110
USER, PASSWORD = "bob", "bob-password"
STEP_TIMEOUT = 60


# ----------------------------------------------------------------------------------
# Clients (run inside h2 / h4 by the demo itself)
# ----------------------------------------------------------------------------------
def client_smtp(args):
    import smtplib

    class UpperSMTP(smtplib.SMTP):
        """smtplib sends lower-case verbs; send them as RFC 5321 writes them."""

        def putcmd(self, cmd, args=""):
            super().putcmd(cmd.upper(), args)

    body = (f"From: sender@example.org\r\nTo: {USER}@mailnest.local\r\n"
            f"Subject: mininet demo {args.marker}\r\nMessage-ID: <{args.marker}@example.org>\r\n\r\n"
            "Lines below start with a dot; smtplib dot-stuffs them on the wire.\r\n"
            ".one leading dot\r\n"
            "..two leading dots\r\n"
            ".\tdot and tab\r\n"
            "end\r\n")
    with UpperSMTP(args.server, args.port, local_hostname="h2.mininet", timeout=STEP_TIMEOUT) as s:
        code, _ = s.ehlo()
        if code != 250:
            raise SystemExit(f"EHLO refused: {code}")
        refused = s.sendmail("sender@example.org", [f"{USER}@mailnest.local"], body.encode())
        if refused:
            raise SystemExit(f"recipient refused: {refused}")
    print(json.dumps({"smtp": "sent", "marker": args.marker}))


def client_pop3(args):
    import poplib

    p = poplib.POP3(args.server, args.port, timeout=STEP_TIMEOUT)
    p.user(USER)
    p.pass_(PASSWORD)
    count, octets = p.stat()
    _, listing, _ = p.list()
    found = None
    for entry in listing:
        num = int(entry.split()[0])
        _, lines, _ = p.retr(num)
        if any(args.marker.encode() in ln for ln in lines):
            found = (num, lines)
            break
    if found is None:
        p.quit()
        raise SystemExit("message not found in the POP3 listing")
    num, lines = found
    # poplib removes the POP3 dot-stuffing; the lines must be as the sender wrote them.
    dots_ok = (b".one leading dot" in lines and b"..two leading dots" in lines
               and b".\tdot and tab" in lines)
    p.dele(num)
    p.quit()  # UPDATE state: the message is removed now
    p = poplib.POP3(args.server, args.port, timeout=STEP_TIMEOUT)
    p.user(USER)
    p.pass_(PASSWORD)
    after = p.stat()[0]
    p.quit()
    print(json.dumps({"pop3": "done", "stat_before": count, "octets": octets, "listed": len(listing),
                      "retrieved": num, "dot_lines_ok": dots_ok, "stat_after": after}))
    if not dots_ok or after != count - 1:
        raise SystemExit("dot-stuffed lines did not round-trip or DELE did not remove the message")


# ----------------------------------------------------------------------------------
# The demo (root namespace)
# ----------------------------------------------------------------------------------
class Demo:
    def __init__(self, args):
        self.args = args
        self.failed = []
        self.procs = []  # (name, Popen) we started; stopped in reverse order

    def step(self, name, ok, detail=""):
        print(f"[{'ok' if ok else 'FAIL'}] {name}" + (f": {detail}" if detail else ""), flush=True)
        if not ok:
            self.failed.append(name)
        return ok

    @staticmethod
    def wait_line(stream, pattern, timeout):
        """Reads lines from stream (in a thread) until one matches; returns it or None."""
        found = []

        def reader():
            for raw in iter(stream.readline, b""):
                line = raw.decode(errors="replace").rstrip("\n")
                if re.search(pattern, line):
                    found.append(line)
                    return

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t.join(timeout)
        return found[0] if found else None

    @staticmethod
    def stop(proc, sig=signal.SIGTERM, timeout=15):
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode


def make_switch_class():
    from mininet.nodelib import LinuxBridge
    from mininet.node import Switch

    if shutil.which("brctl"):
        return LinuxBridge, "LinuxBridge (brctl)"

    class IprouteLinuxBridge(LinuxBridge):
        """LinuxBridge driven by iproute2, for machines without bridge-utils."""

        @classmethod
        def setup(cls):
            if not shutil.which("ip"):
                raise RuntimeError("neither brctl (bridge-utils) nor ip (iproute2) found")

        def start(self, _controllers):
            self.cmd("ip link del dev", self, "2>/dev/null")
            self.cmd("ip link add name", self, "type bridge stp_state 0")
            for i in self.intfList():
                if self.name in i.name:
                    self.cmd("ip link set dev", i, "master", self)
                    self.cmd("ip link set dev", i, "up")
            self.cmd("ip link set dev", self, "up")

        def stop(self, deleteIntfs=True):
            self.cmd("ip link set dev", self, "down")
            self.cmd("ip link del dev", self)
            Switch.stop(self, deleteIntfs)

        def dpctl(self, *args):
            return self.cmd("bridge", *args)

    return IprouteLinuxBridge, "LinuxBridge via iproute2 (bridge-utils not installed)"


def run_demo(args):
    from mininet.log import setLogLevel
    from mininet.net import Mininet
    from mininet.topo import Topo

    setLogLevel("warning")
    binary = Path(args.binary).resolve()
    pcap = Path(args.pcap).resolve()
    switch_cls, switch_desc = make_switch_class()

    class DemoTopo(Topo):
        def build(self):
            s1 = self.addSwitch("s1")
            for n, ip in ((1, SMTP_IP), (2, SENDER_IP), (3, POP3_IP), (4, RECEIVER_IP)):
                self.addLink(self.addHost(f"h{n}", ip=f"{ip}/24"), s1)  # h<n> ↔ s1-eth<n>

    work = Path(tempfile.mkdtemp(prefix="mailnest-mininet."))
    os.chmod(work, 0o755)
    mail_root = work / "mail"
    logs = {"smtp": work / "h1-smtp.log", "pop3": work / "h3-pop3.log"}
    with open(ROOT / "etc" / "mailnest.json") as f:
        cfg = json.load(f)
    cfg.update(mail_root=str(mail_root), log_level="debug")
    cfg["smtp"]["log_file"] = str(logs["smtp"])
    cfg["pop3"]["log_file"] = str(logs["pop3"])
    config = work / "mailnest.json"
    config.write_text(json.dumps(cfg, indent=2))

    demo = Demo(args)
    net = Mininet(topo=DemoTopo(), switch=switch_cls, controller=None, autoSetMacs=True,
                  waitConnected=False)
    dumps = []
    servers = {}
    marker = f"mn-{uuid.uuid4().hex[:12]}"
    try:
        net.start()
        h1, h2, h3, h4 = (net.get(f"h{i}") for i in range(1, 5))
        demo.step("topology", True, f"h1 {SMTP_IP} smtp, h2 {SENDER_IP} sender, h3 {POP3_IP} pop3, "
                                    f"h4 {RECEIVER_IP} receiver on s1 = {switch_desc}")
        if shutil.which("ping"):  # iputils-ping is optional; the TCP steps prove reachability too
            for src, dst in ((h2, h1), (h4, h3)):
                out = src.cmd(f"ping -c1 -W2 {dst.IP()}")
                if not demo.step(f"ping {src.name} -> {dst.name}", " 0% packet loss" in out):
                    return 1

        # Capture on the servers' switch ports (root namespace).
        for port in ("s1-eth1", "s1-eth3"):
            part = work / f"{port}.pcap"
            errf = open(work / f"{port}.tcpdump.err", "wb")
            p = subprocess.Popen(["tcpdump", "-i", port, "-n", "-U", "--immediate-mode", "-w", str(part),
                                  f"tcp port {SMTP_PORT} or tcp port {POP3_PORT}"],
                                 stderr=errf)
            dumps.append((port, p, part, errf))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(
                b"listening on" in (work / f"{port}.tcpdump.err").read_bytes() for port, *_ in dumps):
            time.sleep(0.05)
        if not demo.step("tcpdump on s1-eth1, s1-eth3", all(
                b"listening on" in (work / f"{port}.tcpdump.err").read_bytes() for port, *_ in dumps)):
            return 1

        # Same binary, one listener each, one mail root.
        for name, host, flags in (
                ("smtp", h1, ["--smtp-listen", f"{SMTP_IP}:{SMTP_PORT}", "--pop3-listen", "off"]),
                ("pop3", h3, ["--smtp-listen", "off", "--pop3-listen", f"{POP3_IP}:{POP3_PORT}"])):
            errf = open(work / f"{host.name}.stderr", "wb")
            p = host.popen([str(binary), "--config", str(config), *flags], stdout=subprocess.PIPE,
                           stderr=errf, cwd=str(work))
            servers[name] = (p, errf)
            ready = Demo.wait_line(p.stdout, r"^mailnest ready", 10)
            if not demo.step(f"{host.name} {name} server", ready is not None, ready or
                             (work / f"{host.name}.stderr").read_text(errors="replace")[-500:]):
                return 1

        # h2 sends, over SMTP to h1.
        out, err, rc = run_client(h2, ["--client", "smtp", "--server", SMTP_IP, "--port", str(SMTP_PORT),
                                       "--marker", marker])
        if not demo.step("h2 -> h1 SMTP send (dot-stuffed lines)", rc == 0, (out + err).strip()[-400:]):
            return 1
        new = sorted((mail_root / USER / "new").glob("*")) if (mail_root / USER / "new").is_dir() else []
        demo.step(f"Maildir {USER}/new has the message", len(new) == 1,
                  f"{len(new)} file(s), {sum(f.stat().st_size for f in new)} bytes")

        # h4 lists, retrieves and deletes it, over POP3 from h3.
        out, err, rc = run_client(h4, ["--client", "pop3", "--server", POP3_IP, "--port", str(POP3_PORT),
                                       "--marker", marker])
        demo.step("h4 <- h3 POP3 USER/PASS/LIST/RETR/DELE/QUIT", rc == 0, (out + err).strip()[-400:])
        left = [f for sub in ("new", "cur") for f in (mail_root / USER / sub).glob("*")]
        demo.step(f"Maildir {USER} empty after DELE+QUIT", not left, f"{len(left)} file(s) left")
    finally:
        for name, (p, errf) in servers.items():
            rc = Demo.stop(p)
            errf.close()
            demo.step(f"{name} server stopped by SIGTERM", rc == 0, f"exit {rc}")
        time.sleep(0.3)
        for port, p, part, errf in dumps:
            Demo.stop(p, signal.SIGINT, 10)
            errf.close()
        try:
            net.stop()
        except Exception as e:  # noqa: BLE001 - the demo result is reported below
            demo.step("mininet stop", False, repr(e))

    # Merge the two port captures into the deliverable pcap.
    pcap.parent.mkdir(parents=True, exist_ok=True)
    parts = [str(part) for _, _, part, _ in dumps if part.exists()]
    if parts:
        r = subprocess.run(["mergecap", "-F", "pcap", "-w", str(pcap), *parts],
                           capture_output=True, text=True, timeout=60)
        demo.step(f"pcap {pcap}", r.returncode == 0 and pcap.exists(), r.stderr.strip())
    else:
        demo.step("pcap", False, "no capture files")

    # Session ids and mailbox, from both logs (verbs, peers and codes only).
    time.sleep(0.1)
    for name, path in logs.items():
        text = path.read_text(errors="replace") if path.exists() else ""
        # "<time> <component> <level> [<session>] text"; "[-]" is the listener itself.
        sessions = sorted(set(re.findall(r"^\S+ \S+ \S+ \[([^\]\s]+)\]", text, re.M)) - {"-"})
        mailbox_lines = [ln for ln in text.splitlines() if re.search(rf"\b{USER}\b", ln)]
        key = re.compile(rf"RCPT TO:<{USER}@|queued as|user={USER} .*(login ok|maildrop open|command "
                         r"(LIST|RETR|DELE|QUIT)|reply \+OK.*(bye|signing off|deleted|removed))", re.I)
        shown = [ln for ln in text.splitlines() if key.search(ln)] or mailbox_lines
        print(f"--- {name} log ({path.name}, {len(text.splitlines())} lines): mailbox {USER}, "
              f"sessions: {', '.join(sessions) or '-'}")
        for ln in shown[:12]:
            print(f"    {ln}")
        demo.step(f"{name} log names session ids and mailbox {USER}", bool(sessions) and bool(mailbox_lines))
    if args.keep_logs:
        dest = pcap.parent.parent / "logs"
        dest.mkdir(parents=True, exist_ok=True)
        for name, path in logs.items():
            if path.exists():
                shutil.copy(path, dest / f"mininet-{path.name}")

    if pcap.exists():
        r = subprocess.run([PY, str(ROOT / "tools" / "validate_pcap.py"), "--project", args.project,
                            "--scenario", "mininet", "--pcap", str(pcap)],
                           capture_output=True, text=True, timeout=300)
        print(r.stdout, end="")
        demo.step("validate_pcap --scenario mininet", r.returncode == 0, r.stderr.strip())
    if not os.environ.get("MN_DEMO_KEEP"):  # keep the work dir for debugging
        shutil.rmtree(work, ignore_errors=True)

    if demo.failed:
        print(f"mininet demo FAILED: {', '.join(demo.failed)}")
        return 1
    print("mininet demo OK")
    return 0


def run_client(host, argv):
    p = host.popen([PY, str(SELF), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=STEP_TIMEOUT + 10)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return out.decode(errors="replace"), "timed out\n" + err.decode(errors="replace"), 124
    return out.decode(errors="replace"), err.decode(errors="replace"), p.returncode


def preflight(binary):
    """Returns None when the machine can run the demo, else the reason."""
    if os.geteuid() != 0:
        return "Mininet needs root"
    try:
        import mininet.net  # noqa: F401  (only: is it installed?)
    except ImportError:
        return "Debian package mininet (python3 module) not installed"
    for tool in ("mnexec", "tcpdump", "mergecap", "tshark", "ip"):
        if not shutil.which(tool):
            return f"{tool} not found (Debian packages: mininet, tcpdump, tshark, iproute2)"
    if not Path(binary).is_file():
        return f"{binary} not built (meson setup build && ninja -C build)"
    return None


def probe():
    """Brings up h1, h2 on a LinuxBridge and opens one TCP connection; returns None or the reason."""
    from mininet.log import setLogLevel
    from mininet.net import Mininet
    from mininet.topo import Topo

    setLogLevel("critical")
    switch_cls, _ = make_switch_class()

    class Two(Topo):
        def build(self):
            s1 = self.addSwitch("s1")
            for n in (1, 2):
                self.addLink(self.addHost(f"h{n}", ip=f"10.0.0.{n}/24"), s1)

    try:
        net = Mininet(topo=Two(), switch=switch_cls, controller=None, autoSetMacs=True, waitConnected=False)
    except Exception as e:  # noqa: BLE001
        return f"cannot build a Mininet network: {e!r}"
    try:
        net.start()
        h1, h2 = net.get("h1", "h2")
        srv = h1.popen([PY, "-c", "import socket; s=socket.create_server(('10.0.0.1', 2599)); "
                        "s.settimeout(20); print('up', flush=True); c,_=s.accept(); c.sendall(b'hi'); c.close()"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if Demo.wait_line(srv.stdout, "^up", 10) is None:
            Demo.stop(srv, signal.SIGKILL)
            return "cannot start a process inside a Mininet host"
        cli = h2.popen([PY, "-c", "import socket; c=socket.create_connection(('10.0.0.1', 2599), timeout=10); "
                        "print(c.recv(10).decode())"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = cli.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            cli.kill()
            out, err = cli.communicate()
        Demo.stop(srv, signal.SIGKILL, 5)
        if b"hi" not in out:
            return f"no TCP connectivity between Mininet hosts: {err.decode(errors='replace')[-300:]}"
        return None
    except Exception as e:  # noqa: BLE001
        return f"Mininet network does not work here: {e!r}"
    finally:
        try:
            net.stop()
        except Exception:  # noqa: BLE001
            subprocess.run(["ip", "link", "del", "dev", "s1"], capture_output=True, timeout=30)


def default_binary():
    if os.environ.get("MAILNEST_BINARY"):
        return os.environ["MAILNEST_BINARY"]
    return str(ROOT / "build" / "mailnest")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=default_binary())
    ap.add_argument("--pcap", default=str(ROOT / "artifacts" / "pcap" / "mininet_demo.pcap"))
    ap.add_argument("--project", default=os.environ.get("PROJECT_CODE", "S08"))
    ap.add_argument("--keep-logs", action="store_true", help="copy both logs to artifacts/logs/")
    ap.add_argument("--check", action="store_true",
                    help="only say whether this machine can run the demo (brings up a 2-host probe network)")
    ap.add_argument("--client", choices=("smtp", "pop3"), help=argparse.SUPPRESS)
    ap.add_argument("--server", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--marker", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.client == "smtp":
        return client_smtp(args)
    if args.client == "pop3":
        return client_pop3(args)

    reason = preflight(args.binary)
    if reason:
        print(f"mininet demo cannot run here: {reason}", file=sys.stderr)
        return 2
    if args.check:
        reason = probe()
        if reason:
            print(f"mininet demo cannot run here: {reason}", file=sys.stderr)
            return 2
        print("mininet demo can run here")
        return 0
    try:
        return run_demo(args)
    except Exception as e:  # noqa: BLE001 - report, clean up, fail
        print(f"mininet demo FAILED: {e!r}", file=sys.stderr)
        # Our bridge may be left over when Mininet failed half-way; its veths go with it.
        subprocess.run(["ip", "link", "del", "dev", "s1"], capture_output=True, timeout=30)
        return 1


if __name__ == "__main__":
    sys.exit(main())
