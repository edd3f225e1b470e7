"""Measurements shared by loader_bench.py and remote_bench.py (docs/benchmarks.md, "Training
loader vs LitData").

- Sample identity: every sample of the benchmark data set starts with its index as a
  little-endian uint64 (``index_prefix``), so the index of each sample a loader yields can be
  read back (``batch_indices``) whatever the loader, its batch type or its order.
- ``check_epoch``: did one epoch yield every sample exactly once?
- ``shuffle_quality``: how well mixed the order a loader actually yielded is.
- ``TreeMonitor``: CPU seconds and peak PSS of this process and all its children (DataLoader
  workers), the PSS sampled on a thread.

Standard library plus numpy (and psutil for ``TreeMonitor``).
"""

from __future__ import annotations

import os
import threading
import time

INDEX_BYTES = 8
QUALITY_BATCH = 64
QUALITY_REGIONS = 256


# --- sample identity -----------------------------------------------------------------------


def index_prefix(i: int) -> bytes:
    """The first bytes of sample ``i``: its index, little-endian uint64.

    >>> index_prefix(258).hex()
    '0201000000000000'
    """
    return int(i).to_bytes(INDEX_BYTES, "little")


def sample_index(x) -> int:
    """The index of one sample: bytes, memoryview, numpy array, tensor, or a dict with a
    single non-metadata value (MDS, WebDataset).

    >>> sample_index(index_prefix(7) + b"payload")
    7
    >>> sample_index({"__key__": "x", "data": index_prefix(3) + b"?"})
    3
    """
    if isinstance(x, dict):
        (v,) = [v for k, v in x.items() if not str(k).startswith("__")]
        return sample_index(v)
    if isinstance(x, (bytes, bytearray)):
        return int.from_bytes(x[:INDEX_BYTES], "little")
    if isinstance(x, memoryview):
        return int.from_bytes(x[:INDEX_BYTES].tobytes(), "little")
    if hasattr(x, "numpy"):  # a torch tensor
        x = x.numpy()
    return int.from_bytes(bytes(x[:INDEX_BYTES]), "little")


def _ragged_parts(batch):
    """``(values, offsets)`` as numpy arrays when ``batch`` is a ragged batch (``hexz.Ragged``:
    ``.values`` a 1-D uint8 tensor, ``.offsets`` B+1 int64), else None."""
    values, offsets = getattr(batch, "values", None), getattr(batch, "offsets", None)
    if values is None or offsets is None or callable(values):
        return None
    as_np = (lambda t: t.numpy()) if hasattr(values, "numpy") else (lambda t: t)
    import numpy as np

    return np.asarray(as_np(values)), np.asarray(as_np(offsets))


def _is_tensor_batch(batch) -> bool:
    return hasattr(batch, "ndim") and getattr(batch, "ndim", 0) == 2


def batch_indices(batch) -> list[int]:
    """The sample indices in one batch: a list of samples (what a keep-the-list collate
    returns), a ragged batch (``hexz.Ragged``) or a 2-D tensor/array of fixed-size samples.

    >>> batch_indices([index_prefix(5) + b"a", index_prefix(9) + b"bc"])
    [5, 9]
    >>> import numpy as np
    >>> class R:  # what hexz.collate returns for variable-length samples
    ...     values = np.frombuffer(index_prefix(4) + b"xy" + index_prefix(2), dtype=np.uint8)
    ...     offsets = np.array([0, 10, 18])
    >>> batch_indices(R())
    [4, 2]
    """
    parts = _ragged_parts(batch)
    if parts is not None:
        import numpy as np

        values, offsets = parts
        starts = offsets[:-1].astype(np.int64)
        idx = np.zeros(len(starts), dtype=np.uint64)
        for k in range(INDEX_BYTES):
            idx |= values[starts + k].astype(np.uint64) << np.uint64(8 * k)
        return idx.tolist()
    if _is_tensor_batch(batch):
        import numpy as np

        a = batch.numpy() if hasattr(batch, "numpy") else batch
        head = np.ascontiguousarray(a[:, :INDEX_BYTES]).astype(np.uint8)
        return head.view("<u8").reshape(-1).tolist()
    return [sample_index(x) for x in batch]


def batch_nbytes(batch) -> int:
    """Payload bytes in one batch (``.nbytes`` when the batch has it, else summed per sample;
    metadata keys of dict samples, ``__key__`` and the like, are left out)."""
    if isinstance(getattr(batch, "nbytes", None), int):
        return batch.nbytes
    return sum(_nbytes(x) for x in batch)


def _nbytes(x) -> int:
    if isinstance(x, (bytes, bytearray, memoryview)):
        return len(x) if not isinstance(x, memoryview) else x.nbytes
    if isinstance(x, dict):
        return sum(_nbytes(v) for k, v in x.items() if not str(k).startswith("__"))
    if isinstance(x, (tuple, list)):
        return sum(_nbytes(v) for v in x)
    return int(x.nbytes)


# --- epochs and shuffles -------------------------------------------------------------------


def check_epoch(order, n: int) -> dict:
    """Whether ``order`` (the indices one epoch yielded) is a permutation of ``range(n)``;
    else how many indices are missing and how many yields were repeats.

    >>> check_epoch([2, 0, 1], 3)
    {'yielded': 3, 'permutation': True, 'missing': 0, 'repeated': 0, 'out_of_range': 0}
    >>> check_epoch([0, 0, 5], 3)
    {'yielded': 3, 'permutation': False, 'missing': 2, 'repeated': 1, 'out_of_range': 1}
    >>> check_epoch([1, 2**64 - 1], 2)["out_of_range"]
    1
    """
    import numpy as np

    try:
        a = np.asarray(order, dtype=np.int64)
    except OverflowError:
        # A sample whose index prefix is none of ours (a reader that yielded wrong bytes).
        a = np.asarray([i if -(2**63) <= i < 2**63 else -1 for i in order], dtype=np.int64)
    bad = (a < 0) | (a >= n)
    seen = np.bincount(a[~bad], minlength=n)
    missing = int((seen == 0).sum())
    repeated = int(np.maximum(seen - 1, 0).sum())
    out = int(bad.sum())
    return {
        "yielded": int(len(a)),
        "permutation": missing == 0 and repeated == 0 and out == 0,
        "missing": missing,
        "repeated": repeated,
        "out_of_range": out,
    }


def describe_epoch(check: dict, capped: bool = False) -> str:
    """One phrase for an epoch check: "each sample once", "capped after N samples", or what
    went wrong.

    >>> describe_epoch(check_epoch([1, 0], 2))
    'each sample once'
    >>> describe_epoch(check_epoch([1, 1], 3))
    'NOT each sample once: 2 missing, 1 repeated'
    """
    if capped:
        return f"capped after {check['yielded']:,} samples"
    if check["permutation"]:
        return "each sample once"
    out = f", {check['out_of_range']} out of range" if check["out_of_range"] else ""
    return f"NOT each sample once: {check['missing']} missing, {check['repeated']} repeated{out}"


def expected_regions(batch: int = QUALITY_BATCH, regions: int = QUALITY_REGIONS) -> float:
    """Regions per batch of a uniformly random order: ``regions * (1 - (1 - 1/regions)**batch)``
    (56.72 for batches of 64 over 256 regions).

    >>> round(expected_regions(), 2)
    56.72
    """
    return regions * (1 - (1 - 1 / regions) ** batch)


def shuffle_quality(
    order, n: int, batch: int = QUALITY_BATCH, regions: int = QUALITY_REGIONS
) -> dict:
    """How well mixed an order is, from the indices a loader actually yielded.

    - ``regions_per_batch``: the original order cut into ``regions`` equal parts (1/256ths);
      for each batch of ``batch`` consecutive yielded samples, the number of distinct parts its
      samples come from; the mean over whole batches. Sequential reading gives 1 (up to
      1 + batch * regions / n where batches straddle parts), a full random permutation about
      56.7 (``expected_regions``); a shuffle that reads a few chunks at a time
      lies in between, at about the number of chunks it draws a batch from.
    - ``mean_jump``: the mean of ``|i[k+1] - i[k]|`` over consecutive samples, divided by ``n``:
      1/n when sequential, about 1/3 for a full random permutation.

    >>> q = shuffle_quality(range(16384), 16384)  # batches aligned with the 1/256ths
    >>> q["regions_per_batch"], round(q["mean_jump"] * 16384, 6)
    (1.0, 1.0)
    >>> import numpy as np
    >>> q = shuffle_quality(np.random.default_rng(0).permutation(256000), 256000)
    >>> round(q["regions_per_batch"]), round(q["mean_jump"], 2)
    (57, 0.33)
    """
    import numpy as np

    a = np.asarray(order, dtype=np.int64)
    if len(a) < 2 or n <= 0:
        return {"regions_per_batch": float("nan"), "mean_jump": float("nan")}
    whole = len(a) // batch * batch
    if whole:
        reg = np.sort((a[:whole] * regions // n).reshape(-1, batch), axis=1)
        rpb = float((1 + (np.diff(reg, axis=1) != 0).sum(axis=1)).mean())
    else:
        rpb = float(len(np.unique(a * regions // n)))
    jump = float(np.abs(np.diff(a)).mean() / n)
    return {"regions_per_batch": rpb, "mean_jump": jump}


# --- CPU time and memory of a process tree -------------------------------------------------


def _tree(proc):
    import psutil

    procs = [proc]
    try:
        procs += proc.children(recursive=True)
    except psutil.Error:
        pass
    return procs


def _cpu(times) -> float:
    return times.user + times.system


class TreeMonitor:
    """CPU seconds and peak memory of this process and its children, from ``start`` to
    ``stop``.

    - CPU: user + system of this process (``os.times``, less this monitor's own thread) and of
      its children: those waited for (``children_user``/``children_system`` of ``os.times``,
      i.e. RUSAGE_CHILDREN: DataLoader workers once joined) plus those still running at
      ``stop`` (psutil). Call ``stop`` after the loader's workers are gone.
    - Memory: the sum over the tree of PSS (``memory_full_info().pss``: shared pages split
      between the processes that map them, so forked workers do not count them twice) and of
      RSS, sampled every ``every`` seconds on a thread; the peaks.
    """

    def __init__(self, every: float = 0.1) -> None:
        import psutil

        self.proc = psutil.Process()
        self.every = every
        self.peak_pss = 0
        self.peak_rss = 0
        self.samples = 0
        self._thread_cpu = 0.0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True, name="tree-monitor")
        self._t0 = None

    def start(self) -> TreeMonitor:
        self._t0 = os.times()
        self.sample()
        self._t.start()
        return self

    def sample(self) -> None:
        import psutil

        pss = rss = 0
        for p in _tree(self.proc):
            try:
                m = p.memory_full_info()
            except psutil.Error:
                continue
            pss += getattr(m, "pss", m.rss)
            rss += m.rss
        self.peak_pss = max(self.peak_pss, pss)
        self.peak_rss = max(self.peak_rss, rss)
        self.samples += 1

    def _run(self) -> None:
        t = time.thread_time()
        while not self._stop.wait(self.every):
            self.sample()
        self._thread_cpu = time.thread_time() - t

    def stop(self) -> dict:
        import psutil

        self._stop.set()
        self._t.join()
        self.sample()
        t1 = os.times()
        t0 = self._t0
        own = (t1.user - t0.user) + (t1.system - t0.system) - self._thread_cpu
        reaped = (t1.children_user - t0.children_user) + (t1.children_system - t0.children_system)
        running = 0.0
        for p in _tree(self.proc)[1:]:
            try:
                running += _cpu(p.cpu_times())
            except psutil.Error:
                pass
        return {
            "cpu_s": own + reaped + running,
            "cpu_self_s": own,
            "cpu_children_s": reaped + running,
            "peak_pss": self.peak_pss,
            "peak_rss": self.peak_rss,
            "mem_samples": self.samples,
        }
