"""The native archive behind every reader: reopened in a forked child (a DataLoader worker
started by fork) and carried through pickles by its path or URL and open options."""

from __future__ import annotations

import os
from typing import Any

from ._native import NativeArchive
from .options import DEFAULT_CACHE_BYTES, MAX_THREADS, PathLike

# Native archives inherited through fork() are never used nor freed in the child: their
# locks or threads may belong to the parent. The child reopens the archive instead.
_INHERITED: list[Any] = []


def _open_native(
    path: str,
    cache_size: int | None,
    prefetch_threads: int,
    options: dict[str, Any],
    mmap: bool = False,
) -> NativeArchive:
    """Opens ``path`` with a block cache of ``cache_size`` blocks (``None``: the default
    bytes); ``options`` is :meth:`OpenOptions.native`'s dict."""
    if cache_size is None:
        return NativeArchive(
            path, DEFAULT_CACHE_BYTES, prefetch_threads, options=options, mmap=mmap
        )
    if cache_size < 0:
        raise ValueError(f"cache_size must be >= 0 blocks, got {cache_size}")
    native = NativeArchive(path, cache_size * 65536, prefetch_threads, options=options, mmap=mmap)
    if native.block_size != 65536:
        bytes_ = cache_size * native.block_size
        native = NativeArchive(path, bytes_, prefetch_threads, options=options, mmap=mmap)
    return native


class _Handle:
    """A native archive that reopens itself in a forked child and survives pickling (with
    its path or URL and its open options, so a DataLoader worker reopens a remote archive)."""

    def __init__(
        self,
        path: PathLike,
        cache_size: int | None,
        prefetch_threads: int,
        remote: dict[str, Any] | None = None,
        mmap: bool = False,
    ) -> None:
        if not 0 <= prefetch_threads <= MAX_THREADS:
            raise ValueError(f"prefetch_threads must be 0 to {MAX_THREADS}, got {prefetch_threads}")
        self.path = os.fspath(path)
        if not isinstance(self.path, str):
            raise TypeError("path must be a str (a path or URL) or os.PathLike[str]")
        self.cache_size = cache_size
        self.prefetch_threads = prefetch_threads
        self.remote = dict(remote or {})
        self.mmap = mmap
        self._native: NativeArchive | None = self._open()
        self._pid = os.getpid()

    @property
    def native(self) -> NativeArchive:
        if self._native is None:
            raise ValueError("I/O operation on a closed archive")
        if self._pid != os.getpid():
            _INHERITED.append(self._native)
            self._native = self._open()
            self._pid = os.getpid()
        return self._native

    def _open(self) -> NativeArchive:
        return _open_native(
            self.path, self.cache_size, self.prefetch_threads, self.remote, self.mmap
        )

    def set_cache_size(self, blocks: int) -> None:
        """Changes the block cache's size (in blocks) now and in reopened copies."""
        self.cache_size = blocks
        native = self.native
        native.set_cache_bytes(blocks * native.block_size)

    def close(self) -> None:
        self._native = None

    @property
    def closed(self) -> bool:
        return self._native is None

    def __getstate__(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "cache_size": self.cache_size,
            "prefetch_threads": self.prefetch_threads,
            "remote": self.remote,
            "mmap": self.mmap,
            "closed": self.closed,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]
        self.cache_size = state["cache_size"]
        self.prefetch_threads = state["prefetch_threads"]
        self.remote = dict(state.get("remote") or {})
        self.mmap = bool(state.get("mmap", False))
        self._pid = os.getpid()
        self._native = None
        if not state["closed"]:
            self._native = self._open()
