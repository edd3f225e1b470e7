#!/usr/bin/env python3
"""The FUSE benchmark's report, from one run's ``results.json`` (fuse_bench.py writes it to
``benchmarks/runs/<date>-fuse/``): the tables of speeds and ratios per codec, and the goals.
Run alone, it regenerates the latest run's part of docs/benchmarks.md ("FUSE mount"). Standard
library only."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import runs  # noqa: E402

NAME = "fuse"
# The generated part of the docs section; the section's introduction above it is written by hand.
HEADING = "### Latest run"
BIG_FILES = 5
ALL_TOOLS = ["hexz", "squashfuse", "squashfuse_ll", "kernel"]
ALL_TESTS = ["seq-image", "seq-files", "tar", "random"]
ALL_CONDS = ["cold", "warm", "archive-cached"]
ALL_CODECS = ["lz4", "zstd"]


def fmt_ratio(x: float) -> str:
    return f"{x:.2f}×"


TEST_LABEL = {
    "seq-image": "sequential, image file (`cat`)",
    "seq-files": f"sequential, {BIG_FILES} largest files (`cat`)",
    "tar": "`tar cf - . \\| wc -c`, whole tree",
    "random": "random 4 KiB `pread`",
}


def report(doc: dict, level: int = 1) -> str:
    """The tables and goals of one run (``results.json``: ``config``, ``meta``, ``archives``,
    ``medians``); headings start at ``level`` (1 for results.md, 3 inside docs/benchmarks.md)."""
    cfg, meta, summary = doc["config"], doc["meta"], doc["medians"]
    h = "#" * level
    tools = [t for t in ALL_TOOLS if t in cfg["tools"]]
    lines = [f"{h} FUSE mount benchmark ({meta['date']})", ""]
    lines.append(f"- Command: `{doc.get('command', 'make bench-fuse')}`")
    lines.append(f"- Machine: {meta['machine']}; load average at start {meta['load']}")
    lines.append(f"- Versions: {meta['versions']}")
    lines.append(
        f"- Rounds: {cfg['runs']} (medians); random reads: {cfg['random_n']} per run,"
        f" seed {cfg['seed']}"
    )
    hexz_args = cfg["hexz_args"]
    lines.append(
        f"- hexz mount arguments: `--daemon {' '.join(hexz_args)}`".replace(" `", "`")
        if hexz_args
        else "- hexz mount: `hexz mount --daemon ARCHIVE MNT` (defaults)"
    )
    lines.append("- Archives:")
    for key, d in sorted(doc["archives"].items()):
        codec, ds, kind = key.split("|")
        lines.append(
            f"  - {codec} {ds} {kind}: {Path(d['path']).name}, {d['bytes'] / 2**20:.1f} "
            f"MiB, {d.get('codec', '?')}, blocks {d.get('block_size', '?')}"
        )
    lines.append("")
    goals = []
    for codec in [c for c in ALL_CODECS if c in cfg["codecs"]]:
        lines.append(f"{h}# {codec}")
        lines.append("")
        head = "| Test | Condition | " + " | ".join(tools)
        sep = "|---|---|" + "---:|" * len(tools)
        ratio_cols = [t for t in ("squashfuse", "kernel") if t in tools and "hexz" in tools]
        for t in ratio_cols:
            head += f" | hexz / {t}"
            sep += "---:|"
        lines += [head + " |", sep]
        for test in [t for t in ALL_TESTS if t in cfg["tests"]]:
            for cond in [c for c in ALL_CONDS if c in cfg["conds"]]:
                cells, speed = [], {}
                for tool in tools:
                    m = summary.get(f"{codec}|{test}|{cond}|{tool}")
                    if not m:
                        cells.append("—")
                        continue
                    if test == "random":
                        speed[tool] = m["iops"]
                        cells.append(f"{m['iops']:,.0f} IOPS, p50 {m['p50_us']:.0f} µs")
                    else:
                        speed[tool] = m["mib_s"]
                        cells.append(f"{m['mib_s']:,.0f} MiB/s")
                for t in ratio_cols:
                    if "hexz" in speed and t in speed:
                        r = speed["hexz"] / speed[t]
                        cells.append(fmt_ratio(r))
                        goals.append((codec, test, cond, t, r))
                    else:
                        cells.append("—")
                lines.append(f"| {TEST_LABEL[test]} | {cond} | " + " | ".join(cells) + " |")
        lines.append("")
        lines.append(
            "MiB/s = bytes read (for tar: bytes of tar output) / wall time; "
            "ratios: hexz speed / peer speed (above 1: hexz faster)."
        )
        lines.append("")
    lines.append(f"{h}# Goals")
    lines.append("")
    lines.append("| Goal | Codec | Condition | Ratio | Verdict |")
    lines.append("|---|---|---|---:|---|")
    for codec, test, cond, peer, r in goals:
        if peer == "squashfuse":
            ok, goal = r >= 3.0, f"{TEST_LABEL[test]}: ≥ 3× squashfuse"
        elif test in ("seq-image", "seq-files"):
            ok, goal = r >= 0.5, f"{TEST_LABEL[test]}: within 2× of kernel (≥ 0.5×)"
        else:
            continue
        lines.append(
            f"| {goal} | {codec} | {cond} | {fmt_ratio(r)} | {'met' if ok else '**missed**'} |"
        )
    lines.append("")
    return "\n".join(lines)


def section(run_dir: Path, doc: dict) -> str:
    rel = Path("..") / run_dir.relative_to(runs.RUNS.parent.parent) / "results.json"
    body = report(doc, level=3).split("\n", 1)[1]
    source = f"Generated by `benchmarks/fuse_report.py` from [{run_dir.name}]({rel})."
    return f"{HEADING}\n\n{source}\n{body}"


def update_docs() -> None:
    runs.update_docs_from_latest(NAME, HEADING, section)


if __name__ == "__main__":
    update_docs()
