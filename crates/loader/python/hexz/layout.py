"""What a sample is in an archive, as a :class:`~hexz.Dataset` sees it: records of one or more
record groups (arrays written with ``add_array`` / ``add_records``), else each file entry, else
fixed-size pieces of a raw stream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Group:
    """A record group: its name, element dtype (``"bytes"`` for variable-length records),
    the shape of one sample, and its records' numbers ``first .. first + count``."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    first: int
    count: int


@dataclass(frozen=True)
class Layout:
    """The samples of an archive and where they are. Exactly one of three kinds:

    - ``groups`` non-empty: sample ``i`` is record ``i`` of each group (a tuple when several
      groups of equal length are read together);
    - ``files`` set: sample ``i`` is the bytes of the ``i``-th file entry, ``(offset, size)``
      in the logical stream;
    - otherwise the stream cut into samples of ``sample_bytes`` (the last may be shorter)."""

    length: int
    groups: tuple[Group, ...] = ()
    files: tuple[tuple[int, int], ...] | None = None
    sample_bytes: int = 0
    stream_size: int = 0

    def records(self, idx: Sequence[int]) -> list[int]:
        """Record numbers of the samples ``idx``: every group's, group after group."""
        if len(self.groups) == 1 and self.groups[0].first == 0:
            return list(idx)
        return [g.first + i for g in self.groups for i in idx]

    def ranges(self, idx: Sequence[int]) -> list[tuple[int, int]]:
        """``(offset, size)`` in the logical stream of the samples ``idx`` (not records)."""
        if self.files is not None:
            return [self.files[i] for i in idx]
        b = self.sample_bytes
        return [(i * b, min(b, self.stream_size - i * b)) for i in idx]


def detect_layout(native: Any, group: str | None, sample_size: int | None) -> Layout:
    """The layout of the open archive ``native``: ``group`` picks one record group by name;
    ``sample_size`` is the sample length of a raw stream (default: the block size)."""
    groups = [
        Group(name, dtype, tuple(int(d) for d in shape), first, count)
        for name, dtype, shape, first, count in native.record_groups()
    ]
    if groups:
        if group is not None:
            picked = [g for g in groups if g.name == group]
            if not picked:
                names = ", ".join(repr(g.name) for g in groups)
                raise KeyError(f"no array or record group {group!r} (have {names})")
        elif len(groups) > 1 and len({g.count for g in groups}) == 1:
            picked = groups
        else:
            # All records as one flat run, typed when every group shares dtype and shape.
            same = len({(g.dtype, g.shape) for g in groups}) == 1
            dtype, shape = (groups[0].dtype, groups[0].shape) if same else ("bytes", ())
            picked = [Group("", dtype, shape, 0, int(native.record_count))]
        return Layout(length=picked[0].count, groups=tuple(picked))
    files = tuple((t[4], t[5]) for t in native.entries() if t[1] == "file")
    if files:
        return Layout(length=len(files), files=files)
    size = len(native)
    block = int(sample_size or native.block_size)
    if block <= 0:
        raise ValueError("sample_size must be > 0")
    return Layout(length=(size + block - 1) // block, sample_bytes=block, stream_size=size)
