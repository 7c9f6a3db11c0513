"""tools/validate_pcap.py: rules, table, exit codes.

The main test captures real traffic with tcpdump on lo while talking SMTP to
an instance started by the fixture (root + tcpdump needed, else skipped), and
checks it with a rules file written here for that instance's port, including
a rule that must fail. The other tests use a pcap built byte by byte here, so
they need tshark only.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = ROOT / "tools" / "validate_pcap.py"
PY = sys.executable

needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")


def run_validator(*args, env=None):
    return subprocess.run([PY, str(VALIDATOR), *args], capture_output=True, text=True,
                          timeout=120, env=env)


def write_rules(d: Path, rules, project="T01"):
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{project}.json").write_text(json.dumps({"project": project, "rules": rules}))
    return d


def tcp_frame(sport, dport, flags, payload=b""):
    """Ethernet/IPv4/TCP frame 127.0.0.1 → 127.0.0.1 (checksums are not verified by tshark)."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0,
                     bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
    eth = b"\x00" * 12 + b"\x08\x00"
    return eth + ip + tcp


def write_pcap(path: Path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # DLT_EN10MB
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1_700_000_000 + i, 0, len(fr), len(fr)))
            f.write(fr)
    return path


@pytest.fixture
def synthetic_pcap(tmp_path):
    syn, ack, psh = 0x02, 0x10, 0x08
    return write_pcap(tmp_path / "synthetic.pcap", [
        tcp_frame(40000, 2525, syn),
        tcp_frame(2525, 40000, syn | ack),
        tcp_frame(40000, 2525, ack | psh, b"EHLO client.example\r\n"),
        tcp_frame(40000, 2525, ack | psh, b"MAIL FROM:<a@example.org>\r\n"),
        tcp_frame(40000, 2525, ack | psh, b"body\r\n..dot-stuffed\r\n.\r\n"),
    ])


@needs_tshark
def test_synthetic_pcap_counts_and_scenarios(tmp_path, synthetic_pcap):
    rules = write_rules(tmp_path / "rules", [
        {"id": "A1", "applies_to": ["x"], "filter": "tcp.dstport==2525 && tcp.flags.syn==1 && tcp.flags.ack==0",
         "op": "==", "value": 1},
        {"id": "A2", "applies_to": ["x", "y"], "filter": "frame contains \"EHLO\"", "op": ">=", "value": 1},
        {"id": "A3", "applies_to": ["x"], "filter": "tcp.port==2525 && frame contains \"\\r\\n.\\r\\n\"",
         "op": ">=", "value": 1},
        {"id": "B1", "applies_to": ["y"], "filter": "frame contains \"RCPT TO\"", "op": ">=", "value": 1},
    ])
    ok = run_validator("--project", "T01", "--rules-dir", str(rules), "--pcap", str(synthetic_pcap),
                       "--scenario", "x")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "3/3 rules passed" in ok.stdout
    assert "B1" not in ok.stdout  # not in scenario x
    for rid in ("A1", "A2", "A3"):
        assert any(line.startswith(rid) and line.rstrip().endswith("PASS") for line in ok.stdout.splitlines())

    bad = run_validator("--project", "T01", "--rules-dir", str(rules), "--pcap", str(synthetic_pcap),
                        "--scenario", "y")
    assert bad.returncode == 1
    line = next(line for line in bad.stdout.splitlines() if line.startswith("B1"))
    assert "0" in line.split() and line.rstrip().endswith("FAIL")


@needs_tshark
def test_shipped_s08_rules_on_synthetic_pcap(synthetic_pcap):
    # The synthetic capture has no RCPT TO / DATA, so R4/R5 fail and R1-R3, R6, R17 pass.
    r = run_validator("--project", "S08", "--pcap", str(synthetic_pcap))
    assert r.returncode == 1
    status = {line.split()[0]: line.split()[-1] for line in r.stdout.splitlines()
              if line[:1] == "R" and line.split()[0][1:].isdigit()}
    assert status == {"R1": "PASS", "R2": "PASS", "R3": "PASS", "R4": "FAIL", "R5": "FAIL", "R6": "PASS",
                      "R17": "PASS"}


@needs_tshark
def test_bad_filter_fails_the_rule(tmp_path, synthetic_pcap):
    rules = write_rules(tmp_path / "rules", [
        {"id": "Z1", "filter": "this is not a filter ((", "op": ">=", "value": 0}])
    r = run_validator("--project", "T01", "--rules-dir", str(rules), "--pcap", str(synthetic_pcap))
    assert r.returncode == 1
    assert "error: tshark exit" in r.stdout


def test_missing_pcap_exits_2(tmp_path):
    r = run_validator("--project", "S08", "--pcap", str(tmp_path / "nope.pcap"))
    assert r.returncode == 2
    assert "does not exist" in r.stderr


def test_missing_tshark_exits_2(tmp_path, synthetic_pcap):
    env = dict(os.environ, TSHARK=str(tmp_path / "no-such-tshark"))
    r = run_validator("--project", "S08", "--pcap", str(synthetic_pcap), env=env)
    assert r.returncode == 2
    assert "tshark not found" in r.stderr


def test_unknown_project_exits_2(synthetic_pcap):
    r = run_validator("--project", "NOPE", "--pcap", str(synthetic_pcap))
    assert r.returncode == 2


@needs_tshark
@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
@pytest.mark.skipif(os.geteuid() != 0, reason="capturing on lo needs root")
def test_validator_on_a_real_capture(tmp_path, mailnest):
    port = mailnest.smtp_port
    pcap = tmp_path / "real.pcap"
    err = open(tmp_path / "tcpdump.err", "wb")
    dump = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-U", "--immediate-mode", "-w", str(pcap), f"tcp port {port}"],
                            stderr=err)
    try:
        deadline = time.monotonic() + 10
        while b"listening on" not in (tmp_path / "tcpdump.err").read_bytes():
            assert dump.poll() is None, (tmp_path / "tcpdump.err").read_text()
            assert time.monotonic() < deadline, "tcpdump did not start"
            time.sleep(0.05)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            f = s.makefile("rb")
            assert f.readline().startswith(b"220")
            s.sendall(b"EHLO validator.test\r\n")
            while (line := f.readline())[3:4] == b"-":
                pass
            assert line.startswith(b"250")
            s.sendall(b"QUIT\r\n")
            assert f.readline().startswith(b"221")
            f.close()
        time.sleep(0.3)
    finally:
        dump.send_signal(signal.SIGINT)
        try:
            dump.wait(timeout=10)
        except subprocess.TimeoutExpired:
            dump.kill()
            dump.wait()
        err.close()

    rules = write_rules(tmp_path / "rules", [
        {"id": "C1", "filter": f"tcp.dstport=={port} && tcp.flags.syn==1 && tcp.flags.ack==0",
         "op": ">=", "value": 1},
        {"id": "C2", "filter": f"tcp.srcport=={port} && frame contains \"220\"", "op": ">=", "value": 1},
        {"id": "C3", "filter": f"tcp.dstport=={port} && frame contains \"EHLO\"", "op": "==", "value": 1},
        {"id": "C4", "filter": f"tcp.dstport=={port} && frame contains \"QUIT\"", "op": ">=", "value": 1},
    ])
    ok = run_validator("--project", "T01", "--rules-dir", str(rules), "--pcap", str(pcap))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "4/4 rules passed" in ok.stdout

    # A rule that cannot hold on this capture makes the run fail.
    write_rules(tmp_path / "rules", [
        {"id": "C1", "filter": f"tcp.dstport=={port} && tcp.flags.syn==1", "op": ">=", "value": 1},
        {"id": "F1", "filter": f"tcp.port=={port} && frame contains \"RCPT TO\"", "op": ">=", "value": 1},
    ])
    bad = run_validator("--project", "T01", "--rules-dir", str(rules), "--pcap", str(pcap))
    assert bad.returncode != 0
    assert "1/2 rules passed, 1 FAILED" in bad.stdout
