"""scripts/mininet_relay_demo.py end to end, when this machine can run Mininet.

`mininet_relay_demo.py --check` says whether it can (root, Debian's mininet,
dnsmasq, tcpdump/tshark, and a 2-host probe network that really passes TCP);
if not, the test is skipped with that reason. Otherwise the whole lab must
pass: MX lookup and relay a.lab → b.lab, a deferral while mta-b is down and
the delivery once it is back, the null-MX bounce in the sender's mailbox,
and the pcap validated against the relay rules.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "scripts" / "mininet_relay_demo.py"
BINARY = os.environ.get("MAILNEST_BINARY") or str(ROOT / "build" / "mailnest")
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def test_mininet_relay_lab(tmp_path):
    check = subprocess.run([PY, str(LAB), "--check", "--binary", BINARY], capture_output=True, text=True, timeout=120)
    if check.returncode != 0:
        reason = check.stderr.strip() or check.stdout.strip() or f"exit {check.returncode}"
        print(reason)
        pytest.skip(reason)

    pcap = tmp_path / "mininet_relay.pcap"
    run = subprocess.run([PY, str(LAB), "--binary", BINARY, "--pcap", str(pcap)],
                         capture_output=True, text=True, timeout=300)
    print(run.stdout)
    print(run.stderr, file=sys.stderr)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "mininet relay lab OK" in run.stdout
    assert pcap.is_file() and pcap.stat().st_size > 24
    for step in ("mta-a: MX b.lab -> mta-b.b.lab, relayed", "reader <- mta-b POP3: the relayed message",
                 "mta-a: deferred (connection refused)", "mta-a: retried and delivered once mta-b was back",
                 "mta-a: null MX, bounced 556 5.1.10", "sender <- mta-a POP3: the bounce",
                 "validate_pcap --scenario relay"):
        assert f"[ok] {step}" in run.stdout
    assert "13/13 rules passed" in run.stdout
