"""Async I/O: hexz.AsyncReader in an asyncio program (seed README, "Async I/O").

Reads run on worker threads with the GIL released, so the event loop keeps serving other
tasks while data is read and decompressed. Run: python examples/async_io.py
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time

import hexz


def make_snapshot(tmp: str) -> str:
    path = os.path.join(tmp, "snapshot.hxz")
    with hexz.Writer(path, compression="lz4") as w:
        w.add_bytes(os.urandom(16 << 20), "disk.raw")  # 16 MiB
    return path


async def main(path: str) -> None:
    async with hexz.AsyncReader(path) as reader:
        data = await reader.read_at(0, 1024)
        print(f"read_at(0, 1024) -> {len(data)} bytes")

        # The loop stays responsive during large reads: a heartbeat keeps ticking.
        beats = 0

        async def heartbeat() -> None:
            nonlocal beats
            while True:
                beats += 1
                await asyncio.sleep(0.001)

        task = asyncio.create_task(heartbeat())
        t0 = time.perf_counter()
        parts = await asyncio.gather(*(reader.read_at(i << 20, 1 << 20) for i in range(16)))
        took = time.perf_counter() - t0
        task.cancel()
        print(
            f"16 concurrent 1 MiB reads: {sum(len(p) for p in parts)} bytes in {took:.3f}s, "
            f"heartbeat ticked {beats} times meanwhile"
        )


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(make_snapshot(tmp)))
