"""NumPy integration: zero-copy reads of arrays."""

from __future__ import annotations

from typing import Any, Union

from . import _compat
from .reader import Reader

__all__ = ["load_array", "read_array"]


def read_array(reader: Reader, offset: int, shape: Any, dtype: Any) -> Any:
    """Reads an array of ``shape`` and ``dtype`` stored at byte ``offset`` of the stream.

    The result views memory owned by Rust: a range inside one cached block is the cache's own
    buffer (read-only), a longer one a buffer filled for this call (writable). Either way
    there is no second copy.
    """
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


def load_array(reader: Reader, name: str) -> Any:
    """Reads back an array stored with :meth:`hexz.Writer.add_array`, by name, with its dtype
    and shape."""
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
                read_array(reader, offset, shape, dt)
                if end + length - offset == (count * _nbytes(sample_shape, dt.itemsize))
                else _gather(reader, first, count, shape, dt)
            )
    raise KeyError(f"no array named {name!r} in {reader.path}")


def _nbytes(shape: Union[list[int], tuple[int, ...]], itemsize: int) -> int:
    n = itemsize
    for d in shape:
        n *= d
    return n


def _gather(reader: Reader, first: int, count: int, shape: Any, dt: Any) -> Any:
    np = _compat.numpy()
    chunk, _ = reader._check().read_records(list(range(first, first + count)))
    return np.asarray(chunk).view(dt).reshape(shape)
