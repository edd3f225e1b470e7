"""hexz.Writer: every add_* method, options, atomic replacement, reports."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import hexz
import hexz_testing as ht
from hexz import _native

CODECS = ["none", "lz4"] + (["zstd"] if _native.HAS_ZSTD else [])


@pytest.mark.parametrize("compression", CODECS)
@pytest.mark.parametrize("block_size", [4096, 65536, 1 << 20])
def test_codecs_and_block_sizes(tmp_path: Path, compression: str, block_size: int) -> None:
    data = ht.compressible_bytes(300_000, seed=block_size) + ht.random_bytes(70_000)
    path = tmp_path / "a.hxz"
    with hexz.Writer(path, compression=compression, block_size=block_size) as w:
        w.add_bytes(data, "d")
    assert w.report is not None and w.report["logical_size"] == len(data)
    with hexz.open(path) as r:
        assert r.info()["block_size"] == block_size
        assert bytes(r.open("d").read()) == data
        assert r.verify() == []
        if compression == "zstd":
            assert "zstd" in r.info()["required_features"]


@pytest.mark.skipif(not _native.HAS_ZSTD, reason="built without compression-zstd")
def test_zstd_levels(tmp_path: Path) -> None:
    data = ht.compressible_bytes(500_000)
    sizes = {}
    for level in (1, 19):
        path = tmp_path / f"l{level}.hxz"
        with hexz.open(path, mode="w", compression="zstd", level=level) as w:
            w.add_bytes(data, "d")
        sizes[level] = path.stat().st_size
        assert bytes(hexz.open(path).read()) == data
    assert sizes[1] != sizes[19]  # the level reaches the codec
    assert max(sizes.values()) < len(data) // 10
    with pytest.raises(ValueError):
        hexz.Writer(tmp_path / "x.hxz", compression="zstd", level=99)
    with pytest.raises(ValueError):
        hexz.Writer(tmp_path / "x.hxz", compression="lz4", level=3)


def test_compression_shrinks_and_none_does_not(tmp_path: Path) -> None:
    data = bytes(200_000) + ht.compressible_bytes(400_000)
    out = {}
    for c in ("none", "lz4"):
        with hexz.Writer(tmp_path / f"{c}.hxz", compression=c, dedup=False) as w:
            w.add_bytes(data, "d")
        out[c] = (tmp_path / f"{c}.hxz").stat().st_size
    assert out["lz4"] < len(data) // 2
    assert out["lz4"] < out["none"]


def test_bad_options(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        hexz.Writer(tmp_path / "x.hxz", compression="brotli")
    for bs in (1000, 2048, 3 * 4096, 32 << 20):
        with pytest.raises(ValueError):
            hexz.Writer(tmp_path / "x.hxz", block_size=bs)
    assert not (tmp_path / "x.hxz").exists()


def test_add_dispatch(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "d" / "f.txt").write_bytes(b"in a dir")
    (tmp_path / "single.raw").write_bytes(b"single file")
    arr = np.arange(12, dtype=np.float32).reshape(4, 3)
    path = tmp_path / "out.hxz"
    with hexz.open(path, mode="w") as w:
        assert isinstance(w, hexz.Writer)
        w.add(str(tmp_path / "single.raw"))
        w.add(src, name="tree")  # a directory, under a prefix
        w.add(b"raw bytes", name="b1")
        w.add(bytearray(b"a bytearray"), name="b2")
        w.add(memoryview(b"a memoryview"), name="b3")
        w.add(arr, name="arr")
        with pytest.raises(TypeError):
            w.add(12345)
    with hexz.open(path) as r:
        names = r.namelist()
        assert "single.raw" in names
        assert any(n.endswith("d/f.txt") and n.startswith("tree") for n in names), names
        (tree_file,) = [n for n in names if n.endswith("d/f.txt")]
        assert bytes(r.open(tree_file).read()) == b"in a dir"
        assert bytes(r.open("b1").read()) == b"raw bytes"
        assert bytes(r.open("b2").read()) == b"a bytearray"
        assert bytes(r.open("b3").read()) == b"a memoryview"
        np.testing.assert_array_equal(hexz.load_array(r, "arr"), arr)


def test_add_file_names(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"xx")
    path = tmp_path / "out.hxz"
    with hexz.Writer(path) as w:
        w.add_file(tmp_path / "x.bin")
        w.add_file(str(tmp_path / "x.bin"), name="renamed/x.bin")
        with pytest.raises(IsADirectoryError):
            w.add_file(tmp_path)
        with pytest.raises(FileNotFoundError):
            w.add_file(tmp_path / "missing.bin")
        with pytest.raises(NotADirectoryError):
            w.add_dir(tmp_path / "x.bin")
    with hexz.open(path) as r:
        assert r.namelist() == ["renamed/x.bin", "x.bin"]


def test_add_bytes_auto_names_and_buffers(tmp_path: Path) -> None:
    path = tmp_path / "out.hxz"
    big = np.arange(200_000, dtype=np.uint16)
    strided = np.arange(100, dtype=np.uint8)[::2]
    with hexz.Writer(path) as w:
        w.add_bytes(b"first")
        w.add_bytes(b"second")
        w.add_bytes(b"")
        w.add_bytes(big, name="numpy-buffer")  # writable buffer, passed without a copy
        w.add_bytes(memoryview(strided), name="strided")  # non-contiguous: copied
        w.add_bytes(bytes(70_000), name="zeros")
        with pytest.raises(ValueError):
            w.add_bytes(b"dup", name="zeros")
    with hexz.open(path) as r:
        names = r.namelist()
        assert len(names) == 6 and len(set(names)) == 6
        unnamed = sorted(n for n in names if n not in ("numpy-buffer", "strided", "zeros"))
        assert [bytes(r.open(n).read()) for n in unnamed] == [b"first", b"second", b""]
        assert bytes(r.open("numpy-buffer").read()) == big.tobytes()
        assert bytes(r.open("strided").read()) == strided.tobytes()
        assert bytes(r.open("zeros").read()) == bytes(70_000)


def test_add_records(tmp_path: Path) -> None:
    samples = [bytes([i]) * (i * 13 % 500) for i in range(100)]
    path = tmp_path / "rec.hxz"
    with hexz.Writer(path, block_size=4096) as w:
        w.add_records(samples, name="samples")
    ds = hexz.Dataset(path)
    assert len(ds) == 100
    assert [bytes(s) for s in ds] == samples


def test_add_records_takes_any_bytes_like(tmp_path: Path) -> None:
    """Samples are read in place whatever exports them: views into one buffer, bytearrays,
    numpy arrays of any dtype (their bytes), strided views (copied); a list, a tuple or a
    generator. What has no bytes is refused, naming the type."""
    blob = bytes(range(256)) * 40
    view = memoryview(blob)
    floats = np.arange(12, dtype=np.float32).reshape(3, 4)
    strided = np.arange(20, dtype=np.uint8)[::3]
    samples = [view[5:900], bytearray(b"mutable"), floats, strided, b"", view[9000:]]
    want = [bytes(view[5:900]), b"mutable", floats.tobytes(), strided.tobytes(), b"", blob[9000:]]
    path = tmp_path / "kinds.hxz"
    with hexz.Writer(path, block_size=4096) as w:
        w.add_records(samples, name="list")
        w.add_records(tuple(samples), name="tuple")
        w.add_records((s for s in samples), name="generator")
    for name in ("list", "tuple", "generator"):
        assert [bytes(s) for s in hexz.Dataset(path, group=name)] == want
    w = hexz.Writer(tmp_path / "bad.hxz")
    with pytest.raises(TypeError, match="str"):
        w.add_records(["text is not bytes"], name="bad")
    w.abort()
    assert not (tmp_path / "bad.hxz").exists()


def test_metadata_merges(tmp_path: Path) -> None:
    path = tmp_path / "m.hxz"
    with hexz.Writer(path) as w:
        w.add_metadata({"a": 1, "b": {"c": [1, 2, 3]}})
        w.add_metadata({"a": 2, "unicode": "é✓"})
        with pytest.raises(TypeError):
            w.add_metadata(["not", "a", "dict"])  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            w.add_metadata({"x": object()})
    assert hexz.open(path).metadata == {"a": 2, "b": {"c": [1, 2, 3]}, "unicode": "é✓"}


def test_report(tmp_path: Path) -> None:
    block = ht.random_bytes(65536)
    with hexz.Writer(tmp_path / "r.hxz", dedup=True) as w:
        w.add_bytes(block * 4, "dup")
        w.add_bytes(bytes(65536 * 2), "zeros")
    rep = w.report
    assert rep is not None
    assert rep["logical_size"] == 6 * 65536
    assert rep["file_size"] == (tmp_path / "r.hxz").stat().st_size
    assert rep["blocks"] == 6 and rep["entries"] == 2
    assert rep["dedup_blocks"] == 3 and rep["zero_blocks"] == 2
    assert w.close() == rep  # closing again returns the same report


def test_threads_option(tmp_path: Path) -> None:
    data = ht.compressible_bytes(2_000_000)
    for threads in (1, 2, 0):
        with hexz.Writer(tmp_path / f"t{threads}.hxz", threads=threads) as w:
            w.add_bytes(data, "d")
        assert bytes(hexz.open(tmp_path / f"t{threads}.hxz").read()) == data


def test_nothing_at_path_until_close(tmp_path: Path) -> None:
    path = tmp_path / "atomic.hxz"
    w = hexz.Writer(path)
    w.add_bytes(b"x" * 100_000, "x")
    assert not path.exists()
    w.close()
    assert path.exists()
    assert not [p for p in os.listdir(tmp_path) if p != "atomic.hxz"]  # no temp file left


def test_failed_body_keeps_existing_archive(tmp_path: Path) -> None:
    path = tmp_path / "keep.hxz"
    with hexz.Writer(path) as w:
        w.add_bytes(b"original", "o")
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with hexz.Writer(path) as w:
            w.add_bytes(b"replacement", "o")
            raise RuntimeError("boom")
    assert path.read_bytes() == before
    assert w.closed
    with pytest.raises(ValueError):
        w.close()  # aborted
    w2 = hexz.Writer(path)
    w2.add_bytes(b"replacement", "o")
    w2.abort()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["keep.hxz"]
    with hexz.Writer(path) as w3:
        w3.add_bytes(b"replacement", "o")
    assert bytes(hexz.open(path).open("o").read()) == b"replacement"


def test_empty_archive(tmp_path: Path) -> None:
    with hexz.Writer(tmp_path / "e.hxz"):
        pass
    with hexz.open(tmp_path / "e.hxz") as r:
        assert len(r) == 0 and r.namelist() == [] and bytes(r.read()) == b""
        assert r.metadata == {}


def test_writer_repr_and_closed(tmp_path: Path) -> None:
    w = hexz.Writer(tmp_path / "w.hxz")
    assert "w.hxz" in repr(w) and not w.closed
    w.close()
    assert w.closed and "closed" in repr(w)


def test_add_bytes_of_any_layout(tmp_path: Path) -> None:
    """Any buffer: C or Fortran order, read-only, multi-byte items; stored in C order."""
    f = np.asfortranarray(np.arange(12, dtype=np.int32).reshape(3, 4))
    ro = np.arange(10, dtype=np.float64)
    ro.flags.writeable = False
    with hexz.Writer(tmp_path / "l.hxz") as w:
        w.add_bytes(f, "fortran")
        w.add_bytes(ro, "readonly")
        w.add_bytes(memoryview(b"abc").toreadonly(), "mv")
    with hexz.open(tmp_path / "l.hxz") as r:
        assert bytes(r.open("fortran").read()) == f.tobytes(order="C")
        assert bytes(r.open("readonly").read()) == ro.tobytes()
        assert bytes(r.open("mv").read()) == b"abc"


def test_many_entries_and_unicode_names(tmp_path: Path) -> None:
    path = tmp_path / "many.hxz"
    names = [f"d{i % 50:02d}/f{i:05d}.bin" for i in range(5000)]
    with hexz.Writer(path, block_size=4096) as w:
        for i, name in enumerate(names):
            w.add_bytes(i.to_bytes(4, "little") * (i % 9 + 1), name)
        w.add_bytes("héllo ✓".encode(), "ünïcödé/名前.txt")
    with hexz.open(path) as r:
        assert r.namelist() == sorted([*names, "ünïcödé/名前.txt"])
        assert bytes(r.open("ünïcödé/名前.txt").read()).decode() == "héllo ✓"
        for i in (0, 1234, 4999):
            assert bytes(r.open(names[i]).read()) == i.to_bytes(4, "little") * (i % 9 + 1)
    ds = hexz.Dataset(path)
    assert len(ds) == 5001


def test_add_stream_is_a_raw_disk_and_a_block_dataset(tmp_path: Path) -> None:
    image = ht.random_bytes(100_000, seed=3) + bytes(200_000) + ht.compressible_bytes(50_000)
    src = tmp_path / "disk.raw"
    src.write_bytes(image)
    path = tmp_path / "vm.hxz"
    with hexz.Writer(path, block_size=65536) as w:
        w.add_stream(src)
    with hexz.open(path) as r:
        entry = r.getinfo("disk")
        assert entry.kind == "stream" and entry.size == len(image)
        assert bytes(r.open("disk").read()) == image
    ds = hexz.Dataset(path)
    assert len(ds) == (len(image) + 65535) // 65536
    assert bytes(ds[1]) == image[65536:131072]
    assert bytes(ds[len(ds) - 1]) == image[(len(ds) - 1) * 65536 :]


def test_absurd_thread_counts_are_value_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        hexz.Writer(tmp_path / "t.hxz", threads=1 << 40)
    assert not (tmp_path / "t.hxz").exists()
