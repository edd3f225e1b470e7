"""Render benchmarks/pack_read.sh results (a TSV file) as a markdown report.

Usage: report.py RESULTS.tsv > pack_read.md   (context comes from BENCH_* variables)

The goals (``goal_rows``) are shared with pack_report.py, which renders docs/benchmarks.md from
the run's results.json.
"""

import csv
import os
import sys

MIB = 1048576.0


def env(name, default="?"):
    return os.environ.get(name, default)


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for r in rows:
        r["ok"] = r["status"] == "ok"
        for key in ("bytes", "median_s", "min_s", "max_s", "rss_kb"):
            try:
                r[key] = float(r[key])
            except ValueError:
                r[key] = None
    return rows


def find(rows, kind, dataset, label):
    for r in rows:
        if r["kind"] == kind and r["dataset"] == dataset and r["label"] == label and r["ok"]:
            return r
    return None


def cell(text):
    """Escape a table cell: a bare `|` would split it, even inside backticks."""
    return text.replace("|", "\\|")


def fmt(x, spec, unit=""):
    return "n/a" if x is None else format(x, spec) + unit


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def pack_table(rows, dataset, input_bytes):
    out = [
        f"## Pack: {dataset} ({input_bytes / MIB:.0f} MiB in)",
        "",
        "| Tool | Size (MiB) | Ratio | Time (s) | Runs | MiB/s | Size vs hexz | Time vs hexz |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    hexz_ref = {}
    for r in rows:
        if r["kind"] == "pack" and r["dataset"] == dataset and r["hexz"] == "1" and r["ok"]:
            # First hexz row of each codec family is the reference for peers.
            hexz_ref.setdefault(r["family"], r)
    for r in rows:
        if r["kind"] != "pack" or r["dataset"] != dataset:
            continue
        name = cell(f"**{r['label']}**" if r["hexz"] == "1" else r["label"])
        if not r["ok"]:
            out.append(f"| {name} | {r['status']} | | | | | | |")
            continue
        size, t = r["bytes"], r["median_s"]
        ref = hexz_ref.get(r["family"])
        if r["hexz"] == "1" or ref is None:
            vs_size = vs_time = "—"
        else:
            # Peer relative to hexz with the same codec: >1 means the peer is bigger/slower.
            vs_size = fmt(ratio(size, ref["bytes"]), ".2f", "×")
            vs_time = fmt(ratio(t, ref["median_s"]), ".2f", "×")
        out.append(
            f"| {name} | {size / MIB:.1f} | {input_bytes / size:.2f} | {t:.2f} | {r['runs']} | "
            f"{input_bytes / MIB / t:.0f} | {vs_size} | {vs_time} |"
        )
    if hexz_ref:
        out += [
            "",
            "_Size/Time vs hexz: the peer divided by the first hexz row with the same codec "
            "(above 1× means the peer is larger or slower)._",
        ]
    return out + [""]


def read_table(rows, dataset):
    out = [
        f"## Sequential read: {dataset} (warm page cache, to /dev/null)",
        "",
        "| Reader | Output (MiB) | Time (s) | Runs | MiB/s | Peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r["kind"] != "read" or r["dataset"] != dataset:
            continue
        name = cell(f"**{r['label']}**" if r["hexz"] == "1" else r["label"])
        if not r["ok"]:
            out.append(f"| {name} | {r['status']} | | | | |")
            continue
        b, t = r["bytes"], r["median_s"]
        out.append(
            f"| {name} | {b / MIB:.1f} | {t:.2f} | {r['runs']} | {b / MIB / t:.0f} "
            f"| {r['rss_kb'] / 1024:.1f} |"
        )
    return out + [""]


def goals(rows):
    return ["## Goals", "", "| Goal | Measured | Result |", "|---|---|---|", *goal_rows(rows), ""]


def goal_rows(rows):
    """The goals as markdown table rows: goal, measured, met / **missed** / n/a."""
    out = []

    def verdict(ok):
        return "n/a" if ok is None else ("met" if ok else "**missed**")

    def row(goal, text, ok):
        out.append(f"| {cell(goal)} | {text} | {verdict(ok)} |")

    def pack_time(dataset, mine, peer):
        a, b = find(rows, "pack", dataset, mine), find(rows, "pack", dataset, peer)
        r = ratio(a and a["median_s"], b and b["median_s"])
        text = "n/a" if r is None else f"{a['median_s']:.2f} s vs {b['median_s']:.2f} s ({r:.2f}×)"
        row(f"{dataset}: `{mine}` packs faster than `{peer}`", text, None if r is None else r < 1)

    def pack_size(dataset, mine, peer, limit=1.05):
        a, b = find(rows, "pack", dataset, mine), find(rows, "pack", dataset, peer)
        r = ratio(a and a["bytes"], b and b["bytes"])
        text = (
            "n/a"
            if r is None
            else f"{a['bytes'] / MIB:.1f} vs {b['bytes'] / MIB:.1f} MiB ({r:.3f}×)"
        )
        ok = None if r is None else r <= limit
        row(f"{dataset}: `{mine}` size ≤ {limit}× `{peer}`", text, ok)

    def read_speed(dataset, mine, peer, limit=1.5):
        a, b = find(rows, "read", dataset, mine), find(rows, "read", dataset, peer)
        sa = a and a["bytes"] / a["median_s"]
        sb = b and b["bytes"] / b["median_s"]
        r = ratio(sa, sb)
        text = "n/a" if r is None else f"{sa / MIB:.0f} vs {sb / MIB:.0f} MiB/s ({r:.2f}×)"
        row(
            f"{dataset}: `{mine}` reads ≥ {limit}× as fast as `{peer}`",
            text,
            None if r is None else r >= limit,
        )

    for ds, lz4, zstd in (
        ("tree", "hexz lz4", "hexz zstd-3"),
        ("image", "hexz --raw lz4", "hexz --raw zstd-3"),
    ):
        pack_time(ds, lz4, "mksquashfs lz4")
        pack_size(ds, lz4, "mksquashfs lz4")
        pack_size(ds, zstd, "tar | zstd -3 -T0" if ds == "tree" else "zstd -3 -T0")
    read_speed("tree", "hexz cat (lz4)", "lz4 -dc")
    read_speed("tree", "hexz cat (zstd-3)", "zstd -dc")
    read_speed("image", "hexz cat (--raw lz4)", "lz4 -dc")
    read_speed("image", "hexz cat (--raw zstd-3)", "zstd -dc")

    rss = [r["rss_kb"] for r in rows if r["kind"] == "read" and r["hexz"] == "1" and r["ok"]]
    peak = max(rss) / 1024 if rss else None
    out.append(
        f"| `hexz cat` peak RSS ≤ 100 MB while streaming | {fmt(peak, '.1f', ' MiB')} | "
        f"{verdict(None if peak is None else peak * MIB <= 100e6)} |"
    )
    return out


def main():
    rows = load(sys.argv[1])
    tree_bytes = float(env("BENCH_TREE_BYTES", "0"))
    image_bytes = float(env("BENCH_IMAGE_BYTES", "0"))
    lines = [
        "# Pack and sequential read: hexz and its peers",
        "",
        f"- Machine: {env('BENCH_MACHINE')}",
        f"- Date: {env('BENCH_DATE')}",
        f"- Load while timing: {env('BENCH_LOAD')}",
        f"- Tree: {env('BENCH_TREE')}",
        f"- Image: {env('BENCH_IMAGE')}",
        f"- Versions: {env('BENCH_VERSIONS')}",
        "- Times: median of the runs shown (hyperfine), page cache warm. "
        "Ratio = input size / output size. MiB = 2^20 bytes. Peak RSS from `/usr/bin/time`.",
        "- Produced by `make bench` (`benchmarks/pack_read.sh`).",
        "",
    ]
    lines += pack_table(rows, "tree", tree_bytes)
    lines += pack_table(rows, "image", image_bytes)
    lines += read_table(rows, "tree")
    lines += read_table(rows, "image")
    lines += goals(rows)
    lines += ["## Commands", ""]
    for r in rows:
        lines.append(f"- {r['kind']} {r['dataset']}, {r['label']}: `{r['command']}`")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
