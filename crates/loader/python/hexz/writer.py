"""Writing archives: :class:`Writer`."""

from __future__ import annotations

import json
import os
from typing import Any, Union, Unpack

from . import _compat
from ._native import NativeWriter
from .options import MAX_THREADS, OpenKwargs, OpenOptions, open_options
from .signing import SigningKeyLike, _signing_key_options

__all__ = ["Writer"]

PathLike = Union[str, "os.PathLike[str]"]
# Samples handed to Rust per call: views of them are held for the call, not copies.
_RECORD_BATCH = 4096


class Writer:
    """Builds an archive. Compression and hashing run on Rust threads (all cores by default)
    and every call releases the GIL. Nothing appears at ``path`` until :meth:`close`: the
    archive is written to a temporary file and renamed into place, so a failed or interrupted
    write never leaves a partial archive and never damages an existing file.

    ``path`` may be ``s3://bucket/key``: the archive is then uploaded with an S3 multipart
    upload while it is written (8 MiB parts, at most 4 in flight; no local copy). The object
    appears, replacing any object at the key, only when :meth:`close` completes the upload;
    :meth:`abort`, an exception inside ``with``, or any error aborts the upload, leaving no
    object and no stored parts. S3 is configured from the AWS environment (``AWS_*``
    variables, ``AWS_PROFILE``) and the keyword options below, which override it. HTTP(S)
    URLs are read-only and refused.

    Args:
        path: the archive to create (replaced atomically if it exists), or ``s3://bucket/key``.
        compression: ``"lz4"`` (default), ``"zstd"`` or ``"none"``.
        level: zstd level, 1 to 19 (default 3).
        block_size: bytes per block, a power of two from 4096 to 16 MiB (default 64 KiB).
        threads: compression threads (0 = one per core).
        dedup: store identical blocks once (default True).
        record_block: records (``add_array``, ``add_records``) are packed whole into blocks,
            each cut at the first record boundary past this many bytes (default 4096; 0: only
            at ``block_size``), so a shuffled read of one sample decodes about that sample. A
            record that fits in a block never straddles two. Larger values compress small
            records better at the price of decoding more per random read.
        chunking: ``"fixed"`` (default): blocks of ``block_size``; ``"cdc"``: content-defined
            chunks (FastCDC) averaging ``block_size``, so that bytes inserted into or deleted
            from a file change only the blocks around the edit and every other block dedups
            (records are never cut inside: a block of records ends after a record its content
            chooses).
        chunk_min, chunk_avg, chunk_max: the chunk sizes with ``chunking="cdc"`` (defaults: a
            quarter of the average, ``block_size`` capped at 4 MiB, four times the average).
        parent: write a thin archive on this one (a path or URL): blocks it already holds are
            not stored but read from it, so a new version costs only what changed (best with
            ``chunking="cdc"``). Readers find it beside the new archive (recorded as its file
            name) or where it was (an absolute path, a URL), or where ``parent_path=`` says.
            Opened with the same options; parent and child are both encrypted with the same
            key, or neither.
        options: the S3 settings (``endpoint``, ``region``, ``path_style``, ``anonymous``,
            ``allow_http``) and the encryption key of the archive, as a
            :class:`hexz.OpenOptions`; its fields are also keyword arguments, which override
            it. ``key`` encrypts (AES-256-GCM) with a raw key: 32 bytes, a str of 64 hex
            digits, or the path of a key file (``docs/keys.md``); ``password`` with a key
            derived from a password (Argon2id, 64 MiB, 3 passes). Only the header stays
            readable. ``verify_key``, ``cache_dir`` and ``cache_limit`` are for reading and
            are refused here.
        kdf: Argon2id ``(memory_kib, passes, lanes)`` for ``password`` (default
            ``(65536, 3, 4)``); smaller values make a password cheaper to guess.
        signing_key: sign the archive (Ed25519) as it is finished: the path of a private key
            file (``hexz.keygen``'s ``.key``, PKCS#8 PEM) or its PEM text. Readers check it
            with ``verify_key=``. Works for ``s3://`` uploads too, and with encryption.

    Used as a context manager, the archive is finished on a clean exit and discarded when the
    body raises.
    """

    def __init__(
        self,
        path: PathLike,
        compression: str = "lz4",
        level: int | None = None,
        block_size: int = 65536,
        threads: int = 0,
        dedup: bool = True,
        *,
        options: OpenOptions | None = None,
        kdf: tuple[int, int, int] | None = None,
        signing_key: SigningKeyLike | None = None,
        record_block: int = 4096,
        chunking: str = "fixed",
        chunk_min: int | None = None,
        chunk_avg: int | None = None,
        chunk_max: int | None = None,
        parent: PathLike | None = None,
        **open_kwargs: Unpack[OpenKwargs],
    ) -> None:
        opened = open_options(options, open_kwargs).native()
        keys = _signing_key_options(signing_key)
        if kdf is not None and "password" not in opened:
            raise ValueError("kdf applies with a password only")
        if not 0 <= int(record_block) <= block_size:
            raise ValueError(
                f"record_block must be 0 to block_size ({block_size}), got {record_block}"
            )
        if not 0 <= threads <= MAX_THREADS:
            raise ValueError(f"threads must be 0 (one per core) to {MAX_THREADS}, got {threads}")
        self.path = os.fspath(path)
        if not isinstance(self.path, str):
            raise TypeError("path must be a str (a path or s3:// URL) or os.PathLike[str]")
        self._native: NativeWriter | None = NativeWriter(
            self.path,
            compression,
            level,
            block_size,
            threads,
            dedup,
            options=opened,
            kdf=kdf,
            record_block=int(record_block),
            chunking=chunking,
            chunk_min=chunk_min,
            chunk_avg=chunk_avg,
            chunk_max=chunk_max,
            parent=None if parent is None else os.fspath(parent),
            **keys,
        )
        self._unnamed = 0
        self._metadata: dict[str, Any] = {}
        self.report: dict[str, Any] | None = None

    @property
    def _w(self) -> NativeWriter:
        if self._native is None:
            raise ValueError("I/O operation on a closed writer")
        return self._native

    def _auto_name(self, prefix: str) -> str:
        self._unnamed += 1
        return f"{prefix}{self._unnamed:06d}"

    def add(self, item: Any, name: str | None = None) -> None:
        """Adds a file or directory (by path), bytes-like data, or a NumPy array."""
        if isinstance(item, (str, os.PathLike)):
            path = os.fspath(item)
            if os.path.isdir(path):
                self.add_dir(path, prefix=name or "")
            else:
                self.add_file(path, name)
        elif isinstance(item, (bytes, bytearray, memoryview)):
            self.add_bytes(item, name)
        elif hasattr(item, "__array_interface__") or type(item).__module__.startswith("numpy"):
            self.add_array(item, name or self._auto_name("array-"))
        else:
            raise TypeError(f"cannot add {type(item).__name__}: expected a path, bytes or an array")

    def add_file(self, path: PathLike, name: str | None = None) -> None:
        """Adds a local file as entry ``name`` (default: its file name)."""
        path = os.fspath(path)
        if os.path.isdir(path):
            raise IsADirectoryError(f"{path} is a directory: use add_dir() or add()")
        self._w.add_file(path, name or os.path.basename(path))

    def add_stream(self, path: PathLike, name: str = "disk") -> None:
        """Adds a local file as a raw stream: ``disk`` for a disk image (the default),
        ``memory`` for a RAM dump. A :class:`hexz.Dataset` over such an archive yields
        fixed-size blocks of the stream."""
        path = os.fspath(path)
        if os.path.isdir(path):
            raise IsADirectoryError(f"{path} is a directory")
        self._w.add_stream(path, name)

    def add_dir(self, path: PathLike, prefix: str = "") -> None:
        """Adds every file, directory and symlink under ``path`` (paths relative to it)."""
        path = os.fspath(path)
        if not os.path.isdir(path):
            raise NotADirectoryError(f"{path} is not a directory")
        self._w.add_dir(path, prefix)

    def add_bytes(self, data: Any, name: str | None = None) -> None:
        """Adds bytes-like ``data`` as a file entry (default name ``bytes-000001``, ...)."""
        name = name or self._auto_name("bytes-")
        mv = memoryview(data)
        if not mv.c_contiguous:
            mv = memoryview(mv.tobytes())  # logical (C) order, as bytes(data) gives
        mv = mv.cast("B")
        n = mv.nbytes
        if n == 0:
            self._w.add_bytes(name, b"")
            return
        # Lent through the buffer protocol: no copy, and no GIL held while it is compressed.
        self._w.add_buffer(name, mv)

    def add_array(self, array: Any, name: str) -> None:
        """Adds a NumPy array as a dataset: one record per row of its first axis, with its
        dtype and per-row shape recorded. Read it back with :func:`hexz.load_array` or
        iterate its rows with :class:`hexz.Dataset`."""
        np = _compat.numpy()
        arr = np.asarray(array)
        if arr.ndim == 0:
            # One record of shape () would read back as shape (1,): refuse instead.
            raise ValueError("add_array needs an array with rows (ndim >= 1); use a.reshape(1)")
        if arr.dtype.byteorder == ">":
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        arr = np.ascontiguousarray(arr)
        dtype = _dtype_name(arr.dtype)
        self._w.add_array(name, dtype, list(arr.shape), arr.reshape(-1).view(np.uint8))

    def add_records(self, samples: Any, name: str = "records") -> None:
        """Adds opaque samples (an iterable of bytes-like objects) as a record group. Their
        bytes are read in place (no copy), in batches of ``_RECORD_BATCH`` samples."""
        self._w.begin_records(name)
        if isinstance(samples, (list, tuple)):
            for i in range(0, len(samples), _RECORD_BATCH):
                self._w.add_records(samples[i : i + _RECORD_BATCH])
            return
        batch: list[Any] = []
        for s in samples:
            batch.append(s)
            if len(batch) == _RECORD_BATCH:  # bounded memory for any number of samples
                self._w.add_records(batch)
                batch = []
        if batch:
            self._w.add_records(batch)

    def add_metadata(self, metadata: dict[str, Any]) -> None:
        """Merges ``metadata`` (JSON-serialisable) into the archive's user metadata."""
        if not isinstance(metadata, dict):
            raise TypeError("metadata must be a dict")
        merged = {**self._metadata, **metadata}
        text = json.dumps(merged)
        self._w.set_metadata(text)
        self._metadata = merged

    def close(self) -> dict[str, Any]:
        """Finishes the archive and moves it into place (or completes the S3 upload); returns
        what was written."""
        if self._native is None:
            if self.report is None:
                raise ValueError("the writer was aborted")
            return self.report
        native, self._native = self._native, None
        self.report = dict(native.finish())
        return self.report

    finish = close

    def abort(self) -> None:
        """Discards the archive: nothing is written at ``path`` (an S3 upload is aborted)."""
        if self._native is not None:
            self._native.abort()
            self._native = None

    @property
    def closed(self) -> bool:
        return self._native is None

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __repr__(self) -> str:
        return f"<hexz.Writer {self.path!r}{' closed' if self.closed else ''}>"


_DTYPES = {
    "bool": "bool",
    "int8": "int8",
    "uint8": "uint8",
    "int16": "int16",
    "uint16": "uint16",
    "int32": "int32",
    "uint32": "uint32",
    "int64": "int64",
    "uint64": "uint64",
    "float16": "float16",
    "float32": "float32",
    "float64": "float64",
    "complex64": "complex64",
    "complex128": "complex128",
}


def _dtype_name(dtype: Any) -> str:
    name = str(dtype.name)
    if name not in _DTYPES:
        raise TypeError(f"unsupported dtype {dtype}: use one of {', '.join(_DTYPES)}")
    return _DTYPES[name]
