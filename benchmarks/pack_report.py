#!/usr/bin/env python3
"""The pack and sequential-read benchmark (``benchmarks/pack_read.sh``) as data, and the
"Pack and sequential read against squashfs, tar + zstd/lz4 and qcow2" subsection of
docs/benchmarks.md (heading ``HEADING``) generated from it.

    pack_report.py record RESULTS.tsv   write runs/<date>-pack/results.json (pack_read.sh does)
    pack_report.py load OUT_DIR         one line on the load during the run (for report.py)
    pack_report.py                      regenerate the subsection and ``pack_read.png`` (in the
                                        run's directory) from the newest ``runs/*-pack`` run

The first two use the standard library only; the plot needs matplotlib, which the benchmark venv
has (``benchmarks/requirements-peers.txt``):

    ~/.cache/hexz/bench-venv/bin/python benchmarks/pack_report.py
"""

from __future__ import annotations

import csv
import datetime
import os
import re
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report  # noqa: E402
import runs  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
HEADING = "### Pack and sequential read against squashfs, tar + zstd/lz4 and qcow2"
NAME = "pack"
FULL_MB = 1200
MIB = 2**20
#: The variables of pack_read.sh that change what it measures (for the command line).
ENV_VARS = ["BENCH_SIZE_MB", "BENCH_RUNS", "BENCH_SLOW_RUNS", "BENCH_PEERS_ONLY"]


# --- recording (pack_read.sh) ----------------------------------------------------------------


def _num(text: str, kind=float):
    try:
        return kind(text)
    except (TypeError, ValueError):
        return None


def _load_log(out: Path) -> list[list[float]]:
    """``[unix time, load1, load5, load15]`` every 5 s while the commands were timed."""
    rows = []
    p = out / "load.log"
    for line in p.read_text().splitlines() if p.exists() else []:
        f = line.split()
        if len(f) >= 4:
            rows.append([float(f[0]), float(f[1]), float(f[2]), float(f[3])])
    return rows


def _times(p: Path) -> float | None:
    """Children's user + sys seconds from bash's ``times`` (second line: ``1m2.5s 0m0.3s``)."""
    try:
        lines = p.read_text().splitlines()
    except OSError:
        return None
    if len(lines) < 2:
        return None
    total = 0.0
    for m in re.finditer(r"(\d+)m([\d.]+)s", lines[1]):
        total += int(m[1]) * 60 + float(m[2])
    return total


def _cpu_stat(p: Path) -> list[int] | None:
    try:
        return [int(x) for x in p.read_text().split()]
    except (OSError, ValueError):
        return None


def cpu_use(out: Path, wall_s: float | None) -> dict:
    """CPU time on the whole machine while the commands were timed, and how much of it was not
    this benchmark's: busy time from /proc/stat minus the CPU time of pack_read.sh's children."""
    a, b = _cpu_stat(out / "cpu.start"), _cpu_stat(out / "cpu.end")
    ca, cb = _times(out / "times.start"), _times(out / "times.end")
    if not a or not b or ca is None or cb is None:
        return {}
    hz = os.sysconf("SC_CLK_TCK")
    d = [(y - x) / hz for x, y in zip(a, b, strict=False)]
    # user nice system idle iowait irq softirq steal (guest time is already in user)
    busy = d[0] + d[1] + d[2] + d[5] + d[6]
    ours = cb - ca
    res = {
        "busy_cpu_s": busy,
        "benchmark_cpu_s": ours,
        "other_cpu_s": max(0.0, busy - ours),
        "steal_s": d[7] if len(d) > 7 else None,
        "iowait_s": d[4],
    }
    if wall_s:
        res["wall_s"] = wall_s
        res["other_cores"] = res["other_cpu_s"] / wall_s
    return res


def load_summary(doc: dict) -> str:
    """e.g. ``load average (1 min) 1.9–4.8, median 3.1 (every 5 s over 812 s; 2 vCPUs);
    other processes took 1.20 cores on average``."""
    samples = doc.get("load_samples") or []
    cpus = os.cpu_count() if doc.get("cpus") is None else doc["cpus"]
    bits = []
    if samples:
        l1 = [s[1] for s in samples]
        span = (doc.get("cpu") or {}).get("wall_s") or samples[-1][0] - samples[0][0]
        bits.append(
            f"load average (1 min) {min(l1):.1f}–{max(l1):.1f}, median {statistics.median(l1):.1f}"
            f" (every 5 s over {span:.0f} s; {cpus} vCPUs; the benchmark's own commands count)"
        )
    cpu = doc.get("cpu") or {}
    if cpu.get("other_cores") is not None:
        bits.append(
            f"other processes took {cpu['other_cpu_s']:.0f} CPU-s, {cpu['other_cores']:.2f} cores"
            f" on average (busy CPU time minus the benchmark's)"
        )
        if (cpu.get("steal_s") or 0) >= 0.5:
            bits.append(f"{cpu['steal_s']:.0f} s stolen by the hypervisor")
    return "; ".join(bits) or "load not recorded"


def _uptime(p: Path) -> float | None:
    try:
        return float(p.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _load_doc(out: Path) -> dict:
    samples = _load_log(out)
    a, b = _uptime(out / "uptime.start"), _uptime(out / "uptime.end")
    wall = None if a is None or b is None else b - a
    return {"load_samples": samples, "cpus": os.cpu_count(), "cpu": cpu_use(out, wall)}


def _git() -> dict:
    def git(*args: str) -> str:
        r = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else "?"

    return {"commit": git("rev-parse", "--short", "HEAD"), "dirty": bool(git("status", "-s"))}


def record(tsv: Path) -> Path:
    """Writes ``runs/<started>-pack/results.json`` from pack_read.sh's results and context."""
    env = os.environ
    out = Path(env["BENCH_OUT_DIR"])
    results = []
    with open(tsv, newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            times = [float(t) for t in (r.get("times_s") or "").split(",") if _num(t) is not None]
            results.append(
                {
                    "kind": r["kind"],
                    "dataset": r["dataset"],
                    "label": r["label"],
                    "family": r["family"],
                    "hexz": r["hexz"] == "1",
                    "command": r["command"],
                    "status": r["status"],
                    "bytes": _num(r["bytes"], int),
                    "runs": _num(r["runs"], int),
                    "times_s": times,
                    "median_s": _num(r["median_s"]),
                    "min_s": _num(r["min_s"]),
                    "max_s": _num(r["max_s"]),
                    "mean_s": statistics.fmean(times) if times else None,
                    "stdev_s": statistics.stdev(times) if len(times) > 1 else None,
                    # peak RSS of one extra run under /usr/bin/time (reads only)
                    "peak_rss_kb": _num(r["rss_kb"], int),
                    "load1_before": _num(r.get("load1")),
                }
            )
    versions = {}
    vp = out / "versions.tsv"
    for line in vp.read_text().splitlines() if vp.exists() else []:
        k, _, v = line.partition("\t")
        versions[k] = v
    started = datetime.datetime.fromisoformat(env["BENCH_STARTED"])
    loads = _load_doc(out)
    doc = {
        "size_mb": int(env["BENCH_SIZE_MB_USED"]),
        "runs": int(env["BENCH_RUNS_USED"]),
        "slow_runs": int(env["BENCH_SLOW_RUNS_USED"]),
        "peers_only": env.get("BENCH_PEERS_ONLY_USED") == "1",
        "page_cache": "warm (packs and reads)",
        "hexz_binary": env.get("BENCH_HEXZ"),
        "git": _git(),
        "datasets": {
            "tree": {
                "bytes": int(env["BENCH_TREE_BYTES"]),
                "files": int(env["BENCH_TREE_FILES"]),
                "symlinks": int(env["BENCH_TREE_LINKS"]),
                "sources": env.get("BENCH_SOURCES", "").split(),
                "description": env.get("BENCH_TREE"),
            },
            "image": {
                "bytes": int(env["BENCH_IMAGE_BYTES"]),
                "description": env.get("BENCH_IMAGE"),
            },
        },
        "versions": versions,
        "failures": int(env.get("BENCH_FAILURES", "0")),
        "load_avg_start": loads["load_samples"][0][1:] if loads["load_samples"] else None,
        **loads,
        "results": results,
    }
    via_make = "MAKELEVEL" in env
    ev = ENV_VARS if via_make else [*ENV_VARS, "HEXZ"]
    cmd = runs.command_line("make bench" if via_make else "benchmarks/pack_read.sh", ev)
    return runs.write_run(NAME, doc, cmd, started)


# --- the subsection ------------------------------------------------------------------------------


def _rows(doc: dict) -> list[dict]:
    """The results in report.py's row shape (for its goals)."""
    return [
        {
            **r,
            "hexz": "1" if r["hexz"] else "0",
            "ok": r["status"] == "ok",
            "rss_kb": r.get("peak_rss_kb"),
            "runs": str(r["runs"]),
        }
        for r in doc["results"]
    ]


def find(doc: dict, kind: str, dataset: str, label: str) -> dict | None:
    for r in doc["results"]:
        if (r["kind"], r["dataset"], r["label"]) == (kind, dataset, label) and r["status"] == "ok":
            return r
    return None


LABELS = {
    "mksquashfs lz4": "mksquashfs -comp lz4",
    "mksquashfs zstd": "mksquashfs -comp zstd (default level 15)",
    "mksquashfs zstd-3": "mksquashfs -comp zstd -Xcompression-level 3",
    "qemu-img qcow2 zstd": "qemu-img convert -c -O qcow2 -o compression_type=zstd",
}

#: The hexz row each peer is compared with, per data set and codec family.
REFS = {
    ("tree", "lz4"): "hexz lz4",
    ("tree", "zstd"): "hexz zstd-3",
    ("image", "lz4"): "hexz --raw lz4",
    ("image", "zstd"): "hexz --raw zstd-3",
}

#: Sequential read: (hexz reader, peer) per data set and codec.
READS = {
    "tree": (("hexz cat (lz4)", "lz4 -dc"), ("hexz cat (zstd-3)", "zstd -dc")),
    "image": (("hexz cat (--raw lz4)", "lz4 -dc"), ("hexz cat (--raw zstd-3)", "zstd -dc")),
}


def _x(v: float | None, spec: str = ".2f") -> str:
    return "n/a" if v is None else f"{v:{spec}}×"


def _div(a, b):
    return None if a is None or b is None or not b else a / b


def pack_table(doc: dict, dataset: str) -> list[str]:
    n = doc["datasets"][dataset]["bytes"]
    refname = "hexz --raw" if dataset == "image" else "hexz"
    out = [
        f"| Tool | Size (MiB) | Ratio | Time (s), median | min–max (runs) | MiB/s in "
        f"| vs {refname} (size, time) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in doc["results"]:
        if r["kind"] != "pack" or r["dataset"] != dataset:
            continue
        name = report.cell(LABELS.get(r["label"], r["label"]))
        name = f"**{name}**" if r["hexz"] else name
        if r["status"] != "ok":
            out.append(f"| {name} | {r['status']} | | | | | |")
            continue
        ref = find(doc, "pack", dataset, REFS.get((dataset, r["family"]), ""))
        if r["hexz"] or ref is None:
            vs = "—"
        else:
            vs = f"{_x(_div(r['bytes'], ref['bytes']))}, {_x(_div(r['median_s'], ref['median_s']))}"
        t = r["median_s"]
        out.append(
            f"| {name} | {r['bytes'] / MIB:.1f} | {n / r['bytes']:.2f} | {t:.2f} "
            f"| {r['min_s']:.2f}–{r['max_s']:.2f} ({r['runs']}) | {n / MIB / t:.0f} | {vs} |"
        )
    return out


def _mibs(r: dict | None) -> float | None:
    return None if r is None else r["bytes"] / MIB / r["median_s"]


def read_table(doc: dict) -> list[str]:
    out = [
        "| Data | hexz lz4 | lz4 -dc | ratio | hexz zstd-3 | zstd -dc | ratio | hexz peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for ds, pairs in READS.items():
        cells = []
        rss = []
        for mine, peer in pairs:
            a, b = find(doc, "read", ds, mine), find(doc, "read", ds, peer)
            sa, sb = _mibs(a), _mibs(b)
            cells += [
                "n/a" if sa is None else f"{sa:.0f} MiB/s",
                "n/a" if sb is None else f"{sb:.0f} MiB/s",
                _x(_div(sa, sb)),
            ]
            if a is not None and a.get("peak_rss_kb"):
                rss.append(a["peak_rss_kb"] / 1024)
        mib = doc["datasets"][ds]["bytes"] / MIB
        peak = f"{max(rss):.0f} MiB" if rss else "n/a"
        what = "tree" if ds == "tree" else "image"
        out.append(f"| {what} ({mib:.0f} MiB) | " + " | ".join(cells) + f" | {peak} |")
    return out


def goal_table(doc: dict) -> list[str]:
    return ["| Goal | Measured | Result |", "|---|---|---|", *report.goal_rows(_rows(doc))]


def _when(doc: dict) -> str:
    t = datetime.datetime.fromisoformat(doc["started"]).astimezone(datetime.UTC)
    return f"{t:%Y-%m-%d %H:%M} UTC"


def _short(v: float) -> str:
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def plot(run_dir: Path, doc: dict) -> Path | None:
    """``pack_read.png``: pack time and archive size against the peers, and read MiB/s against
    ``lz4 -dc`` / ``zstd -dc``, per data set; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    ok = [r for r in doc["results"] if r["status"] == "ok"]
    if not ok:
        return None
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    for row, ds in enumerate(("tree", "image")):
        packs = [r for r in ok if r["kind"] == "pack" and r["dataset"] == ds]
        # each hexz reader next to the CLI of its codec
        reads = sorted(
            (r for r in ok if r["kind"] == "read" and r["dataset"] == ds),
            key=lambda r: (r["family"] != "lz4", not r["hexz"]),
        )
        mib = doc["datasets"][ds]["bytes"] / MIB
        panels = (
            (packs, lambda r: r["median_s"], "pack time, s (median; log scale)", True),
            (packs, lambda r: r["bytes"] / MIB, "archive size, MiB", False),
            (reads, lambda r: r["bytes"] / MIB / r["median_s"], "read to /dev/null, MiB/s", False),
        )
        for col, (rows, value, xlabel, log) in enumerate(panels):
            ax = axes[row][col]
            vals = [value(r) for r in rows]
            colors = ["tab:blue" if r["hexz"] else "tab:gray" for r in rows]
            ax.barh(range(len(rows)), vals, color=colors)
            ax.set_yticks(range(len(rows)), [r["label"] for r in rows], fontsize=7)
            ax.invert_yaxis()
            if log:
                ax.set_xscale("log")
            ax.set_xlabel(xlabel, fontsize=8)
            ax.tick_params(axis="x", labelsize=7)
            top = max(vals) if vals else 1
            ax.set_xlim(right=top * (3 if log else 1.18))
            for i, v in enumerate(vals):
                ax.text(v, i, " " + _short(v), va="center", fontsize=6.5)
            if col == 0:
                ax.set_title(f"{ds} ({mib:.0f} MiB)", fontsize=9, loc="left")
    fig.suptitle(
        f"hexz (blue) vs squashfs, tar + zstd/lz4, qcow2 — {run_dir.name}, {doc['machine']}",
        fontsize=9,
    )
    fig.tight_layout()
    out = run_dir / "pack_read.png"
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def para(*parts: str) -> list[str]:
    """One paragraph, wrapped at 100 columns like the rest of docs/benchmarks.md."""
    text = " ".join(parts)
    return textwrap.wrap(text, 100, break_long_words=False, break_on_hyphens=False)


def section(found: tuple[Path, dict] | None, with_plot: bool = True) -> str:
    lines = [
        HEADING,
        "",
        *para(
            "Generated by `benchmarks/pack_report.py` from the newest",
            "`benchmarks/runs/*-pack/results.json`, which every run of `make bench`",
            "(`benchmarks/pack_read.sh`) writes; `BENCH_RECORD=1` (the default at full size)",
            "regenerates this subsection, and so does",
            "`~/.cache/hexz/bench-venv/bin/python benchmarks/pack_report.py`.",
            "The full report of a run is in `bench-out/pack_read.md`.",
        ),
        "",
    ]
    if not found:
        return "\n".join([*lines, "No run yet (`make bench`).", ""])
    run_dir, doc = found
    tree, image = doc["datasets"]["tree"], doc["datasets"]["image"]
    rel = os.path.relpath(run_dir / "results.json", DOC.parent)
    quick = (
        f" — **a quick run (`BENCH_SIZE_MB={doc['size_mb']}`), not the full {FULL_MB} MiB"
        " benchmark**"
        if doc["size_mb"] < FULL_MB
        else ""
    )
    slow = doc["slow_runs"]
    failed = [r for r in doc["results"] if r["status"] != "ok"]
    lines += [
        *para(
            f"Run: [{run_dir.name}]({rel}), `{doc['command']}`, {_when(doc)}{quick}.",
            f"Machine: {doc['machine']}. While the commands were timed: {load_summary(doc)}.",
            "The machine is shared: other builds and tests may run at the same time, which",
            "slows the multi-threaded tools (hexz, `mksquashfs`, `zstd -T0`) most; the ratios",
            "below are side by side in this one run.",
            f"{len(failed)} command(s) failed (FAILED below)." if failed else "",
        ),
        "",
        *para(
            f"Data: a {tree['bytes'] / MIB:.0f} MiB real tree (Python's standard library",
            "without site-packages, `/usr/bin`, `/usr/lib/x86_64-linux-gnu`:",
            f"{tree['files']:,} files, {tree['symlinks']:,} symlinks) and an ext4 image of it",
            f"made with `mkfs.ext4 -d` ({image['bytes'] / MIB:.0f} MiB). Medians of",
            f"{doc['runs']} runs ({slow} run{'' if slow == 1 else 's'} for",
            "`mksquashfs -comp zstd` at its default level 15), page cache warm.",
            "Ratio = input size ÷ archive size; MiB = 2^20 bytes. Versions:",
            "; ".join(doc.get("versions", {}).values()) + ".",
        ),
        "",
        f"Pack, tree ({tree['bytes'] / MIB:.0f} MiB):",
        "",
        *pack_table(doc, "tree"),
        "",
        f"Pack, ext4 image ({image['bytes'] / MIB:.0f} MiB):",
        "",
        *pack_table(doc, "image"),
        "",
        *para(
            "vs hexz: the peer ÷ hexz with the same codec (`hexz --raw` for the image); above 1×",
            "the peer is larger or slower. `hexz pack` fsyncs the archive before renaming it",
            "into place (crash safety) and mksquashfs does not, so its times include flushing",
            "the archive to disk, the noisiest part of them; it also hashes every block with",
            "BLAKE3 (dedup and the signature's root hash).",
        ),
        "",
        *para(
            "Sequential read to /dev/null: `hexz cat ARCHIVE` (the archive's logical stream:",
            "every file's data in order, or the image) against `lz4 -dc` and `zstd -dc` of the",
            "tar stream of the same tree or of the image; output MiB/s of the median run",
            "(the tar stream is slightly larger than the files' data, which favours the CLIs);",
            "ratio = hexz ÷ the single-threaded CLI; peak RSS from `/usr/bin/time` on one more",
            "run:",
        ),
        "",
        *read_table(doc),
        "",
        "Goals:",
        "",
        *goal_table(doc),
        "",
    ]
    if with_plot:
        png = plot(run_dir, doc)
        png = png or (run_dir / "pack_read.png" if (run_dir / "pack_read.png").exists() else None)
        if png:
            lines += [
                f"![pack time, size and read speed against the peers]"
                f"({os.path.relpath(png, DOC.parent)})",
                "",
            ]
    lines += [
        *para(
            "Every measurement (each repetition's time, the exact commands, output sizes, peak",
            "RSS, tool versions, the load samples) is in",
            f"`{os.path.relpath(run_dir, ROOT)}/results.json`. Earlier hand-run figures",
            "(2026-11-25: the 1.2 GB tree under load, a quiet rerun of the reads) are in this",
            "file's git history.",
        ),
        "",
    ]
    return "\n".join(lines)


def update_docs() -> None:
    """Replaces the subsection (up to the next ``##``/``###`` heading) in docs/benchmarks.md."""
    runs.replace_section(HEADING, section(runs.latest(NAME)), doc=DOC)


def main(argv: list[str]) -> int:
    if argv[:1] == ["record"] and len(argv) == 2:
        print(record(Path(argv[1])))
    elif argv[:1] == ["load"] and len(argv) == 2:
        print(load_summary(_load_doc(Path(argv[1]))))
    elif not argv:
        update_docs()
        print(f"updated {DOC} ({HEADING!r})")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
