"""Sample orders: :class:`Sampler` and the shuffles it draws from.

Every order is a pure function of ``(n, shuffle, seed, epoch)`` (and of the block size of a
block shuffle), never of the process, the number of workers or the time, so DataLoader workers
rebuild exactly the order their parent announced.

Two shuffles:

- ``"block"`` (``shuffle=True``, the default): the samples are cut into blocks of consecutive
  samples (about 8 MiB each by default), the blocks are permuted, and the samples of every
  group of 8 consecutive blocks (in that permuted order) are permuted together. Reads stay
  within a few MiB-sized regions at a time, so a remote archive is fetched in large ranges,
  once, and a local one stays in the CPU's and the kernel's caches. It mixes better than
  LitData's ``shuffle=True`` (a batch of 64 draws from about 14 of 256 equal slices of a
  200,000-sample data set, LitData's from 2; ``make bench-loader`` measures it), and a data
  set smaller than 8 blocks is simply permuted whole.
- ``"global"``: a full uniform permutation of all samples (a batch draws from about 57 of 256
  slices). The best mixing, at the price of reading all over the archive.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from . import _compat

if TYPE_CHECKING:
    from .dataset import Dataset

__all__ = ["Sampler", "ShuffleLike", "order", "shuffle_mode"]

#: ``True``/``"block"``, ``"global"``, or ``False``/``"none"`` (the archive's order).
ShuffleLike = bool | str

#: Blocks whose samples a block shuffle permutes together.
BLOCKS_PER_GROUP = 8


def shuffle_mode(shuffle: ShuffleLike) -> str:
    """``"global"``, ``"block"`` or ``"none"`` for a ``shuffle=`` argument."""
    if shuffle is True or shuffle == "block":
        return "block"
    if shuffle == "global":
        return "global"
    if shuffle is False or shuffle == "none":
        return "none"
    raise ValueError(f"shuffle must be True, False, 'block', 'global' or 'none', not {shuffle!r}")


def order(n: int, mode: str, seed: int, epoch: int, block: int = 1) -> Sequence[int]:
    """The order of ``n`` samples for ``mode`` (see :func:`shuffle_mode`) in ``epoch``.

    ``block`` is the block size (in samples) of a block shuffle."""
    if mode == "none":
        return range(n)
    if not _compat.has_numpy():
        return _order_without_numpy(n, mode, seed, epoch, block)
    np = _compat.numpy()
    rng = np.random.default_rng([seed, epoch])
    if mode == "global":
        return rng.permutation(n).tolist()  # type: ignore[no-any-return]
    block = max(1, int(block))
    blocks = rng.permutation((n + block - 1) // block)
    out = []
    for g in range(0, len(blocks), BLOCKS_PER_GROUP):
        idx = np.concatenate(
            [
                np.arange(b * block, min(n, (b + 1) * block))
                for b in blocks[g : g + BLOCKS_PER_GROUP]
            ]
        )
        out.append(rng.permutation(idx))
    return np.concatenate(out).tolist() if out else []


def _order_without_numpy(n: int, mode: str, seed: int, epoch: int, block: int) -> list[int]:
    import random

    rng = random.Random(f"{seed}/{epoch}/{mode}")
    if mode == "global":
        out = list(range(n))
        rng.shuffle(out)
        return out
    block = max(1, int(block))
    blocks = list(range((n + block - 1) // block))
    rng.shuffle(blocks)
    result: list[int] = []
    for g in range(0, len(blocks), BLOCKS_PER_GROUP):
        group = [
            i
            for b in blocks[g : g + BLOCKS_PER_GROUP]
            for i in range(b * block, min(n, (b + 1) * block))
        ]
        rng.shuffle(group)
        result.extend(group)
    return result


class Sampler:
    """Yields sample indices in a deterministic order (a function of ``seed`` and the epoch
    only) and announces that order to the dataset, so Rust threads read the next batches
    before they are asked for.

    Use with ``DataLoader(dataset, batch_size=64, sampler=dataset.sampler())``; call
    :meth:`set_epoch` before each epoch for a new order.

    Args:
        dataset: the :class:`~hexz.Dataset`.
        shuffle: ``True`` or ``"block"`` (a block shuffle, the default), ``"global"`` (a full
            permutation), ``False`` or ``"none"``.
        seed: the shuffle's seed.
        block_samples: samples per block of a block shuffle (default: about 8 MiB of samples).
    """

    def __init__(
        self,
        dataset: Dataset,
        shuffle: ShuffleLike = True,
        seed: int = 0,
        block_samples: int | None = None,
    ) -> None:
        self.dataset = dataset
        self.mode = shuffle_mode(shuffle)
        self.shuffle = self.mode != "none"
        self.seed = int(seed)
        self.epoch = 0
        if block_samples is not None and int(block_samples) < 1:
            raise ValueError(f"block_samples must be >= 1, got {block_samples}")
        self.block_samples = int(block_samples or dataset._default_block_samples())
        dataset._set_plan(self._plan())

    def _plan(self) -> tuple[str, int, int, int]:
        return (self.mode, self.seed, self.epoch, self.block_samples)

    def set_epoch(self, epoch: int) -> None:
        """Selects the epoch whose order the next iteration yields."""
        self.epoch = int(epoch)
        self.dataset._set_plan(self._plan())

    def __len__(self) -> int:
        return len(self.dataset)

    def order(self) -> Sequence[int]:
        """This epoch's order: a function of (shuffle, seed, epoch) only."""
        return order(len(self.dataset), self.mode, self.seed, self.epoch, self.block_samples)

    def __iter__(self) -> Iterator[int]:
        o = self.order()
        self.dataset._announce(o)
        return iter(o)

    def __repr__(self) -> str:
        return f"<hexz.Sampler {self.mode} seed={self.seed} epoch={self.epoch}>"
