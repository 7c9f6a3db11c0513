#!/usr/bin/python3
"""Mininet two-domain relay lab: MX lookup, store-and-forward, retry, bounce.

    sudo python3 scripts/mininet_relay_demo.py [--binary build/mailnest] [--pcap artifacts/pcap/mininet_relay.pcap]

Topology (one Linux bridge s21, no controller; network namespaces only):
    dns     10.0.0.53  dnsmasq: MX a.lab → mta-a.a.lab, MX b.lab → mta-b.b.lab,
                       null MX (RFC 7505) for nomail.lab
    mta-a   10.0.0.1   mailnest for a.lab, relay on for 10.0.0.0/24, DNS = dns,
                       retries compressed to 2..4 s; SMTP :25, POP3 :110
    mta-b   10.0.0.2   mailnest for b.lab; SMTP :25, POP3 :110
    sender  10.0.0.10  alice@a.lab: submits to mta-a, reads her bounces there
    reader  10.0.0.20  bob@b.lab: reads over POP3 from mta-b
The story: alice sends to bob@b.lab; mta-a asks dns for b.lab's MX and relays
to mta-b; the reader fetches it. mta-b is stopped: the next message is
deferred (connection refused), retried on the compressed schedule and
delivered once mta-b is back. A message to x@nomail.lab bounces at once
(556 5.1.10) into alice's mailbox on mta-a, and the sender fetches the
report over POP3. tcpdump captures mta-a's and the reader's switch ports
(every frame of the story crosses one of them exactly once), mergecap joins
them, and validate_pcap.py checks the MX queries, the relay sessions and the
bounce (--scenario relay in tools/pcap_rules/S08.json).

Needs root and Debian's mininet, dnsmasq, tcpdump, tshark. Exit 0 when every
step passed, 1 when one failed, 2 when the machine cannot run it. Reuses
scripts/mininet_demo.py's bridge, preflight and step printing.
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
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SELF = Path(__file__).resolve()
sys.path.insert(0, str(ROOT / "scripts"))
import mininet_demo as base  # noqa: E402  (the stock demo's helpers)

PY = base.PY
DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
SWITCH = "s21"
HOSTS = {"dns": "10.0.0.53", "mta-a": "10.0.0.1", "mta-b": "10.0.0.2", "sender": "10.0.0.10",
         "reader": "10.0.0.20"}
SMTP_PORT, POP3_PORT = 25, 110
PASSWORDS = {"alice": "alice-password", "bob": "bob-password"}
STEP_TIMEOUT = 60


# ----------------------------------------------------------------------------------
# Clients (run inside sender / reader by the lab itself)
# ----------------------------------------------------------------------------------
def client_send(args):
    import smtplib
    body = (f"From: alice@a.lab\r\nTo: {args.rcpt}\r\nSubject: relay lab {args.marker}\r\n"
            f"Message-ID: <{args.marker}@a.lab>\r\n\r\nfrom a.lab to {args.rcpt}\r\n")
    with smtplib.SMTP(args.server, SMTP_PORT, local_hostname="sender.a.lab", timeout=STEP_TIMEOUT) as s:
        refused = s.sendmail("alice@a.lab", [args.rcpt], body.encode())
    print(json.dumps({"sent": args.marker, "to": args.rcpt, "refused": refused}))
    if refused:
        raise SystemExit(f"refused: {refused}")


def client_fetch(args):
    import poplib
    p = poplib.POP3(args.server, POP3_PORT, timeout=STEP_TIMEOUT)
    p.user(args.user)
    p.pass_(PASSWORDS[args.user])
    count, _ = p.stat()
    found = None
    for num in range(1, count + 1):
        text = b"\n".join(p.retr(num)[1]).decode(errors="replace")
        if args.marker in text:
            found = text
            break
    p.quit()
    missing = [w for w in args.expect if found is None or w not in found]
    print(json.dumps({"user": args.user, "messages": count, "found": found is not None, "missing": missing}))
    if found is None or missing:
        raise SystemExit("message not found" if found is None else f"missing {missing}")


# ----------------------------------------------------------------------------------
# The lab (root namespace)
# ----------------------------------------------------------------------------------
def mta_config(work, name, domain, relay):
    with open(ROOT / "etc" / "mailnest.json") as f:
        cfg = json.load(f)
    ip = HOSTS[name]
    cfg.update(hostname=f"{name}.{domain}", mail_root=str(work / f"{name}-mail"), log_level="debug",
               local_domains=[domain])
    cfg["smtp"].update(listen=ip, port=SMTP_PORT, log_file=str(work / f"{name}-smtp.log"))
    cfg["pop3"].update(listen=ip, port=POP3_PORT, log_file=str(work / f"{name}-pop3.log"))
    cfg["http"]["enabled"] = False
    if relay:
        cfg["relay"].update(enabled=True, networks=["10.0.0.0/24"], dns_servers=[f"{HOSTS['dns']}:53"],
                            dns_timeout_ms=1000, minimal_backoff_s=2, maximal_backoff_s=4,
                            connect_timeout_s=5)
    path = work / f"{name}.json"
    path.write_text(json.dumps(cfg, indent=2))
    return path, cfg


class Lab:
    def __init__(self, net, work, binary, demo):
        self.net, self.work, self.binary, self.demo = net, work, binary, demo
        self.servers = {}  # name → (Popen, stderr file)

    def host(self, name):
        return self.net.get(name)

    def start_mta(self, name, config):
        errf = open(self.work / f"{name}.stderr", "ab")
        p = self.host(name).popen([str(self.binary), "--config", str(config)], stdout=subprocess.PIPE,
                                  stderr=errf, cwd=str(self.work))
        self.servers[name] = (p, errf)
        ready = base.Demo.wait_line(p.stdout, r"^mailnest ready", 10)
        return self.demo.step(f"{name} mailnest", ready is not None,
                              ready or (self.work / f"{name}.stderr").read_text(errors="replace")[-400:])

    def stop_mta(self, name):
        p, errf = self.servers.pop(name)
        rc = base.Demo.stop(p)
        errf.close()
        return self.demo.step(f"{name} stopped by SIGTERM", rc == 0, f"exit {rc}")

    def client(self, host, argv):
        p = self.host(host).popen([PY, str(SELF), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = p.communicate(timeout=STEP_TIMEOUT + 10)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            return False, "timed out " + err.decode(errors="replace")[-300:]
        text = (out + err).decode(errors="replace").strip()
        return p.returncode == 0, text[-400:]

    def log(self, name):
        path = self.work / f"{name}-smtp.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def mailbox_has(self, name, user, marker):
        root = self.work / f"{name}-mail" / user
        return any(marker.encode() in f.read_bytes() for sub in ("new", "cur") if (root / sub).is_dir()
                   for f in (root / sub).iterdir())


def wait_until(pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return pred()


def outcomes(log, rcpt):
    return re.findall(rf"to=<{re.escape(rcpt)}>, relay=.*?status=(\w+)", log)


def run_lab(args):
    from mininet.log import setLogLevel
    from mininet.net import Mininet
    from mininet.topo import Topo

    setLogLevel("warning")
    binary = Path(args.binary).resolve()
    pcap = Path(args.pcap).resolve()
    switch_cls, switch_desc = base.make_switch_class()
    port_of = {}

    class RelayTopo(Topo):
        def build(self):
            s = self.addSwitch(SWITCH)
            for n, (name, ip) in enumerate(HOSTS.items(), 1):
                self.addLink(self.addHost(name, ip=f"{ip}/24"), s)  # name ↔ s21-eth<n>
                port_of[name] = f"{SWITCH}-eth{n}"

    work = Path(tempfile.mkdtemp(prefix="mailnest-relay-lab."))
    os.chmod(work, 0o755)
    conf_a, _ = mta_config(work, "mta-a", "a.lab", relay=True)
    conf_b, _ = mta_config(work, "mta-b", "b.lab", relay=False)
    demo = base.Demo(args)
    net = Mininet(topo=RelayTopo(), switch=switch_cls, controller=None, autoSetMacs=True, waitConnected=False)
    lab = Lab(net, work, binary, demo)
    dumps, dns = [], None
    m1, m2, m3 = (f"rl-{uuid.uuid4().hex[:10]}" for _ in range(3))
    try:
        net.start()
        demo.step("topology", True, ", ".join(f"{n} {ip}" for n, ip in HOSTS.items()) + f" on {switch_desc}")

        # One capture of the story: mta-a's port (submissions, DNS, relay
        # sessions, the bounce fetched) and the reader's (POP3 from mta-b).
        for name in ("mta-a", "reader"):
            port = port_of[name]
            part = work / f"{port}.pcap"
            errf = open(work / f"{port}.tcpdump.err", "wb")
            p = subprocess.Popen(["tcpdump", "-i", port, "-n", "-U", "--immediate-mode", "-w", str(part),
                                  f"port 53 or tcp port {SMTP_PORT} or tcp port {POP3_PORT}"], stderr=errf)
            dumps.append((port, p, part, errf))
        listening = wait_until(lambda: all(b"listening on" in (work / f"{port}.tcpdump.err").read_bytes()
                                           for port, *_ in dumps), 10)
        if not demo.step("tcpdump on " + ", ".join(port for port, *_ in dumps), listening):
            return 1

        dns_err = open(work / "dnsmasq.err", "wb")
        dns = lab.host("dns").popen([
            DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
            "--port=53", f"--listen-address={HOSTS['dns']}", "--bind-interfaces", "--pid-file=", "--user=root",
            "--local=/lab/", "--log-queries", "--log-facility=-",
            "--mx-host=a.lab,mta-a.a.lab,10", "--mx-host=b.lab,mta-b.b.lab,10",
            f"--host-record=mta-a.a.lab,{HOSTS['mta-a']}", f"--host-record=mta-b.b.lab,{HOSTS['mta-b']}",
            "--dns-rr=nomail.lab,15,000000"], stdout=subprocess.DEVNULL, stderr=dns_err)
        time.sleep(0.5)
        if not demo.step("dns: dnsmasq with MX a.lab, b.lab and a null MX for nomail.lab", dns.poll() is None,
                         (work / "dnsmasq.err").read_text(errors="replace")[-300:]):
            return 1
        if not (lab.start_mta("mta-b", conf_b) and lab.start_mta("mta-a", conf_a)):
            return 1

        # 1. MX lookup and relay a → b, fetched over POP3 at b.
        ok, out = lab.client("sender", ["--client", "send", "--server", HOSTS["mta-a"], "--rcpt", "bob@b.lab",
                                        "--marker", m1])
        demo.step("sender -> mta-a: mail for bob@b.lab", ok, out)
        delivered = wait_until(lambda: lab.mailbox_has("mta-b", "bob", m1), 30)
        # mta-a logs the outcome once mta-b's 250 is read, which can be after
        # the file is in mta-b's mailbox (and the log has a writer thread).
        def sent_lines():
            return [ln for ln in lab.log("mta-a").splitlines() if "to=<bob@b.lab>" in ln and "status=sent" in ln]
        wait_until(lambda: bool(sent_lines()), 10)
        sent = sent_lines()
        demo.step("mta-a: MX b.lab -> mta-b.b.lab, relayed", delivered and bool(sent),
                  sent[0].split("] ", 1)[-1][:160] if sent else "no status=sent line")
        ok, out = lab.client("reader", ["--client", "fetch", "--server", HOSTS["mta-b"], "--user", "bob",
                                        "--marker", m1])
        demo.step("reader <- mta-b POP3: the relayed message", ok, out)

        # 2. mta-b down: deferred, retried on the compressed schedule, delivered once back.
        lab.stop_mta("mta-b")
        before = len(outcomes(lab.log("mta-a"), "bob@b.lab"))
        ok, out = lab.client("sender", ["--client", "send", "--server", HOSTS["mta-a"], "--rcpt", "bob@b.lab",
                                        "--marker", m2])
        demo.step("sender -> mta-a: mail for bob@b.lab while mta-b is down", ok, out)
        deferred = wait_until(lambda: "deferred" in outcomes(lab.log("mta-a"), "bob@b.lab")[before:], 30)
        demo.step("mta-a: deferred (connection refused), kept in its queue", deferred)
        if not lab.start_mta("mta-b", conf_b):
            return 1
        delivered = wait_until(lambda: lab.mailbox_has("mta-b", "bob", m2), 30)
        seen = outcomes(lab.log("mta-a"), "bob@b.lab")[before:]
        demo.step("mta-a: retried and delivered once mta-b was back", delivered and seen[-1:] == ["sent"],
                  " → ".join(seen))
        ok, out = lab.client("reader", ["--client", "fetch", "--server", HOSTS["mta-b"], "--user", "bob",
                                        "--marker", m2])
        demo.step("reader <- mta-b POP3: the retried message", ok, out)

        # 3. Null MX: bounced at once into alice's mailbox on mta-a.
        ok, out = lab.client("sender", ["--client", "send", "--server", HOSTS["mta-a"], "--rcpt", "x@nomail.lab",
                                        "--marker", m3])
        demo.step("sender -> mta-a: mail for x@nomail.lab", ok, out)
        bounced = wait_until(lambda: lab.mailbox_has("mta-a", "alice", m3), 30)
        demo.step("mta-a: null MX, bounced 556 5.1.10 to alice@a.lab", bounced and
                  "to=<x@nomail.lab>, relay=none" in lab.log("mta-a"))
        ok, out = lab.client("sender", ["--client", "fetch", "--server", HOSTS["mta-a"], "--user", "alice",
                                        "--marker", m3, "--expect", "report-type=delivery-status",
                                        "--expect", "Final-Recipient: rfc822; x@nomail.lab",
                                        "--expect", "Status: 5.1.10"])
        demo.step("sender <- mta-a POP3: the bounce (RFC 3464 report)", ok, out)
    finally:
        for name in list(lab.servers):
            lab.stop_mta(name)
        if dns is not None:
            base.Demo.stop(dns, signal.SIGTERM, 5)
        time.sleep(0.3)
        for port, p, part, errf in dumps:
            base.Demo.stop(p, signal.SIGINT, 10)
            errf.close()
        try:
            net.stop()
        except Exception as e:  # noqa: BLE001 - the lab result is reported below
            demo.step("mininet stop", False, repr(e))

    pcap.parent.mkdir(parents=True, exist_ok=True)
    parts = [str(part) for _, _, part, _ in dumps if part.exists()]
    r = subprocess.run(["mergecap", "-F", "pcap", "-w", str(pcap), *parts], capture_output=True, text=True,
                       timeout=60) if parts else None
    demo.step(f"pcap {pcap}", r is not None and r.returncode == 0 and pcap.exists(), r.stderr.strip() if r else "")
    if pcap.exists():
        r = subprocess.run([PY, str(ROOT / "tools" / "validate_pcap.py"), "--project", args.project,
                            "--scenario", "relay", "--pcap", str(pcap)], capture_output=True, text=True, timeout=300)
        print(r.stdout, end="")
        demo.step("validate_pcap --scenario relay", r.returncode == 0, r.stderr.strip())
    for name in ("mta-a", "mta-b"):
        lines = [ln.split("] ", 1)[-1] for ln in lab.log(name).splitlines()
                 if re.search(r"status=|queued as|fault|bounce", ln)]
        print(f"--- {name} log: {len(lines)} key lines")
        for ln in lines[:10]:
            print(f"    {ln[:170]}")
    if args.keep_logs:
        dest = pcap.parent.parent / "logs"
        dest.mkdir(parents=True, exist_ok=True)
        for name in ("mta-a", "mta-b"):
            if (work / f"{name}-smtp.log").exists():
                shutil.copy(work / f"{name}-smtp.log", dest / f"mininet-relay-{name}-smtp.log")
    if not os.environ.get("MN_DEMO_KEEP"):
        shutil.rmtree(work, ignore_errors=True)
    if demo.failed:
        print(f"mininet relay lab FAILED: {', '.join(demo.failed)}")
        return 1
    print("mininet relay lab OK")
    return 0


def preflight(binary):
    reason = base.preflight(binary)
    if reason:
        return reason
    if not os.path.exists(DNSMASQ):
        return "dnsmasq not found (Debian package dnsmasq-base)"
    return None


def cleanup_bridge():
    subprocess.run(["ip", "link", "del", "dev", SWITCH], capture_output=True, timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=base.default_binary())
    ap.add_argument("--pcap", default=str(ROOT / "artifacts" / "pcap" / "mininet_relay.pcap"))
    ap.add_argument("--project", default=os.environ.get("PROJECT_CODE", "S08"))
    ap.add_argument("--keep-logs", action="store_true", help="copy both MTAs' SMTP logs to artifacts/logs/")
    ap.add_argument("--check", action="store_true",
                    help="only say whether this machine can run the lab (a 2-host probe network)")
    ap.add_argument("--client", choices=("send", "fetch"), help=argparse.SUPPRESS)
    ap.add_argument("--server", help=argparse.SUPPRESS)
    ap.add_argument("--rcpt", help=argparse.SUPPRESS)
    ap.add_argument("--user", help=argparse.SUPPRESS)
    ap.add_argument("--marker", help=argparse.SUPPRESS)
    ap.add_argument("--expect", action="append", default=[], help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.client == "send":
        return client_send(args)
    if args.client == "fetch":
        return client_fetch(args)

    reason = preflight(args.binary)
    if reason:
        print(f"mininet relay lab cannot run here: {reason}", file=sys.stderr)
        return 2
    if args.check:
        reason = base.probe()
        if reason:
            print(f"mininet relay lab cannot run here: {reason}", file=sys.stderr)
            return 2
        print("mininet relay lab can run here")
        return 0
    try:
        return run_lab(args)
    except Exception as e:  # noqa: BLE001 - report, clean up, fail
        print(f"mininet relay lab FAILED: {e!r}", file=sys.stderr)
        cleanup_bridge()
        return 1


if __name__ == "__main__":
    sys.exit(main())
