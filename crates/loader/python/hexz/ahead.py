"""The read-ahead planner of a :class:`~hexz.Dataset`: one state object that knows what comes
next (the order a :class:`~hexz.Sampler` announced, or the sequence the reads so far follow)
and what was asked for ahead of the reader (batches being read whole on a Rust thread, batches
and shuffle blocks prefetched into the block cache). Its requests belong to one process: a
forked DataLoader worker starts with none, since the threads behind its parent's reads did
not come along."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from ._native import PendingRead
from .sampler import Share, ShareKey

#: A batch, by its sample indices.
BatchKey = tuple[int, ...]


class ReadAhead:
    """What a dataset reads next and what it has asked for ahead of it.

    The order comes from one of three places, checked in this order: in a DataLoader worker,
    the Sampler's plan (a picklable :class:`ShareKey` the worker rebuilds its rank's share
    from, reading every ``num_workers``-th batch of it); in the main process, the order the
    Sampler announced; otherwise batches that follow one another are taken as a sequence."""

    def __init__(self, plan: ShareKey | None = None) -> None:
        #: The Sampler's share of the current epoch, pickled to DataLoader workers.
        self.plan = plan
        self._order: Sequence[int] | None = None
        self._pos = 0
        self._worker_key: tuple[ShareKey, int] | None = None
        self._worker_share: Share | None = None
        self._workers = 1
        self._last_end = 0
        self._pid = os.getpid()
        self._reading: dict[BatchKey, PendingRead] = {}
        self._cached: dict[BatchKey, None] = {}  # an ordered set: oldest first
        self._blocks: set[int] = set()
        #: Positions of the order below this were already looked at for blocks to fetch.
        self._scanned = 0

    def for_pickle(self) -> ReadAhead:
        """A fresh planner that keeps only the plan: what a DataLoader worker needs."""
        return ReadAhead(self.plan)

    # -- the order ---------------------------------------------------------------------------

    def set_plan(self, plan: ShareKey) -> None:
        """The Sampler's share of the next iteration, so DataLoader workers rebuild it."""
        self.plan = plan

    def announce(self, order: Sequence[int], pos: int = 0) -> None:
        """The order this process reads next, from its position ``pos`` on."""
        self._order = order
        self._pos = pos
        self._new_epoch()

    def _worker(self) -> tuple[Share, int] | None:
        """In a DataLoader worker of a loader driven by a :class:`Sampler`: this rank's share
        of the order (rebuilt from the plan) and the worker count."""
        torch = sys.modules.get("torch")
        info = torch.utils.data.get_worker_info() if torch is not None else None
        if self.plan is None or info is None:
            return None
        key = (self.plan, int(info.id))
        if self._worker_share is None or self._worker_key != key:
            self._worker_key = key
            self._worker_share = Share(self.plan)
            self._workers = int(info.num_workers)
            self._new_epoch()
        return self._worker_share, self._workers

    def order_ahead(self, idx: Sequence[int], deep: int) -> Sequence[int]:
        """The samples of the order from batch ``idx`` on, ``deep`` positions deep, that were
        not looked at before this epoch (a window sliding one batch at a time looks at each
        position once)."""
        worker = self._worker()
        if worker is not None:
            share, _ = worker
            p = share.index_of(idx[0])
            return () if p is None else self._unscanned(share, p, p + deep)
        if self._order is None:
            return ()
        p = self._pos
        self._pos = p + len(idx)
        return self._unscanned(self._order, p, p + deep)

    def upcoming(self, idx: Sequence[int], batches: int, length: int) -> list[list[int]]:
        """The next ``batches`` batches after ``idx``, as far as they are known."""
        n, ahead = len(idx), range(1, batches + 1)
        worker = self._worker()
        if worker is not None:
            # A DataLoader worker gets every num_workers-th batch of the Sampler's order.
            share, workers = worker
            p = share.index_of(idx[0])
            if p is None:
                return []
            step = n * workers
            return [list(share[p + j * step : p + j * step + n]) for j in ahead]
        if self._order is not None:
            p = self._pos
            self._pos = p + n
            return [list(self._order[p + j * n : p + (j + 1) * n]) for j in ahead]
        out: list[list[int]] = []
        if all(b == a + 1 for a, b in zip(idx, idx[1:], strict=False)):
            # Sequential batches; in one of W DataLoader workers, every W-th of them.
            wid, workers = worker_id_and_count()
            stride = n * workers
            if idx[0] == wid * n or idx[0] == self._last_end + stride - n:
                out = [
                    list(range(idx[0] + j * stride, min(length, idx[0] + j * stride + n)))
                    for j in ahead
                ]
        self._last_end = idx[-1] + 1
        return [b for b in out if b]

    # -- what was asked for ------------------------------------------------------------------

    def _mine(self) -> None:
        """Forgets the requests of another process (this one is a forked child)."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._reading, self._cached, self._blocks = {}, {}, set()
            self._scanned = 0

    def _new_epoch(self) -> None:
        self._mine()
        self._blocks.clear()
        self._scanned = 0

    def _unscanned(self, order: Sequence[int], start: int, end: int) -> Sequence[int]:
        self._mine()
        first = max(start, self._scanned)
        self._scanned = max(self._scanned, end)
        return order[first:end] if first < end else ()

    def claim_block(self, block: int) -> bool:
        """Whether block ``block`` of a block shuffle is not yet being fetched this epoch
        (and marks it so)."""
        self._mine()
        if block in self._blocks:
            return False
        self._blocks.add(block)
        return True

    def requested(self, key: BatchKey) -> bool:
        """Whether batch ``key`` is being read whole or was prefetched into the cache."""
        self._mine()
        return key in self._reading or key in self._cached

    def requested_batches(self) -> list[BatchKey]:
        """The batches asked for ahead and not yet read: those being read whole, then those
        prefetched into the cache, each oldest first."""
        self._mine()
        return [*self._reading, *self._cached]

    def take(self, key: BatchKey) -> PendingRead | None:
        """The read of batch ``key`` started ahead, if there is one (handed out once); the
        batch is no longer asked for ahead either way."""
        self._mine()
        self._cached.pop(key, None)
        return self._reading.pop(key, None)

    def reading(self, key: BatchKey, pending: PendingRead, keep: int) -> None:
        """Records a batch being read whole, forgetting the oldest beyond ``keep`` (never
        asked for: the order changed or the prediction was wrong)."""
        self._mine()
        self._reading[key] = pending
        _trim(self._reading, keep)

    def cached(self, key: BatchKey, keep: int) -> None:
        """Records a batch whose blocks were prefetched into the cache (``keep`` at most)."""
        self._mine()
        self._cached[key] = None
        _trim(self._cached, keep)


def _trim(requests: dict[BatchKey, Any], keep: int) -> None:
    while len(requests) > max(1, keep):
        del requests[next(iter(requests))]


def worker_id_and_count() -> tuple[int, int]:
    """(id, num_workers) in a DataLoader worker process, else (0, 1)."""
    torch = sys.modules.get("torch")
    info = torch.utils.data.get_worker_info() if torch is not None else None
    return (0, 1) if info is None else (int(info.id), int(info.num_workers))


def merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorts and merges adjacent ranges so each prefetch request covers whole runs."""
    out: list[tuple[int, int]] = []
    for off, n in sorted(ranges):
        if out and off <= out[-1][0] + out[-1][1]:
            o, m = out[-1]
            out[-1] = (o, max(m, off + n - o))
        else:
            out.append((off, n))
    return out
