"""scripts/mininet_demo.py end to end, when this machine can run Mininet.

`mininet_demo.py --check` says whether it can (root, Debian's mininet,
tcpdump/tshark, and a 2-host probe network that really passes TCP); if not,
the test is skipped with that reason. Otherwise the whole demo must pass.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scripts" / "mininet_demo.py"
BINARY = os.environ.get("MAILNEST_BINARY") or str(ROOT / "build" / "mailnest")
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def test_mininet_demo(tmp_path):
    check = subprocess.run([PY, str(DEMO), "--check", "--binary", BINARY],
                           capture_output=True, text=True, timeout=120)
    if check.returncode != 0:
        reason = (check.stderr.strip() or check.stdout.strip() or f"exit {check.returncode}")
        print(reason)
        pytest.skip(reason)

    pcap = tmp_path / "mininet_demo.pcap"
    run = subprocess.run([PY, str(DEMO), "--binary", BINARY, "--pcap", str(pcap)],
                         capture_output=True, text=True, timeout=300)
    print(run.stdout)
    print(run.stderr, file=sys.stderr)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "mininet demo OK" in run.stdout
    assert pcap.is_file() and pcap.stat().st_size > 24  # more than a pcap header
    for step in ("h2 -> h1 SMTP send", "h4 <- h3 POP3", "validate_pcap --scenario mininet"):
        assert f"[ok] {step}" in run.stdout
    # Session ids from both logs are printed.
    assert run.stdout.count("sessions: ") == 2 and "sessions: -" not in run.stdout
