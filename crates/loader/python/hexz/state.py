"""Resume states: :func:`resume_state` turns a saved ``StatefulDataLoader`` state into the
one global position of the epoch, which any world size and any ``num_workers`` continue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .iterable import ITERABLE_STATE_KIND
from .sampler import STATE_KIND

__all__ = ["resume_state"]


def _hexz_states(obj: Any) -> Iterator[dict[str, Any]]:
    """Every hexz sampler or dataset state nested anywhere in ``obj``."""
    if isinstance(obj, dict):
        if obj.get("kind") in (STATE_KIND, ITERABLE_STATE_KIND):
            yield obj
            return
        for v in obj.values():
            yield from _hexz_states(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _hexz_states(v)


def resume_state(loader_state: dict[str, Any]) -> dict[str, Any]:
    """The global state of the epoch in ``loader_state`` (a ``StatefulDataLoader``'s
    ``state_dict()``, or one of hexz's own), for :meth:`hexz.Sampler.load_state_dict` or
    :meth:`hexz.IterableDataset.load_state_dict` of a job with any world size or number of
    workers.

    For an :class:`~hexz.IterableDataset` read by several workers, each worker's state tells
    how far it got; the DataLoader yields their batches in turn, so the furthest of them is
    where the whole loader got."""
    states = list(_hexz_states(loader_state))
    if not states:
        raise ValueError("no hexz.Sampler or hexz.IterableDataset state in this loader state")
    kinds = {s["kind"] for s in states}
    if len(kinds) > 1:
        raise ValueError(f"the loader state holds states of several kinds: {sorted(kinds)}")
    epochs = {int(s["epoch"]) for s in states}
    if len(epochs) > 1:
        raise ValueError(f"the loader state's workers are in different epochs: {sorted(epochs)}")
    furthest = max(states, key=lambda s: int(s["position"]))
    worker_only = ("start", "next_batch", "num_workers", "worker")
    return {k: v for k, v in furthest.items() if k not in worker_only}
