"""Bad inputs raise typed exceptions; no Rust panic ever reaches Python."""

from __future__ import annotations

import os
import struct
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hexz
import hexz_testing as ht

FIXTURES = ht.FIXTURES

# What an error may be: hexz's own classes, or the builtins hexz documents.
EXPECTED = (hexz.HexzError, OSError, ValueError, IndexError, KeyError, TypeError)


def no_panic(fn: Callable[[], Any]) -> BaseException | None:
    """Runs ``fn``; returns the exception it raised (None if none). Fails on a Rust panic
    (pyo3's PanicException derives from BaseException) or any unexpected class."""
    try:
        fn()
    except BaseException as e:  # noqa: BLE001
        assert type(e).__name__ != "PanicException", f"Rust panic reached Python: {e}"
        assert isinstance(e, EXPECTED), f"unexpected {type(e).__name__}: {e}"
        return e
    return None


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A small archive: a file entry spanning a few 4 KiB blocks, plus an array."""
    path = tmp_path / "small.hxz"
    with hexz.Writer(path, block_size=4096, compression="lz4") as w:
        w.add_bytes(ht.compressible_bytes(20_000, seed=2), "data")
        w.add_array(np.arange(100, dtype=np.float64).reshape(25, 4), "arr")
        w.add_metadata({"k": "v"})
    return path


def test_exception_hierarchy() -> None:
    for cls in (
        hexz.FormatError,
        hexz.IntegrityError,
        hexz.DecryptionError,
        hexz.UnsupportedVersionError,
        hexz.UnsupportedFeatureError,
        hexz.StoreError,
    ):
        assert issubclass(cls, hexz.HexzError) and issubclass(cls, Exception)
    assert issubclass(hexz.UnsupportedVersionError, hexz.FormatError)
    assert issubclass(hexz.StoreError, OSError)


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.hxz"
    for fn in (hexz.open, hexz.Reader, hexz.Dataset, hexz.tf_dataset):
        with pytest.raises(FileNotFoundError):
            fn(missing)


def test_directory_as_archive(tmp_path: Path) -> None:
    with pytest.raises(OSError) as e:
        hexz.open(tmp_path)
    assert isinstance(e.value, (IsADirectoryError, hexz.HexzError))


@pytest.mark.parametrize(
    "content",
    [b"", b"\x89HXZ\r\n\x1a\n", b"not an archive at all" * 50, os.urandom(100_000)],
    ids=["empty", "magic-only", "text", "random"],
)
def test_not_an_archive(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.hxz"
    path.write_bytes(content)
    with pytest.raises(hexz.FormatError):
        hexz.open(path)


def test_truncated(small: Path) -> None:
    raw = small.read_bytes()
    for keep in (len(raw) - 1, len(raw) - 64, len(raw) // 2, 200, 128, 10):
        small.write_bytes(raw[:keep])
        with pytest.raises(hexz.FormatError) as caught:
            hexz.open(small)
        # Where, as data: the file when too short to be an archive, else its footer.
        e = caught.value
        assert e.archive == str(small)
        assert e.part == ("file" if keep < 192 else "footer"), (keep, e.part)
        assert (e.block, e.frame) == (None, None)
        assert e.detail, keep


def test_flipped_data_byte_is_an_integrity_error(small: Path) -> None:
    raw = bytearray(small.read_bytes())
    raw[200] ^= 0x40  # inside the first stored block (the header is 128 bytes)
    small.write_bytes(bytes(raw))
    r = hexz.open(small)  # opening reads only the tail: fine
    with pytest.raises(hexz.IntegrityError) as caught:
        r.read_at(0, 100)
    # Where, as data: the archive, block 0 at logical offset 0, and what failed.
    e = caught.value
    assert (e.archive, e.part, e.block, e.offset, e.frame) == (str(small), "block", 0, 0, None)
    assert e.detail is not None and "crc32c" in e.detail
    with pytest.raises(hexz.IntegrityError):
        bytes(r.open("data").read())
    problems = r.verify()
    assert problems and "block 0" in problems[0]
    # other blocks are still readable
    assert bytes(r.read_at(8192, 100)) == ht.compressible_bytes(20_000, seed=2)[8192:8292]


def test_future_version(small: Path) -> None:
    ht.patch_header(small, 8, struct.pack("<H", 3))
    with pytest.raises(hexz.UnsupportedVersionError, match="version 3"):
        hexz.open(small)


def test_unknown_required_feature(small: Path) -> None:
    raw = small.read_bytes()
    required = struct.unpack_from("<Q", raw, 16)[0]
    ht.patch_header(small, 16, struct.pack("<Q", required | (1 << 40)))
    with pytest.raises(hexz.UnsupportedVersionError, match="40"):
        hexz.open(small)


def test_unknown_optional_feature_is_ignored(small: Path) -> None:
    raw = small.read_bytes()
    optional = struct.unpack_from("<Q", raw, 24)[0]
    ht.patch_header(small, 24, struct.pack("<Q", optional | (1 << 50)))
    assert hexz.open(small).namelist() == ["data"]


def test_header_checksum(small: Path) -> None:
    raw = bytearray(small.read_bytes())
    raw[100] ^= 1  # a reserved header byte, crc not fixed
    small.write_bytes(bytes(raw))
    with pytest.raises(hexz.FormatError):
        hexz.open(small)


@pytest.mark.parametrize(
    "name,cls",
    [
        ("corrupt-block.hxz", hexz.IntegrityError),
        ("corrupt-footer-crc.hxz", hexz.FormatError),
        ("corrupt-footer-version.hxz", hexz.UnsupportedVersionError),
        # A v2 header on a v1 file since v2 exists: header and footer disagree.
        ("corrupt-future-version.hxz", hexz.FormatError),
        ("corrupt-truncated.hxz", hexz.FormatError),
        ("corrupt-unknown-feature.hxz", hexz.UnsupportedVersionError),
    ],
)
def test_golden_corrupt_fixtures(name: str, cls: type[Exception]) -> None:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip("golden fixtures not present")
    with pytest.raises(cls):
        r = hexz.open(path)
        for n in r.namelist():
            bytes(r.open(n).read())


def test_read_array_bad_arguments(small: Path) -> None:
    r = hexz.open(small)
    with pytest.raises(TypeError):
        hexz.read_array(r, 0, (2,), object)
    with pytest.raises(TypeError):
        hexz.read_array(r, 0, (2,), "no-such-dtype")
    with pytest.raises(ValueError):
        hexz.read_array(r, 0, (-2, 3), np.float32)
    with pytest.raises((TypeError, ValueError)):
        hexz.read_array(r, 0, ("a", 3), np.float32)
    with pytest.raises(ValueError):
        hexz.read_array(r, -8, (2,), np.float32)
    with pytest.raises(IndexError):
        hexz.read_array(r, 0, (1000, 1000), np.float64)  # runs past the end
    with pytest.raises(IndexError):
        hexz.read_array(r, len(r) - 4, (2,), np.float32)
    with pytest.raises(TypeError):
        hexz.read_array(r, 1.5, (2,), np.float32)  # type: ignore[arg-type]


def test_out_of_range(small: Path) -> None:
    r = hexz.open(small)
    n = len(r)
    with pytest.raises(ValueError):
        r.read_at(-1, 10)
    with pytest.raises(ValueError):
        r.read_at(0, -1)
    with pytest.raises(IndexError):
        r.read_at(n + 1, 10)
    with pytest.raises(IndexError):
        r[n]
    with pytest.raises(ValueError):
        r.seek(-5)
    assert bytes(r.read_at(n - 1, 2**62)) == bytes(r.read_at(n - 1, 1))  # clipped
    f = r.open("data")
    with pytest.raises(IndexError):
        f.read_at(len(f) + 1, 1)
    ds = hexz.Dataset(small, group="arr")
    with pytest.raises(IndexError):
        ds[25]
    with pytest.raises(IndexError):
        ds.__getitems__([0, 25])


def test_writer_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        hexz.Writer(tmp_path / "no" / "such" / "dir" / "a.hxz")
    with pytest.raises(OSError) as e:
        hexz.Writer(tmp_path).close()
    assert isinstance(e.value, (IsADirectoryError, hexz.HexzError))
    with pytest.raises(FileNotFoundError):
        with hexz.Writer(tmp_path / "a.hxz") as w:
            w.add_file(tmp_path / "missing.bin")
    assert not (tmp_path / "a.hxz").exists()


def _as_unprivileged(fn: Callable[[], Any]) -> str:
    """Runs ``fn`` as user nobody in a forked child when we are root (root ignores file
    permissions), else in-process. Returns the raised exception's class name, or ''."""
    if os.geteuid() != 0:
        e = no_panic(fn)
        return "" if e is None else type(e).__name__
    rd, wr = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        name = "?"
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            fn()
            name = ""
        except BaseException as e:  # noqa: BLE001
            name = type(e).__name__
        finally:
            os.write(wr, name.encode())
            os._exit(0)
    os.close(wr)
    with os.fdopen(rd, "rb") as f:
        out = f.read().decode()
    os.waitpid(pid, 0)
    return out


def test_permission_denied(tmp_path: Path, small: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    secret = locked / "secret.hxz"
    secret.write_bytes(small.read_bytes())
    os.chmod(secret, 0o000)
    os.chmod(locked, 0o555)
    os.chmod(tmp_path, 0o755)
    try:
        assert _as_unprivileged(lambda: hexz.Writer(locked / "new.hxz")) == "PermissionError"
        assert _as_unprivileged(lambda: hexz.open(secret)) == "PermissionError"
    finally:
        os.chmod(locked, 0o755)
        os.chmod(secret, 0o644)


def test_closed_reader(small: Path) -> None:
    r = hexz.open(small)
    f = r.open("data")
    r.close()
    assert r.closed
    for call in (
        lambda: r.read(),
        lambda: r.read(5),
        lambda: r.read_at(0, 5),
        lambda: r.readinto(bytearray(5)),
        lambda: r.seek(0),
        lambda: r.tell(),
        lambda: r.namelist(),
        lambda: r.open("data"),
        lambda: r.metadata,
        lambda: r[0],
        lambda: hexz.read_array(r, 0, (2,), np.uint8),
        lambda: hexz.load_array(r, "arr"),
    ):
        with pytest.raises(ValueError):
            call()
    # an entry opened before: its archive is closed too
    with pytest.raises(ValueError):
        f.read()


def test_closed_writer(tmp_path: Path) -> None:
    w = hexz.Writer(tmp_path / "w.hxz")
    w.close()
    for call in (
        lambda: w.add_bytes(b"x", "x"),
        lambda: w.add(b"x"),
        lambda: w.add_array(np.zeros(3), "a"),
        lambda: w.add_file(__file__),
        lambda: w.add_records([b"x"]),
        lambda: w.add_metadata({"a": 1}),
    ):
        with pytest.raises(ValueError):
            call()


def test_random_corruption_never_panics(small: Path) -> None:
    """Flip, zero or truncate bytes all over an archive: every failure is a typed
    exception, and whatever reads succeed after a flip in a data block return bytes."""
    raw = small.read_bytes()
    rng = np.random.default_rng(1234)
    bad = small.with_name("mut.hxz")
    kinds: dict[str, int] = {}
    for _ in range(1000):
        m = bytearray(raw)
        how = rng.integers(0, 3)
        pos = int(rng.integers(0, len(m)))
        if how == 0:
            m[pos] ^= 1 << int(rng.integers(0, 8))
        elif how == 1:
            m[pos : pos + 8] = bytes(len(m[pos : pos + 8]))
        else:
            m = m[:pos]
        bad.write_bytes(bytes(m))

        def use() -> None:
            r = hexz.open(bad)
            for name in r.namelist():
                bytes(r.open(name).read())
            _ = r.metadata
            hexz.load_array(r, "arr")
            ds = hexz.Dataset(bad)
            ds.__getitems__(list(range(len(ds))))
            r.verify()

        e = no_panic(use)
        kinds[type(e).__name__ if e else "ok"] = kinds.get(type(e).__name__ if e else "ok", 0) + 1
    print(kinds)
    assert kinds.get("FormatError", 0) + kinds.get("IntegrityError", 0) > 200, kinds


@pytest.mark.parametrize(
    "call",
    [
        "hexz.Writer(p + '.out', threads=2**40)",
        "hexz.Writer(p + '.out', threads=-1)",
        "hexz.Reader(p, prefetch_threads=2**40)",
        "hexz.Dataset(p, prefetch_threads=2**40)",
        "hexz.Reader(p, cache_size=2**70)",
    ],
)
def test_absurd_options_are_errors_not_crashes(small: Path, call: str) -> None:
    """Run in a child: before the guards, threads=2**40 aborted the process (a channel of
    2**41 slots) and prefetch_threads=2**40 hung spawning threads."""
    import subprocess
    import sys

    code = (
        "import sys, hexz\n"
        f"p = {str(small)!r}\n"
        f"try:\n    {call}\nexcept (ValueError, OverflowError) as e:\n"
        "    print(type(e).__name__); sys.exit(0)\n"
        "sys.exit(3)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr[-2000:])
