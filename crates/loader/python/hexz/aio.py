"""Reading archives from asyncio: :class:`AsyncReader`."""

from __future__ import annotations

import io
import os
from typing import Any, Unpack

from .options import OpenKwargs, OpenOptions, PathLike, open_options
from .reader import Reader

__all__ = ["AsyncReader"]


class AsyncReader:
    """An asyncio reader: every read runs on a worker thread (the GIL is released while Rust
    reads and decodes), so the event loop never blocks on I/O or decompression.

    Use as ``async with hexz.AsyncReader(path) as r: data = await r.read_at(0, 1024)``.
    ``path`` may be a URL (``s3://``, ``http(s)://``); ``cache_size``, ``prefetch_threads``
    and the open options (``options=``, a :class:`hexz.OpenOptions`, or its fields as keyword
    arguments) are those of :class:`Reader`.
    """

    def __init__(
        self,
        path: PathLike,
        *,
        cache_size: int | None = None,
        prefetch_threads: int = 4,
        options: OpenOptions | None = None,
        **open_kwargs: Unpack[OpenKwargs],
    ) -> None:
        self._path: str = os.fspath(path)
        self._cache_size = cache_size
        self._prefetch_threads = prefetch_threads
        self._options = open_options(options, open_kwargs)
        self._reader: Reader | None = None

    @property
    def path(self) -> str:
        """The archive's path or URL, as given."""
        return self._path

    def __repr__(self) -> str:
        state = "open" if self._reader is not None else "not open"
        return f"<hexz.AsyncReader {self.path!r} {state}>"

    async def _run(self, fn: Any, *args: Any) -> Any:
        # Imported here: asyncio costs ~0.1 s to import, which every `import hexz` (and so every
        # run of the `hexz` command) would otherwise pay.
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def open(self) -> AsyncReader:
        """Opens the archive (also done by ``async with``)."""
        if self._reader is None:
            self._reader = await self._run(
                lambda: Reader(
                    self._path,
                    cache_size=self._cache_size,
                    prefetch_threads=self._prefetch_threads,
                    options=self._options,
                )
            )
        return self

    @property
    def reader(self) -> Reader:
        if self._reader is None:
            raise ValueError("AsyncReader is not open: use 'async with' or 'await r.open()'")
        return self._reader

    async def __aenter__(self) -> AsyncReader:
        return await self.open()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __len__(self) -> int:
        return len(self.reader)

    async def read_at(self, offset: int, length: int) -> memoryview:
        """Reads ``length`` bytes at ``offset``."""
        result: memoryview = await self._run(self.reader.read_at, offset, length)
        return result

    async def read(self, size: int = -1) -> memoryview:
        """Reads up to ``size`` bytes from the position."""
        result: memoryview = await self._run(self.reader.read, size)
        return result

    async def readinto(self, buffer: Any) -> int:
        """Reads into a writable buffer."""
        result: int = await self._run(self.reader.readinto, buffer)
        return result

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.reader.seek(offset, whence)

    def tell(self) -> int:
        return self.reader.tell()

    def namelist(self) -> list[str]:
        return self.reader.namelist()
