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

Results: ``benchmarks/runs/<date>-ddp/results.json``; with DDP_BENCH_RECORD=1 (default at full
size) that section of docs/benchmarks.md (heading ``SECTION``) is regenerated from it.

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
SECTION = "## Training on many GPUs: throughput per rank (issue 12)"


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
        per_rank=statistics.median(rates),
        slowest_rank=min(rates),
        total=sum(rates),
        cpu_s=cpu,
        peak_pss_mib=peak / 2**20,
        ok=all(r["ok"] for r in ranks),
        samples=sum(r["samples"] for r in ranks),
    )


def report(results: dict, run_dir: Path) -> str:
    single = results["single"]
    lines = [
        SECTION,
        "",
        "Generated by `benchmarks/ddp_bench.py` (`make bench-ddp`) from",
        f"[{run_dir.name}](../benchmarks/runs/{run_dir.name}/results.json);"
        f" machine: {results['machine']}.",
        f"{lb.N:,} samples of {lb.MIN // 1024}-{lb.MAX // 1024} KB (Hexz LZ4), default block"
        " shuffle, batch 64, num_workers=0, `hexz.collate`; one epoch per run, medians of"
        f" {ROUNDS} alternating rounds after a warm-up epoch. Per-rank samples/s is each"
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
    return "\n".join(lines)


def record(text: str) -> None:
    doc = DOCS.read_text()
    if SECTION in doc:
        start = doc.index(SECTION)
        nxt = doc.find("\n## ", start + len(SECTION))
        doc = doc[:start] + text + (doc[nxt + 1 :] if nxt >= 0 else "")
    else:
        doc = doc.rstrip("\n") + "\n\n" + text
    DOCS.write_text(doc)


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--rank-epoch":
        rank_epoch(sys.argv[2], sys.argv[3])
        return 0
    started = datetime.datetime.now(datetime.UTC)
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
    )
    cmd = runs.command_line("make bench-ddp", ENV_VARS)
    run_dir = runs.write_run("ddp", results, cmd, started)
    results["machine"] = json.loads((run_dir / "results.json").read_text())["machine"]
    text = report(results, run_dir)
    print(text)
    if RECORD:
        record(text)
        lb.log(f"recorded in {DOCS}")
    return 0 if results["all_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
