"""``Writer(chunking="cdc")``: content-defined chunks read back exactly, keep an edited copy
deduplicable (where fixed blocks are not), never split a record, and bad sizes are refused."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

import hexz


def _pack(path: Path, blobs: dict[str, bytes], **kw: object) -> dict[str, object]:
    with hexz.Writer(path, **kw) as w:  # type: ignore[arg-type]
        for name, data in blobs.items():
            w.add_bytes(data, name)
    assert w.report is not None
    return w.report


def test_an_edited_copy_dedups_with_cdc_and_not_with_fixed_blocks(tmp_path: Path) -> None:
    rng = random.Random(7)
    v1 = rng.randbytes(4 << 20)
    v2 = v1[: 1 << 20] + rng.randbytes(77) + v1[1 << 20 :]
    blobs = {"v1": v1, "v2": v2}
    cdc = _pack(tmp_path / "cdc.hxz", blobs, chunking="cdc")
    fixed = _pack(tmp_path / "fixed.hxz", blobs)
    assert cdc["file_size"] < len(v1) + (512 << 10), cdc
    assert fixed["file_size"] > len(v1) + (2 << 20), fixed
    r = hexz.Reader(tmp_path / "cdc.hxz")
    assert "cdc" in r.info()["optional_features"]
    assert bytes(r.read()) == v1 + v2
    assert r.verify() == []


def test_records_are_whole_in_their_blocks(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 255, size=(3000, 700), dtype=np.uint8)
    path = tmp_path / "rec.hxz"
    with hexz.Writer(path, chunking="cdc", chunk_avg=8192) as w:
        w.add_array(rows, "rows")
    ds = hexz.Dataset(path)
    assert len(ds) == 3000
    for i in (0, 1, 1499, 2999):
        assert np.array_equal(np.asarray(ds[i]), rows[i])
    assert hexz.Reader(path).verify() == []


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"chunking": "rolling"}, "chunking must be"),
        ({"chunk_avg": 8192}, "apply with chunking"),
        ({"chunking": "cdc", "chunk_min": 3}, "even number"),
        ({"chunking": "cdc", "chunk_min": 65536, "chunk_avg": 4096}, "ordered"),
    ],
)
def test_bad_chunking_is_refused(tmp_path: Path, kw: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        hexz.Writer(tmp_path / "bad.hxz", **kw)  # type: ignore[arg-type]
    assert not (tmp_path / "bad.hxz").exists()
