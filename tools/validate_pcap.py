#!/usr/bin/env python3
"""Checks a capture against a project's pcap rules.

    python3 tools/validate_pcap.py --project S08 --pcap artifacts/pcap/traffic_e2.pcap
                                     [--scenario e2|e3] [--rules-dir DIR]

The rules live in RULES_DIR/<PROJECT>.json:
    {"rules": [{"id": "R1", "applies_to": ["e2"], "filter": "<tshark display filter>",
                "op": ">=", "value": 1, "description": "..."}]}
For each rule that applies to the scenario the validator runs
    tshark -r PCAP -Y FILTER -T fields -e frame.number
counts the frames, compares the count with op/value and prints a table.

Exit codes: 0 every rule passed, 1 at least one rule failed (or its filter
was rejected by tshark), 2 usage problem (tshark missing, no pcap, bad rules).
Only frame numbers are read from tshark, never payloads, so nothing from the
capture (message bodies, passwords) ends up in the output.
"""
import argparse
import json
import operator
import os
import shutil
import subprocess
import sys
from pathlib import Path

OPS = {
    ">=": operator.ge, ">": operator.gt, "==": operator.eq,
    "<=": operator.le, "<": operator.lt, "!=": operator.ne,
}
DEFAULT_RULES_DIR = Path(__file__).resolve().parent / "pcap_rules"
TSHARK_TIMEOUT_S = 120


def die(msg):
    print(f"validate_pcap: {msg}", file=sys.stderr)
    sys.exit(2)


def load_rules(rules_dir, project, scenario):
    path = Path(rules_dir) / f"{project}.json"
    if not path.is_file():
        die(f"no rules file {path} for project {project}")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        die(f"cannot read {path}: {e}")
    rules = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(rules, list) or not rules:
        die(f"{path}: expected an object with a non-empty \"rules\" list")
    picked = []
    for i, r in enumerate(rules):
        for key in ("id", "filter"):
            if not isinstance(r.get(key), str) or not r[key]:
                die(f"{path}: rule #{i + 1} needs a string \"{key}\"")
        op = r.get("op", ">=")
        if op not in OPS:
            die(f"{path}: rule {r['id']}: unknown op {op!r} (use one of {' '.join(OPS)})")
        if not isinstance(r.get("value", 1), int):
            die(f"{path}: rule {r['id']}: \"value\" must be an integer")
        applies = r.get("applies_to", r.get("scenario"))
        if isinstance(applies, str):
            applies = [applies]
        if applies is None or scenario in applies:
            picked.append({"id": r["id"], "filter": r["filter"], "op": op,
                           "value": r.get("value", 1), "description": r.get("description", "")})
    if not picked:
        die(f"{path}: no rule applies to scenario {scenario!r}")
    return picked


def count_frames(tshark, pcap, display_filter):
    """Returns (count, error). error is None when tshark accepted the filter."""
    cmd = [tshark, "-n", "-r", str(pcap), "-Y", display_filter, "-T", "fields", "-e", "frame.number"]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=TSHARK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return 0, f"tshark timed out after {TSHARK_TIMEOUT_S}s"
    if p.returncode != 0:
        err = " ".join(line for line in p.stderr.splitlines() if "Running as user" not in line)
        return 0, f"tshark exit {p.returncode}: {err.strip()[:300]}"
    return sum(1 for line in p.stdout.splitlines() if line.strip()), None


def main(argv=None):
    ap = argparse.ArgumentParser(description="Validate a pcap against tshark display-filter rules.")
    ap.add_argument("--project", required=True, help="rules file name, e.g. S08")
    ap.add_argument("--pcap", required=True, help="capture file to check")
    ap.add_argument("--scenario", default="e2", help="which rules apply (applies_to); default e2")
    ap.add_argument("--rules-dir", default=str(DEFAULT_RULES_DIR), help="folder with <PROJECT>.json")
    args = ap.parse_args(argv)

    tshark = shutil.which(os.environ.get("TSHARK", "tshark"))
    if not tshark:
        die("tshark not found: install it with `apt-get install tshark` (Debian)")
    pcap = Path(args.pcap)
    if not pcap.is_file():
        die(f"pcap {pcap} does not exist")
    rules = load_rules(args.rules_dir, args.project, args.scenario)

    total = None
    n, err = count_frames(tshark, pcap, "frame")
    if err:
        die(f"cannot read {pcap}: {err}")
    total = n

    rows = []
    failed = 0
    for r in rules:
        count, err = count_frames(tshark, pcap, r["filter"])
        ok = err is None and OPS[r["op"]](count, r["value"])
        failed += not ok
        rows.append((r["id"], r["filter"], str(count), f"{r['op']} {r['value']}",
                     "PASS" if ok else "FAIL", err or ""))

    print(f"project {args.project}  scenario {args.scenario}  pcap {pcap}  frames {total}")
    headers = ("ID", "FILTER", "COUNT", "EXPECT", "RESULT")
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row[:5], widths)).rstrip())
        if row[5]:
            print(f"    error: {row[5]}")
    print(f"{len(rows) - failed}/{len(rows)} rules passed" + ("" if not failed else f", {failed} FAILED"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
