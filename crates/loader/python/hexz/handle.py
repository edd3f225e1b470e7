"""The native archive behind every reader: reopened in a forked child (a DataLoader worker
started by fork) and carried through pickles by its path or URL and open options.

A remote archive is reopened with what the parent already knows of it (the object's length
and ETag, and the stored metadata bytes it has read), so that a pool of workers opens it
with no request at all, however many workers there are."""

from __future__ import annotations

import os
import weakref
from typing import TYPE_CHECKING, Any

from ._native import NativeArchive
from .errors import HexzError
from .options import DEFAULT_CACHE_BYTES, MAX_THREADS, PathLike, is_url

if TYPE_CHECKING:
    from ._native import _Reopen

# Native archives inherited through fork() are never used nor freed in the child: their
# locks or threads may belong to the parent. The child reopens the archive instead.
_INHERITED: list[Any] = []

# Open remote handles, whose reopen state is taken in the parent just before each fork (the
# child cannot safely ask the inherited native archive for it).
_REMOTE: weakref.WeakSet[_Handle] = weakref.WeakSet()


def _before_fork() -> None:
    for handle in list(_REMOTE):
        handle._reopen = handle._reopen_state()


def _after_fork_in_parent() -> None:
    for handle in list(_REMOTE):
        handle._reopen = None


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent)


def _open_native(
    path: str,
    cache_size: int | None,
    prefetch_threads: int,
    options: dict[str, Any],
    mmap: bool = False,
    reopen: _Reopen | None = None,
) -> NativeArchive:
    """Opens ``path`` with a block cache of ``cache_size`` blocks (``None``: the default
    bytes); ``options`` is :meth:`OpenOptions.native`'s dict; ``reopen`` what an earlier open
    of the same archive knew of it (:meth:`NativeArchive.reopen_state`)."""

    def open_with(cache_bytes: int) -> NativeArchive:
        return NativeArchive(
            path, cache_bytes, prefetch_threads, options=options, mmap=mmap, reopen=reopen
        )

    if cache_size is None:
        return open_with(DEFAULT_CACHE_BYTES)
    if cache_size < 0:
        raise ValueError(f"cache_size must be >= 0 blocks, got {cache_size}")
    native = open_with(cache_size * 65536)
    if native.block_size != 65536:
        native = open_with(cache_size * native.block_size)
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
        hold_pages: bool = False,
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
        self.hold_pages = hold_pages
        self._reopen: _Reopen | None = None
        self._native: NativeArchive | None = self._open()
        self._pid = os.getpid()
        if is_url(self.path):
            _REMOTE.add(self)

    @property
    def native(self) -> NativeArchive:
        if self._native is None:
            raise ValueError("I/O operation on a closed archive")
        if self._pid != os.getpid():
            _INHERITED.append(self._native)
            self._native = self._open()
            self._pid = os.getpid()
            self._reopen = None
        return self._native

    def _open(self) -> NativeArchive:
        return _open_native(
            self.path, self.cache_size, self.prefetch_threads, self.remote, self.mmap, self._reopen
        )

    def _reopen_state(self) -> _Reopen | None:
        """What a copy of this handle in another process reopens the archive with: for a
        dataset (``hold_pages``), with every index and record page, fetched once here rather
        than by each worker; the same for the parents of a thin archive, remote ones even when
        the archive itself is local. A failure only leaves the copies to fetch on their own."""
        native = self._native
        if native is None or self._pid != os.getpid():
            return None
        try:
            if self.hold_pages:
                native.hold_pages()
            return native.reopen_state()
        except (HexzError, OSError, ValueError):
            return None

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
            "hold_pages": self.hold_pages,
            "reopen": self._reopen_state(),
            "closed": self.closed,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]
        self.cache_size = state["cache_size"]
        self.prefetch_threads = state["prefetch_threads"]
        self.remote = dict(state.get("remote") or {})
        self.mmap = bool(state.get("mmap", False))
        self.hold_pages = bool(state.get("hold_pages", False))
        self._reopen = state.get("reopen")
        self._pid = os.getpid()
        self._native = None
        if not state["closed"]:
            self._native = self._open()
        self._reopen = None
        if is_url(self.path):
            _REMOTE.add(self)
