"""NumPy integration: zero-copy reads of arrays."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from . import _compat
from .options import PathLike
from .reader import Reader

__all__ = ["load_array", "read_array"]


@contextlib.contextmanager
def _reader(source: Reader | PathLike, open_kwargs: dict[str, Any]) -> Iterator[Reader]:
    """``source`` itself when it is a Reader, else a Reader opened (without read-ahead, unless
    asked for) for the duration of the block."""
    if isinstance(source, Reader):
        if open_kwargs:
            names = ", ".join(sorted(open_kwargs))
            raise TypeError(f"options ({names}) apply when opening a path or URL, not a Reader")
        yield source
        return
    open_kwargs.setdefault("prefetch_threads", 0)
    reader = Reader(source, **open_kwargs)
    try:
        yield reader
    finally:
        reader.close()


def read_array(
    reader: Reader | PathLike, offset: int, shape: Any, dtype: Any, **open_kwargs: Any
) -> Any:
    """Reads an array of ``shape`` and ``dtype`` stored at byte ``offset`` of the stream.

    ``reader`` is an open :class:`Reader`, or a path or URL (``s3://``, ``http(s)://``) to open
    for this one read; ``open_kwargs`` (``cache_size``, ``options=``, a
    :class:`hexz.OpenOptions`, and its fields) then go to :class:`Reader`.

    The result views memory owned by Rust: a range inside one cached block is the cache's own
    buffer (read-only), a longer one a buffer filled for this call (writable). Either way
    there is no second copy.
    """
    with _reader(reader, open_kwargs) as r:
        return _read_array(r, offset, shape, dtype)


def _read_array(reader: Reader, offset: int, shape: Any, dtype: Any) -> Any:
    np = _compat.numpy()
    dt = np.dtype(dtype)
    if dt.hasobject or dt.itemsize == 0:
        raise TypeError(f"cannot read arrays of dtype {dt}")
    shape = (shape,) if isinstance(shape, int) else tuple(int(d) for d in shape)
    if any(d < 0 for d in shape):
        raise ValueError(f"negative dimension in shape {shape}")
    count = 1
    for d in shape:
        count *= d
    nbytes = count * dt.itemsize
    if offset < 0:
        raise ValueError("offset must be >= 0")
    if offset + nbytes > len(reader):
        raise IndexError(
            f"array of {nbytes} bytes at offset {offset} runs past the end ({len(reader)} bytes)"
        )
    chunk = reader._check().read_at(offset, nbytes)
    return np.asarray(chunk).view(dt).reshape(shape)


def load_array(reader: Reader | PathLike, name: str, **open_kwargs: Any) -> Any:
    """Reads back an array stored with :meth:`hexz.Writer.add_array`, by name, with its dtype
    and shape. ``reader`` is an open :class:`Reader` or a path or URL, as for
    :func:`read_array`."""
    with _reader(reader, open_kwargs) as r:
        return _load_array(r, name)


def _load_array(reader: Reader, name: str) -> Any:
    np = _compat.numpy()
    native = reader._check()
    for gname, dtype, sample_shape, first, count in native.record_groups():
        if gname == name:
            if dtype == "bytes":
                raise TypeError(f"record group {name!r} holds opaque bytes, not an array")
            dt = np.dtype(dtype)
            shape = (count, *sample_shape)
            if count == 0:
                return np.zeros(shape, dtype=dt)
            offset, _ = native.record(first)
            end, length = native.record(first + count - 1)
            return (
                _read_array(reader, offset, shape, dt)
                if end + length - offset == (count * _nbytes(sample_shape, dt.itemsize))
                else _gather(reader, first, count, shape, dt)
            )
    raise KeyError(f"no array named {name!r} in {reader.path}")


def _nbytes(shape: list[int] | tuple[int, ...], itemsize: int) -> int:
    n = itemsize
    for d in shape:
        n *= d
    return n


def _gather(reader: Reader, first: int, count: int, shape: Any, dt: Any) -> Any:
    np = _compat.numpy()
    chunk, _ = reader._check().read_records(list(range(first, first + count)))
    return np.asarray(chunk).view(dt).reshape(shape)
