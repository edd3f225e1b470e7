"""Hypothesis round trips: Writer -> Reader for bytes, entries, block sizes and codecs;
arrays of every supported dtype through add_array -> load_array and Dataset rows."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hexz
import hexz_testing as ht
from hexz import _native

CODECS = ["none", "lz4"] + (["zstd"] if _native.HAS_ZSTD else [])
BLOCK_SIZES = [4096, 8192, 65536]
DTYPES = ht.DTYPES

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def payloads(draw: st.DrawFn, max_size: int = 300_000) -> bytes:
    """Bytes of a random size and texture: random, compressible, zeros, or drawn directly."""
    kind = draw(st.sampled_from(["random", "runs", "zeros", "small", "mixed"]))
    if kind == "small":
        return draw(st.binary(max_size=300))
    n = draw(st.integers(0, max_size))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "random":
        return rng.bytes(n)
    if kind == "zeros":
        return bytes(n)
    runs = np.repeat(rng.integers(0, 4, size=n // 64 + 1, dtype=np.uint8), 64)[:n].tobytes()
    if kind == "runs":
        return runs
    cut = draw(st.integers(0, n))
    return runs[:cut] + bytes(n - cut)[: (n - cut) // 2] + rng.bytes(n - cut - (n - cut) // 2)


@SETTINGS
@given(
    data=payloads(),
    compression=st.sampled_from(CODECS),
    block_size=st.sampled_from(BLOCK_SIZES),
    dedup=st.booleans(),
    ranges=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 200_000)), max_size=12),
)
def test_bytes_round_trip(
    data: bytes,
    compression: str,
    block_size: int,
    dedup: bool,
    ranges: list[tuple[float, int]],
) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "a.hxz"
        with hexz.Writer(path, compression=compression, block_size=block_size, dedup=dedup) as w:
            w.add_bytes(data, "data")
        with hexz.open(path, cache_size=4) as r:
            base = r.getinfo("data").offset
            assert len(r) >= base + len(data)
            assert bytes(r.open("data").read()) == data
            for frac, length in ranges:
                off = int(frac * len(data))
                assert (
                    bytes(r.read_at(base + off, length))[: len(data) - off]
                    == (data[off : off + length])
                )
                assert bytes(r.open("data").read_at(off, length)) == data[off : off + length]
            assert r.verify() == []


@SETTINGS
@given(
    entries=st.dictionaries(
        st.from_regex(r"[a-z0-9_]{1,8}(/[a-z0-9_]{1,8}){0,2}", fullmatch=True),
        payloads(max_size=40_000),
        max_size=12,
    ),
    compression=st.sampled_from(CODECS),
    block_size=st.sampled_from(BLOCK_SIZES),
)
def test_entries_round_trip(entries: dict[str, bytes], compression: str, block_size: int) -> None:
    # a path cannot be both a file and a directory
    names = sorted(entries)
    entries = {n: entries[n] for n in names if not any(m.startswith(n + "/") for m in names)}
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "e.hxz"
        with hexz.Writer(path, compression=compression, block_size=block_size) as w:
            for name, data in entries.items():
                w.add_bytes(data, name)
        with hexz.open(path) as r:
            assert r.namelist() == sorted(entries)
            for name, data in entries.items():
                info = r.getinfo(name)
                assert info.size == len(data)
                assert bytes(r.read_at(info.offset, info.size)) == data
                f = r.open(name)
                half = len(data) // 2
                f.seek(half)
                assert bytes(f.read()) == data[half:]


@SETTINGS
@given(
    arr=st.sampled_from(DTYPES).flatmap(
        lambda dt: hnp.arrays(
            dtype=np.dtype(dt),
            shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=7),
        )
    ),
    order=st.sampled_from(["C", "F", "big-endian", "strided"]),
    compression=st.sampled_from(CODECS),
    block_size=st.sampled_from([4096, 65536]),
)
def test_array_round_trip(arr: np.ndarray, order: str, compression: str, block_size: int) -> None:
    source = arr
    if order == "F":
        source = np.asfortranarray(arr)
    elif order == "big-endian" and arr.dtype.itemsize > 1:
        source = arr.astype(arr.dtype.newbyteorder(">"))
    elif order == "strided":
        source = np.repeat(arr, 2, axis=0)[::2]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "arr.hxz"
        with hexz.Writer(path, compression=compression, block_size=block_size) as w:
            w.add_array(source, "arr")
        with hexz.open(path) as r:
            back = hexz.load_array(r, "arr")
        assert back.dtype == arr.dtype.newbyteorder("=")
        assert back.shape == arr.shape
        assert back.tobytes() == np.ascontiguousarray(arr).tobytes()
        ds = hexz.Dataset(path)
        assert len(ds) == arr.shape[0]
        for i in range(len(ds)):
            row = ds[i]
            assert row.dtype == back.dtype and row.shape == arr.shape[1:]
            assert row.tobytes() == np.ascontiguousarray(arr[i]).tobytes()
        rows = ds.__getitems__(list(range(len(ds)))[::-1])
        assert [x.tobytes() for x in rows] == [np.ascontiguousarray(a).tobytes() for a in arr[::-1]]


@SETTINGS
@given(
    arrays=st.lists(
        st.tuples(
            st.sampled_from(DTYPES),
            hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_several_arrays_by_name_and_group(arrays: list[tuple[str, tuple[int, ...]]]) -> None:
    rng = np.random.default_rng(0)
    made = {}
    for i, (dt, shape) in enumerate(arrays):
        raw = rng.bytes(int(np.prod(shape)) * np.dtype(dt).itemsize)
        a = np.frombuffer(raw, dtype=np.uint8).view(dt).reshape(shape)
        if dt == "bool":
            a = a.view(np.uint8) % 2 == 1
        made[f"a{i}"] = a
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "many.hxz"
        with hexz.Writer(path, block_size=4096) as w:
            for name, a in made.items():
                w.add_array(a, name)
        with hexz.open(path) as r:
            for name, a in made.items():
                assert hexz.load_array(r, name).tobytes() == a.tobytes()
        for name, a in made.items():
            ds = hexz.Dataset(path, group=name)
            assert len(ds) == a.shape[0]
            assert ds[-1].tobytes() == a[-1].tobytes()
            assert ds[-1].shape == a.shape[1:]
