"""Turning a batch of samples into tensors without copying them again: :func:`collate`
(a ``collate_fn`` for ``torch.utils.data.DataLoader``) and :class:`Ragged`.

A :class:`~hexz.Dataset` reads a batch into one buffer, the samples back to back, and hands
the DataLoader a list of views of it that remembers that buffer. :func:`collate` turns such a
list into one tensor per column by viewing the buffer (no copy): ``(B, *shape)`` for arrays,
a :class:`Ragged` for variable-length samples. A batch that is not laid out that way (samples
served from the memory map, a ``transform``, another dataset) is copied once into a new
tensor. With ``num_workers > 0`` the batch crosses the process boundary as these few tensors
(PyTorch moves each to shared memory once; a :class:`Ragged` of up to 8 MiB goes by value, as
one buffer, which is faster at that size), never as one pickle per sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from . import _compat, shared_batches

__all__ = ["Batch", "Column", "Ragged", "collate"]


class Column(NamedTuple):
    """One column of a batch (one array or record group): its samples' bytes back to back in
    ``data`` (a ``uint8`` view of the batch buffer) at ``offsets`` (B+1 of them), or ``data``
    None when the samples are not contiguous (views of the memory map)."""

    data: Any
    offsets: Any
    dtype: str
    shape: tuple[int, ...]


class Batch(list):  # type: ignore[type-arg]
    """The list of samples a :class:`~hexz.Dataset` returns for one batch, remembering the
    buffer they are views of (``columns``), so :func:`collate` needs no copy."""

    columns: Sequence[Column] = ()


class Ragged:
    """Variable-length samples of one batch: ``values``, all their bytes in one 1-D tensor,
    and ``offsets`` (B+1 ``int64``), so sample ``i`` is ``values[offsets[i]:offsets[i+1]]``."""

    __slots__ = ("offsets", "values")

    def __init__(self, values: Any, offsets: Any) -> None:
        self.values = values
        self.offsets = offsets

    def __len__(self) -> int:
        return int(self.offsets.shape[0]) - 1

    def __getitem__(self, i: int) -> Any:
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"sample {i} out of range ({n} samples)")
        return self.values[int(self.offsets[i]) : int(self.offsets[i + 1])]

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self)))

    @property
    def nbytes(self) -> int:
        """Bytes of all samples."""
        return int(self.values.numel()) * int(self.values.element_size())

    def __reduce__(self) -> tuple[Any, tuple[Any, Any]]:
        # Crossing from a DataLoader worker: values in the worker's ring go by reference (the
        # offsets, a few hundred bytes, by value). Otherwise a batch of a few MiB goes fastest by
        # value, as two NumPy buffers through the pipe (measured: 2x the throughput of PyTorch
        # moving each tensor into a shared-memory segment of its own, for 64 samples of 4-16
        # KB); larger ones go the shared-memory way.
        if shared_batches.in_ring(self.values):
            return (_ragged_from_parts, (self.values, self.offsets.numpy()))
        if self.nbytes <= PICKLE_BY_VALUE_BYTES:
            return (_ragged_from_numpy, (self.values.numpy(), self.offsets.numpy()))
        return (Ragged, (self.values, self.offsets))

    def __repr__(self) -> str:
        return f"<hexz.Ragged {len(self)} samples, {self.nbytes} bytes>"


#: A :class:`Ragged` up to this size is pickled by value, a larger one as shared tensors.
PICKLE_BY_VALUE_BYTES = 8 << 20


def _ragged_from_numpy(values: Any, offsets: Any) -> Ragged:
    torch = _compat.torch()
    shared_batches.received["by_value"] += 1
    return Ragged(torch.from_numpy(values), torch.from_numpy(offsets))


def _ragged_from_parts(values: Any, offsets: Any) -> Ragged:
    return Ragged(values, _compat.torch().from_numpy(offsets))


def collate(batch: Sequence[Any]) -> Any:
    """A ``collate_fn`` for ``DataLoader``: one tensor per column of the batch.

    Fixed-shape samples become a ``(B, *shape)`` tensor; variable-length ones (records of
    ``bytes``, files, raw-stream blocks) a :class:`Ragged`; tuples of columns a tuple. A batch
    from a :class:`~hexz.Dataset` (without ``transform``) is viewed in place; any other is
    copied once. Samples of other types go to PyTorch's ``default_collate``."""
    columns = getattr(batch, "columns", ())
    if columns:
        out = [
            _from_column(c, [s[k] if len(columns) > 1 else s for s in batch])
            for k, c in enumerate(columns)
        ]
        return out[0] if len(out) == 1 else tuple(out)
    if not batch:
        return []
    first = batch[0]
    if isinstance(first, tuple):
        return tuple(collate([s[k] for s in batch]) for k in range(len(first)))
    np = _compat.numpy()
    if isinstance(first, np.ndarray):
        return _from_arrays(batch)
    torch = _compat.torch()
    return torch.utils.data.default_collate(list(batch))


def _from_column(c: Column, samples: list[Any]) -> Any:
    torch = _compat.torch()
    if c.data is None:
        return _from_arrays(samples)
    if c.dtype == "bytes":
        return Ragged(_shared(c.data, c.data.dtype, c.data.shape), torch.from_numpy(c.offsets))
    np = _compat.numpy()
    return _shared(c.data, np.dtype(c.dtype), (len(samples), *c.shape))


def _shared(data: Any, dtype: Any, shape: tuple[int, ...]) -> Any:
    """``data`` (contiguous bytes) as a tensor of ``dtype`` and ``shape``: a view of it, or in
    a DataLoader worker a copy in the worker's ring, which then crosses without a copy."""
    torch = _compat.torch()
    out = shared_batches.empty(data.nbytes)
    if out is None:
        return torch.from_numpy(data.view(dtype).reshape(shape))
    out[:] = data.reshape(-1).view(out.dtype)
    return shared_batches.tensor(out.view(dtype).reshape(shape))


def _from_arrays(samples: Sequence[Any]) -> Any:
    """Copies NumPy samples once into one tensor (same shape and dtype) or a Ragged (in a
    DataLoader worker, into the worker's ring)."""
    np = _compat.numpy()
    torch = _compat.torch()
    shapes = {s.shape for s in samples}
    dtypes = {s.dtype for s in samples}
    if len(shapes) == 1 and len(dtypes) == 1:
        dt, shape = samples[0].dtype, (len(samples), *samples[0].shape)
        out = _ring_array(dt, shape)
        if out is None:
            return torch.from_numpy(np.stack(samples))
        np.stack(samples, out=out)
        return shared_batches.tensor(out)
    if len(dtypes) == 1 and all(s.ndim == 1 for s in samples):
        sizes = np.fromiter((s.shape[0] for s in samples), dtype=np.int64, count=len(samples))
        offsets = np.zeros(len(samples) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        dt = samples[0].dtype if samples else np.dtype(np.uint8)
        out = _ring_array(dt, (int(offsets[-1]),))
        if out is None:
            values = torch.from_numpy(
                np.concatenate(samples) if samples else np.empty(0, dtype=np.uint8)
            )
        else:
            np.concatenate(samples, out=out)
            values = shared_batches.tensor(out)
        return Ragged(values, torch.from_numpy(offsets))
    raise TypeError(
        "hexz.collate: samples of different shapes "
        f"{sorted(shapes)[:3]} cannot form one tensor; use a collate_fn of your own"
    )


def _ring_array(dtype: Any, shape: tuple[int, ...]) -> Any:
    """An uninitialized array of ``dtype`` and ``shape`` in the worker's ring, or None."""
    n = dtype.itemsize
    for d in shape:
        n *= d
    out = shared_batches.empty(n)
    return None if out is None else out.view(dtype).reshape(shape)
