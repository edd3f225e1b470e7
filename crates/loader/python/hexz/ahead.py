"""What a :class:`~hexz.Dataset` has asked for ahead of its reader: batches being read whole on
a Rust thread, shuffle blocks being fetched into the block cache, and how far through the
announced order it has looked. Belongs to one process (a forked DataLoader worker starts
afresh)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from ._native import PendingRead


class Ahead:
    """Batches requested ahead, by their indices: a :class:`PendingRead` for batches being
    read whole, ``None`` for those prefetched into the block cache. Belongs to the process
    that made it: a forked child (a DataLoader worker) starts empty, since the threads behind
    its parent's reads did not come along."""

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._batches: dict[tuple[int, ...], PendingRead | None] = {}
        self._blocks: set[int] = set()
        #: Positions of the order below this were already looked at for blocks to fetch.
        self._scanned = 0

    def _mine(self) -> dict[tuple[int, ...], PendingRead | None]:
        if self._pid != os.getpid():
            self._pid, self._batches, self._blocks = os.getpid(), {}, set()
            self._scanned = 0
        return self._batches

    def unscanned(self, order: Sequence[int], start: int, end: int) -> Sequence[int]:
        """The samples of ``order[start:end]`` not looked at before this epoch: a read-ahead
        window slides one batch at a time, and each position needs looking at once."""
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

    def new_epoch(self) -> None:
        self._mine()
        self._blocks.clear()
        self._scanned = 0

    def has(self, key: tuple[int, ...]) -> bool:
        return key in self._mine()

    def take(self, key: tuple[int, ...]) -> PendingRead | None:
        return self._mine().pop(key, None)

    def put(self, key: tuple[int, ...], pending: PendingRead | None, keep: int) -> None:
        """Adds a batch, forgetting the oldest beyond ``keep`` (never asked for: the order
        changed or the prediction was wrong)."""
        batches = self._mine()
        batches[key] = pending
        while len(batches) > max(1, keep):
            del batches[next(iter(batches))]


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
