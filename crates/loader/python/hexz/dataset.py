"""PyTorch-style datasets over archives: :class:`Dataset` (alias :class:`Loader`).

Orders and shuffles live in :mod:`hexz.sampler`, batches as tensors in :mod:`hexz.collate`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from . import _compat
from .ahead import Ahead, merge_ranges, worker_id_and_count
from .collate import Batch, Column
from .handle import _Handle
from .options import KeyLike, PathLike, PublicKeyLike, _remote_options
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


class _Group:
    def __init__(self, name: str, dtype: str, shape: Sequence[int], first: int, count: int):
        self.name = name
        self.dtype = dtype
        self.shape = tuple(int(d) for d in shape)
        self.first = first
        self.count = count


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
        endpoint, region, path_style, anonymous, allow_http: S3 options for ``s3://`` URLs,
            as for :class:`hexz.Reader`.
        key, password: the key or password of an encrypted archive, as for
            :class:`hexz.Reader`. They are pickled with the dataset, so DataLoader workers
            reopen the archive with them (raw key bytes and passwords are then in the
            pickle; a key file only as its path).
        verify_key: the public key of the archive's signer, as for :class:`hexz.Reader`:
            the archive must be signed by it, and every read is checked against its hashes
            (also in DataLoader workers, which get the key with the pickled dataset).
        cache_dir, cache_limit: keep what is fetched from a remote archive in a local disk
            cache, as for :class:`hexz.Reader` (shared by DataLoader workers and later
            epochs, which then read local files).
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
        endpoint: str | None = None,
        region: str | None = None,
        path_style: bool | None = None,
        anonymous: bool = False,
        allow_http: bool = False,
        key: KeyLike | None = None,
        password: str | None = None,
        verify_key: PublicKeyLike | None = None,
        cache_dir: PathLike | bool | None = None,
        cache_limit: int | None = None,
    ) -> None:
        remote = _remote_options(
            endpoint,
            region,
            path_style,
            anonymous,
            allow_http,
            key,
            password,
            verify_key,
            cache_dir=cache_dir,
            cache_limit=cache_limit,
        )
        if mmap:
            remote["mmap"] = True
        self._remote = "://" in os.fspath(path)
        # A default-sized remote cache shrinks to the local default once all is on disk.
        self._shrink_cache = self._remote and cache_size is None
        if cache_size is None:
            # A remote block shuffle keeps two groups of ~8 MiB blocks decoded ahead.
            cache_size = REMOTE_CACHE_BLOCKS if self._remote else LOCAL_CACHE_BLOCKS
        self._h = _Handle(path, cache_size, prefetch_threads, remote)
        self.transform = transform
        self.as_tensor = as_tensor
        self.prefetch_batches = prefetch_batches
        native = self._h.native
        groups = [_Group(*g) for g in native.record_groups()]
        self._groups: list[_Group] = []
        self._ranges: list[tuple[int, int]] | None = None
        self._block = 0
        if groups:
            if group is not None:
                picked = [g for g in groups if g.name == group]
                if not picked:
                    names = ", ".join(repr(g.name) for g in groups)
                    raise KeyError(f"no array or record group {group!r} (have {names})")
                self._groups = picked
            elif len(groups) > 1 and len({g.count for g in groups}) == 1:
                self._groups = groups
            else:
                # All records as one flat run, typed when every group shares dtype and shape.
                same = len({(g.dtype, g.shape) for g in groups}) == 1
                dtype, shape = (groups[0].dtype, groups[0].shape) if same else ("bytes", ())
                self._groups = [_Group("", dtype, shape, 0, int(native.record_count))]
            self._len = self._groups[0].count
        else:
            files = [(t[4], t[5]) for t in native.entries() if t[1] == "file"]
            if files:
                self._ranges = files
                self._len = len(files)
            else:
                size = len(native)
                self._block = int(sample_size or native.block_size)
                if self._block <= 0:
                    raise ValueError("sample_size must be > 0")
                self._len = (size + self._block - 1) // self._block
                self._size = size
        self._logical_size = len(native)
        self._order: Sequence[int] | None = None
        self._order_pos = 0
        # The Sampler's share of the next iteration, so DataLoader workers rebuild it.
        self._plan: ShareKey | None = None
        self._worker: tuple[Any, Share, int] | None = None
        self._last_end = 0
        self._ahead = Ahead()
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

    def _stream_ranges(self, idx: Sequence[int]) -> list[tuple[int, int]]:
        if self._ranges is not None:
            return [self._ranges[i] for i in idx]
        b = self._block
        return [(i * b, min(b, self._size - i * b)) for i in idx]

    def _wanted(self, idx: Sequence[int]) -> list[int]:
        """Record numbers of the samples ``idx``: every group's, group after group."""
        if len(self._groups) == 1 and self._groups[0].first == 0:
            return list(idx)
        return [g.first + i for g in self._groups for i in idx]

    def _gather(self, idx: list[int], views: bool) -> Any:
        """The samples ``idx``: with ``views``, those stored raw in a mapped archive stay in
        the map (one sample: no copy); without, all are read into one buffer (a batch, which
        a collate would otherwise copy out of the map: one pass over the bytes, not two)."""
        native = self._h.native
        if not self._groups:
            return native.gather_ranges(self._stream_ranges(idx), views)
        if not views:
            pending = self._ahead.take(tuple(idx))
            if pending is not None:
                return pending.wait()
        return native.gather_records(self._wanted(idx), views)

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
        groups: Sequence[_Group | None] = self._groups or [None]
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
        if self._remote_blocks():
            assert self._plan is not None
            self._prefetch_blocks(self._order_ahead(idx), self._plan.block)
            return
        for batch in self._upcoming(idx):
            key = tuple(batch)
            if self._ahead.has(key):
                continue
            native = self._h.native
            if self._groups and not self._fetching():
                self._ahead.put(
                    key,
                    native.submit_records(self._wanted(batch), False),
                    self.prefetch_batches,
                )
                continue
            self._ahead.put(key, None, 4 * self.prefetch_batches)
            if self._groups:
                native.prefetch_records(self._wanted(batch))
            else:
                native.prefetch(merge_ranges(self._stream_ranges(batch)))

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
            and self._plan is not None
            and self._plan.mode == "block"
        )

    def _prefetch_blocks(self, ahead: Sequence[int], size: int) -> None:
        """Remote block shuffle: fetches whole blocks of the shuffle (about 8 MiB of samples
        each) that the coming samples fall in, each once, as a few large ranged requests in
        flight together, rather than sample by sample."""
        native = self._h.native
        for w in sorted({i // size for i in ahead}):
            if self._ahead.claim_block(w):
                lo, hi = w * size, min(self._len, (w + 1) * size)
                native.prefetch_records(self._wanted(range(lo, hi)))

    def _order_ahead(self, idx: list[int]) -> Sequence[int]:
        """The samples of the announced order from batch ``idx`` on, two groups of blocks of a
        block shuffle deep (this process's and, in a worker, the other workers' batches): the
        rest of this group and the next two are fetched ahead, about 3 x 64 MiB, which with
        the blocks just read stays within the default remote block cache (512 MiB). One group
        deep left the link idle at each group's start (26,700 samples/s from s3s-fs + 20 ms on
        2 cores, 31,800 two deep, 30,300 three deep with a 768 MiB cache); deeper than the
        cache holds, blocks fetched ahead are evicted before they are read."""
        plan = self._plan
        # A rank takes every world_size-th sample: a group's worth of its share is shorter.
        group = (
            max(1, BLOCKS_PER_GROUP * plan.block // plan.world_size) if plan else BLOCKS_PER_GROUP
        )
        deep = GROUPS_AHEAD * group
        worker = self._worker_plan()
        if worker is not None:
            _, o, _ = worker
            p = o.index_of(idx[0])
            return () if p is None else self._ahead.unscanned(o, p, p + deep)
        if self._order is None:
            return ()
        p = self._order_pos
        self._order_pos = p + len(idx)
        return self._ahead.unscanned(self._order, p, p + deep)

    def _upcoming(self, idx: list[int]) -> list[list[int]]:
        """The next ``prefetch_batches`` batches after ``idx``, as far as they are known."""
        n, ahead = len(idx), range(1, self.prefetch_batches + 1)
        worker = self._worker_plan()
        if worker is not None:
            # A DataLoader worker gets every num_workers-th batch of the Sampler's order.
            _, o, workers = worker
            p = o.index_of(idx[0])
            if p is None:
                return []
            step = n * workers
            return [list(o[p + j * step : p + j * step + n]) for j in ahead]
        if self._order is not None:
            p = self._order_pos
            self._order_pos = p + n
            return [list(self._order[p + j * n : p + (j + 1) * n]) for j in ahead]
        out: list[list[int]] = []
        if all(b == a + 1 for a, b in zip(idx, idx[1:], strict=False)):
            # Sequential batches; in one of W DataLoader workers, every W-th of them.
            wid, workers = worker_id_and_count()
            stride = n * workers
            if idx[0] == wid * n or idx[0] == self._last_end + stride - n:
                out = [
                    list(range(idx[0] + j * stride, min(self._len, idx[0] + j * stride + n)))
                    for j in ahead
                ]
        self._last_end = idx[-1] + 1
        return [b for b in out if b]

    def _worker_plan(self) -> tuple[Any, Share, int] | None:
        """In a DataLoader worker of a loader driven by a :class:`Sampler`: this rank's share
        of the order (rebuilt from the sampler's plan) and the worker count."""
        torch = sys.modules.get("torch")
        info = torch.utils.data.get_worker_info() if torch is not None else None
        if self._plan is None or info is None:
            return None
        key = (self._plan, info.id)
        if self._worker is None or self._worker[0] != key:
            self._worker = (key, Share(self._plan), int(info.num_workers))
            self._ahead.new_epoch()
        return self._worker

    def _set_plan(self, plan: ShareKey) -> None:
        self._plan = plan

    def _announce(self, o: Sequence[int], pos: int = 0) -> None:
        """The order this process reads next, from its position ``pos`` on."""
        self._order = o
        self._order_pos = pos
        self._ahead.new_epoch()

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

        def spec(g: _Group | None) -> Any:
            if g is None or g.dtype == "bytes":
                return tf.TensorSpec(shape=(None,), dtype=tf.uint8)
            return tf.TensorSpec(shape=g.shape, dtype=tf.as_dtype(g.dtype))

        if self._groups:
            specs = [spec(g) for g in self._groups]
            signature = specs[0] if len(specs) == 1 else tuple(specs)
        elif self._ranges is None and self._size % self._block == 0:
            signature = tf.TensorSpec(shape=(self._block,), dtype=tf.uint8)
        else:
            signature = spec(None)

        def generate() -> Iterator[Any]:
            for first in range(0, len(share), 64):
                yield from self.__getitems__(share[first : first + 64])

        return tf.data.Dataset.from_generator(generate, output_signature=signature)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_order"] = None
        state["_ahead"] = Ahead()
        state["_map_of"] = None
        state["_worker"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


Loader = Dataset
