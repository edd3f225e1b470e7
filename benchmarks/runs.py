"""Benchmark results as data: each run of loader_bench.py / remote_bench.py writes
``benchmarks/runs/<date>-<name>/results.json`` (the results, the command that made them, the
machine, the versions), and reports are generated from those files (loader_peers_report.py).
pack_read.sh records its runs as ``<date>-pack`` through pack_report.py, which also renders
them. Standard library only."""

from __future__ import annotations

import datetime
import json
import os
import shlex
import sys
import textwrap
from pathlib import Path

from machine import machine

RUNS = Path(os.environ.get("HEXZ_BENCH_RUNS", Path(__file__).resolve().parent / "runs"))
DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def command_line(make_target: str, env_vars: list[str]) -> str:
    """The command as a user would retype it: the benchmark's variables that are set, then
    the make target, e.g. ``LOADER_BENCH_SAMPLES=20000 make bench-loader``."""
    bits = [f"{k}={shlex.quote(os.environ[k])}" for k in env_vars if k in os.environ]
    return " ".join([*bits, make_target])


def write_run(name: str, results: dict, command: str, started: datetime.datetime) -> Path:
    """Writes ``runs/<started>-<name>/results.json``; returns the directory."""
    d = RUNS / f"{started:%Y-%m-%d-%H%M}-{name}"
    d.mkdir(parents=True, exist_ok=True)
    doc = {
        "name": name,
        "started": started.isoformat(),
        "command": command,
        "argv": sys.argv,
        "machine": machine(),
        "load_avg": os.getloadavg(),
        **results,
    }
    (d / "results.json").write_text(json.dumps(doc, indent=1, default=str) + "\n")
    return d


def latest(name: str) -> tuple[Path, dict] | None:
    """The newest run called ``name`` (by directory name, i.e. start time), or None."""
    found = sorted(RUNS.glob(f"*-{name}/results.json")) if RUNS.exists() else []
    found = [p for p in found if p.parent.name[16:] == name]  # "YYYY-MM-DD-HHMM-" + name
    if not found:
        return None
    p = found[-1]
    return p.parent, json.loads(p.read_text())


def tsv_row(row: dict, cols: list[str]) -> str:
    """One line of a results.tsv: ``row``'s ``cols`` tab-separated (floats to 6 significant
    digits, a missing column empty)."""
    cells = (
        f"{row[c]:.6g}" if isinstance(row.get(c), float) else str(row.get(c, "")) for c in cols
    )
    return "\t".join(cells) + "\n"


def update_docs_from_latest(name: str, heading: str, section) -> None:
    """Regenerates ``heading``'s section of docs/benchmarks.md as ``section(run_dir, doc)`` of
    the newest run called ``name``; exits with a message when there is none."""
    found = latest(name)
    if found is None:
        sys.exit(f"no runs/*-{name} run")
    replace_section(heading, section(*found))
    print(f"updated {DOC} ({heading!r}) from {found[0].name}")


def replace_section(heading: str, body: str, keep: str | None = None, doc: Path = DOC) -> None:
    """Puts ``body`` (which starts with ``heading``) in ``doc`` in place of the section under
    ``heading``: up to the next heading of the same or a higher level, or up to the line
    ``keep`` when it comes first (hand-written analysis kept under the generated part). A
    section not there yet is appended."""
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    body = body.rstrip("\n") + "\n"
    if heading not in text:
        doc.write_text(text.rstrip("\n") + "\n\n" + body)
        return
    start = text.index(heading)
    level = len(heading) - len(heading.lstrip("#"))
    ends = [text.find("\n" + "#" * n + " ", start + len(heading)) for n in range(1, level + 1)]
    if keep is not None:
        ends.append(text.find("\n" + keep, start + len(heading)))
    ends = [e for e in ends if e != -1]
    if not ends:
        doc.write_text(text[:start] + body)
        return
    end = min(ends) + 1
    doc.write_text(text[:start] + body + "\n" + text[end:])


def para(*parts: str) -> list[str]:
    """One paragraph (or list item: its lines after the first indented), wrapped at 100 columns
    like the rest of docs/benchmarks.md."""
    text = " ".join(p for p in parts if p)
    indent = "  " if text.startswith("- ") else ""
    return textwrap.wrap(
        text, 100, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    )
