"""The training loader's batch path: record-aligned blocks (read amplification),
samples served from the memory map without a decode, shuffles that are permutations and pure
functions of (seed, epoch), ``hexz.collate`` without a second copy, and DataLoader workers
under fork, spawn and forkserver that leave nothing in /dev/shm."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import hexz
import hexz_testing as ht
from hexz.sampler import order, shuffle_mode

torch = pytest.importorskip("torch")

CONTEXTS = [
    c for c in ("fork", "spawn", "forkserver") if c in multiprocessing.get_all_start_methods()
]
N = 600


def _sample(i: int, size: int, compressible: bool) -> bytes:
    """Sample ``i``: its index in the first 8 bytes, then ``size - 8`` bytes."""
    head = int(i).to_bytes(8, "little")
    if compressible:
        body = ht.compressible_bytes(size - 8, seed=i)
    else:
        body = ht.random_bytes(size - 8, seed=i)
    return head + body


def _sizes() -> list[int]:
    rng = np.random.default_rng(5)
    return [int(s) for s in rng.integers(4096, 16385, size=N)]


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(compressible, incompressible) archives of N records of 4-16 KB, LZ4, 64 KiB blocks."""
    base = tmp_path_factory.mktemp("batches")
    out = []
    for name, compressible in (("lz4.hxz", True), ("raw.hxz", False)):
        path = base / name
        with hexz.Writer(path, compression="lz4") as w:
            w.add_records((_sample(i, s, compressible) for i, s in enumerate(_sizes())), name="s")
        out.append(path)
    return out[0], out[1]


def _index(sample: object) -> int:
    return int(np.frombuffer(bytes(np.asarray(sample)[:8]), dtype="<u8")[0])


def test_record_block_trades_ratio_for_amplification(tmp_path: Path) -> None:
    """``record_block=`` packs small records into larger blocks: smaller archive, more decoded
    per shuffled read; the samples are the same."""
    rows = np.tile(np.arange(64, dtype=np.float32), (2000, 1)) + np.arange(2000)[:, None]
    sizes, amps = [], []
    for rb in (4096, 65536):
        path = tmp_path / f"rb{rb}.hxz"
        with hexz.Writer(path, compression="zstd", record_block=rb) as w:
            w.add_array(rows, "x")
        ds = hexz.Dataset(path, prefetch_threads=0)
        perm = np.random.default_rng(2).permutation(2000)[:256].tolist()
        np.testing.assert_array_equal(np.stack(ds.__getitems__(perm)), rows[perm])
        stats = ds.stats()
        sizes.append(path.stat().st_size)
        amps.append(stats["bytes_decoded"] / stats["bytes_returned"])
    assert sizes[1] < sizes[0] and amps[1] > amps[0]
    with pytest.raises(ValueError, match="record_block"):
        hexz.Writer(tmp_path / "bad.hxz", record_block=1 << 20)


def test_shuffled_reads_decode_about_what_they_return(varied: tuple[Path, Path]) -> None:
    ds = hexz.Dataset(varied[0], prefetch_threads=0)
    perm = np.random.default_rng(1).permutation(N).tolist()
    for k in range(0, N, 64):
        batch = ds.__getitems__(perm[k : k + 64])
        assert [_index(s) for s in batch] == perm[k : k + 64]
    stats = ds.stats()
    assert stats["bytes_returned"] == sum(_sizes())
    amplification = stats["bytes_decoded"] / stats["bytes_returned"]
    assert amplification <= 1.3, stats
    assert stats["bytes_mapped"] == 0  # compressed: decoded into the batch buffer


def test_raw_samples_are_views_of_the_map(varied: tuple[Path, Path]) -> None:
    """One sample at a time (``ds[i]``), a sample stored raw is a view of the map."""
    ds = hexz.Dataset(varied[1], prefetch_threads=0)
    picked = [5, 99, 3, 400]
    samples = [ds[i] for i in picked]
    the_map = ds._mapped()
    assert the_map is not None and the_map.nbytes == os.path.getsize(varied[1])
    for i, s in zip(picked, samples, strict=True):
        assert np.shares_memory(s, the_map)
        assert not s.flags.writeable
        assert bytes(s) == _sample(i, _sizes()[i], compressible=False)
    stats = ds.stats()
    assert stats["bytes_decoded"] == 0 and stats["blocks_decoded"] == 0
    assert stats["bytes_mapped"] == stats["bytes_returned"] == sum(_sizes()[i] for i in picked)
    # Without the map, the same bytes are read (and counted as decoded).
    plain = hexz.Dataset(varied[1], prefetch_threads=0, mmap=False)
    again = [plain[i] for i in picked]
    assert [bytes(a) for a in again] == [bytes(b) for b in samples]
    assert plain.stats()["bytes_mapped"] == 0 and plain.stats()["bytes_decoded"] > 0


def test_a_batch_of_raw_samples_is_one_buffer(varied: tuple[Path, Path]) -> None:
    """A batch (``__getitems__``, what a DataLoader calls) of samples stored raw is read into
    one buffer, not left as views that a collate would copy out of the map: the batch's
    samples are consecutive slices of one array, none of them in the map."""
    ds = hexz.Dataset(varied[1], prefetch_threads=0)
    picked = [5, 99, 3, 400]
    batch = ds.__getitems__(picked)
    the_map = ds._mapped()
    assert the_map is not None
    base = batch[0].base
    assert base is not None and all(s.base is base for s in batch)
    assert not any(np.shares_memory(s, the_map) for s in batch)
    assert [bytes(s) for s in batch] == [
        _sample(i, _sizes()[i], compressible=False) for i in picked
    ]
    # Read straight into the buffer (counted as read, "decoded"), each byte once.
    stats = ds.stats()
    assert stats["bytes_mapped"] == 0
    assert stats["bytes_decoded"] == stats["bytes_returned"] == sum(_sizes()[i] for i in picked)


def test_a_damaged_raw_block_is_refused_not_mapped(
    varied: tuple[Path, Path], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.hxz"
    data = bytearray(varied[1].read_bytes())
    data[4096 + 100] ^= 0xFF  # inside the first stored block
    bad.write_bytes(bytes(data))
    ds = hexz.Dataset(bad, prefetch_threads=0)
    with pytest.raises(hexz.IntegrityError):
        ds.__getitems__(list(range(8)))


@pytest.mark.parametrize("mode", ["global", "block", "none"])
def test_orders_are_deterministic_permutations(mode: str) -> None:
    for n in (0, 1, 7, 1000):
        a = list(order(n, mode, 3, 1, 16))
        assert sorted(a) == list(range(n))
        assert a == list(order(n, mode, 3, 1, 16))
    if mode != "none":
        assert list(order(1000, mode, 3, 1, 16)) != list(order(1000, mode, 3, 2, 16))
        assert list(order(1000, mode, 3, 1, 16)) != list(order(1000, mode, 4, 1, 16))


def test_block_shuffle_stays_within_groups_of_blocks() -> None:
    o = list(order(1000, "block", 0, 0, 10))
    for g in range(0, 1000, 80):  # 8 blocks of 10 samples mix together
        blocks = {i // 10 for i in o[g : g + 80]}
        assert len(blocks) <= 8


def test_shuffle_argument() -> None:
    assert shuffle_mode(True) == "block" and shuffle_mode(False) == "none"
    assert shuffle_mode("global") == "global"
    with pytest.raises(ValueError, match="shuffle must be"):
        shuffle_mode("sorted")


def test_sampler_order_is_what_the_loader_yields(varied: tuple[Path, Path]) -> None:
    ds = hexz.Dataset(varied[0])
    for shuffle in (True, "block", False):
        sampler = ds.sampler(shuffle=shuffle, seed=7, block_samples=50)
        sampler.set_epoch(2)
        loader = torch.utils.data.DataLoader(
            ds, batch_size=64, sampler=sampler, collate_fn=hexz.collate
        )
        seen = [_index(s) for batch in loader for s in batch]
        assert seen == list(sampler.order())
        assert sorted(seen) == list(range(N))


def test_collate_views_the_batch_buffer(records_archive: Path) -> None:
    ds = hexz.Dataset(records_archive)
    batch = ds.__getitems__([4, 1, 250, 9])
    x, y = hexz.collate(batch)
    assert x.shape == (4, ht.ROW) and x.dtype == torch.int64
    assert y.tolist() == [4, 1, 250, 9]
    assert torch.equal(x, torch.from_numpy(np.stack([s[0] for s in batch])))
    # No copy: the tensor is the sample views' memory.
    assert np.shares_memory(x.numpy(), batch[0][0])


def test_collate_ragged_and_copies(varied: tuple[Path, Path]) -> None:
    for path in varied:  # decoded into the buffer, then served from the map
        ds = hexz.Dataset(path)
        idx = [10, 2, 599]
        r = hexz.collate(ds.__getitems__(idx))
        assert isinstance(r, hexz.Ragged) and len(r) == 3
        assert r.nbytes == sum(_sizes()[i] for i in idx)
        for k, i in enumerate(idx):
            assert bytes(r[k].numpy()) == _sample(i, _sizes()[i], compressible=path == varied[0])
    # Any list of arrays: copied once.
    t = hexz.collate([np.arange(3), np.arange(3, 6)])
    assert t.tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(TypeError, match="different shapes"):
        hexz.collate([np.zeros((2, 2)), np.zeros((3, 3))])


def _shm() -> set[str]:
    """Shared-memory segments in /dev/shm. Named semaphores (``sem.*``: multiprocessing's
    queue locks, unlinked by its resource tracker, also those of unrelated processes) are
    not data and are left out."""
    gc.collect()
    try:
        return {f for f in os.listdir("/dev/shm") if not f.startswith("sem.")}
    except FileNotFoundError:
        return set()


@pytest.mark.slow
@pytest.mark.parametrize("context", CONTEXTS)
def test_workers_one_buffer_per_batch_nothing_left(varied: tuple[Path, Path], context: str) -> None:
    before = _shm()
    ds = hexz.Dataset(varied[0])
    sampler = ds.sampler(shuffle=True, seed=1)
    loader = torch.utils.data.DataLoader(
        ds,
        batch_size=64,
        sampler=sampler,
        num_workers=2,
        collate_fn=hexz.collate,
        multiprocessing_context=context,
    )
    seen = []
    for batch in loader:
        assert isinstance(batch, hexz.Ragged)  # one values tensor + offsets, not 64 pickles
        seen.extend(_index(batch[k].numpy()) for k in range(len(batch)))
    assert seen == list(sampler.order())
    del loader
    assert _shm() - before == set()


_TRAIN = """
import sys, time, torch, hexz
ds = hexz.Dataset(sys.argv[1])
loader = torch.utils.data.DataLoader(
    ds, batch_size=64, sampler=ds.sampler(), num_workers=2, collate_fn=hexz.collate
)
for k, batch in enumerate(loader):
    if k == 1:
        print("training", flush=True)
    time.sleep(0.05)
"""


@pytest.mark.slow
def test_a_killed_training_job_leaves_nothing_in_shm(varied: tuple[Path, Path]) -> None:
    """SIGKILL to the whole job (main process and workers) mid-epoch: no segment survives."""
    before = _shm()
    job = subprocess.Popen(
        [sys.executable, "-c", _TRAIN, str(varied[0])],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert job.stdout is not None and job.stdout.readline().strip() == "training"
    finally:
        os.killpg(job.pid, signal.SIGKILL)
        job.communicate(timeout=30)
    time.sleep(0.5)  # the workers die with their group
    assert _shm() - before == set()
