"""NumPy integration: read_array / load_array, and zero-copy shown by addresses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hexz
from hexz import _native

BLOCK = 65536


@pytest.fixture(scope="module")
def matrix_archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """A float32 (512, 512) matrix stored as raw bytes (1 MiB, 16 blocks of 64 KiB)."""
    m = np.random.default_rng(3).standard_normal((512, 512)).astype(np.float32)
    path = tmp_path_factory.mktemp("arr") / "m.hxz"
    with hexz.Writer(path, compression="lz4", block_size=BLOCK) as w:
        w.add_bytes(m.tobytes(), "m")
    return path, m


def chunk_of(arr: Any) -> Any:
    """The native Chunk at the end of an array's (or memoryview's) base chain."""
    obj = arr
    for _ in range(10):
        if isinstance(obj, _native.Chunk):
            return obj
        obj = obj.obj if isinstance(obj, memoryview) else obj.base
        if obj is None:
            break
    raise AssertionError(f"no Chunk behind {type(arr).__name__}")


def address(arr: np.ndarray) -> int:
    return int(arr.__array_interface__["data"][0])


def test_read_array_values_and_arguments(matrix_archive: tuple[Path, np.ndarray]) -> None:
    path, m = matrix_archive
    r = hexz.open(path)
    a = hexz.read_array(r, offset=0, shape=(512, 512), dtype=np.float32)
    assert a.dtype == np.float32 and a.shape == (512, 512)
    np.testing.assert_array_equal(a, m)
    row = hexz.read_array(r, 7 * 2048, 512, "float32")  # an int shape, a dtype string
    np.testing.assert_array_equal(row, m[7])
    block = hexz.read_array(r, 2048, [4, 8, 64], np.dtype("<f4"))  # a list shape
    np.testing.assert_array_equal(block, m[1:5].reshape(4, 8, 64))
    as_u8 = hexz.read_array(r, 0, (16,), np.uint8)
    assert as_u8.tobytes() == m.tobytes()[:16]
    empty = hexz.read_array(r, 100, (0, 3), np.float64)
    assert empty.shape == (0, 3)
    unaligned = hexz.read_array(r, 1, (3,), np.float32)  # an odd offset still works
    assert unaligned.tobytes() == m.tobytes()[1:13]


def test_two_reads_in_one_cached_block_share_memory(
    matrix_archive: tuple[Path, np.ndarray],
) -> None:
    path, _ = matrix_archive
    r = hexz.open(path)
    a = hexz.read_array(r, 0, (16, 512), np.float32)  # bytes 0..32 KiB of block 0
    b = hexz.read_array(r, 4096, (8, 512), np.float32)  # bytes 4..20 KiB of block 0
    assert np.shares_memory(a, b)
    assert address(b) - address(a) == 4096
    c = r.read_at(1000, 100)
    d = r.read_at(1050, 100)
    cu, du = np.frombuffer(c, dtype=np.uint8), np.frombuffer(d, dtype=np.uint8)
    assert np.shares_memory(cu, du) and address(du) - address(cu) == 50
    assert np.shares_memory(a, cu)
    # served from the cache: read-only, not owned by NumPy
    assert not a.flags.writeable and not a.flags.owndata
    assert c.readonly
    with pytest.raises(ValueError):
        a[0, 0] = 1.0
    # a different block is different memory
    e = hexz.read_array(r, BLOCK, (16,), np.float32)
    assert not np.shares_memory(a, e)


def test_read_array_data_is_the_chunk(matrix_archive: tuple[Path, np.ndarray]) -> None:
    path, m = matrix_archive
    r = hexz.open(path)
    small = hexz.read_array(r, 8192, (100,), np.float32)
    chunk = chunk_of(small)
    assert address(small) == chunk.address and len(chunk) == 400 and chunk.readonly
    mv = r.read_at(8192, 400)
    assert chunk_of(mv).address == chunk.address  # the same cached bytes again
    # a read across blocks is one buffer filled by Rust: writable, still not NumPy's
    big = hexz.read_array(r, 0, (512, 512), np.float32)
    bchunk = chunk_of(big)
    assert address(big) == bchunk.address and len(bchunk) == m.nbytes
    assert not bchunk.readonly
    assert big.flags.writeable and not big.flags.owndata
    assert not np.shares_memory(big, small)
    big[0, 0] = 42.0  # writable in place, and the cache is untouched
    assert big[0, 0] == 42.0
    assert hexz.read_array(r, 0, (1,), np.float32)[0] == m[0, 0]
    # bytes(chunk) is the explicit copy
    assert bytes(bchunk)[4:8] == m.tobytes()[4:8]


def test_result_keeps_buffer_alive_after_close(matrix_archive: tuple[Path, np.ndarray]) -> None:
    path, m = matrix_archive
    r = hexz.open(path)
    small = hexz.read_array(r, 0, (64,), np.float32)
    big = hexz.read_array(r, 0, (512, 512), np.float32)
    r.close()
    del r
    import gc

    gc.collect()
    np.testing.assert_array_equal(small, m.reshape(-1)[:64])
    np.testing.assert_array_equal(big, m)


def test_load_array(tmp_path: Path) -> None:
    x = np.arange(3 * 4 * 5, dtype=np.int16).reshape(3, 4, 5)
    y = np.array([True, False, True])
    z = (np.arange(6) + 1j).astype(np.complex64).reshape(2, 3)
    path = tmp_path / "arrays.hxz"
    with hexz.Writer(path) as w:
        w.add_array(x, "x")
        w.add_array(y, "y")
        w.add_array(z, "z")
    r = hexz.open(path)
    for name, a in (("x", x), ("y", y), ("z", z)):
        b = hexz.load_array(r, name)
        assert b.dtype == a.dtype and b.shape == a.shape
        np.testing.assert_array_equal(a, b)
    loaded = hexz.load_array(r, "x")
    assert not loaded.flags.owndata  # a view of Rust memory, as read_array
    with pytest.raises(KeyError):
        hexz.load_array(r, "nope")


def test_load_array_of_records_is_a_type_error(tmp_path: Path) -> None:
    path = tmp_path / "rec.hxz"
    with hexz.Writer(path) as w:
        w.add_records([b"a", b"bc"], name="raw")
    with pytest.raises(TypeError):
        hexz.load_array(hexz.open(path), "raw")


def test_add_array_rejects_unsupported_dtypes(tmp_path: Path) -> None:
    with hexz.Writer(tmp_path / "x.hxz") as w:
        for bad in (np.array(["a", "b"]), np.array([object()]), np.zeros(2, dtype="V4")):
            with pytest.raises(TypeError):
                w.add_array(bad, "bad")
        with pytest.raises(TypeError):
            w.add_array(np.zeros(2, dtype=[("a", "i4"), ("b", "f4")]), "structured")


def test_add_array_scalar(tmp_path: Path) -> None:
    """A 0-d array has no rows: it is refused rather than coming back as shape (1,)."""
    with hexz.Writer(tmp_path / "s.hxz") as w:
        with pytest.raises(ValueError):
            w.add_array(np.float32(3.5), "s")
