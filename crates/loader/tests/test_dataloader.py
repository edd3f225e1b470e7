"""torch.utils.data.DataLoader with worker processes, under fork and spawn, shuffle on:
every sample is seen exactly once per epoch."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest

import hexz
import hexz_testing as ht

torch = pytest.importorskip("torch")

CONTEXTS = [c for c in ("fork", "spawn") if c in multiprocessing.get_all_start_methods()]
# torch warns when num_workers exceeds the cores of the machine (2 here)
MANY_WORKERS = pytest.mark.filterwarnings("ignore:This DataLoader will create:UserWarning")


def _records_epoch(loader: object) -> list[int]:
    seen: list[int] = []
    for x, y in loader:  # type: ignore[attr-defined]
        assert x.dtype == torch.int64 and tuple(x.shape[1:]) == (ht.ROW,)
        assert y.dtype == torch.int32
        assert torch.equal(x[:, 0], y.long()) and torch.equal(x[:, 1], 3 * y.long())
        seen.extend(int(i) for i in y)
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("context", CONTEXTS)
def test_records_workers_shuffle(records_archive: Path, context: str) -> None:
    ds = hexz.Dataset(records_archive)
    ds.__getitems__(list(range(0, 300, 7)))  # used (cache, threads) before the workers start
    loader = torch.utils.data.DataLoader(
        ds,
        batch_size=16,
        shuffle=True,
        num_workers=2,
        multiprocessing_context=context,
        persistent_workers=True,
    )
    orders = []
    for _ in range(2):
        seen = _records_epoch(loader)
        assert sorted(seen) == list(range(300)), "every sample exactly once per epoch"
        orders.append(seen)
    assert orders[0] != orders[1] and orders[0] != list(range(300))


@pytest.mark.slow
@pytest.mark.parametrize("context", CONTEXTS)
def test_directory_workers_shuffle(dir_archive: Path, context: str) -> None:
    ds = hexz.Dataset(dir_archive)
    assert ht.dir_sample_index(ds[0]) >= 0
    loader = torch.utils.data.DataLoader(
        ds,
        batch_size=8,
        shuffle=True,
        num_workers=2,
        multiprocessing_context=context,
        collate_fn=ht.collate_list,  # files differ in size: keep each batch a list
        persistent_workers=True,
    )
    for _ in range(2):
        seen = [ht.dir_sample_index(s) for batch in loader for s in batch]
        assert sorted(seen) == list(range(120))
        assert seen != sorted(seen)


@MANY_WORKERS
def test_four_workers_fork(records_archive: Path) -> None:
    ds = hexz.Dataset(records_archive, as_tensor=True)
    loader = torch.utils.data.DataLoader(
        ds, batch_size=10, shuffle=True, num_workers=4, multiprocessing_context=CONTEXTS[0]
    )
    seen = _records_epoch(loader)
    assert sorted(seen) == list(range(300))


def test_workers_follow_the_sampler(records_archive: Path) -> None:
    ds = hexz.Dataset(records_archive)
    sampler = ds.sampler(shuffle=True, seed=5)
    loader = torch.utils.data.DataLoader(
        ds, batch_size=32, sampler=sampler, num_workers=2, multiprocessing_context=CONTEXTS[0]
    )
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        expected = list(hexz.Sampler(ds, seed=5).order()) if epoch == 0 else None
        seen = _records_epoch(loader)
        assert sorted(seen) == list(range(300))
        if expected is not None:
            assert seen == expected  # the order is a function of (seed, epoch) only


def test_worker_reads_large_parallel_ranges_after_fork(tmp_path: Path) -> None:
    """The parent decodes in parallel (Rust threads running) before the workers fork."""
    x = np.random.default_rng(0).integers(0, 1000, size=(64, 8192), dtype=np.int32)  # 2 MiB
    path = tmp_path / "wide.hxz"
    with hexz.Writer(path, block_size=4096) as w:
        w.add_array(x, "x")
    ds = hexz.Dataset(path)
    np.testing.assert_array_equal(np.stack(ds.__getitems__(list(range(64)))), x)
    loader = torch.utils.data.DataLoader(
        ds, batch_size=8, shuffle=True, num_workers=2, multiprocessing_context=CONTEXTS[0]
    )
    rows = torch.cat(list(loader)).numpy()
    assert rows.shape == x.shape
    assert sorted(map(bytes, rows)) == sorted(map(bytes, x))
