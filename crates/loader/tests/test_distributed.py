"""Distributed sampling and exact resume (README, "Training on many GPUs"), with real
processes: ``torchrun`` (gloo, CPU) over a local archive and one in the S3 server on
127.0.0.1, ``StatefulDataLoader`` with worker processes, jobs killed with SIGKILL after a
checkpoint and resumed in new processes, also with another world size and number of workers."""

from __future__ import annotations

import json
import math
import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import S3

import hexz
from hexz.sampler import order

torch = pytest.importorskip("torch")
pytest.importorskip("torchdata")

N = 1003  # prime, so every world size pads or drops
BATCH = 64
BLOCK = 16
SEED = 7
HERE = Path(__file__).parent
TRAIN = HERE / "dist_train.py"
TORCHRUN = Path(sys.executable).with_name("torchrun")


@pytest.fixture(scope="module")
def ids_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dist") / "ids.hxz"
    with hexz.Writer(path) as w:
        w.add_array(np.arange(N, dtype=np.int64), name="id")
    return path


def expected(
    rank: int, world: int, start: int, drop_last: bool, mode: str, epoch: int
) -> list[int]:
    """Rank ``rank``'s samples of ``epoch`` from global position ``start``, by definition:
    every ``world``-th sample of the order from ``start + rank``, padded from the order's
    start (or cut) so every rank has as many."""
    o = list(order(N, mode, SEED, epoch, BLOCK))
    left = N - start
    count = left // world if drop_last else -(-left // world)
    return [o[(start + rank + t * world) % N] for t in range(count)]


def configs(iterable: bool = False) -> list[dict[str, Any]]:
    out = []
    for shuffle in (False, True, "global"):
        for drop_last in (False, True):
            for workers in (0, 2):
                name = f"s{shuffle}-d{int(drop_last)}-w{workers}".lower()
                out.append(dict(name=name, shuffle=shuffle, drop_last=drop_last, workers=workers))
    if iterable:
        for workers in (0, 2):
            out.append(
                dict(
                    name=f"it-w{workers}",
                    shuffle=True,
                    drop_last=False,
                    workers=workers,
                    iterable=True,
                )
            )
    return out


def mode_of(shuffle: Any) -> str:
    return hexz.sampler.shuffle_mode(shuffle)


def launch(
    archive: str,
    out: Path,
    cfgs: list[dict[str, Any]],
    world: int,
    *extra: str,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Runs dist_train.py: under torchrun with ``world`` ranks, or as one plain process."""
    out.mkdir(parents=True, exist_ok=True)
    args = [str(TRAIN), archive, "--out", str(out), "--configs", json.dumps(cfgs), *extra]
    if world > 1:
        cmd = [str(TORCHRUN), "--standalone", f"--nproc_per_node={world}", *args]
    else:
        cmd = [sys.executable, *args]
    full_env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(HERE), **(env or {}))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=full_env)
    if check:
        assert r.returncode == 0, f"{cmd} failed:\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}"
    return r


def batches(out: Path, name: str, rank: int) -> list[dict[str, Any]]:
    path = out / f"{name}-rank{rank}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def check_ranks(out: Path, cfg: dict[str, Any], world: int, epochs: int = 2) -> None:
    """Each rank saw exactly its share of each epoch, in order, with equal batch counts."""
    per_rank = [batches(out, cfg["name"], r) for r in range(world)]
    counts = {len(b) for b in per_rank}
    assert len(counts) == 1, f"{cfg['name']}: ranks ran different numbers of batches {counts}"
    for r, bs in enumerate(per_rank):
        for epoch in range(epochs):
            seen = [i for b in bs if b["epoch"] == epoch for i in b["ids"]]
            want = expected(r, world, 0, cfg["drop_last"], mode_of(cfg["shuffle"]), epoch)
            assert seen == want, f"{cfg['name']} rank {r} epoch {epoch}"
    # Together, the ranks' shares are the epoch's order (then padding from its start).
    for epoch in range(epochs):
        union = {i for bs in per_rank for b in bs if b["epoch"] == epoch for i in b["ids"]}
        if cfg["drop_last"]:
            assert len(union) == N - N % world
        else:
            assert union == set(range(N))


# -- the order, in one process ---------------------------------------------------------------


def test_order_is_the_same_without_numpy(ids_archive: Path, tmp_path: Path) -> None:
    code = (
        "import sys, json; sys.modules['numpy'] = None\n"
        "from hexz.sampler import order\n"
        f"print(json.dumps([list(order({N}, m, {SEED}, 3, {BLOCK})) for m in ('block', 'global')]))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    without = json.loads(r.stdout)
    assert without == [list(order(N, m, SEED, 3, BLOCK)) for m in ("block", "global")]


def test_shares_split_the_order_exactly(ids_archive: Path) -> None:
    ds = hexz.Dataset(ids_archive)
    for mode in ("none", "block", "global"):
        for world in (1, 2, 3, 4):
            for drop_last in (False, True):
                shares = [
                    list(
                        ds.sampler(
                            shuffle=mode,
                            seed=SEED,
                            block_samples=BLOCK,
                            rank=r,
                            world_size=world,
                            drop_last=drop_last,
                        )
                    )
                    for r in range(world)
                ]
                assert len({len(s) for s in shares}) == 1
                for r, s in enumerate(shares):
                    assert s == expected(r, world, 0, drop_last, mode, 0)


def test_rank_arguments_are_checked(ids_archive: Path) -> None:
    ds = hexz.Dataset(ids_archive)
    with pytest.raises(ValueError, match="both rank= and world_size="):
        ds.sampler(rank=1)
    with pytest.raises(ValueError, match="rank must be in 0..1"):
        ds.sampler(rank=2, world_size=2)
    with pytest.raises(ValueError, match="world_size must be >= 1"):
        ds.sampler(rank=0, world_size=0)


def test_state_is_small_and_restores_without_replay() -> None:
    class Huge:
        """A stand-in with 10^9 samples for what the Sampler asks of a Dataset."""

        def __len__(self) -> int:
            return 10**9

        def _default_block_samples(self) -> int:
            return 800

        def _follow(self, plan: Any, order: Any = None, pos: int = 0) -> None:
            pass

    for shuffle in (True, "global"):
        s = hexz.Sampler(Huge(), shuffle=shuffle, rank=3, world_size=8)  # type: ignore[arg-type]
        s.set_epoch(5)
        it = iter(s)
        head = [next(it) for _ in range(1000)]
        state = s.state_dict()
        assert len(pickle.dumps(state)) < 1024, state
        assert state["position"] == 8000
        fresh = hexz.Sampler(Huge(), shuffle=shuffle, rank=3, world_size=8)  # type: ignore[arg-type]
        t = time.perf_counter()
        fresh.load_state_dict(state)
        nxt = list(zip(range(BATCH), iter(fresh), strict=False))
        took = time.perf_counter() - t
        assert [i for _, i in nxt] == [next(it) for _ in range(BATCH)]
        assert took < 1.0, f"restoring took {took:.3f} s: a replay of the skipped samples?"
        assert head == s.order()[:1000], "the share is the order, computed position by position"


def test_state_between_epochs_is_the_next_epochs_start(ids_archive: Path) -> None:
    ds = hexz.Dataset(ids_archive)
    s = ds.sampler(seed=SEED, block_samples=BLOCK)
    assert list(s) == list(s.order())
    assert (s.state_dict()["epoch"], s.state_dict()["position"]) == (0, N)
    s.set_epoch(1)
    assert (s.state_dict()["epoch"], s.state_dict()["position"]) == (1, 0)


def test_an_iterable_state_survives_a_save_before_the_first_batch(ids_archive: Path) -> None:
    ds = hexz.IterableDataset(ids_archive, batch_size=BATCH, seed=SEED, block_samples=BLOCK)
    it = iter(ds)
    first = [[int(x) for x in next(it)] for _ in range(3)]
    state = ds.state_dict()
    again = hexz.IterableDataset(ids_archive, batch_size=BATCH, seed=SEED, block_samples=BLOCK)
    again.load_state_dict(state)
    assert again.state_dict() == state, "a state saved right after loading is the loaded one"
    rest = [[int(x) for x in b] for b in again]
    fresh = hexz.IterableDataset(ids_archive, batch_size=BATCH, seed=SEED, block_samples=BLOCK)
    whole = [[int(x) for x in b] for b in fresh]
    assert first + rest == whole


def test_a_state_of_another_order_is_refused(ids_archive: Path) -> None:
    ds = hexz.Dataset(ids_archive)
    state = ds.sampler(seed=1).state_dict()
    with pytest.raises(ValueError, match="another order: seed=1"):
        ds.sampler(seed=2).load_state_dict(state)
    with pytest.raises(ValueError, match="not a hexz sampler state"):
        ds.sampler().load_state_dict({"yielded": 3})
    with pytest.raises(ValueError, match="outside 0..1003"):
        ds.sampler(seed=1).load_state_dict(dict(state, position=N + 1))


def test_stateful_dataloader_resumes_exactly_in_process(ids_archive: Path) -> None:
    from torchdata.stateful_dataloader import StatefulDataLoader

    for workers in (0, 2):
        ds = hexz.Dataset(ids_archive)

        def loader(d: hexz.Dataset = ds, w: int = workers) -> tuple[Any, Any]:
            s = d.sampler(shuffle=True, seed=SEED, block_samples=BLOCK)
            return StatefulDataLoader(
                d, batch_size=BATCH, sampler=s, num_workers=w, collate_fn=hexz.collate
            ), s

        full, _ = loader()
        want = [b.tolist() for b in full]
        for k in (1, 7, len(want) - 1):
            first, _ = loader()
            it = iter(first)
            got = [next(it).tolist() for _ in range(k)]
            state = first.state_dict()
            del it
            second, _ = loader()
            second.load_state_dict(state)
            got += [b.tolist() for b in second]
            assert got == want, f"workers={workers}, stopped after {k} batches"


def test_grain_reads_a_dataset_as_a_random_access_source(ids_archive: Path) -> None:
    grain = pytest.importorskip("grain.python")
    ds = hexz.Dataset(ids_archive)
    sampler = grain.IndexSampler(
        num_records=len(ds),
        shard_options=grain.ShardOptions(0, 1),
        shuffle=True,
        num_epochs=1,
        seed=SEED,
    )
    for workers in (0, 2):
        loader = grain.DataLoader(data_source=ds, sampler=sampler, worker_count=workers)
        assert sorted(int(x) for x in loader) == list(range(N))


def test_tensorflow_shards_like_the_sampler(ids_archive: Path) -> None:
    pytest.importorskip("tensorflow")
    for drop_last in (False, True):
        for index in range(3):
            tf_ds = hexz.tf_dataset(
                ids_archive,
                shuffle=True,
                seed=SEED,
                epoch=1,
                block_samples=BLOCK,
                shard=(index, 3),
                drop_last=drop_last,
            )
            got = [int(x) for x in tf_ds.as_numpy_iterator()]
            assert got == expected(index, 3, 0, drop_last, "block", 1)


# -- torchrun ----------------------------------------------------------------------------------


@pytest.mark.parametrize("world", [2, 3])
def test_torchrun_ranks_get_equal_disjoint_shares(
    ids_archive: Path, tmp_path: Path, world: int
) -> None:
    cfgs = configs(iterable=True)
    launch(str(ids_archive), tmp_path, cfgs, world)
    for cfg in cfgs:
        check_ranks(tmp_path, cfg, world)


@pytest.mark.parametrize("world", [2, 3])
def test_torchrun_over_s3(
    ids_archive: Path, tmp_path: Path, moto_s3: S3, aws_env: dict[str, str], world: int
) -> None:
    url = moto_s3.put("dist", f"ids-{world}.hxz", ids_archive)
    cfgs = configs(iterable=True)
    for c in cfgs:
        c["open"] = {"cache_dir": str(tmp_path / "cache")}
    launch(url, tmp_path, cfgs, world, env=aws_env)
    for cfg in cfgs:
        check_ranks(tmp_path, cfg, world)


# -- killed and resumed ------------------------------------------------------------------------

BATCHES_PER_EPOCH = -(-N // BATCH)  # 16 with one rank


def steps_seen(out: Path, name: str, rank: int) -> list[list[int]]:
    return [b["ids"] for b in batches(out, name, rank)]


@pytest.mark.parametrize(
    ("workers", "iterable", "k"),
    [
        (0, False, 1),
        (0, False, 8),
        (0, False, BATCHES_PER_EPOCH),
        (0, False, 20),
        (2, False, 8),
        (2, False, BATCHES_PER_EPOCH),
        (2, True, 8),
        (0, True, 17),
    ],
)
def test_a_killed_job_resumes_exactly(
    ids_archive: Path, tmp_path: Path, workers: int, iterable: bool, k: int
) -> None:
    cfg = [dict(name="r", shuffle=True, drop_last=False, workers=workers, iterable=iterable)]
    ref, run = tmp_path / "ref", tmp_path / "run"
    launch(str(ids_archive), ref, cfg, 1)
    killed = launch(str(ids_archive), run, cfg, 1, "--checkpoint-at", str(k), "--kill", check=False)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert len(steps_seen(run, "r", 0)) == k
    launch(str(ids_archive), run, cfg, 1, "--resume", str(run))
    assert steps_seen(run, "r", 0) == steps_seen(ref, "r", 0)


#: Batches per rank and epoch with two ranks (the last one short).
BATCHES_TWO_RANKS = math.ceil(math.ceil(N / 2) / BATCH)


def _positions(start: int, world: int, steps: int, rank_samples: int) -> list[int]:
    """Global positions ``world`` ranks cover from ``start`` in ``steps`` batches each (a
    rank's share of the epoch holds ``rank_samples``); positions past N are the padding."""
    per_rank = min(steps * BATCH, rank_samples)
    return [start + r + t * world for t in range(per_rank) for r in range(world)]


@pytest.mark.parametrize(
    ("workers_before", "workers_after", "iterable", "mode", "k"),
    [
        (2, 2, False, "loader", 1),
        (2, 2, False, "loader", 5),
        (2, 2, False, "loader", BATCHES_TWO_RANKS),
        (2, 2, False, "loader", BATCHES_TWO_RANKS + 2),
        (2, 0, False, "global", 1),
        (2, 0, False, "global", 5),
        (2, 0, False, "global", BATCHES_TWO_RANKS),
        (2, 0, False, "global", BATCHES_TWO_RANKS + 2),
        (2, 0, True, "global", 5),
        (2, 0, True, "global", BATCHES_TWO_RANKS + 2),
    ],
)
def test_elastic_resume_two_ranks_to_three(
    ids_archive: Path,
    tmp_path: Path,
    workers_before: int,
    workers_after: int,
    iterable: bool,
    mode: str,
    k: int,
) -> None:
    """Two ranks stop after k batches each (at the start, the middle, the last batch of the
    first epoch, or in the second); three ranks continue the same global order from there:
    nothing of the epoch is lost, and only padding (samples from the order's start, so every
    rank has as many) is seen twice."""
    before = dict(
        name="e", shuffle=True, drop_last=False, workers=workers_before, iterable=iterable
    )
    after = dict(before, workers=workers_after)
    run = tmp_path / "run"
    killed = launch(
        str(ids_archive), run, [before], 2, "--checkpoint-at", str(k), "--kill", check=False
    )
    assert killed.returncode != 0
    seen_before = [batches(run, "e", r) for r in range(2)]
    assert [len(s) for s in seen_before] == [k, k]
    for r in range(2):
        (run / f"e-rank{r}.jsonl").rename(run / f"before-rank{r}.jsonl")
    launch(str(ids_archive), run, [after], 3, "--resume", str(run), "--resume-mode", mode)
    epoch, steps = divmod(k - 1, BATCHES_TWO_RANKS)
    steps += 1  # batches of the checkpointed epoch each rank had
    o = list(order(N, "block", SEED, epoch, BLOCK))
    covered = _positions(0, 2, steps, -(-N // 2))
    start = min(covered[-1] + 1, N)
    # Before: the two ranks' batches hold the order's head (with padding at the end).
    got_before = [
        i
        for step in zip(*seen_before, strict=True)
        for b in step
        if b["epoch"] == epoch
        for i in b["ids"]
    ]
    assert sorted(got_before) == sorted(o[p % N] for p in covered)
    per_rank = [batches(run, "e", r) for r in range(3)]
    assert len({len(b) for b in per_rank}) == 1, "equal batch counts after the resume"
    assert all(b["epoch"] >= epoch for b in per_rank[0])
    for r in range(3):
        for e in (0, 1):
            if e < epoch:
                continue
            got = [i for b in per_rank[r] if b["epoch"] == e for i in b["ids"]]
            assert got == expected(r, 3, start if e == epoch else 0, False, "block", e)
    after = [i for r in range(3) for b in per_rank[r] if b["epoch"] == epoch for i in b["ids"]]
    assert set(got_before) | set(after) == set(range(N))
    left = N - start
    padding = {o[p % N] for p in [*covered, *range(start, start + 3 * -(-left // 3))] if p >= N}
    assert len(padding) <= 1 + 2  # fewer than the world size, before and after
    assert set(got_before) & set(after) <= padding
    shutil.rmtree(run)
