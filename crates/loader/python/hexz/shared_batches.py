"""How a batch made in a DataLoader worker reaches the main process without being copied
through a pipe: each worker keeps one ring of memory (an anonymous ``memfd``) that the main
process maps once, through ``/proc/<worker pid>/fd/<fd>``. :func:`hexz.collate` lays a worker's
batch out in the ring, and what crosses the pipe is a reference of about a hundred bytes.

Measured on the loader benchmark (64 samples of 4-16 KB per batch, 2 workers): sending each
batch by value through the worker's pipe held the epoch to a quarter of the rate the workers
read at; PyTorch's own way, one shared-memory segment per tensor, is slower still at this size.

Invariants:

- A batch's bytes are never written while the main process can still see them. A span's flag
  is 1 while the worker holds it, 2 once sent; the main process clears a sent span when the last
  array or tensor viewing it is gone (a ``weakref.finalize`` on the NumPy array the views derive
  from), and the worker clears one it never sent (a ``collate_fn`` that made other tensors of
  it) the same way, so spans are not lost to such batches.
- The worker never waits for space: when the ring is full (the training loop keeps old batches)
  :func:`empty` returns None and the batch crosses by value, as before.
- Nothing is named in ``/dev/shm``: a memfd lives while a process has it open or mapped, so a
  killed worker or main process leaves nothing behind, and Docker's small ``/dev/shm`` does not
  limit it.
- Only Linux has memfd and ``/proc/<pid>/fd``; elsewhere, or with ``HEXZ_SHARED_BATCHES=0``, every
  batch crosses by value.
"""

from __future__ import annotations

import mmap
import os
import sys
import weakref
from typing import Any

from . import _compat
from .errors import HexzError

__all__ = ["empty", "in_ring", "received"]

_MAGIC = b"HXZRING1"
_SLOTS = 64
_FLAGS_AT = 16  # after the magic and the ring's random id
_DATA_AT = 4096
#: Address space per worker; memory is used only as batches touch it (first fit from the start
#: keeps that near the bytes of the batches in flight).
RING_BYTES = 1 << 30
_ALIGN = 64
# A span's flag: free, held by the worker, sent to the main process.
_FREE, _HELD, _SENT = 0, 1, 2

#: Batches the main process received through a ring, and by value (for tests and benchmarks).
received = {"ring": 0, "by_value": 0}


def _enabled() -> bool:
    return (
        sys.platform == "linux"
        and hasattr(os, "memfd_create")
        and os.environ.get("HEXZ_SHARED_BATCHES", "1") != "0"
    )


class _WorkerRing:
    """The worker's side: spans of the ring handed out first-fit, one flag byte per span."""

    def __init__(self) -> None:
        np = _compat.numpy()
        self.pid = os.getpid()
        self.fd = os.memfd_create("hexz-batches", os.MFD_CLOEXEC)
        os.ftruncate(self.fd, _DATA_AT + RING_BYTES)
        self.map = mmap.mmap(self.fd, _DATA_AT + RING_BYTES)
        self.id = os.urandom(8)
        self.map[:_FLAGS_AT] = _MAGIC + self.id
        self.flags = memoryview(self.map)[_FLAGS_AT : _FLAGS_AT + _SLOTS]
        self.spans: list[tuple[int, int] | None] = [None] * _SLOTS
        #: How often each span was handed out, so a late finalizer cannot free a newer use.
        self.uses = [0] * _SLOTS
        self.base = np.frombuffer(self.map, dtype=np.uint8, count=1).ctypes.data
        self.slot_at: dict[int, int] = {}

    @property
    def key(self) -> tuple[int, int, bytes]:
        return (self.pid, self.fd, self.id)

    def empty(self, nbytes: int) -> Any:
        """``nbytes`` of the ring as a NumPy ``uint8`` array, or None when no span is free."""
        live = []
        free_slot = None
        for i, span in enumerate(self.spans):
            if span is not None and self.flags[i]:
                live.append(span)
            else:
                if span is not None:
                    self.slot_at.pop(span[0], None)
                    self.spans[i] = None
                if free_slot is None:
                    free_slot = i
        if free_slot is None:
            return None
        at = _DATA_AT
        for start, size in sorted(live):
            if at + nbytes <= start:
                break
            at = max(at, -(-(start + size) // _ALIGN) * _ALIGN)
        if at + nbytes > _DATA_AT + RING_BYTES:
            return None
        np = _compat.numpy()
        self.flags[free_slot] = _HELD
        self.spans[free_slot] = (at, nbytes)
        self.slot_at[at] = free_slot
        self.uses[free_slot] += 1
        # A fresh array (not a slice of one), so every view of the batch derives from it.
        arr = np.frombuffer(self.map, dtype=np.uint8, count=nbytes, offset=at)
        weakref.finalize(arr, self._unsent, free_slot, self.uses[free_slot])
        return arr

    def _unsent(self, slot: int, use: int) -> None:
        """Frees span ``slot`` when the worker dropped it without sending it."""
        if self.uses[slot] == use and self.flags[slot] == _HELD:
            self.flags[slot] = _FREE

    def locate(self, t: Any) -> tuple[int, int] | None:
        """``(slot, offset)`` of a contiguous tensor that starts a span of this ring."""
        if not t.is_contiguous():
            return None
        at = t.data_ptr() - self.base
        slot = self.slot_at.get(at)
        if slot is None or self.spans[slot] != (at, t.numel() * t.element_size()):
            return None
        return slot, at


_worker: _WorkerRing | None = None


def _ring() -> _WorkerRing | None:
    """This process's ring when it is a DataLoader worker (made on first use), else None."""
    global _worker
    if _worker is not None and _worker.pid == os.getpid():
        return _worker
    if not _enabled():
        return None
    torch = _compat.torch()
    if torch.utils.data.get_worker_info() is None:
        return None
    _worker = _WorkerRing()
    return _worker


def empty(nbytes: int) -> Any:
    """A ``uint8`` NumPy array of ``nbytes`` in this worker's ring, to build a batch in; None
    when this is not a DataLoader worker, the platform has no rings, or the ring is full."""
    ring = _ring()
    return None if ring is None or nbytes == 0 else ring.empty(nbytes)


def tensor(arr: Any) -> Any:
    """``torch.from_numpy(arr)``, marked to cross to the main process through the ring (``arr``
    must view an array :func:`empty` returned, from its start)."""
    torch = _compat.torch()
    return torch.from_numpy(arr).as_subclass(_ring_tensor_class())


def in_ring(t: Any) -> bool:
    """Whether the tensor ``t`` will cross to the main process through the ring."""
    return type(t) is _ring_tensor_class()


_RingTensor: Any = None


def _ring_tensor_class() -> Any:
    """A private subclass of ``torch.Tensor`` that ``ForkingPickler`` (the pickler of
    multiprocessing queues) sends by reference; made on first use so that importing hexz does
    not import torch."""
    global _RingTensor
    if _RingTensor is None:
        torch = _compat.torch()
        from multiprocessing.reduction import ForkingPickler

        class RingTensor(torch.Tensor):  # type: ignore[misc,name-defined]
            pass

        ForkingPickler.register(RingTensor, _reduce)
        _RingTensor = RingTensor
    return _RingTensor


def _reduce(t: Any) -> tuple[Any, tuple[Any, ...]]:
    torch = _compat.torch()
    plain = t.as_subclass(torch.Tensor)
    ring = _ring()
    where = ring.locate(plain) if ring is not None else None
    if ring is None or where is None:
        # Not (or no longer) a span of this process's ring: PyTorch's own way.
        from torch.multiprocessing.reductions import reduce_tensor

        return reduce_tensor(plain)  # type: ignore[no-any-return,no-untyped-call]
    slot, at = where
    ring.flags[slot] = _SENT
    dtype = plain.numpy().dtype.str
    return (_from_ring, (ring.key, slot, at, dtype, tuple(plain.shape)))


class _MainRing:
    """The main process's map of one worker's ring."""

    def __init__(self, key: tuple[int, int, bytes]) -> None:
        pid, fd, ring_id = key
        try:
            own = os.open(f"/proc/{pid}/fd/{fd}", os.O_RDWR)
        except OSError as e:
            raise HexzError(
                f"cannot map the batch ring of DataLoader worker {pid} ({e}); "
                "set HEXZ_SHARED_BATCHES=0 to send batches by value"
            ) from e
        try:
            self.map = mmap.mmap(own, _DATA_AT + RING_BYTES)
        finally:
            os.close(own)
        if self.map[:_FLAGS_AT] != _MAGIC + ring_id:
            raise HexzError(f"the batch ring of DataLoader worker {pid} is not the one it sent")
        self.flags = memoryview(self.map)[_FLAGS_AT : _FLAGS_AT + _SLOTS]
        self.pid = pid


_mapped: dict[tuple[int, int, bytes], _MainRing] = {}


def _main_ring(key: tuple[int, int, bytes]) -> _MainRing:
    ring = _mapped.get(key)
    if ring is None:
        _forget_exited()
        ring = _mapped[key] = _MainRing(key)
    return ring


def _forget_exited() -> None:
    """Drops the maps of exited workers' rings (each stays mapped while a batch views it)."""
    for key in [k for k in _mapped if not os.path.exists(f"/proc/{k[0]}/fd/{k[1]}")]:
        del _mapped[key]


def _release(flags: memoryview, slot: int) -> None:
    flags[slot] = _FREE


def _from_ring(
    key: tuple[int, int, bytes], slot: int, at: int, dtype: str, shape: tuple[int, ...]
) -> Any:
    np = _compat.numpy()
    torch = _compat.torch()
    ring = _main_ring(key)
    dt = np.dtype(dtype)
    count = 1
    for d in shape:
        count *= d
    # Every view the caller makes derives from ``arr``, so it is collected only after them.
    arr = np.frombuffer(ring.map, dtype=np.uint8, count=count * dt.itemsize, offset=at)
    weakref.finalize(arr, _release, ring.flags, slot)
    received["ring"] += 1
    return torch.from_numpy(arr.view(dt).reshape(shape))
