"""TensorFlow: Dataset.to_tensorflow() / hexz.tf_dataset() give a tf.data.Dataset with the
recorded dtypes and shapes. (TensorFlow imports slowly: keep every TF test in this module.)"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")

import hexz  # noqa: E402
import hexz_testing as ht  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "v1"

DTYPES = ht.DTYPES


def test_pairs_of_arrays(records_archive: Path) -> None:
    ds = hexz.tf_dataset(records_archive)
    assert isinstance(ds, tf.data.Dataset)
    x_spec, y_spec = ds.element_spec
    assert x_spec.dtype == tf.int64 and x_spec.shape == (ht.ROW,)
    assert y_spec.dtype == tf.int32 and y_spec.shape == ()
    n = 0
    for i, (x, y) in enumerate(ds):
        assert int(y) == i and int(x[0]) == i and int(x[1]) == 3 * i
        n += 1
    assert n == 300
    xb, yb = next(iter(ds.batch(64)))
    assert xb.shape == (64, ht.ROW) and yb.shape == (64,)


def test_every_dtype(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arrays = {}
    path = tmp_path / "dtypes.hxz"
    with hexz.Writer(path) as w:
        for dt in DTYPES:
            raw = rng.bytes(5 * 2 * 3 * np.dtype(dt).itemsize)
            a = np.frombuffer(raw, dtype=np.uint8).view(dt).reshape(5, 2, 3)
            if dt == "bool":
                a = a.view(np.uint8) % 2 == 1
            arrays[dt] = a
            w.add_array(a, dt)
    for dt, a in arrays.items():
        ds = hexz.Dataset(path, group=dt).to_tensorflow()
        assert ds.element_spec.dtype == tf.as_dtype(dt), dt
        assert ds.element_spec.shape == (2, 3)
        got = np.stack([t.numpy() for t in ds])
        assert got.dtype == a.dtype and got.tobytes() == a.tobytes(), dt


def test_directory_archive_variable_length(dir_archive: Path) -> None:
    ds = hexz.tf_dataset(dir_archive)
    assert ds.element_spec.dtype == tf.uint8
    assert ds.element_spec.shape.as_list() == [None]
    got = [ht.dir_sample_index(t.numpy()) for t in ds]
    assert sorted(got) == list(range(120))
    ragged = ds.ragged_batch(16) if hasattr(ds, "ragged_batch") else None
    if ragged is not None:
        first = next(iter(ragged))
        assert first.shape[0] == 16


def test_raw_stream_fixed_size_blocks() -> None:
    path = FIXTURES / "raw-zstd.hxz"
    if not path.exists():
        pytest.skip("golden fixtures not present")
    data = bytes(hexz.open(path).read())
    even = hexz.tf_dataset(path, sample_size=157_072 // 8)  # divides the stream: fixed shape
    assert even.element_spec.shape == (157_072 // 8,)
    assert b"".join(t.numpy().tobytes() for t in even) == data
    uneven = hexz.tf_dataset(path)  # 16 KiB blocks, short last block: variable shape
    assert uneven.element_spec.shape.as_list() == [None]
    assert b"".join(t.numpy().tobytes() for t in uneven) == data


def test_records_of_bytes_and_pipeline(tmp_path: Path) -> None:
    samples = [bytes([i % 256]) * (i + 1) for i in range(40)]
    path = tmp_path / "r.hxz"
    with hexz.Writer(path) as w:
        w.add_records(samples)
    ds = hexz.tf_dataset(path)
    assert [t.numpy().tobytes() for t in ds] == samples
    lengths = ds.map(lambda t: tf.shape(t)[0]).shuffle(40, seed=1).batch(10)
    assert sorted(int(n) for b in lengths for n in b) == [len(s) for s in samples]


def test_group_and_iterate_twice(records_archive: Path) -> None:
    ds = hexz.Dataset(records_archive, group="y").to_tensorflow()
    first = [int(t) for t in ds]
    assert first == list(range(300)) and [int(t) for t in ds] == first
