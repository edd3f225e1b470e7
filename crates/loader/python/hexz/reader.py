"""Reading archives: :class:`Reader`, :class:`EntryReader` and :class:`AsyncReader`.

Everywhere a path goes, a URL goes: ``s3://bucket/key`` (S3 and S3-compatible servers),
``http://`` / ``https://`` (HTTP Range requests) and ``file://``. Only the blocks a read needs
are fetched. S3 is configured the AWS way (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_SESSION_TOKEN``, ``AWS_REGION``, ``AWS_ENDPOINT_URL``, ``AWS_PROFILE``) and by the
open options (:class:`hexz.OpenOptions`, or its fields as keyword arguments: ``endpoint=``,
``region=``, ``path_style=``, ``anonymous=``, ``allow_http=``), which override the
environment.

An encrypted archive (``hexz pack --encrypt``, ``Writer(..., key=...)``) is opened with
``key=`` (32 bytes, 64 hex digits, or the path of a key file, ``docs/keys.md``) or
``password=``; a missing or wrong one raises :class:`hexz.errors.DecryptionError`, and a key
given for an archive that is not encrypted raises :class:`ValueError`. The key travels with
the object when it is pickled (a DataLoader worker reopens the archive with it): raw key
bytes and passwords end up in the pickle, a key file only as its path.

A signed archive (``hexz.sign``, ``Writer(..., signing_key=...)``) is checked against its
signer's public key with ``verify_key=`` (the path of a public key file, a PEM string, 64 hex
digits, or 32 bytes): opening fails with :class:`hexz.errors.SignatureError` unless the archive
carries a valid signature by that key, and every block and table is then checked against its
hash as it is read, so a tampered byte raises :class:`hexz.errors.IntegrityError` instead of
being returned. The public key travels with pickles too (a DataLoader worker checks it again).
"""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass
from typing import Any, Unpack

from . import _compat
from ._native import NativeArchive
from .handle import _Handle
from .options import OpenKwargs, OpenOptions, PathLike, open_options

__all__ = ["Entry", "EntryReader", "Reader"]


@dataclass(frozen=True)
class Entry:
    """One entry of an archive."""

    path: str
    kind: str  # "file", "dir", "symlink", "stream"; "char-device", "block-device", "fifo", "socket"
    mode: int
    mtime_ns: int
    offset: int
    size: int
    target: str | None = None


class _Stream(io.RawIOBase):
    """Shared file-like logic over a byte range ``[base, base + size)`` of the logical stream.

    The cursor methods (``read``, ``readline``, ``readinto``, ``seek``, ``tell``) hold a lock
    while they use and move the position, so threads sharing one reader each get different
    bytes and together every byte once; ``read_at`` and slicing take no lock and run in
    parallel."""

    def __init__(self, handle: _Handle, base: int, size: int, name: str) -> None:
        super().__init__()
        self._h = handle
        self._base = base
        self._size = size
        self._pos = 0
        self._cursor = threading.Lock()
        self.name = name

    def _check(self) -> NativeArchive:
        if self.closed:
            raise ValueError("I/O operation on a closed reader")
        return self._h.native

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_cursor"]  # a lock is per process; the copy gets its own
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._cursor = threading.Lock()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def __len__(self) -> int:
        return self._size

    @property
    def size(self) -> int:
        """Length in bytes."""
        return self._size

    def tell(self) -> int:
        self._check()
        with self._cursor:
            return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._check()
        with self._cursor:
            if whence == io.SEEK_SET:
                pos = offset
            elif whence == io.SEEK_CUR:
                pos = self._pos + offset
            elif whence == io.SEEK_END:
                pos = self._size + offset
            else:
                raise ValueError(f"invalid whence {whence!r}")
            if pos < 0:
                raise ValueError(f"negative seek position {pos}")
            self._pos = pos
            return pos

    def read_at(self, offset: int, length: int) -> memoryview:
        """Reads ``length`` bytes at ``offset`` (fewer at the end) without moving the position.

        Returns a memoryview; a range inside one cached block is a view of the cache, not a copy.
        """
        native = self._check()
        if offset < 0 or length < 0:
            raise ValueError("offset and length must be >= 0")
        if offset > self._size:
            raise IndexError(f"offset {offset} is past the end ({self._size} bytes)")
        length = min(length, self._size - offset)
        return _compat.view(native.read_at(self._base + offset, length))

    def read(self, size: int | None = -1) -> memoryview:
        """Reads up to ``size`` bytes from the position (all remaining bytes by default)."""
        self._check()
        with self._cursor:
            if size is None or size < 0:
                size = max(0, self._size - self._pos)
            if self._pos >= self._size:
                return memoryview(b"")
            data = self.read_at(self._pos, size)
            self._pos += len(data)
            return data

    def readall(self) -> bytes:
        """Reads all remaining bytes as ``bytes`` (the io.RawIOBase contract, which
        io.BufferedReader relies on); :meth:`read` returns a memoryview instead."""
        return bytes(self.read(-1))

    def readline(self, size: int | None = -1) -> bytes:
        """Reads up to and including the next ``b"\\n"`` (at most ``size`` bytes). The
        inherited io methods (iteration, ``readlines``) use it."""
        self._check()
        with self._cursor:
            left = max(0, self._size - self._pos)
            limit = left if size is None or size < 0 else min(size, left)
            out = bytearray()
            while len(out) < limit:
                data = bytes(self.read_at(self._pos, min(8192, limit - len(out))))
                nl = data.find(b"\n")
                if nl >= 0:
                    data = data[: nl + 1]
                out += data
                self._pos += len(data)
                if nl >= 0 or not data:
                    break
            return bytes(out)

    def readinto(self, buffer: Any) -> int:
        """Reads into a writable buffer (bytearray, NumPy array, ...) and returns the count."""
        native = self._check()
        view = _compat.writable_bytes(buffer)
        with self._cursor:
            n = min(view.nbytes, max(0, self._size - self._pos))
            if n == 0:
                return 0
            got = native.read_into(self._base + self._pos, view[:n])
            self._pos += got
            return int(got)

    def __getitem__(self, key: int | slice) -> Any:
        if isinstance(key, slice):
            start, stop, step = key.indices(self._size)
            if step == 1:
                return self.read_at(start, max(0, stop - start))
            idx = range(start, stop, step)
            if not idx:
                return memoryview(b"")
            lo, hi = min(idx), max(idx)
            data = bytes(self.read_at(lo, hi - lo + 1))
            return memoryview(bytes(data[i - lo] for i in idx))
        if key < 0:
            key += self._size
        if not 0 <= key < self._size:
            raise IndexError("index out of range")
        return self.read_at(key, 1)[0]


class EntryReader(_Stream):
    """A file-like view of one entry, from :meth:`Reader.open`."""

    def __init__(self, handle: _Handle, entry: Entry) -> None:
        super().__init__(handle, entry.offset, entry.size, entry.path)
        self.entry = entry

    def __repr__(self) -> str:
        return f"<hexz.EntryReader {self.name!r} size={self._size}>"


class Reader(_Stream):
    """A random-access, file-like reader of an archive's logical stream.

    ``read()``, ``read_at()`` and slicing return memoryviews; a range inside one cached block
    is served without a copy. Reads release the GIL and decode large ranges in parallel; a
    sequential reader gets background read-ahead. A Reader is safe to use from many threads
    (``read_at`` and slicing run in parallel; ``read``, ``readline``, ``readinto`` and
    ``seek`` are atomic, so threads sharing the position each get different bytes), picklable
    (a DataLoader worker reopens it) and reopens itself in a forked child.

    Args:
        path: the archive: a local path, or a URL (``s3://bucket/key``, ``https://...``,
            ``http://...``, ``file://...``) read with ranged requests, block by block.
        cache_size: block cache size in blocks (default: 64 MiB worth).
        prefetch_threads: background read-ahead threads (0 disables read-ahead).
        options: how to open it (:class:`hexz.OpenOptions`: S3 settings, the key of an
            encrypted archive, the signer's public key, a local disk cache for a remote
            archive). Its fields are also keyword arguments (``endpoint=``, ``region=``,
            ``path_style=``, ``anonymous=``, ``allow_http=``, ``key=``, ``password=``,
            ``verify_key=``, ``cache_dir=``, ``cache_limit=``), which override ``options``.
            The options are pickled with the reader (a DataLoader worker reopens the archive
            with them, sharing the disk cache).
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
        if prefetch_threads < 0:
            raise ValueError("prefetch_threads must be >= 0")
        remote = open_options(options, open_kwargs).native()
        handle = _Handle(path, cache_size, prefetch_threads, remote)
        super().__init__(handle, 0, len(handle.native), handle.path)

    def __reduce__(self) -> Any:
        return (_restore_reader, (self._h, self._pos, self.closed))

    def close(self) -> None:
        self._h.close()
        super().close()

    @property
    def path(self) -> str:
        """The archive's path or URL, as given."""
        return self._h.path

    def entries(self) -> list[Entry]:
        """Every entry (files, directories, symlinks, streams), sorted by path."""
        return [Entry(*t) for t in self._check().entries()]

    def namelist(self) -> list[str]:
        """Paths of the entries that hold data (files and raw streams), sorted."""
        return [t[0] for t in self._check().entries() if t[1] in ("file", "stream")]

    def getinfo(self, name: str) -> Entry:
        """The entry named ``name``; FileNotFoundError when there is none."""
        t = self._check().entry(name)
        if t is None:
            raise FileNotFoundError(f"no entry named {name!r} in {self.path}")
        return Entry(*t)

    def open(self, name: str) -> EntryReader:
        """A file-like reader of one entry."""
        entry = self.getinfo(name)
        if entry.kind not in ("file", "stream"):
            raise IsADirectoryError(f"{name!r} is a {entry.kind}, not a file")
        return EntryReader(self._h, entry)

    @property
    def metadata(self) -> dict[str, Any]:
        """The archive's user metadata (a dict; empty when none was stored)."""
        text = self._check().metadata()
        return {} if text is None else dict(json.loads(text))

    def info(self) -> dict[str, Any]:
        """Format version, features and sizes."""
        return dict(self._check().info())

    def verify(self) -> list[str]:
        """Checks every block and table; returns the problems found (empty when intact)."""
        return list(self._check().verify())

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self._size} bytes"
        return f"<hexz.Reader {self.path!r} {state}>"


def _restore_reader(handle: _Handle, pos: int, closed: bool) -> Reader:
    r = Reader.__new__(Reader)
    _Stream.__init__(r, handle, 0, 0 if closed else len(handle.native), handle.path)
    r._pos = pos
    if closed:
        r.close()
    return r
