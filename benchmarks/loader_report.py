"""The report of the Python loader benchmark (``loader_bench.py``): the Markdown of a run
(``bench-out/loader.md``): command, machine, versions and data, the build table, the read tables
(shuffled and sequential, with each row against LitData) and ``Reader.read_at`` latencies.
"""

from __future__ import annotations

import datetime

import measure
import runs
from loader_config import (
    BATCH,
    ENV_VARS,
    FORMATS,
    MAX,
    MIN,
    VARIANT_LABEL,
    N,
    is_hexz,
    label,
    payload_kind,
)
from machine import machine

# --- report --------------------------------------------------------------------------------


def row_name(r: dict) -> str:
    v = VARIANT_LABEL.get(r["variant"], r["variant"])
    return label(r["fmt"]) + (f", {v}" if v else "")


def _f(x, spec: str, scale: float = 1.0) -> str:
    return "n/a" if x is None else format(x / scale, spec)


def read_row(r: dict, litdata: dict | None) -> str:
    if "skipped" in r:
        return f"| {row_name(r)} | {r['workers']} | skipped: {r['skipped'][:90]} |" + " |" * 9
    if "error" in r:
        return f"| {row_name(r)} | {r['workers']} | failed: {r['error'][:90]} |" + " |" * 9
    once = measure.describe_epoch(r["epoch_check"], r.get("capped", False))
    x = f"{r['samples_s'] / litdata['samples_s']:.2f}x" if litdata else "–"
    return (
        f"| {row_name(r)} | {r['workers']} | {r['samples_s']:,.0f} | {x} | {r['mb_s']:,.0f}"
        f" | {r['cpu_s']:.1f} | {r['peak_pss'] / 2**20:,.0f} | {r['first_batch_total_s']:.2f}"
        f" | {r['regions_per_batch']:.1f}"
        f" | {r['mean_jump']:.3f} | {_f(r.get('read_amp'), '.2f')} | {once} |"
    )


def find(results: list, fmt: str, order: str, workers: int, variant: str = "peer") -> dict | None:
    for r in results:
        if (r.get("fmt"), r.get("order"), r.get("workers"), r.get("variant")) == (
            fmt,
            order,
            workers,
            variant,
        ):
            return r if "samples_s" in r else None
    return None


def report(doc: dict, started: datetime.datetime) -> str:
    results, builds, payload = doc["reads"], doc["builds"], doc["payload_bytes"]
    lines: list[str] = []
    a = lines.append
    a(f"### Loader run of {started:%Y-%m-%d %H:%M} UTC")
    a("")
    a(
        f"- Command: `{runs.command_line('make bench-loader', ENV_VARS)}`,"
        f" {doc['elapsed_s'] / 60:.0f} min in all."
    )
    a(f"- Machine: {machine()}; load average {doc['load_avg_start'][0]:.1f} at the start.")
    a("- Versions: " + ", ".join(f"{k} {v}" for k, v in doc["versions"].items()) + ".")
    a(
        f"- Data: {N:,} samples of {MIN:,}–{MAX:,} bytes ({payload / 1e9:.2f} GB), each starting"
        " with its index; compressible (rows of 128 random bytes written twice) or, for `-raw`"
        " formats, random bytes."
    )
    collates = sorted(
        {r["collate"] for r in results if is_hexz(r.get("fmt", "")) and "collate" in r}
    )
    if collates:
        a(
            f"- Hexz `collate_fn`: {', '.join(f'`{c}`' for c in collates)}"
            " (`hexz.collate` where hexz has it, else the list of samples); peers: the list."
        )
    a("")
    a("| Format | Pack (s) | On disk (MiB) | vs payload |")
    a("|---|---:|---:|---:|")
    for fmt in FORMATS:
        b = builds.get(fmt, {})
        if not b or "error" in b:
            a(f"| {label(fmt)} | failed: {b.get('error', '?')} | | |")
            continue
        a(
            f"| {label(fmt)} | {b['pack_s']:.1f} | {b['disk_bytes'] / 2**20:,.0f}"
            f" | {b['disk_bytes'] / payload:.2f}x |"
        )
    a("")
    head = (
        "| Configuration | num_workers | Samples/s | × LitData | MB/s | CPU-s | Peak PSS (MiB)"
        " | First batch (s)"
        " | Regions/batch | Mean jump | Read amp. | Each sample once |"
    )
    for order, title in (("shuffle", "shuffled"), ("seq", "sequential")):
        rows = [r for r in results if r.get("order") == order]
        if not rows:
            continue
        a(f"#### Reads, {title}")
        a("")
        a(head)
        a("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in rows:
            ref_fmt = (
                "litdata-raw"
                if payload_kind(r["fmt"]) == "raw" or r["fmt"] == "hexz-raw"
                else "litdata"
            )
            a(read_row(r, find(results, ref_fmt, order, r["workers"])))
        a("")
    a(
        f"Regions/batch: distinct 1/256ths of the original order among the {BATCH} samples of a"
        f" batch (sequential 1, full random permutation {measure.expected_regions():.1f}); mean"
        " jump: mean |i[k+1] − i[k]| / N (full permutation ≈ 0.333). × LitData: against LitData"
        " with the same order and num_workers (incompressible rows against LitData over the"
        " incompressible data). CPU-s: user + sys of the process and its workers for the epoch;"
        " PSS summed over the process tree. Read amp.:"
        " bytes decoded / bytes returned (Hexz, num_workers=0, when the archive reports it)."
    )
    a("")
    ra = doc.get("read_at")
    if ra:
        a("#### `Reader.read_at` of 4 KiB (Hexz LZ4 archive), per call")
        a("")
        a("| Case | p50 (µs) | p99 (µs) | mean (µs) |")
        a("|---|---:|---:|---:|")
        for key in ("reader", "native", "uncached"):
            s = ra[key]
            a(f"| {key} | {s['p50_us']:.2f} | {s['p99_us']:.2f} | {s['mean_us']:.2f} |")
        a("")
    return "\n".join(lines) + "\n"
