"""``hexz.IterableDataset``: batches of a rank's share of an epoch, for streaming pipelines.

The class is made on first use, as a subclass of ``torch.utils.data.IterableDataset`` (which
is how ``DataLoader`` tells an iterable dataset from a map-style one), so ``import hexz``
does not import PyTorch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import _compat
from .ahead import worker_id_and_count
from .dataset import Dataset
from .options import PathLike
from .sampler import Ordered, ShuffleLike

__all__ = ["ITERABLE_STATE_KIND", "IterableDataset"]

#: The ``kind`` of an :meth:`IterableDataset.state_dict`.
ITERABLE_STATE_KIND = "hexz.IterableDataset"


class _Iterable(Ordered):
    """Yields this rank's share of each epoch as batches of ``batch_size`` samples (lists of
    samples, as :meth:`hexz.Dataset.__getitems__` returns them: ``collate_fn=hexz.collate``
    turns them into tensors without a copy). Use it with ``DataLoader(ds, batch_size=None,
    num_workers=k)``: worker ``w`` of ``k`` reads batches ``w, w + k, ...``, which the
    DataLoader yields in order, so the loader's output is the same for any ``num_workers``.

    The order and the ranks' shares are those of :class:`hexz.Sampler` (block shuffle by
    default; ``torch.distributed`` or ``rank=``/``world_size=`` for ranks; every rank yields
    the same number of batches). Call :meth:`set_epoch` before each epoch, as with
    ``DistributedSampler`` (with ``persistent_workers=True`` the workers keep the epoch they
    started with).

    :meth:`state_dict` and :meth:`load_state_dict` follow
    ``torchdata.stateful_dataloader.StatefulDataLoader``'s protocol: it saves each worker's
    state with its own, and a job restored with the same world size and ``num_workers``
    continues exactly. With another world size or ``num_workers``, pass the loader's state
    through :func:`hexz.resume_state` and load the result into a new dataset instead.

    Args:
        path: the archive (a path or URL), or an open :class:`hexz.Dataset`.
        batch_size: samples per batch (the last batch of an epoch may be shorter).
        shuffle, seed, block_samples, rank, world_size, drop_last: as for
            :class:`hexz.Sampler`.
        **dataset_kwargs: for :class:`hexz.Dataset` when ``path`` is not one (S3 options,
            ``cache_dir=``, ``key=``, ...).
    """

    def __init__(
        self,
        path: PathLike | Dataset,
        batch_size: int = 64,
        shuffle: ShuffleLike = True,
        seed: int = 0,
        *,
        block_samples: int | None = None,
        rank: int | None = None,
        world_size: int | None = None,
        drop_last: bool = False,
        **dataset_kwargs: Any,
    ) -> None:
        if isinstance(path, Dataset):
            if dataset_kwargs:
                raise TypeError(f"options {sorted(dataset_kwargs)} need a path, not a Dataset")
            dataset = path
        else:
            dataset = Dataset(path, **dataset_kwargs)
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = int(batch_size)
        self._init_order(dataset, shuffle, seed, block_samples, rank, world_size, drop_last)
        #: A loaded state the next iteration continues from.
        self._resume: dict[str, Any] | None = None
        #: This process's progress in the current iteration (what state_dict reports).
        self._progress: dict[str, int] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Selects the epoch whose order the next iteration yields."""
        self.epoch = int(epoch)
        if self._resume is not None and int(self._resume["epoch"]) != self.epoch:
            self._resume = None

    def __len__(self) -> int:
        """Batches this rank yields in a whole epoch (the same on every rank)."""
        return -(-len(self._share_from(0)) // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        worker, workers = worker_id_and_count()
        start, first = self._start_and_first(worker, workers)
        share = self._share_from(start)
        batches = -(-len(share) // self.batch_size)
        b = self.batch_size
        # Alone, this process reads the share itself; with workers, each rebuilds it.
        self.dataset._follow(share.key, share if workers == 1 else None, first * b)
        self._progress = {"start": start, "next_batch": first, "workers": workers, "worker": worker}
        for j in range(first, batches, workers):
            batch = self.dataset.__getitems__(share[j * b : (j + 1) * b])
            self._progress["next_batch"] = j + workers
            yield batch

    def _start_and_first(self, worker: int, workers: int) -> tuple[int, int]:
        """The global position this iteration starts from and this worker's first batch."""
        state, self._resume = self._resume, None
        if state is None or int(state["epoch"]) != self.epoch:
            return 0, worker
        if "next_batch" not in state:
            return int(state["position"]), worker  # a global state: any world size, any workers
        mine = {
            "world_size": self.world_size,
            "batch_size": self.batch_size,
            "num_workers": workers,
        }
        for k, v in mine.items():
            if int(state[k]) != v:
                raise ValueError(
                    f"this worker's saved state is of a run with {k}={state[k]}, this one has"
                    f" {v}: pass the loader's state through hexz.resume_state() and load that"
                    " into a new dataset to continue with another configuration"
                )
        if int(state["worker"]) != worker:
            raise ValueError(f"worker {worker} was given worker {state['worker']}'s state")
        return int(state["start"]), int(state["next_batch"])

    def state_dict(self) -> dict[str, Any]:
        """Where this process stands in the epoch, in a few integers: in a DataLoader worker,
        that worker's next batch; ``position`` is the global position through its last
        batch."""
        if self._progress is None and self._resume is not None:
            return dict(self._resume)  # loaded, not started: still exactly where it was
        worker, workers = worker_id_and_count()
        progress = self._progress or {
            "start": 0,
            "next_batch": worker,
            "workers": workers,
            "worker": worker,
        }
        done = max(0, progress["next_batch"] - progress["workers"] + 1) * self.batch_size
        share = self._share_from(progress["start"])
        return {
            "kind": ITERABLE_STATE_KIND,
            **self._order_state(),
            "epoch": self.epoch,
            "position": share.resume_position(done),
            "start": progress["start"],
            "next_batch": progress["next_batch"],
            "batch_size": self.batch_size,
            "num_workers": progress["workers"],
            "worker": progress["worker"],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continues from ``state``: a worker's own state (from ``StatefulDataLoader``, same
        world size and ``num_workers``) or a global one (:func:`hexz.resume_state`, any)."""
        epoch, _ = self._check_state(state)
        self.epoch = epoch
        self._resume = dict(state)
        self._progress = None

    def __repr__(self) -> str:
        return (
            f"<hexz.IterableDataset {self.dataset.path!r} batch_size={self.batch_size}"
            f" {self.mode} rank={self.rank}/{self.world_size}>"
        )


def _make_class() -> type:
    torch = _compat.torch() if _compat.has_torch() else None
    bases: tuple[type, ...] = (_Iterable,)
    if torch is not None:
        bases += (torch.utils.data.IterableDataset,)
    return type(
        "IterableDataset",
        bases,
        {"__module__": __name__, "__qualname__": "IterableDataset", "__doc__": _Iterable.__doc__},
    )


if TYPE_CHECKING:
    IterableDataset = _Iterable
else:

    def __getattr__(name: str) -> Any:
        if name == "IterableDataset":
            cls = _make_class()
            globals()["IterableDataset"] = cls
            return cls
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
