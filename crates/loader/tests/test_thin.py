"""Thin archives from Python: ``Writer(parent=)`` stores only what the parent lacks; Reader,
Dataset (with DataLoader workers) and verify read through the parent; ``parent_path=`` finds
a moved one; a wrong parent is refused; parents over HTTP (nginx) are found beside the child's
URL."""

from __future__ import annotations

import pickle
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import S3, Http

import hexz


def _versions(n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    v1 = rng.integers(0, 255, size=(n, 4096), dtype=np.uint8)
    v2 = v1.copy()
    v2[::97] = rng.integers(0, 255, size=v2[::97].shape, dtype=np.uint8)  # ~1% changed
    return v1, v2


def _pack(path: Path, rows: np.ndarray, **kw: object) -> dict[str, object]:
    with hexz.Writer(path, chunking="cdc", **kw) as w:  # type: ignore[arg-type]
        w.add_array(rows, "rows")
    assert w.report is not None
    return w.report


def test_a_thin_dataset_reads_through_its_parent(tmp_path: Path) -> None:
    v1, v2 = _versions()
    _pack(tmp_path / "v1.hxz", v1)
    report = _pack(tmp_path / "v2.hxz", v2, parent=tmp_path / "v1.hxz")
    assert report["parent_blocks"] > len(v2) * 0.9, report
    full = (tmp_path / "v1.hxz").stat().st_size
    thin = (tmp_path / "v2.hxz").stat().st_size
    assert thin < full * 0.05, (thin, full)
    ds = hexz.Dataset(tmp_path / "v2.hxz")
    assert len(ds) == len(v2)
    for i in (0, 97, 500, 1999):
        assert np.array_equal(np.asarray(ds[i]), v2[i])
    report = hexz.verify(tmp_path / "v2.hxz")
    assert report.ok and report.problems == (), report.problems
    torch = pytest.importorskip("torch")
    loader = torch.utils.data.DataLoader(ds, batch_size=100, num_workers=2)
    seen = sum(int(b.shape[0]) for b in loader)
    assert seen == len(v2)


def test_a_moved_parent_is_found_with_parent_path(tmp_path: Path) -> None:
    v1, v2 = _versions(300)
    _pack(tmp_path / "v1.hxz", v1)
    _pack(tmp_path / "v2.hxz", v2, parent=tmp_path / "v1.hxz")
    moved = tmp_path / "old" / "base.hxz"
    moved.parent.mkdir()
    shutil.move(tmp_path / "v1.hxz", moved)
    with pytest.raises(hexz.StoreError, match="parent_path"):
        hexz.Reader(tmp_path / "v2.hxz")
    r = hexz.Reader(tmp_path / "v2.hxz", parent_path=moved)
    assert bytes(r.read()) == v2.tobytes()
    # Another archive in the parent's place: refused, naming both root hashes.
    _pack(tmp_path / "v1.hxz", v2)
    with pytest.raises(hexz.IntegrityError, match="root hash"):
        hexz.Reader(tmp_path / "v2.hxz")


def test_parent_path_does_not_apply_to_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="parent_path"):
        hexz.Writer(tmp_path / "x.hxz", parent_path="base.hxz")


def test_a_thin_archive_over_http_finds_its_parent_beside_it(
    tmp_path: Path, nginx_http: Http
) -> None:
    v1, v2 = _versions(300)
    _pack(tmp_path / "v1.hxz", v1)
    _pack(tmp_path / "v2.hxz", v2, parent=tmp_path / "v1.hxz")
    nginx_http.put("thin/v1.hxz", tmp_path / "v1.hxz")
    url = nginx_http.put("thin/v2.hxz", tmp_path / "v2.hxz")
    r = hexz.Reader(url)
    data = v2.tobytes()
    assert bytes(r.read()) == data
    rng = random.Random(1)
    for _ in range(20):
        at = rng.randrange(len(data))
        r.seek(at)
        assert bytes(r.read(100)) == data[at : at + 100]
    # The parent was read from nginx too, beside the child.
    assert nginx_http.sent("thin/v1.hxz")[0] > 0


def _thin_pair_in_s3(tmp_path: Path, moto_s3: S3, bucket: str) -> tuple[str, str, np.ndarray]:
    """v1.hxz and v2.hxz (thin on it) under ``set/`` in a new bucket: the bucket, v2's URL
    and v2's rows."""
    v1, v2 = _versions(300)
    _pack(tmp_path / "v1.hxz", v1)
    _pack(tmp_path / "v2.hxz", v2, parent=tmp_path / "v1.hxz")
    bucket = moto_s3.bucket(bucket)
    moto_s3.put(bucket, "set/v1.hxz", tmp_path / "v1.hxz")
    return bucket, moto_s3.put(bucket, "set/v2.hxz", tmp_path / "v2.hxz"), v2


def test_a_thin_archive_in_s3_finds_its_parent_beside_it(
    tmp_path: Path, moto_s3: S3, aws_env: dict[str, str]
) -> None:
    bucket, url, v2 = _thin_pair_in_s3(tmp_path, moto_s3, "hexz-thin-test")
    before = moto_s3.gets(bucket, "set/v1.hxz")
    assert bytes(hexz.Reader(url).read()) == v2.tobytes()
    assert moto_s3.gets(bucket, "set/v1.hxz") > before


def test_a_pickled_thin_dataset_reopens_its_parent_without_a_request(
    tmp_path: Path, moto_s3: S3, aws_env: dict[str, str]
) -> None:
    """A DataLoader worker's copy of a thin dataset reopens the parent from the state the
    dataset sent it (pin and metadata), as it reopens the child: reading a sample the parent
    holds costs that sample's block of the parent, nothing to open either archive."""
    bucket, url, v2 = _thin_pair_in_s3(tmp_path, moto_s3, "hexz-thin-reopen")
    state = pickle.dumps(hexz.Dataset(url))
    gets = (moto_s3.gets(bucket, "set/v2.hxz"), moto_s3.gets(bucket, "set/v1.hxz"))
    copy = pickle.loads(state)
    assert bytes(copy[1]) == v2[1].tobytes()  # row 1 is unchanged: the parent holds it
    after = (moto_s3.gets(bucket, "set/v2.hxz"), moto_s3.gets(bucket, "set/v1.hxz"))
    assert (after[0] - gets[0], after[1] - gets[1]) == (0, 1), (gets, after)


def test_a_local_thin_dataset_hands_its_s3_parent_to_copies(
    tmp_path: Path, moto_s3: S3, aws_env: dict[str, str]
) -> None:
    """A local thin archive whose parent is in S3: a copy of the dataset (a worker's) reopens
    the parent from the state sent with it, so reading a sample the parent holds costs that
    sample's block, nothing to open the parent."""
    v1, v2 = _versions(300)
    _pack(tmp_path / "v1.hxz", v1)
    bucket = moto_s3.bucket("hexz-thin-local-child")
    parent = moto_s3.put(bucket, "v1.hxz", tmp_path / "v1.hxz")
    _pack(tmp_path / "v2.hxz", v2, parent=parent)
    ds = hexz.Dataset(tmp_path / "v2.hxz")
    state = pickle.dumps(ds)
    before = moto_s3.gets(bucket, "v1.hxz")
    copy = pickle.loads(state)
    assert bytes(copy[1]) == v2[1].tobytes()  # row 1 is unchanged: the parent holds it
    assert moto_s3.gets(bucket, "v1.hxz") - before == 1
