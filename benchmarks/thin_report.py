#!/usr/bin/env python3
"""The "Thin snapshots and CDC" section for docs/benchmarks.md (heading ``HEADING``), generated
from the newest ``benchmarks/runs/*-thin/results.json`` (which every run of ``make bench-thin``,
``benchmarks/thin_bench.py``, writes), printed to stdout; and a plot of the bytes v2 added and
the time to write and to read v2, per tool and series, drawn into that run's directory as
``thin.png`` (where the other benchmarks' plots are).

    ~/.cache/hexz/bench-venv/bin/python benchmarks/thin_report.py [RUN_DIR]

Standard library, plus matplotlib for the plot (skipped, with a note on stderr, when matplotlib
does not import).
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import runs  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
HEADING = "## Thin snapshots and CDC"
NAME = "thin"
PNG = "thin.png"
MIB = 2**20
TOOLS = [
    "hexz fixed thin",
    "hexz cdc thin",
    "hexz fixed full",
    "hexz cdc full",
    "restic",
    "borg",
    "qcow2 backing",
    "zstd --patch-from",
]
SERIES_TITLES = {
    "image": "A VM disk image after a package upgrade",
    "records": "A data set of records, v2 edited",
    "source": "Two source releases (trees)",
}


def cell(text: str) -> str:
    """A table cell: a bare ``|`` would split it, even inside backticks."""
    return text.replace("|", "\\|")


def mib(n: int | None) -> str:
    if n is None:
        return "n/a"
    v = n / MIB
    return f"{v:.2f}" if v < 10 else f"{v:.1f}"


def secs(v: float) -> str:
    return f"{v:.3f}" if v < 1 else f"{v:.2f}"


def x(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}×"


def _when(doc: dict) -> str:
    t = datetime.datetime.fromisoformat(doc["started"]).astimezone(datetime.UTC)
    return f"{t:%Y-%m-%d %H:%M} UTC"


def tools_of(s: dict) -> list[str]:
    return [t for t in TOOLS if t in s["tools"]] + [t for t in s["tools"] if t not in TOOLS]


def series_table(name: str, s: dict) -> list[str]:
    derived = s["derived"]
    best = derived.get("best_backup_tool")
    best_bytes = s["tools"][best]["added_bytes"] if best else None
    out = [
        "| Tool | v1 (MiB) | added by v2 (MiB) | % of full hexz v2 | ÷ best of restic/borg "
        "| write v2, s (min–max) | CPU s | peak RSS (MiB) | read v2, s | random 4 KiB, ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for tool in tools_of(s):
        e = s["tools"][tool]
        full = s["tools"]["hexz fixed full" if "fixed" in tool else "hexz cdc full"]
        pct = 100 * e["added_bytes"] / full["added_bytes"]
        vs_best = e["added_bytes"] / best_bytes if best_bytes else None
        w, r, rnd = e["write"], e["read"], e["random_4k"]
        label = f"**{tool}**" if tool.endswith("thin") else tool
        rnd_ms = "n/a" if rnd is None else f"{rnd['median_s'] * 1000:.1f}"
        alone = e.get("writer_s_median")
        writer = f"; Writer {secs(alone)}" if alone is not None else ""
        out.append(
            f"| {cell(label)} | {mib(e['v1_bytes'])} | {mib(e['added_bytes'])} | {pct:.1f}% "
            f"| {x(vs_best)} | {secs(w['median_s'])} ({secs(w['min_s'])}–{secs(w['max_s'])}"
            f"{writer}) "
            f"| {w['cpu_s']:.2f} | {w['rss_kb'] / 1024:.0f} | {secs(r['median_s'])} | {rnd_ms} |"
        )
    return out


def ratio_table(results: dict) -> list[str]:
    out = [
        "| Series | Chunking | v2 thin, % of full | hexz ÷ best of restic/borg (bytes) "
        "| write: hexz ÷ restic | write: hexz ÷ borg | read: thin ÷ full |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, s in results.items():
        best = s["derived"].get("best_backup_tool")
        for ch in ("fixed", "cdc"):
            d = s["derived"][ch]
            out.append(
                f"| {name} | {ch} | {d['added_pct_of_full']:.1f}% "
                f"| {x(d['bytes_vs_best_backup'])} ({best}) | {x(d['write_vs_restic'])} "
                f"| {x(d['write_vs_borg'])} | {x(d['read_thin_vs_full'])} |"
            )
    return out


def goal_table(doc: dict) -> list[str]:
    """One row per goal and chunking: every series' value, and met only when every series is."""
    out = [
        "| Goal | Chunking | " + " | ".join(doc["series"]) + " | Result |",
        "|---|---|" + "---:|" * len(doc["series"]) + "---|",
    ]
    seen: list[tuple[str, str]] = []
    for g in doc["goals"]:
        if (g["goal"], g["chunking"]) not in seen:
            seen.append((g["goal"], g["chunking"]))
    for key, ch in seen:
        gs = [g for g in doc["goals"] if g["goal"] == key and g["chunking"] == ch]
        by = {g["series"]: g for g in gs}
        cells = []
        for name in doc["series"]:
            g = by.get(name)
            if g is None:
                cells.append("—")
                continue
            v = f"{g['value']:.1f}%" if key == "full" else f"{g['value']:.2f}×"
            cells.append(v if g["met"] else f"**{v}**")
        met = all(g["met"] for g in gs)
        out.append(
            f"| {cell(gs[0]['text'])} | {ch} | "
            + " | ".join(cells)
            + f" | {'met' if met else '**missed**'} |"
        )
    return out


def plot(run_dir: Path, doc: dict) -> Path | None:
    """``thin.png``: bytes added by v2, write time and full-read time of v2, per tool (rows of
    bars) and series (columns); None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("thin_report: no matplotlib, no plot", file=sys.stderr)
        return None
    results = doc["series"]
    names = list(results)
    metrics = (
        ("bytes added by v2, MiB", lambda e: e["added_bytes"] / MIB),
        ("write v2, s (median)", lambda e: e["write"]["median_s"]),
        ("read v2 in full, s (median)", lambda e: e["read"]["median_s"]),
    )
    fig, axes = plt.subplots(
        len(metrics), len(names), figsize=(4.4 * len(names), 3.2 * len(metrics)), squeeze=False
    )
    colors = {"thin": "tab:blue", "full": "lightsteelblue"}
    for col, name in enumerate(names):
        s = results[name]
        tools = tools_of(s)
        for row, (label, value) in enumerate(metrics):
            ax = axes[row][col]
            vals = [value(s["tools"][t]) for t in tools]
            cs = [
                colors.get(t.rsplit(" ", 1)[-1], "tab:gray") if t.startswith("hexz") else "tab:gray"
                for t in tools
            ]
            ax.barh(range(len(tools)), vals, color=cs)
            ax.set_yticks(range(len(tools)), tools, fontsize=7)
            ax.invert_yaxis()
            ax.set_xlabel(label, fontsize=8)
            ax.tick_params(axis="x", labelsize=7)
            top = max(vals) if vals else 1
            ax.set_xlim(right=top * 1.25)
            for i, v in enumerate(vals):
                ax.text(v, i, f" {v:.3g}", va="center", fontsize=6.5)
            if row == 0:
                ax.set_title(
                    f"{name}: {SERIES_TITLES.get(name, '')}\n"
                    f"(v2 {s['v2_bytes'] / MIB:.0f} MiB of input)",
                    fontsize=8.5,
                    loc="left",
                )
    fig.suptitle(
        f"Thin hexz archives (blue; non-thin for reference, light) vs restic, borg, qcow2, "
        f"zstd --patch-from — {run_dir.name}, {doc['machine']}",
        fontsize=8.5,
    )
    fig.tight_layout()
    out = run_dir / PNG
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def _load_line(doc: dict) -> str:
    lw = doc.get("load1_while_timing") or {}
    if not lw:
        return "load not recorded"
    text = (
        f"1-minute load average before each timed command {lw['min']:.1f}–{lw['max']:.1f}, "
        f"median {lw['median']:.1f} ({doc.get('cpus', '?')} vCPUs; the benchmark's own commands "
        "count)"
    )
    cpu = doc.get("cpu_while_running") or {}
    if cpu.get("other_cores") is not None:
        text += (
            f"; other processes took {cpu['other_cpu_s']:.0f} CPU-s over the"
            f" {cpu['wall_s']:.0f} s of the run, {cpu['other_cores']:.2f} cores on average"
            " (busy CPU time minus the benchmark's)"
        )
    return text


def section(run_dir: Path, doc: dict, with_plot: bool = True) -> str:
    results = doc["series"]
    rel = os.path.relpath(run_dir / "results.json", DOC.parent)
    quick = (
        " — **a quick run (`THIN_BENCH_QUICK=1`), not the full benchmark**" if doc["quick"] else ""
    )
    v = doc["versions"]
    lines = [
        HEADING,
        "",
        *runs.para(
            "Generated by `benchmarks/thin_report.py` from the newest",
            "`benchmarks/runs/*-thin/results.json`, which every run of `make bench-thin`",
            "(`benchmarks/thin_bench.py`) writes. What a second version of the same data costs",
            "as a thin archive (`hexz pack --parent v1.hxz`, fixed blocks and `--chunking cdc`;",
            "records through `hexz.Writer(chunking=..., parent=...)`) against the tools that",
            "store versions today: restic and borg (one repository, v1 then v2), a qcow2 overlay",
            "on a backing file (the image only) and `zstd --patch-from`.",
        ),
        "",
        *runs.para(
            f"Run: [{run_dir.name}]({rel}), `{doc['command']}`, {_when(doc)}{quick}.",
            f"Machine: {doc['machine']}. {_load_line(doc)}. The machine is shared: other builds",
            "may run at the same time; the ratios are side by side in this one run, each tool",
            f"once per round, medians of {doc['runs']} round{'s' if doc['runs'] > 1 else ''}.",
            f"Versions: {v['hexz']} (`{doc['hexz_binary']}`, sha256"
            f" {doc['hexz_sha256'][:12]}…; the checkout at git {doc['git']['commit']}"
            f"{', dirty' if doc['git']['dirty'] else ''}), {v['restic']}, {v['borg']},",
            f"{v['qemu-img']}, {v['zstd']}.",
        ),
        "",
        "Series:",
        "",
    ]
    for name, s in results.items():
        lines += runs.para(f"- **{name}**: {s['description']}.")
    img = results.get("image")
    if img and img.get("upgraded"):
        ups = ", ".join(f"{p} {a} → {b}" for p, (a, b) in img["upgraded"].items())
        lines += ["", *runs.para(f"Upgraded in the image's v2: {ups}.")]
    lines += [
        "",
        *runs.para(
            "Bytes added by v2: the thin archive's size; the growth of the restic or borg",
            "repository (`du -sb`); the qcow2 overlay; the patch; for the non-thin rows, the",
            "whole v2 archive. v1: the first archive, repository, base image or `zstd --long=31`",
            "of v1, for reference. `% of full hexz v2`: against a non-thin hexz archive of v2",
            "with the same chunking (CDC's for the other tools). Codecs are each tool's default:",
            "hexz LZ4, restic zstd (`auto`), borg LZ4, qcow2 uncompressed, zstd level 3.",
            "Write: wall time of the command (`/usr/bin/time` around it), CPU user + sys, peak",
            "RSS; inputs in the page cache; restic and borg start every round from a copy of",
            "their repository and cache as v1 left them, and read every byte of v2 (new inodes),",
            "as hexz does. The records' hexz rows time the whole Python process (start,",
            "`import hexz`, reading the shard, the Writer); the Writer alone (its open to its",
            "close) is in parentheses. Read v2 in full: `hexz cat` to /dev/null (image: the",
            "stream `disk`; records: every record), `hexz extract` (tree); `restic dump` /",
            "`borg extract --stdout` to /dev/null (tree: `restic restore`, `borg extract`);",
            "`qemu-img convert -O raw` to a file; `zstd -d --patch-from` (tree: into `tar -x`).",
            "Random 4 KiB: one process per read (`hexz cat --offset --length 4096`, which opens",
            "the parent too; `qemu-io -r -c 'read O 4k'`), median over seeded offsets; restic,",
            "borg and zstd have none without a restore or a mount.",
        ),
        "",
    ]
    for name, s in results.items():
        lines += [
            f"{SERIES_TITLES.get(name, name)} (`{name}`: v1"
            f" {s['v1_bytes'] / MIB:.0f} MiB, v2 {s['v2_bytes'] / MIB:.0f} MiB):",
            "",
            *series_table(name, s),
            "",
        ]
    lines += ["Ratios (the goals are judged on these):", "", *ratio_table(results), ""]
    lines += [
        *runs.para(
            "Goals (issue #16): every series must meet a goal for it to be met (a value in bold",
            "misses its target):",
        ),
        "",
        *goal_table(doc),
        "",
    ]
    if with_plot:
        png = plot(run_dir, doc) or (run_dir / PNG if (run_dir / PNG).exists() else None)
        if png:
            lines += [
                "![bytes added by v2, write and read time per tool and series]"
                f"({os.path.relpath(png, DOC.parent)})",
                "",
            ]
    lines += [
        *runs.para(
            "Every measurement (each round's time, CPU, peak RSS and the load before it, the",
            "exact commands, sizes, the thin archives' block counts, versions) is in",
            f"`{os.path.relpath(run_dir, ROOT)}/results.json`.",
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv:
        run_dir = Path(argv[0]).resolve()
        found = (run_dir, json.loads((run_dir / "results.json").read_text()))
    else:
        found = runs.latest(NAME)
    if found is None:
        print(f"no {runs.RUNS}/*-{NAME} run (make bench-thin)", file=sys.stderr)
        return 1
    print(section(*found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
