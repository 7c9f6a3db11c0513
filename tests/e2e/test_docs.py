"""The documents a newcomer reads: the architecture map stays short, the
measurements live in one table in docs/PERFORMANCE.md, and the repository
speaks of the project only (no work-log vocabulary about who wrote it when).
"""
import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]

# Phrases of a work log, not of the project ("at the stop of", "closing
# note", "the sixth session"). SMTP and POP3 sessions are project words, so
# only the log's own phrasings are refused.
WORK_LOG = re.compile(
    r"closing notes?|\bthis stop\b|\bthe stop of\b|\bstops \d+(-\d+)?\b"
    r"|\b(fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth)[- ]session\b",
    re.IGNORECASE)


def tracked_text_files():
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    for name in out.stdout.splitlines():
        p = ROOT / name
        if p.suffix in {".md", ".cc", ".h", ".py", ".sh", ".json", ".yaml", ".txt", ".ini", ".go"} or \
                p.parent.name == "scripts":
            if p.is_file():
                yield p


def test_architecture_is_a_short_map():
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    assert len(text.splitlines()) <= 150
    for heading in ("## Layers", "## Contracts", "## Delivery journal", "## Decisions"):
        assert heading in text


def test_performance_history_is_one_dated_table():
    text = (ROOT / "docs" / "PERFORMANCE.md").read_text()
    header = "| date | idea | measured effect | kept | why |"
    assert text.count(header) == 1
    rows = text.split(header, 1)[1].splitlines()[2:]
    rows = [r for r in rows if r.startswith("|")]
    assert len(rows) >= 20
    for r in rows:
        cells = [c.strip() for c in r.strip("|").split("|")]
        assert len(cells) == 5, r
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", cells[0]), r


def test_repository_speaks_of_the_project_only():
    hits = []
    for p in tracked_text_files():
        if p.name == "test_docs.py":
            continue
        for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1):
            if WORK_LOG.search(line):
                hits.append(f"{p.relative_to(ROOT)}:{n}: {line.strip()[:120]}")
    assert not hits, "\n".join(hits)
