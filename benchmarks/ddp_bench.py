"""Data-parallel throughput: samples/s per rank under ``torchrun`` against one process, on the
loader benchmark's data (docs/benchmarks.md, "Training on many GPUs: throughput per rank").

The data set of ``loader_bench.py`` (200,000 samples of 4-16 KB, Hexz LZ4; built when
missing) is read for one epoch in Hexz's default block shuffle, batch 64, ``num_workers=0``,
``collate_fn=hexz.collate``: by one plain process, and by ``W`` ranks under ``torchrun
--standalone --nproc_per_node=W`` (gloo), each reading its share (``dataset.sampler()`` picks
up the rank). Rounds alternate between the two, after one warm-up epoch that loads the page
cache, and medians are reported. The goal: per-rank samples/s at least
0.9 x single-process samples/s / W. Whole-process figures: wall time of each rank's epoch,
CPU seconds (user + sys) of the whole process tree, peak PSS summed over the tree.

Results: ``benchmarks/runs/<date>-ddp/results.json`` (every run of every round with the 1-minute
load average before it, the medians, the command, the machine, the load at the start and end) and
a plot of samples/s per rank, ``ddp.png`` in the same directory (matplotlib: drawn by
``~/.cache/hexz/bench-venv/bin/python`` when the running interpreter has none); with
DDP_BENCH_RECORD=1 (default at full size) that section of docs/benchmarks.md (heading
``SECTION``) is regenerated from it. ``ddp_bench.py --report`` regenerates the section (and the
plot) from the newest ``runs/*-ddp`` run.

Environment:
    DDP_BENCH_WORLDS    world sizes (default "2")
    DDP_BENCH_ROUNDS    rounds (default 3)
    DDP_BENCH_RECORD    1 = regenerate that section of docs/benchmarks.md
    LOADER_BENCH_SAMPLES, LOADER_BENCH_DIR: as for loader_bench.py
"""

from __future__ import annotations

import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import loader_bench as lb  # noqa: E402
import measure  # noqa: E402
import runs  # noqa: E402

WORLDS = [int(w) for w in os.environ.get("DDP_BENCH_WORLDS", "2").split(",") if w.strip()]
ROUNDS = int(os.environ.get("DDP_BENCH_ROUNDS", "3"))
RECORD = os.environ.get("DDP_BENCH_RECORD", "1" if lb.N >= 200000 else "0") == "1"
ENV_VARS = ["DDP_BENCH_WORLDS", "DDP_BENCH_ROUNDS", "LOADER_BENCH_SAMPLES"]
DOCS = lb.ROOT / "docs" / "benchmarks.md"
PNG = "ddp.png"
PLOT_PYTHON = (
    Path(os.environ.get("BENCH_VENV", Path.home() / ".cache" / "hexz" / "bench-venv"))
    / "bin"
    / "python"
)
SECTION = "## Training on many GPUs: throughput per rank"


def rank_epoch(archive: str, out: str) -> None:
    """One epoch of this rank's share; writes {rank, world, samples, seconds, ok}."""
    import torch
    import torch.distributed as dist

    import hexz

    if "WORLD_SIZE" in os.environ:
        dist.init_process_group("gloo")
    ds = hexz.Dataset(archive)
    sampler = ds.sampler(shuffle=True, seed=0)
    loader = torch.utils.data.DataLoader(
        ds, batch_size=lb.BATCH, sampler=sampler, collate_fn=hexz.collate
    )
    if dist.is_initialized():
        dist.barrier()
    seen: list[int] = []
    t = time.perf_counter()
    for batch in loader:
        seen.extend(measure.batch_indices(batch))
    took = time.perf_counter() - t
    rank, world = sampler.rank, sampler.world_size
    ok = seen == list(sampler.order())
    Path(f"{out}.{rank}").write_text(
        json.dumps(dict(rank=rank, world=world, samples=len(seen), seconds=took, ok=ok))
    )
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def run_once(archive: Path, world: int) -> dict:
    """One epoch by ``world`` ranks (1: a plain process): per-rank samples/s, CPU-s, PSS."""
    import psutil

    load1 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/rank"
        me = [str(Path(__file__).resolve()), "--rank-epoch", str(archive), out]
        if world == 1:
            cmd = [sys.executable, *me]
        else:
            torchrun = str(Path(sys.executable).with_name("torchrun"))
            cmd = [torchrun, "--standalone", f"--nproc_per_node={world}", *me]
        env = dict(os.environ, OMP_NUM_THREADS="1")
        before = os.times()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ps = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            pss = 0
            for p in measure._tree(ps):
                try:
                    pss += getattr(p.memory_full_info(), "pss", 0)
                except psutil.Error:
                    pass
            peak = max(peak, pss)
            time.sleep(0.1)
        after = os.times()
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd} failed: {proc.stderr.read().decode()[-3000:]}")
        ranks = [json.loads(Path(f"{out}.{r}").read_text()) for r in range(world)]
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    rates = [r["samples"] / r["seconds"] for r in ranks]
    return dict(
        world=world,
        load1=load1,
        per_rank=statistics.median(rates),
        slowest_rank=min(rates),
        total=sum(rates),
        cpu_s=cpu,
        peak_pss_mib=peak / 2**20,
        ok=all(r["ok"] for r in ranks),
        samples=sum(r["samples"] for r in ranks),
    )


def load_text(results: dict) -> str:
    """The load average at the start and end, and the 1-minute load before each timed epoch."""
    fmt = lambda xs: " / ".join(f"{x:.2f}" for x in xs)  # noqa: E731
    bits = []
    if results.get("load_avg_start"):
        bits.append(
            f"load average (1 / 5 / 15 min) {fmt(results['load_avg_start'])} at the start and"
            f" {fmt(results['load_avg'])} at the end"
        )
    raw = results.get("raw", {})
    load1 = [
        r["load1"]
        for rs in [raw.get("single", []), *raw.get("ddp", {}).values()]
        for r in rs
        if "load1" in r
    ]
    if load1:
        bits.append(
            f"1-minute load before each of the {len(load1)} timed epochs"
            f" {min(load1):.2f}–{max(load1):.2f}, median {statistics.median(load1):.2f}"
        )
    return "; ".join(bits) or "load not recorded"


def plot(results: dict, run_dir: Path) -> Path | None:
    """``ddp.png``: samples/s per rank (median, range over the rounds) against single / W, the
    goal's line at 0.9 x single / W."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        if PLOT_PYTHON.exists() and Path(sys.executable) != PLOT_PYTHON:
            r = subprocess.run([str(PLOT_PYTHON), __file__, "--plot", str(run_dir)], check=False)
            return run_dir / PNG if r.returncode == 0 and (run_dir / PNG).exists() else None
        lb.log("no matplotlib: no plot")
        return None
    single, raw = results["single"], results["raw"]
    labels = ["one process"] + [f"torchrun, {w} ranks" for w in results["worlds"]]
    meds = [single["per_rank"]] + [results["ddp"][str(w)]["per_rank"] for w in results["worlds"]]
    runs_ = [raw["single"]] + [raw["ddp"][str(w)] for w in results["worlds"]]
    lo = [m - min(r["per_rank"] for r in rs) for m, rs in zip(meds, runs_, strict=True)]
    hi = [max(r["per_rank"] for r in rs) - m for m, rs in zip(meds, runs_, strict=True)]
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    xs = range(len(labels))
    ax.bar(
        xs,
        meds,
        0.5,
        color=["tab:gray"] + ["tab:blue"] * len(results["worlds"]),
        yerr=[lo, hi],
        capsize=3,
        label="samples/s per rank (median; bars: range)",
    )
    for i, w in enumerate(results["worlds"], start=1):
        ideal = single["per_rank"] / w
        ax.hlines(
            [ideal, 0.9 * ideal],
            i - 0.3,
            i + 0.3,
            colors=["black", "tab:red"],
            linestyles=["dotted", "dashed"],
        )
        ax.text(i + 0.32, 0.9 * ideal, "goal", color="tab:red", fontsize=7, va="center")
        ax.text(i + 0.32, ideal, "single / W", fontsize=7, va="center")
    for x, m in zip(xs, meds, strict=True):
        ax.text(x, m, f"{m:,.0f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set_ylabel("samples/s per rank", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlim(-0.5, len(labels) - 0.2)
    ax.set_title(
        f"{run_dir.name}: {results['samples']:,} samples, {results['rounds']} round(s)"
        f"\n{results['machine']}",
        fontsize=8,
        loc="left",
    )
    fig.tight_layout()
    out = run_dir / PNG
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def report(results: dict, run_dir: Path) -> str:
    single = results["single"]
    rounds = results.get("rounds", ROUNDS)
    n = results.get("samples", lb.N)
    png = run_dir / PNG
    lines = [
        SECTION,
        "",
        "Generated by `benchmarks/ddp_bench.py` (`make bench-ddp`) from",
        f"[{run_dir.name}](../benchmarks/runs/{run_dir.name}/results.json)"
        + (f", `{results['command']}`" if results.get("command") else "")
        + f"; machine: {results['machine']}; {load_text(results)}.",
        f"{n:,} samples of {lb.MIN // 1024}-{lb.MAX // 1024} KB (Hexz LZ4), default block"
        " shuffle, batch 64, num_workers=0, `hexz.collate`; one epoch per run, "
        + ("one round (no medians)" if rounds == 1 else f"medians of {rounds} alternating rounds")
        + " after a warm-up epoch."
        " Per-rank samples/s is each"
        " rank's samples over its own epoch time; CPU-s and peak PSS are of the whole process"
        " tree (torchrun and its ranks). Goal: per rank >= 0.9 x single / W.",
        "",
        "| Run | Samples/s per rank | Slowest rank | All ranks | CPU-s | Peak PSS (MiB)"
        " | Per rank / (single / W) | Goal |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
        f"| one process | {single['per_rank']:,.0f} | {single['slowest_rank']:,.0f}"
        f" | {single['total']:,.0f} | {single['cpu_s']:.1f} | {single['peak_pss_mib']:,.0f}"
        " | – | – |",
    ]
    for w in results["worlds"]:
        r = results["ddp"][str(w)]
        ratio = r["per_rank"] / (single["per_rank"] / w)
        verdict = "met" if ratio >= 0.9 else "**missed**"
        lines.append(
            f"| torchrun, {w} ranks | {r['per_rank']:,.0f} | {r['slowest_rank']:,.0f}"
            f" | {r['total']:,.0f} | {r['cpu_s']:.1f} | {r['peak_pss_mib']:,.0f}"
            f" | {ratio:.2f} | {verdict} |"
        )
    lines += [
        "",
        "Every run yielded each rank exactly its share of the order: "
        + ("yes." if results["all_ok"] else "**no** (see results.json)."),
        "",
    ]
    if png.exists():
        lines += [
            f"![samples/s per rank, one process vs torchrun](../benchmarks/runs/"
            f"{run_dir.name}/{PNG})",
            "",
        ]
    return "\n".join(lines)


def record(text: str) -> None:
    runs.replace_section(SECTION, text, doc=DOCS)


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--rank-epoch":
        rank_epoch(sys.argv[2], sys.argv[3])
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "--plot":
        run_dir = Path(sys.argv[2])
        return 0 if plot(json.loads((run_dir / "results.json").read_text()), run_dir) else 1
    if sys.argv[1:] == ["--report"]:
        found = runs.latest("ddp")
        if not found:
            lb.log("no runs/*-ddp run")
            return 1
        run_dir, results = found
        plot(results, run_dir)
        record(report(results, run_dir))
        lb.log(f"recorded {run_dir.name} in {DOCS}")
        return 0
    started = datetime.datetime.now(datetime.UTC)
    load_start = os.getloadavg()
    lb.make_data()
    archive = lb.fmt_path("hexz-lz4")
    if not archive.exists():
        lb.log(f"building {archive}")
        lb.build("hexz-lz4")
    run_once(archive, 1)  # warm-up: the page cache
    single, ddp = [], {w: [] for w in WORLDS}
    for k in range(ROUNDS):
        single.append(run_once(archive, 1))
        for w in WORLDS:
            ddp[w].append(run_once(archive, w))
        lb.log(
            f"round {k + 1}: single {single[-1]['per_rank']:,.0f}/s; "
            + ", ".join(f"W={w} {ddp[w][-1]['per_rank']:,.0f}/s per rank" for w in WORLDS)
        )

    def med(rs: list[dict]) -> dict:
        keys = ("per_rank", "slowest_rank", "total", "cpu_s", "peak_pss_mib")
        return dict(world=rs[0]["world"], **{k: statistics.median(r[k] for r in rs) for k in keys})

    results = dict(
        samples=lb.N,
        worlds=WORLDS,
        rounds=ROUNDS,
        single=med(single),
        ddp={str(w): med(rs) for w, rs in ddp.items()},
        raw=dict(single=single, ddp={str(w): rs for w, rs in ddp.items()}),
        all_ok=all(r["ok"] for rs in [single, *ddp.values()] for r in rs),
        load_avg_start=load_start,
    )
    cmd = runs.command_line("make bench-ddp", ENV_VARS)
    run_dir = runs.write_run("ddp", results, cmd, started)
    results = json.loads((run_dir / "results.json").read_text())
    plot(results, run_dir)
    text = report(results, run_dir)
    print(text)
    if RECORD:
        record(text)
        lb.log(f"recorded in {DOCS}")
    return 0 if results["all_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
