"""hexz.Dataset / Loader and Sampler, in one process (DataLoader workers: test_dataloader)."""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import numpy as np
import pytest

import hexz
import hexz_testing as ht


def test_records_dataset(records_archive: Path) -> None:
    ds = hexz.Dataset(records_archive)
    assert len(ds) == 300 and "300 samples" in repr(ds)
    x, y = ds[17]  # x and y have the same rows: a sample is the pair
    assert x.dtype == np.int64 and x.shape == (ht.ROW,)
    assert y.dtype == np.int32 and y.shape == ()
    assert x[0] == 17 and x[1] == 51 and y == 17
    assert ds[-1][1] == 299
    assert ds._h.prefetch_threads == 4  # the seed's default: 4 Rust prefetch threads
    with pytest.raises(IndexError):
        ds[300]
    with pytest.raises(IndexError):
        ds[-301]
    batch = ds.__getitems__([5, 3, 299, 3])
    assert [int(b[1]) for b in batch] == [5, 3, 299, 3]
    assert [int(b[0][0]) for b in batch] == [5, 3, 299, 3]
    assert [int(s[1]) for s in ds] == list(range(300))  # iteration


def test_group_picks_one_array(records_archive: Path) -> None:
    ds = hexz.Dataset(records_archive, group="x")
    assert len(ds) == 300
    assert ds[9].shape == (ht.ROW,) and ds[9][0] == 9
    ys = hexz.Loader(records_archive, group="y")
    assert int(ys[123]) == 123
    with pytest.raises(KeyError):
        hexz.Dataset(records_archive, group="nope")


def test_transform_and_as_tensor(records_archive: Path) -> None:
    torch = pytest.importorskip("torch")
    ds = hexz.Dataset(records_archive, transform=lambda s: (s[0] * 2, s[1]), as_tensor=True)
    x, y = ds[10]
    assert isinstance(x, torch.Tensor) and x.dtype == torch.int64
    assert int(x[0]) == 20 and int(y) == 10


def test_directory_dataset(dir_archive: Path) -> None:
    ds = hexz.Dataset(dir_archive)
    assert len(ds) == 120
    names = [n for n in hexz.open(dir_archive).namelist()]
    samples = list(ds)
    assert all(s.dtype == np.uint8 and s.ndim == 1 for s in samples)
    # one file per sample, in path order
    got = [ht.dir_sample_index(s) for s in samples]
    assert got == [int(n.rsplit("/", 1)[1][:6]) for n in names]
    assert sorted(got) == list(range(120))
    assert len({len(s) for s in samples}) > 50  # different sizes


FIXTURES = ht.FIXTURES


def test_raw_stream_dataset() -> None:
    """A raw stream (a disk image, written by ``hexz pack --raw``): one block per sample by
    default, or ``sample_size`` bytes; the last sample may be short."""
    path = FIXTURES / "raw-zstd.hxz"
    if not path.exists():
        pytest.skip("golden fixtures not present")
    r = hexz.open(path)
    data = bytes(r.read())
    assert len(data) == 157_072 and r.getinfo("disk").kind == "stream"
    ds = hexz.Dataset(path)
    assert len(ds) == 10  # 16 KiB blocks
    assert b"".join(s.tobytes() for s in ds) == data
    assert len(ds[9]) == 157_072 - 9 * 16384
    small = hexz.Dataset(path, sample_size=4096)
    assert len(small) == 39
    assert all(small[i].tobytes() == data[i * 4096 : (i + 1) * 4096] for i in (0, 8, 20, 38))
    assert np.all(small[10] == 0)  # a hole (zero blocks) reads as zeros
    with pytest.raises(ValueError):
        hexz.Dataset(path, sample_size=-1)


def test_single_file_archive_is_one_sample(tmp_path: Path) -> None:
    data = ht.compressible_bytes(100_000)
    path = tmp_path / "disk.hxz"
    (tmp_path / "disk.raw").write_bytes(data)
    with hexz.Writer(path, block_size=4096) as w:
        w.add_file(tmp_path / "disk.raw", "disk")
    ds = hexz.Dataset(path)
    assert len(ds) == 1 and ds[0].tobytes() == data


def test_records_of_bytes(tmp_path: Path) -> None:
    samples = [f"record {i} ".encode() * (i % 7 + 1) for i in range(50)]
    path = tmp_path / "r.hxz"
    with hexz.Writer(path) as w:
        w.add_records(samples)
    ds = hexz.Dataset(path)
    assert [s.tobytes() for s in ds] == samples
    assert ds[3].dtype == np.uint8


def test_mixed_groups_flatten_to_bytes(tmp_path: Path) -> None:
    path = tmp_path / "mixed.hxz"
    with hexz.Writer(path) as w:
        w.add_array(np.arange(4, dtype=np.int32), "a")
        w.add_array(np.arange(6, dtype=np.float64).reshape(3, 2), "b")
    ds = hexz.Dataset(path)  # different row counts and types: all records, as bytes
    assert len(ds) == 7
    assert ds[0].tobytes() == np.int32(0).tobytes()
    assert ds[6].tobytes() == np.array([4.0, 5.0]).tobytes()
    same = tmp_path / "same.hxz"
    with hexz.Writer(same) as w:
        w.add_array(np.arange(4, dtype=np.int32).reshape(4, 1), "a")
        w.add_array(np.arange(6, dtype=np.int32).reshape(6, 1), "b")
    ds = hexz.Dataset(same)  # same dtype and row shape: one typed run of 10 rows
    assert len(ds) == 10 and ds[9].dtype == np.int32 and int(ds[9][0]) == 5


def test_cache_size_is_honoured(tmp_path: Path) -> None:
    x = np.random.default_rng(0).standard_normal((20_000, 16)).astype(np.float32)  # 1.28 MB
    path = tmp_path / "big.hxz"
    with hexz.Writer(path, block_size=4096) as w:
        w.add_array(x, "x")
    for cache_size, threads in ((4, 0), (32, 0), (4, 4), (32, 4)):
        ds = hexz.Dataset(path, cache_size=cache_size, prefetch_threads=threads)
        for start in range(0, len(ds), 500):
            ds.__getitems__(list(range(start, min(start + 500, len(ds)))))
            time.sleep(0.001)  # let read-ahead threads run
            assert ds._h.native.cached_bytes <= cache_size * 4096
        np.testing.assert_array_equal(ds[19_999], x[19_999])


def test_pickle_dataset(records_archive: Path) -> None:
    ds = hexz.Dataset(records_archive, cache_size=16)
    ds.sampler(seed=3)  # announced orders are not pickled
    ds2 = pickle.loads(pickle.dumps(ds))
    assert len(ds2) == 300 and ds2.path == ds.path
    assert int(ds2[42][1]) == 42
    assert ds2._h.cache_size == 16


def test_sampler_deterministic_and_complete(records_archive: Path) -> None:
    ds = hexz.Dataset(records_archive)
    s = ds.sampler(shuffle=True, seed=7)
    assert isinstance(s, hexz.Sampler) and len(s) == 300
    e0 = list(s)
    assert sorted(e0) == list(range(300)) and e0 != list(range(300))
    assert list(s) == e0  # same epoch, same order
    s.set_epoch(1)
    e1 = list(s)
    assert sorted(e1) == list(range(300)) and e1 != e0
    # a function of (seed, epoch) only: a fresh sampler, even on another Dataset object
    other = hexz.Sampler(hexz.Dataset(records_archive), shuffle=True, seed=7)
    other.set_epoch(1)
    assert list(other) == e1
    assert list(hexz.Sampler(ds, shuffle=True, seed=8)) != e0
    assert list(ds.sampler(shuffle=False)) == list(range(300))


def test_dataloader_single_process_with_sampler(records_archive: Path) -> None:
    torch = pytest.importorskip("torch")
    ds = hexz.Dataset(records_archive)
    sampler = ds.sampler(shuffle=True, seed=11)
    loader = torch.utils.data.DataLoader(ds, batch_size=32, sampler=sampler, num_workers=0)
    for epoch in range(2):
        sampler.set_epoch(epoch)
        order = list(hexz.Sampler(ds, shuffle=True, seed=11).order()) if epoch == 0 else None
        seen = []
        for x, y in loader:
            assert x.dtype == torch.int64 and x.shape[1:] == (ht.ROW,)
            assert torch.equal(x[:, 0], y.long())
            seen.extend(int(i) for i in y)
        assert sorted(seen) == list(range(300))
        if order is not None:
            assert seen == order


def test_dataloader_single_process_shuffle(dir_archive: Path) -> None:
    torch = pytest.importorskip("torch")
    ds = hexz.Dataset(dir_archive)
    loader = torch.utils.data.DataLoader(
        ds, batch_size=16, shuffle=True, num_workers=0, collate_fn=ht.collate_list
    )
    seen = [ht.dir_sample_index(s) for batch in loader for s in batch]
    assert sorted(seen) == list(range(120)) and seen != sorted(seen)


def _ahead(ds: hexz.Dataset) -> list[list[int]]:
    """The batches ``ds`` is reading ahead, oldest first."""
    return [list(key) for key in ds._ahead.requested_batches()]


def test_sampler_reads_ahead(tmp_path: Path) -> None:
    """After the first batch of an announced order, Rust threads read the next batches
    whole, and the next call takes the one it asks for."""
    x = np.random.default_rng(1).standard_normal((4096, 64)).astype(np.float32)  # 1 MiB
    path = tmp_path / "p.hxz"
    with hexz.Writer(path, block_size=4096, compression="lz4") as w:
        w.add_array(x, "x")
    ds = hexz.Dataset(path, prefetch_batches=4)
    order = list(ds.sampler(seed=0))  # iterating announces the order
    ds.__getitems__(order[:64])
    assert _ahead(ds) == [order[64 * j : 64 * (j + 1)] for j in range(1, 5)]
    got = ds.__getitems__(order[64:128])
    np.testing.assert_array_equal(np.stack(got), x[order[64:128]])
    assert _ahead(ds) == [order[64 * j : 64 * (j + 1)] for j in range(2, 6)]
    for j in range(2, 64):  # the rest of the epoch, read ahead or not, is right
        got = ds.__getitems__(order[64 * j : 64 * (j + 1)])
        np.testing.assert_array_equal(np.stack(got), x[order[64 * j : 64 * (j + 1)]])
    none = hexz.Dataset(path, prefetch_threads=0)
    list(none.sampler(seed=0))
    none.__getitems__(order[:64])
    assert _ahead(none) == []


def test_sequential_access_reads_ahead(tmp_path: Path) -> None:
    x = np.random.default_rng(2).standard_normal((8192, 32)).astype(np.float32)  # 1 MiB
    path = tmp_path / "s.hxz"
    with hexz.Writer(path, block_size=4096) as w:
        w.add_array(x, "x")
    ds = hexz.Dataset(path, prefetch_batches=2)
    ds.__getitems__(list(range(0, 256)))
    assert _ahead(ds) == [list(range(256, 512)), list(range(512, 768))]
    got = ds.__getitems__(list(range(256, 512)))  # a sequence: the next batches are read
    np.testing.assert_array_equal(np.stack(got), x[256:512])
    assert _ahead(ds) == [list(range(512, 768)), list(range(768, 1024))]


def test_stream_archive_prefetches_blocks_into_the_cache(tmp_path: Path) -> None:
    """A raw stream (no records) is read ahead block-wise into the cache."""
    data = ht.compressible_bytes(1 << 20, seed=3)
    (tmp_path / "disk.img").write_bytes(data)
    path = tmp_path / "raw.hxz"
    with hexz.Writer(path, block_size=4096) as w:
        w.add_stream(tmp_path / "disk.img")
    ds = hexz.Dataset(path, sample_size=4096, prefetch_batches=4)
    ds.__getitems__(list(range(0, 16)))
    ds.__getitems__(list(range(16, 32)))
    deadline = time.monotonic() + 5
    while ds._h.native.cached_bytes <= 16 * 4096 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ds._h.native.cached_bytes > 16 * 4096


def test_dataset_errors(tmp_path: Path, records_archive: Path) -> None:
    with pytest.raises(FileNotFoundError):
        hexz.Dataset(tmp_path / "missing.hxz")
    ds = hexz.Dataset(records_archive)
    with pytest.raises(IndexError):
        ds.__getitems__([0, 1, 300])
    with pytest.raises((TypeError, ValueError)):
        ds["a"]  # type: ignore[index]


def test_dataloader_worker_reads_its_own_next_batches(
    records_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a worker, the Sampler's order is rebuilt from (seed, epoch) and the worker reads
    ahead the batches that come to it next (every num_workers-th batch)."""
    torch = pytest.importorskip("torch")

    class Info:
        id = 1
        num_workers = 2

    ds = hexz.Dataset(records_archive, prefetch_batches=2)
    sampler = ds.sampler(shuffle=True, seed=5)
    sampler.set_epoch(3)
    order = list(sampler.order())
    monkeypatch.setattr(torch.utils.data, "get_worker_info", lambda: Info())
    n = 10
    ds.__getitems__(order[n : 2 * n])  # worker 1's first batch (batch 1)
    assert _ahead(ds) == [order[3 * n : 4 * n], order[5 * n : 6 * n]]  # its batches 3 and 5
    ds.__getitems__(order[3 * n : 4 * n])
    assert _ahead(ds) == [order[5 * n : 6 * n], order[7 * n : 8 * n]]


def test_dataloader_worker_reads_its_next_sequential_batches(
    records_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a Sampler, worker 1 of 2 gets batches 1, 3, 5... of the sequence: it reads
    those ahead, not the batches in between (which worker 0 reads)."""
    torch = pytest.importorskip("torch")

    class Info:
        id = 1
        num_workers = 2

    ds = hexz.Dataset(records_archive, prefetch_batches=2)
    monkeypatch.setattr(torch.utils.data, "get_worker_info", lambda: Info())
    n = 10
    ds.__getitems__(list(range(n, 2 * n)))  # batch 1: the worker's first
    assert _ahead(ds) == [list(range(3 * n, 4 * n)), list(range(5 * n, 6 * n))]
    ds.__getitems__(list(range(3 * n, 4 * n)))  # batch 3
    assert _ahead(ds) == [list(range(5 * n, 6 * n)), list(range(7 * n, 8 * n))]
    ds.__getitems__(list(range(6 * n, 7 * n)))  # not this worker's sequence: nothing
    assert len(_ahead(ds)) == 2
