"""Batches from DataLoader workers cross to the main process through each worker's shared ring
(``hexz.shared_batches``): by reference while the main process frees them, by value when it
keeps them all; never overwritten while seen; the rings' maps go with their workers."""

from __future__ import annotations

import gc
import multiprocessing
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import hexz
import hexz_testing as ht
from hexz import shared_batches

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="rings need Linux memfd")

CONTEXTS = [
    c for c in ("fork", "spawn", "forkserver") if c in multiprocessing.get_all_start_methods()
]
N = 1000
BATCH = 50


def _sample(i: int) -> bytes:
    """Sample ``i``: its index, then 1-9 KB of bytes that depend on it."""
    return int(i).to_bytes(8, "little") + ht.random_bytes(1000 + (i * 37) % 8000, seed=i)


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Records (LZ4 and stored raw, served from the map) and a fixed-shape array."""
    base = tmp_path_factory.mktemp("rings")
    out = {}
    for name, codec in (("lz4", "lz4"), ("raw", "none")):
        out[name] = base / f"{name}.hxz"
        with hexz.Writer(out[name], compression=codec) as w:
            w.add_records((_sample(i) for i in range(N)), name="s")
    out["array"] = base / "array.hxz"
    with hexz.Writer(out["array"], compression="zstd") as w:
        w.add_array(np.arange(N * 16, dtype=np.int32).reshape(N, 16), "x")
    return out


@pytest.fixture
def counts() -> Iterator[dict[str, int]]:
    """The main process's counts of batches received, zeroed for the test."""
    saved = dict(shared_batches.received)
    for k in shared_batches.received:
        shared_batches.received[k] = 0
    yield shared_batches.received
    shared_batches.received.update(saved)


def _loader(path: Path, context: str = "fork", **kw: object) -> torch.utils.data.DataLoader:
    ds = hexz.Dataset(path)
    return torch.utils.data.DataLoader(
        ds,
        batch_size=BATCH,
        sampler=ds.sampler(shuffle=True, seed=3),
        num_workers=2,
        collate_fn=hexz.collate,
        multiprocessing_context=context,
        **kw,
    )


def _check(batch: object, kind: str) -> list[int]:
    """The batch's sample indices, after checking every sample's bytes."""
    if kind == "array":
        assert isinstance(batch, torch.Tensor) and batch.dtype == torch.int32
        rows = batch.numpy()
        idx = (rows[:, 0] // 16).tolist()
        np.testing.assert_array_equal(rows, np.arange(16)[None, :] + rows[:, :1])
        return [int(i) for i in idx]
    assert isinstance(batch, hexz.Ragged)
    idx = []
    for s in batch:
        b = s.numpy().tobytes()
        i = int.from_bytes(b[:8], "little")
        assert b == _sample(i), f"sample {i} damaged"
        idx.append(i)
    return idx


def _ring_maps() -> int:
    with open("/proc/self/maps") as f:
        return sum("hexz-batches" in line for line in f)


@pytest.mark.slow
@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("kind", ["lz4", "raw", "array"])
def test_every_batch_crosses_through_the_ring(
    archives: dict[str, Path], counts: dict[str, int], context: str, kind: str
) -> None:
    loader = _loader(archives[kind], context)
    seen = [i for batch in loader for i in _check(batch, kind)]
    assert seen == list(loader.sampler.order())
    batches = N // BATCH
    if kind == "array":
        assert counts["ring"] == batches  # one tensor per batch
    else:
        assert (counts["ring"], counts["by_value"]) == (batches, 0)


@pytest.mark.slow
def test_kept_batches_are_never_overwritten(
    archives: dict[str, Path], counts: dict[str, int]
) -> None:
    """A loop that keeps every batch of eight epochs (160) fills the rings' 64 spans per
    worker: the rest cross by value, and every kept batch still holds its own samples at the
    end. Once the batches are dropped, the rings serve again."""
    loader = _loader(archives["lz4"], persistent_workers=True)
    kept = []
    for epoch in range(8):
        loader.sampler.set_epoch(epoch)
        kept.extend(loader)
    assert counts["by_value"] > 0 and counts["ring"] >= 2 * 64
    seen = [i for batch in kept for i in _check(batch, "lz4")]
    assert sorted(seen) == sorted(list(range(N)) * 8)
    kept.clear()
    gc.collect()
    counts["ring"] = counts["by_value"] = 0
    assert sorted(i for batch in loader for i in _check(batch, "lz4")) == list(range(N))
    assert (counts["ring"], counts["by_value"]) == (N // BATCH, 0)


@pytest.mark.slow
def test_rings_go_with_their_workers(archives: dict[str, Path], counts: dict[str, int]) -> None:
    """Four epochs, each with new workers: the main process maps at most the last two rings."""
    gc.collect()
    before = _ring_maps()
    loader = _loader(archives["lz4"])
    for _ in range(4):
        assert len([b for b in loader]) == N // BATCH
    gc.collect()
    assert counts["ring"] == 4 * N // BATCH
    assert _ring_maps() - before <= 2


@pytest.mark.slow
def test_rings_can_be_turned_off(
    archives: dict[str, Path], counts: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEXZ_SHARED_BATCHES", "0")
    loader = _loader(archives["lz4"])
    assert sorted(i for batch in loader for i in _check(batch, "lz4")) == list(range(N))
    assert (counts["ring"], counts["by_value"]) == (0, N // BATCH)


def test_outside_a_worker_collate_shares_nothing(archives: dict[str, Path]) -> None:
    """In the main process (num_workers=0) there is no ring: collate views the batch buffer."""
    ds = hexz.Dataset(archives["lz4"])
    batch = hexz.collate(ds.__getitems__(list(range(BATCH))))
    assert not shared_batches.in_ring(batch.values)
    assert shared_batches.empty(100) is None
    assert _check(batch, "lz4") == list(range(BATCH))


def _collate_then_slice(batch: object) -> object:
    return hexz.collate(batch)[1:]  # type: ignore[index]


@pytest.mark.slow
def test_a_tensor_made_from_a_ring_tensor_crosses_the_usual_way(
    archives: dict[str, Path], counts: dict[str, int]
) -> None:
    """A collate_fn that slices hexz.collate's tensor yields a view that does not start a span:
    it crosses as PyTorch sends tensors, as a plain tensor with the right rows."""
    ds = hexz.Dataset(archives["array"])
    loader = torch.utils.data.DataLoader(
        ds, batch_size=BATCH, num_workers=2, collate_fn=_collate_then_slice
    )
    rows = torch.cat(list(loader))
    assert type(rows) is torch.Tensor and counts["ring"] == 0
    want = np.arange(N * 16, dtype=np.int32).reshape(N, 16)
    keep = [i for i in range(N) if i % BATCH]
    np.testing.assert_array_equal(rows.numpy(), want[keep])


def _collate_or_convert(batch: list[object]) -> object:
    """Every other batch of each of two workers: hexz.collate's tensor turned into another
    (float), as a collate_fn that post-processes does; the batch's span is dropped unsent."""
    t = hexz.collate(batch)
    return t.float() if int(t[0, 0]) // 64 % 2 else t  # type: ignore[index]


@pytest.mark.slow
def test_spans_a_worker_drops_are_not_lost(
    archives: dict[str, Path], counts: dict[str, int]
) -> None:
    """With batches of 2 and 2 workers, each worker drops ~125 spans unsent in an epoch,
    twice its ring's 64: they are freed, so every batch sent as is still crosses the ring."""
    ds = hexz.Dataset(archives["array"])
    loader = torch.utils.data.DataLoader(
        ds, batch_size=2, num_workers=2, collate_fn=_collate_or_convert
    )
    kept = 0
    for batch in loader:
        if batch.dtype == torch.int32:
            kept += 1
            np.testing.assert_array_equal(
                batch.numpy(), np.arange(16)[None, :] + batch.numpy()[:, :1]
            )
    assert kept == N // 4 and counts["ring"] == kept and counts["by_value"] == 0
