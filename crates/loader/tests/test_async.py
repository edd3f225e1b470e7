"""hexz.AsyncReader: async with, awaitable reads, and an event loop that never blocks."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import numpy as np
import pytest

import hexz


def test_async_reads(blob_archive: Path, blob: bytes) -> None:
    async def main() -> None:
        async with hexz.AsyncReader(blob_archive) as r:
            assert len(r) == len(blob)
            assert r.namelist() == ["blob"]
            assert bytes(await r.read_at(1024, 512)) == blob[1024:1536]
            assert bytes(await r.read(100)) == blob[:100]
            assert r.tell() == 100
            assert r.seek(-10, io.SEEK_END) == len(blob) - 10
            assert bytes(await r.read()) == blob[-10:]
            r.seek(0)
            buf = np.zeros(1000, dtype=np.uint8)
            assert await r.readinto(buf) == 1000
            assert buf.tobytes() == blob[:1000]
            parts = await asyncio.gather(*(r.read_at(i * 4096, 4096) for i in range(64)))
            assert b"".join(bytes(p) for p in parts) == blob[: 64 * 4096]
        with pytest.raises(ValueError):
            await r.read_at(0, 1)  # closed by the context manager

    asyncio.run(main())


def test_explicit_open_close_and_kwargs(blob_archive: Path, blob: bytes) -> None:
    async def main() -> None:
        r = hexz.AsyncReader(blob_archive, cache_size=2, prefetch_threads=0)
        with pytest.raises(ValueError):
            await r.read_at(0, 1)  # not open yet
        assert await r.open() is r
        assert bytes(await r.read_at(0, len(blob))) == blob
        await r.close()
        await r.close()

    asyncio.run(main())


def test_async_errors(tmp_path: Path) -> None:
    async def main() -> None:
        with pytest.raises(FileNotFoundError):
            async with hexz.AsyncReader(tmp_path / "missing.hxz"):
                pass
        (tmp_path / "junk.hxz").write_bytes(b"not an archive" * 100)
        with pytest.raises(hexz.FormatError):
            async with hexz.AsyncReader(tmp_path / "junk.hxz"):
                pass

    asyncio.run(main())


@pytest.mark.slow
def test_event_loop_stays_responsive(big_archive: Path) -> None:
    """A ticking task keeps running, every few milliseconds, while 64 MiB reads are awaited."""

    async def main() -> tuple[float, float, int]:
        ticks: list[float] = []
        stop = asyncio.Event()

        async def ticker() -> None:
            while not stop.is_set():
                ticks.append(time.perf_counter())
                await asyncio.sleep(0.001)

        async with hexz.AsyncReader(big_archive, cache_size=0) as r:
            task = asyncio.create_task(ticker())
            await asyncio.sleep(0.01)
            t0 = time.perf_counter()
            for _ in range(3):
                data = await r.read_at(0, len(r))
                assert len(data) == len(r)
            t1 = time.perf_counter()
            stop.set()
            await task
        inside = [t for t in ticks if t0 <= t <= t1]
        points = [t0, *inside, t1]
        return t1 - t0, max(b - a for a, b in zip(points, points[1:], strict=False)), len(inside)

    took, gap, n = asyncio.run(main())
    # A blocking read would stall the loop for a whole read (a third of the time).
    assert gap < max(0.03, took / 4), (took, gap, n)
    assert n >= 10, (took, gap, n)
