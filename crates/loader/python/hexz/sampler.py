"""Sample orders: :class:`Sampler`, the shuffles it draws from, and each rank's share.

Every order is a pure function of ``(n, shuffle, seed, epoch)`` (and of the block size of a
block shuffle), never of the number of ranks or workers, the process, the Python or NumPy
version or the time. It is computed in Rust (the ``hexz-order`` crate) one position at a
time, so an epoch of 10^9 samples costs no memory and a resume starts at once.

Two shuffles:

- ``"block"`` (``shuffle=True``, the default): the samples are cut into blocks of consecutive
  samples (about 8 MiB each by default), the blocks are permuted, and the samples of every
  group of 8 consecutive blocks (in that permuted order) are permuted together. Reads stay
  within a few MiB-sized regions at a time, so a remote archive is fetched in large ranges,
  once, and a local one stays in the CPU's and the kernel's caches. It mixes better than
  LitData's ``shuffle=True`` (a batch of 64 draws from about 14 of 256 equal slices of a
  200,000-sample data set, LitData's from 2; ``make bench-loader`` measures it), and a data
  set smaller than 8 blocks is simply permuted whole.
- ``"global"``: a full permutation of all samples (a batch draws from about 57 of 256
  slices). The best mixing, at the price of reading all over the archive.

With several ranks (``torch.distributed``, or ``rank=``/``world_size=``), rank ``r`` of ``W``
takes every ``W``-th sample of the order from position ``r``, as
``torch.utils.data.DistributedSampler`` does, so the ranks' shares are disjoint and together
are the order; every rank gets the same count (``drop_last=False`` repeats the first samples
of the order to fill the last round, ``drop_last=True`` leaves the last ``n mod W`` out), so
collective operations never wait for a rank that ran out.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, overload

from ._native import NativeShare

if TYPE_CHECKING:
    from .dataset import Dataset

__all__ = [
    "STATE_KIND",
    "Ordered",
    "Sampler",
    "Share",
    "ShareKey",
    "ShuffleLike",
    "order",
    "rank_and_world",
    "shuffle_mode",
]

#: ``True``/``"block"``, ``"global"``, or ``False``/``"none"`` (the archive's order).
ShuffleLike = bool | str

#: Blocks whose samples a block shuffle permutes together (``hexz_order::BLOCKS_PER_GROUP``).
BLOCKS_PER_GROUP = 8

#: The ``kind`` of a :meth:`Sampler.state_dict`, so :func:`hexz.resume_state` finds it.
STATE_KIND = "hexz.Sampler"

#: Positions computed per call into Rust.
_CHUNK = 8192
#: Chunks a :class:`Share` keeps (a read-ahead window spans at most two or three).
_KEEP_CHUNKS = 4


def shuffle_mode(shuffle: ShuffleLike) -> str:
    """``"global"``, ``"block"`` or ``"none"`` for a ``shuffle=`` argument."""
    if shuffle is True or shuffle == "block":
        return "block"
    if shuffle == "global":
        return "global"
    if shuffle is False or shuffle == "none":
        return "none"
    raise ValueError(f"shuffle must be True, False, 'block', 'global' or 'none', not {shuffle!r}")


def rank_and_world(rank: int | None, world_size: int | None) -> tuple[int, int]:
    """``(rank, world_size)``: the ones given, else ``torch.distributed``'s when it is
    initialized, else ``(0, 1)``."""
    if (rank is None) != (world_size is None):
        raise ValueError("give both rank= and world_size=, or neither")
    if rank is not None and world_size is not None:
        rank, world_size = int(rank), int(world_size)
    else:
        torch = sys.modules.get("torch")
        dist = getattr(torch, "distributed", None) if torch is not None else None
        if dist is not None and dist.is_available() and dist.is_initialized():
            rank, world_size = int(dist.get_rank()), int(dist.get_world_size())
        else:
            rank, world_size = 0, 1
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in 0..{world_size - 1}, got {rank}")
    return rank, world_size


class ShareKey(NamedTuple):
    """Everything that defines a :class:`Share` (picklable, so DataLoader workers rebuild it)."""

    n: int
    mode: str
    seed: int
    epoch: int
    block: int
    rank: int = 0
    world_size: int = 1
    start: int = 0
    drop_last: bool = False


#: Seeds and epochs are taken modulo 2**64.
_U64 = (1 << 64) - 1


class Share(Sequence[int]):
    """One rank's samples of one epoch, from a global position on: a lazy sequence (indexing
    and slicing compute only what is asked for) with :meth:`index_of` as its inverse.

    Positions are computed in chunks of :data:`_CHUNK`, and the last few chunks are kept: the
    sampler and the read-ahead both walk the share, and a read-ahead window that slides a
    batch at a time would otherwise recompute thousands of positions per batch."""

    def __init__(self, key: ShareKey) -> None:
        self.key = key
        self._native = NativeShare(
            key.n,
            key.mode,
            key.seed & _U64,
            key.epoch & _U64,
            key.block,
            key.rank,
            key.world_size,
            key.start,
            key.drop_last,
        )
        self._len = len(self._native)
        self._chunks: OrderedDict[int, list[int]] = OrderedDict()

    def __len__(self) -> int:
        return self._len

    def _chunk(self, c: int) -> list[int]:
        """Positions ``c * _CHUNK`` to ``(c + 1) * _CHUNK`` (fewer at the end)."""
        chunk = self._chunks.get(c)
        if chunk is None:
            chunk = self._native.take(c * _CHUNK, _CHUNK)
            self._chunks[c] = chunk
            if len(self._chunks) > _KEEP_CHUNKS:
                self._chunks.popitem(last=False)
        else:
            self._chunks.move_to_end(c)
        return chunk

    @overload
    def __getitem__(self, i: int) -> int: ...
    @overload
    def __getitem__(self, i: slice) -> list[int]: ...
    def __getitem__(self, i: int | slice) -> int | list[int]:
        if isinstance(i, slice):
            first, stop, step = i.indices(self._len)
            if step != 1:
                return [self[k] for k in range(first, stop, step)]
            out: list[int] = []
            while first < stop:
                c, at = divmod(first, _CHUNK)
                part = self._chunk(c)[at : at + stop - first]
                out += part
                first += len(part)
            return out
        k = i + self._len if i < 0 else i
        if not 0 <= k < self._len:
            raise IndexError(f"position {i} out of range ({self._len} samples)")
        return self._chunk(k // _CHUNK)[k % _CHUNK]

    def __iter__(self) -> Iterator[int]:
        for c in range(-(-self._len // _CHUNK)):
            yield from self._chunk(c)

    def index_of(self, index: int) -> int | None:
        """Where sample ``index`` first comes in this share, or None."""
        return self._native.index_of(int(index))

    def resume_position(self, taken: int) -> int:
        """The global position the next iteration starts from after each rank took ``taken``."""
        return self._native.resume_position(int(taken))


def order(n: int, mode: str, seed: int, epoch: int, block: int = 1) -> Share:
    """The whole order of ``n`` samples for ``mode`` (see :func:`shuffle_mode`) in ``epoch``;
    ``block`` is the block size (in samples) of a block shuffle."""
    return Share(ShareKey(n, mode, int(seed), int(epoch), max(1, int(block))))


class Ordered:
    """What :class:`Sampler` and :class:`hexz.IterableDataset` share: an order's parameters,
    this rank, and the share of an iteration."""

    def _init_order(
        self,
        dataset: Dataset,
        shuffle: ShuffleLike,
        seed: int,
        block_samples: int | None,
        rank: int | None,
        world_size: int | None,
        drop_last: bool,
    ) -> None:
        self.dataset = dataset
        self.mode = shuffle_mode(shuffle)
        self.shuffle = self.mode != "none"
        self.seed = int(seed)
        self.epoch = 0
        if block_samples is not None and int(block_samples) < 1:
            raise ValueError(f"block_samples must be >= 1, got {block_samples}")
        self.block_samples = int(block_samples or dataset._default_block_samples())
        self.rank, self.world_size = rank_and_world(rank, world_size)
        self.drop_last = bool(drop_last)

    def _share_from(self, start: int) -> Share:
        """This rank's share of the current epoch from global position ``start``."""
        return Share(
            ShareKey(
                len(self.dataset),
                self.mode,
                self.seed,
                self.epoch,
                self.block_samples,
                self.rank,
                self.world_size,
                start,
                self.drop_last,
            )
        )

    def _order_state(self) -> dict[str, Any]:
        """The fields of a saved state that name the order."""
        return {
            "version": 1,
            "n": len(self.dataset),
            "shuffle": self.mode,
            "seed": self.seed,
            "block_samples": self.block_samples,
            "world_size": self.world_size,
            "drop_last": self.drop_last,
        }

    def _check_state(self, state: dict[str, Any]) -> tuple[int, int]:
        return check_state(state, len(self.dataset), self.mode, self.seed, self.block_samples)


class Sampler(Ordered):
    """Yields this rank's sample indices in a deterministic order (a function of ``seed`` and
    the epoch only) and announces them to the dataset, so Rust threads read the next batches
    before they are asked for.

    Use with ``DataLoader(dataset, batch_size=64, sampler=dataset.sampler())``; call
    :meth:`set_epoch` before each epoch for a new order. Under ``torch.distributed`` each rank
    gets its share of the same order (see the module's documentation).

    It keeps its place: :meth:`state_dict` (a few integers) and :meth:`load_state_dict`
    follow the protocol of ``torchdata.stateful_dataloader.StatefulDataLoader``, which saves
    them with its own state, so a resumed job continues with exactly the samples an
    uninterrupted one would have seen next, also with another world size (the global order
    goes on from the same global position; see :func:`hexz.resume_state` for another
    ``num_workers``).

    Args:
        dataset: the :class:`~hexz.Dataset`.
        shuffle: ``True`` or ``"block"`` (a block shuffle, the default), ``"global"`` (a full
            permutation), ``False`` or ``"none"``.
        seed: the shuffle's seed (the same on every rank).
        block_samples: samples per block of a block shuffle (default: about 8 MiB of samples).
        rank, world_size: this process's rank and the number of ranks (default: from
            ``torch.distributed`` when it is initialized, else 0 and 1).
        drop_last: leave out the last ``n mod world_size`` samples instead of repeating
            the first ones so every rank gets as many.
    """

    def __init__(
        self,
        dataset: Dataset,
        shuffle: ShuffleLike = True,
        seed: int = 0,
        block_samples: int | None = None,
        *,
        rank: int | None = None,
        world_size: int | None = None,
        drop_last: bool = False,
    ) -> None:
        self._init_order(dataset, shuffle, seed, block_samples, rank, world_size, drop_last)
        #: Samples yielded by the current iteration, and the global position it started at.
        self.yielded = 0
        self._start = 0
        self._share: Share | None = None
        #: (epoch, global position) a loaded state resumes, until an iteration takes it.
        self._resume: tuple[int, int] | None = None
        dataset._follow(self._plan())

    def _next_start(self) -> int:
        if self._resume is not None and self._resume[0] == self.epoch:
            return self._resume[1]
        return 0

    def _plan(self) -> ShareKey:
        """What a DataLoader worker needs to rebuild this rank's share of the next iteration."""
        return self._share_from(self._next_start()).key

    def set_epoch(self, epoch: int) -> None:
        """Selects the epoch whose order the next iteration yields (a loaded state for
        another epoch is dropped)."""
        self.epoch = int(epoch)
        if self._resume is not None and self._resume[0] != self.epoch:
            self._resume = None
        if self._share is not None and self._share.key.epoch != self.epoch:
            # A new epoch, not started yet: its state is its start, not the last one's end.
            self._share, self.yielded = None, 0
        self.dataset._follow(self._plan())

    def __len__(self) -> int:
        """Samples this rank takes in a whole epoch (the same on every rank)."""
        return len(self._share_from(0))

    def order(self) -> Share:
        """This rank's samples of the next iteration: a function of (shuffle, seed, epoch,
        rank, world size) and the position a loaded state resumes from."""
        return self._share_from(self._next_start())

    def __iter__(self) -> Iterator[int]:
        start = self._next_start()
        self._resume = None
        share = self._share_from(start)
        self._share, self._start, self.yielded = share, start, 0
        self.dataset._follow(share.key, share)
        for first in range(0, len(share), _CHUNK):
            for i in share[first : first + _CHUNK]:
                self.yielded += 1
                yield i

    def position(self) -> int:
        """The global position of this epoch that all ranks together have reached: where a
        resume continues (assuming every rank yielded as many samples, as they do in
        lockstep training)."""
        if self._share is None:
            return self._next_start()
        return self._share.resume_position(self.yielded)

    def state_dict(self) -> dict[str, Any]:
        """Where this epoch stands, in a few integers (never the order itself)."""
        return {
            "kind": STATE_KIND,
            **self._order_state(),
            "epoch": self.epoch if self._share is None else self._share.key.epoch,
            "position": self.position(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continues from ``state`` (from :meth:`state_dict` on any rank, with any world size):
        the next iteration is of the saved epoch, from the saved global position."""
        epoch, position = check_state(
            state, len(self.dataset), self.mode, self.seed, self.block_samples
        )
        self.epoch = epoch
        self._resume = (epoch, position)
        self._share = None
        self.yielded = 0
        self.dataset._follow(self._plan())

    def __repr__(self) -> str:
        return (
            f"<hexz.Sampler {self.mode} seed={self.seed} epoch={self.epoch}"
            f" rank={self.rank}/{self.world_size}>"
        )


def check_state(
    state: dict[str, Any], n: int, mode: str, seed: int, block_samples: int
) -> tuple[int, int]:
    """``(epoch, position)`` of a saved state, after checking that it is of this order: a
    state of another data set or shuffle would continue with the wrong samples."""
    if not isinstance(state, dict) or "position" not in state or "epoch" not in state:
        raise ValueError(
            "not a hexz sampler state (expected a dict with 'epoch' and 'position'; "
            "a StatefulDataLoader state goes through hexz.resume_state first)"
        )
    if int(state.get("version", 1)) != 1:
        raise ValueError(f"unsupported sampler state version {state.get('version')!r}")
    mine = {"n": n, "shuffle": mode, "seed": seed}
    if mode == "block":
        mine["block_samples"] = block_samples
    for k, v in mine.items():
        if k in state and state[k] != v:
            raise ValueError(
                f"the saved state is of another order: {k}={state[k]!r}, this one has {v!r}"
            )
    epoch, position = int(state["epoch"]), int(state["position"])
    if epoch < 0 or not 0 <= position <= n:
        raise ValueError(f"saved position {position} of epoch {epoch} is outside 0..{n}")
    return epoch, position
