"""PyTorch-style datasets over archives: :class:`Dataset` (alias :class:`Loader`).

Orders and shuffles live in :mod:`hexz.sampler`, batches as tensors in :mod:`hexz.collate`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Unpack

from . import _compat
from .ahead import ReadAhead, merge_ranges
from .collate import Batch, Column
from .handle import _Handle
from .layout import Group, detect_layout
from .options import OpenKwargs, OpenOptions, PathLike, is_url, open_options
from .sampler import (
    BLOCKS_PER_GROUP,
    Sampler,
    Share,
    ShareKey,
    ShuffleLike,
    rank_and_world,
    shuffle_mode,
)

__all__ = ["Dataset", "Loader", "Sampler"]

#: Bytes of samples in one block of a block shuffle, by default (AWS's advice for ranged GETs).
BLOCK_SHUFFLE_BYTES = 8 << 20
#: Default block cache, in blocks of the archive's nominal size (64 KiB: 64 MiB, 512 MiB).
LOCAL_CACHE_BLOCKS = 1024
REMOTE_CACHE_BLOCKS = 8192
#: Groups of blocks a remote block shuffle fetches ahead of the one being read.
GROUPS_AHEAD = 2


class Dataset:
    """A map-style dataset over an archive, usable with ``torch.utils.data.DataLoader``.

    What one sample is depends on the archive:

    - arrays or records (written with ``Writer.add_array`` / ``add_records``): one row. When
      several arrays have the same number of rows (say ``x`` and ``y``), a sample is the tuple
      of their rows, in the order they were written; ``group=`` picks one array instead;
    - a directory tree: one file (sorted by path), as a ``uint8`` array;
    - a raw stream (a disk image): one ``sample_size``-byte block (default: the block size).

    Samples are NumPy arrays with the recorded dtype and shape (tensors with
    ``as_tensor=True``). DataLoader's batch fetch calls :meth:`__getitems__`, which reads the
    whole batch in Rust, in parallel, with the GIL released once, into one buffer;
    ``collate_fn=hexz.collate`` turns it into tensors without another copy. Samples stored
    raw (incompressible) in a local archive are views of its memory map: neither decoded nor
    copied. When the order is announced by :meth:`sampler` (or is sequential), the next
    batches are read on Rust threads before they are asked for.

    ``Writer`` gives every record of 4 KiB or more a block of its own (smaller ones are packed
    whole), so a shuffled read decodes about the sample it returns.

    The archive may be remote (``s3://bucket/key``, ``http(s)://...``): reads fetch only the
    blocks they need, and a DataLoader worker (fork, spawn or forkserver) reopens the archive
    from its URL and S3 options. Use ``sampler(shuffle="block")`` there, so blocks of samples
    are fetched in large ranges.

    Args:
        path: the archive: a local path or a URL.
        transform: applied to each sample.
        cache_size: block cache size, in blocks of the archive's nominal block size (default
            1024, or 8192 for a remote archive, which a block shuffle fetches well ahead; it
            shrinks to 1024 once a disk cache, ``cache_dir=``, holds the whole archive).
        prefetch_threads: Rust read-ahead threads (default 4; 0 disables prefetch).
        group: name of the array or record group to use.
        sample_size: bytes per sample for raw-stream archives.
        as_tensor: return ``torch.Tensor`` samples instead of NumPy arrays.
        prefetch_batches: how many batches ahead to read.
        mmap: memory-map a local archive (default), so a raw sample read alone
            (``dataset[i]``) is a view of the map; batches are read into one buffer.
            The file must not be truncated while it is open.
        options: how to open the archive (:class:`hexz.OpenOptions`: S3 settings, the key
            or password of an encrypted archive, the signer's public key, a local disk cache
            for a remote archive), as for :class:`hexz.Reader`; its fields are also keyword
            arguments, which override it. The options are pickled with the dataset, so
            DataLoader workers reopen the archive with them (raw key bytes and passwords are
            then in the pickle; a key file only as its path) and share the disk cache, and
            with ``verify_key`` every read of every worker is checked against the hashes.
    """

    def __init__(
        self,
        path: PathLike,
        transform: Callable[[Any], Any] | None = None,
        cache_size: int | None = None,
        *,
        prefetch_threads: int = 4,
        group: str | None = None,
        sample_size: int | None = None,
        as_tensor: bool = False,
        prefetch_batches: int = 2,
        mmap: bool = True,
        options: OpenOptions | None = None,
        **open_kwargs: Unpack[OpenKwargs],
    ) -> None:
        remote = open_options(options, open_kwargs).native()
        name = os.fspath(path)
        if not isinstance(name, str):
            raise TypeError("path must be a str (a path or URL) or os.PathLike[str]")
        self._remote = is_url(name)
        # A default-sized remote cache shrinks to the local default once all is on disk.
        self._shrink_cache = self._remote and cache_size is None
        if cache_size is None:
            # A remote block shuffle keeps two groups of ~8 MiB blocks decoded ahead.
            cache_size = REMOTE_CACHE_BLOCKS if self._remote else LOCAL_CACHE_BLOCKS
        self._h = _Handle(name, cache_size, prefetch_threads, remote, mmap=mmap, hold_pages=True)
        self.transform = transform
        self.as_tensor = as_tensor
        self.prefetch_batches = prefetch_batches
        native = self._h.native
        self._layout = detect_layout(native, group, sample_size)
        self._groups = self._layout.groups
        self._len = self._layout.length
        self._logical_size = len(native)
        self._ahead = ReadAhead()
        self._map_of: tuple[Any, Any] | None = None
        # A remote archive is read the local way once its disk cache holds all of it.
        self._all_local = not self._remote

    @property
    def path(self) -> str:
        """The archive's path or URL, as given."""
        return self._h.path

    def __len__(self) -> int:
        return self._len

    def __repr__(self) -> str:
        return f"<hexz.Dataset {self.path!r} {self._len} samples>"

    def stats(self) -> dict[str, int]:
        """What this process's reads of the archive cost: ``bytes_returned``,
        ``bytes_decoded`` (read amplification is their ratio), ``blocks_decoded`` and
        ``bytes_mapped`` (returned as views of the memory map, neither decoded nor copied)."""
        return dict(self._h.native.stats())

    def _norm(self, i: int) -> int:
        i = int(i)
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError(f"sample {i} out of range ({self._len} samples)")
        return i

    def _gather(self, idx: list[int], views: bool) -> Any:
        """The samples ``idx``: with ``views``, those stored raw in a mapped archive stay in
        the map (one sample: no copy); without, all are read into one buffer (a batch, which
        a collate would otherwise copy out of the map: one pass over the bytes, not two)."""
        native = self._h.native
        if not self._groups:
            return native.gather_ranges(self._layout.ranges(idx), views)
        if not views:
            pending = self._ahead.take(tuple(idx))
            if pending is not None:
                return pending.wait()
        return native.gather_records(self._layout.records(idx), views)

    def _mapped(self) -> Any:
        """The memory map as a NumPy array (made once per native archive)."""
        native = self._h.native
        if self._map_of is None or self._map_of[0] is not native:
            view = native.map_view()
            self._map_of = (native, None if view is None else _compat.numpy().asarray(view))
        return self._map_of[1]

    def _read(self, idx: list[int], views: bool = False) -> Batch:
        np = _compat.numpy()
        chunk, spans, mapped = self._gather(idx, views)
        buf = np.asarray(chunk)
        where = set(mapped)
        m = self._mapped() if mapped else buf  # samples are in the map only when it exists
        b = len(idx)
        groups: Sequence[Group | None] = self._groups or [None]
        cols, columns = [], []
        for k, g in enumerate(groups):
            part = spans[k * b : (k + 1) * b]
            dtype, shape = ("bytes", ()) if g is None else (g.dtype, g.shape)
            if where:
                raw = [
                    (m if k * b + j in where else buf)[s : s + n] for j, (s, n) in enumerate(part)
                ]
                cols.append([self._shape(r, dtype, shape) for r in raw])
                columns.append(Column(None, None, dtype, shape))
                continue
            first = part[0][0] if part else 0
            end = part[-1][0] + part[-1][1] if part else 0
            data = buf[first:end]
            if dtype != "bytes":
                arr = data.view(np.dtype(dtype)).reshape((b, *shape))
                # Rows of a 1-D array iterate as NumPy scalars: keep them 0-d array views.
                cols.append([r.reshape(()) for r in arr.reshape(b, 1)] if not shape else list(arr))
                offsets = None
            else:
                cols.append([buf[s : s + n] for s, n in part])
                offsets = np.empty(b + 1, dtype=np.int64)
                offsets[:b] = [s - first for s, _ in part]
                offsets[b] = end - first
            columns.append(Column(data, offsets, dtype, shape))
        batch = Batch(cols[0] if len(cols) == 1 else zip(*cols, strict=False))
        if self.transform is None and not self.as_tensor:
            batch.columns = columns
            return batch
        return Batch(self._finish(s) for s in batch)

    @staticmethod
    def _shape(raw: Any, dtype: str, shape: tuple[int, ...]) -> Any:
        if dtype == "bytes":
            return raw
        np = _compat.numpy()
        return raw.view(np.dtype(dtype)).reshape(shape)

    def _finish(self, sample: Any) -> Any:
        if self.as_tensor:
            torch = _compat.torch()
            if isinstance(sample, tuple):
                sample = tuple(torch.from_numpy(s) for s in sample)
            else:
                sample = torch.from_numpy(sample)
        if self.transform is not None:
            sample = self.transform(sample)
        return sample

    def __getitem__(self, i: int) -> Any:
        j = self._norm(i)
        out = self._read([j], views=True)[0]
        self._after([j])
        return out

    def __getitems__(self, indices: Sequence[int]) -> list[Any]:
        """Reads a whole batch in one call (PyTorch's DataLoader uses this)."""
        idx = [self._norm(i) for i in indices]
        if self._remote_blocks():
            self._after(idx)  # this batch's blocks too: fetched whole, not sample by sample
            out = self._read(idx)
            self._fetching()  # this batch may have completed the disk cache
            return out
        out = self._read(idx)
        self._after(idx)
        return out

    def __iter__(self) -> Iterator[Any]:
        for start in range(0, self._len, 64):
            yield from self.__getitems__(range(start, min(start + 64, self._len)))

    # -- reading ahead ----------------------------------------------------------------------

    def _after(self, idx: list[int]) -> None:
        """Starts reading what comes next: the next batches of the announced order, or of a
        sequence. Local records are read whole, batch by batch, on threads of their own;
        remote blocks and other archives are decoded into the block cache."""
        if not idx or self.prefetch_batches <= 0 or self._h.prefetch_threads == 0:
            return
        plan = self._ahead.plan
        if plan is not None and self._remote_blocks():
            ahead = self._ahead.order_ahead(idx, self._blocks_ahead(plan))
            self._prefetch_blocks(ahead, plan.block)
            return
        for batch in self._ahead.upcoming(idx, self.prefetch_batches, self._len):
            key = tuple(batch)
            if self._ahead.requested(key):
                continue
            native = self._h.native
            if self._groups and not self._fetching():
                pending = native.submit_records(self._layout.records(batch), False)
                self._ahead.reading(key, pending, self.prefetch_batches)
                continue
            self._ahead.cached(key, 4 * self.prefetch_batches)
            if self._groups:
                native.prefetch_records(self._layout.records(batch))
            else:
                native.prefetch(merge_ranges(self._layout.ranges(batch)))

    def _fetching(self) -> bool:
        """Whether reads may cost network requests now: a remote archive, unless its disk
        cache (``cache_dir=``) holds all of it (from then on it is read like a local file:
        whole batches ahead, decoded straight into the batch). Cheap to ask per batch: the
        native side looks for cache files only after a fetch, or once a second."""
        if self._all_local:
            return False
        self._all_local = bool(self._h.native.all_local())
        if self._all_local and self._shrink_cache:
            # The blocks decoded ahead of the network are not needed any more (a local
            # shuffle reads records straight into the batch): drop them all, hand the memory
            # back, and keep the local default from now on.
            self._h.set_cache_size(0)
            self._h.set_cache_size(LOCAL_CACHE_BLOCKS)
        return not self._all_local

    def _remote_blocks(self) -> bool:
        """Whether this is a remote archive of records read in a block-shuffle order."""
        return (
            self._fetching()
            and bool(self._groups)
            and self._ahead.plan is not None
            and self._ahead.plan.mode == "block"
        )

    def _prefetch_blocks(self, ahead: Sequence[int], size: int) -> None:
        """Remote block shuffle: fetches whole blocks of the shuffle (about 8 MiB of samples
        each) that the coming samples fall in, each once, as a few large ranged requests in
        flight together, rather than sample by sample."""
        native = self._h.native
        for w in sorted({i // size for i in ahead}):
            if self._ahead.claim_block(w):
                lo, hi = w * size, min(self._len, (w + 1) * size)
                native.prefetch_records(self._layout.records(range(lo, hi)))

    @staticmethod
    def _blocks_ahead(plan: ShareKey) -> int:
        """How many samples of the order a remote block shuffle fetches ahead: two groups of
        blocks of this rank's share (this process's and, in a worker, the other workers'
        batches), about 3 x 64 MiB with the rest of the current group, which with the blocks
        just read stays within the default remote block cache (512 MiB). One group deep left
        the link idle at each group's start (26,700 samples/s from s3s-fs + 20 ms on 2 cores,
        31,800 two deep, 30,300 three deep with a 768 MiB cache); deeper than the cache holds,
        blocks fetched ahead are evicted before they are read."""
        # A rank takes every world_size-th sample: a group's worth of its share is shorter.
        group = max(1, BLOCKS_PER_GROUP * plan.block // plan.world_size)
        return GROUPS_AHEAD * group

    def _follow(self, plan: ShareKey, order: Sequence[int] | None = None, pos: int = 0) -> None:
        """What a :class:`Sampler` tells the dataset: the share of the coming epoch (for
        DataLoader workers) and, when this process reads it, the order from ``pos`` on."""
        self._ahead.set_plan(plan)
        if order is not None:
            self._ahead.announce(order, pos)

    def _default_block_samples(self) -> int:
        """Samples per block of a block shuffle: about :data:`BLOCK_SHUFFLE_BYTES`."""
        per_sample = max(1, self._logical_size // max(1, self._len))
        return max(1, BLOCK_SHUFFLE_BYTES // per_sample)

    def sampler(
        self,
        shuffle: ShuffleLike = True,
        seed: int = 0,
        block_samples: int | None = None,
        *,
        rank: int | None = None,
        world_size: int | None = None,
        drop_last: bool = False,
    ) -> Sampler:
        """A :class:`Sampler` that tells this dataset the order, so batches are read before
        they are asked for. ``shuffle``: ``True``/``"block"`` (a block shuffle, better mixed
        than LitData's and MosaicML's, cheap locally and from S3), ``"global"`` (a full
        permutation) or ``False``. Under ``torch.distributed`` (or with ``rank=`` and
        ``world_size=``) it yields this rank's share; it saves and restores its place with
        ``state_dict()``/``load_state_dict()`` (see :class:`Sampler`)."""
        return Sampler(
            self,
            shuffle=shuffle,
            seed=seed,
            block_samples=block_samples,
            rank=rank,
            world_size=world_size,
            drop_last=drop_last,
        )

    # -- frameworks -------------------------------------------------------------------------

    def to_tensorflow(
        self,
        *,
        shuffle: ShuffleLike = False,
        seed: int = 0,
        epoch: int = 0,
        shard: tuple[int, int] | None = None,
        drop_last: bool = False,
        block_samples: int | None = None,
    ) -> Any:
        """A ``tf.data.Dataset`` of the samples, with their dtypes and shapes.

        ``shard=(index, count)`` yields shard ``index`` of ``count`` the way
        :class:`Sampler` splits an epoch across ranks (every ``count``-th sample of the
        order, the same number in every shard; ``drop_last`` as there), in the order of
        ``shuffle``, ``seed`` and ``epoch`` (see :class:`Sampler`)."""
        tf = _compat.tensorflow()
        index, count = shard if shard is not None else (0, 1)
        rank, world = rank_and_world(index, count)
        if block_samples is not None and int(block_samples) < 1:
            raise ValueError(f"block_samples must be >= 1, got {block_samples}")
        block = int(block_samples or self._default_block_samples())
        mode = shuffle_mode(shuffle)
        share = Share(
            ShareKey(self._len, mode, int(seed), int(epoch), block, rank, world, 0, drop_last)
        )

        def spec(g: Group | None) -> Any:
            if g is None or g.dtype == "bytes":
                return tf.TensorSpec(shape=(None,), dtype=tf.uint8)
            return tf.TensorSpec(shape=g.shape, dtype=tf.as_dtype(g.dtype))

        layout = self._layout
        if layout.groups:
            specs = [spec(g) for g in layout.groups]
            signature = specs[0] if len(specs) == 1 else tuple(specs)
        elif layout.files is None and layout.stream_size % layout.sample_bytes == 0:
            # Pieces of a raw stream, all of one size.
            signature = tf.TensorSpec(shape=(layout.sample_bytes,), dtype=tf.uint8)
        else:
            signature = spec(None)

        def generate() -> Iterator[Any]:
            for first in range(0, len(share), 64):
                yield from self.__getitems__(share[first : first + 64])

        return tf.data.Dataset.from_generator(generate, output_signature=signature)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_ahead"] = self._ahead.for_pickle()
        state["_map_of"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


Loader = Dataset
