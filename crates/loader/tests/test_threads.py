"""Threads: one Reader shared by 8 Python threads, and the GIL released during reads and
writes (a Python thread keeps running while Rust works)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hexz
import hexz_testing as ht


@pytest.fixture(scope="module")
def mixed_archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """3 MiB of mixed data (runs, random, zeros) in 16 KiB blocks, small cache."""
    data = (
        ht.compressible_bytes(1 << 20, seed=4)
        + ht.random_bytes(1 << 20, seed=5)
        + bytes(512 << 10)
        + ht.compressible_bytes(512 << 10, seed=6)
    )
    path = tmp_path_factory.mktemp("mt") / "mixed.hxz"
    with hexz.Writer(path, compression="lz4", block_size=16384) as w:
        w.add_bytes(data, "d")
    return path, data


def test_one_reader_eight_threads(mixed_archive: tuple[Path, bytes]) -> None:
    path, data = mixed_archive
    reader = hexz.open(path, cache_size=16)  # a small cache: threads evict each other's blocks
    base = reader.getinfo("d").offset
    start = threading.Barrier(8)

    def work(seed: int) -> int:
        rng = np.random.default_rng(seed)
        start.wait()
        checked = 0
        for _ in range(400):
            off = int(rng.integers(0, len(data)))
            n = int(rng.choice([1, 100, 4096, 16384, 100_000]))
            got = reader.read_at(base + off, n)
            assert bytes(got) == data[off : off + n], (seed, off, n)
            arr = hexz.read_array(
                reader, base + off - off % 4, (min(64, (len(data) - off) // 4),), "<u4"
            )
            assert arr.tobytes() == data[off - off % 4 : off - off % 4 + arr.nbytes]
            checked += 1
        f = reader.open("d")  # per-thread file position
        f.seek(seed * 1000)
        assert bytes(f.read(5000)) == data[seed * 1000 : seed * 1000 + 5000]
        return checked

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(work, range(8))) == 8 * 400
    assert reader.verify() == []


@pytest.fixture(scope="module")
def numbered_archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """Lines ``%015d\n`` of their own offsets (16 bytes each), 4 MiB in 16 KiB blocks: any
    piece of it says where it came from."""
    data = b"".join(b"%015d\n" % off for off in range(0, 4 << 20, 16))
    path = tmp_path_factory.mktemp("cursor") / "numbered.hxz"
    with hexz.Writer(path, compression="lz4", block_size=16384) as w:
        w.add_bytes(data, "n")
    return path, data


@pytest.mark.parametrize("method", ["read", "readinto", "readline"])
def test_threads_sharing_a_position_get_every_byte_once(
    numbered_archive: tuple[Path, bytes], method: str
) -> None:
    """Eight threads read one shared file position to the end: the pieces they got tile the
    data exactly (no byte twice, none missing), whatever the interleaving."""
    path, data = numbered_archive
    reader = hexz.open(path)
    f = reader.open("n")
    start = threading.Barrier(8)

    def work(_: int) -> list[tuple[int, bytes]]:
        got = []
        start.wait()
        while True:
            if method == "read":
                piece = bytes(f.read(4096))
            elif method == "readinto":
                buf = bytearray(4096)
                piece = bytes(buf[: f.readinto(buf)])
            else:
                piece = f.readline()
            if not piece:
                return got
            got.append((int(piece[:15]), piece))

    with ThreadPoolExecutor(8) as pool:
        pieces = sorted(p for part in pool.map(work, range(8)) for p in part)
    assert sum(len(p) for _, p in pieces) == len(data)
    assert b"".join(p for _, p in pieces) == data


def test_one_dataset_eight_threads(records_archive: Path) -> None:
    ds = hexz.Dataset(records_archive, cache_size=2)

    def work(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(40):
            idx = [int(i) for i in rng.integers(0, len(ds), size=16)]
            for i, (x, y) in zip(idx, ds.__getitems__(idx), strict=False):
                assert int(y) == i and int(x[0]) == i and int(x[1]) == 3 * i

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))


class Ticker:
    """A Python thread that records a timestamp every few hundred loop iterations. It can
    only run while no other thread holds the GIL."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        k = 0
        ticks = self.ticks
        while not self._stop.is_set():
            k += 1
            if k % 100 == 0:
                ticks.append(time.perf_counter())

    def __enter__(self) -> Ticker:
        self._thread.start()
        time.sleep(0.05)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def measure(self, fn: Callable[[], Any]) -> tuple[float, float, int]:
        """Runs ``fn`` (one call) and returns its duration, the longest stretch without a
        tick during it, and the number of ticks during it."""
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        inside = [t for t in list(self.ticks) if t0 <= t <= t1]
        points = [t0, *inside, t1]
        gap = max(b - a for a, b in zip(points, points[1:], strict=False))
        return t1 - t0, gap, len(inside)


def _holds_gil_for(seconds: float) -> Callable[[], Any]:
    """A C call that holds the GIL throughout (sum over a range runs without a switch)."""
    t0 = time.perf_counter()
    sum(range(1_000_000))
    per = time.perf_counter() - t0
    n = int(1_000_000 * seconds / max(per, 1e-6))
    return lambda: sum(range(n))


@pytest.mark.slow
def test_gil_released_during_large_read_and_write(tmp_path: Path) -> None:
    data = bytearray(os.urandom(64 << 20))  # incompressible: stored raw
    path = tmp_path / "big.hxz"
    with Ticker() as ticker:
        # the measurement detects a call that holds the GIL...
        held, held_gap, _ = ticker.measure(_holds_gil_for(0.3))
        if held_gap < held / 2:
            pytest.skip("this interpreter switches threads inside sum(); cannot show the GIL")

        # ...and a write does not hold it
        w = hexz.Writer(path, compression="lz4")
        t, gap, n = ticker.measure(lambda: w.add_bytes(data, "big"))
        w.close()
        assert n > 0 and (t < 0.05 or gap < t / 2), (t, gap, n)

        # one call that reads k x 64 MiB (decoding, checking and copying in Rust)
        ds = hexz.Dataset(path, cache_size=0)
        one, _, _ = ticker.measure(lambda: ds.__getitems__([0]))
        k = max(2, min(16, int(0.4 / max(one, 1e-3)) + 1))
        t, gap, n = ticker.measure(lambda: ds.__getitems__([0] * k))
    assert t > 0.1, f"read of {k} x 64 MiB took only {t:.3f}s"
    assert gap < t / 2, f"no Python progress for {gap:.3f}s of a {t:.3f}s read"
    assert n >= 10, (t, gap, n)


@pytest.mark.slow
def test_many_small_reads_let_other_threads_run(mixed_archive: tuple[Path, bytes]) -> None:
    """Thousands of small reads from two threads: both make progress (nothing serialises
    on a lock held across the GIL), and results stay right."""
    path, data = mixed_archive
    reader = hexz.open(path)
    done = [0, 0]
    stop = time.monotonic() + 1.0

    def work(slot: int) -> None:
        rng = np.random.default_rng(slot)
        while time.monotonic() < stop:
            off = int(rng.integers(0, len(data) - 4096))
            assert bytes(reader.read_at(off, 4096)) == data[off : off + 4096]
            done[slot] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert min(done) > 50, done
