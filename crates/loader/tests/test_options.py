"""One options type: ``hexz.OpenOptions`` is accepted by everything that opens an archive, its
fields are keyword arguments too (which override it), and misplaced or misspelt options are
errors, not silently ignored."""

from __future__ import annotations

import asyncio
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hexz
from hexz.errors import DecryptionError

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
N = 64


@pytest.fixture(scope="module")
def encrypted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("opts") / "enc.hxz"
    with hexz.Writer(path, block_size=4096, options=hexz.OpenOptions(key=KEY)) as w:
        w.add_array(np.arange(N * 4, dtype=np.int32).reshape(N, 4), "x")
        w.add_bytes(b"payload " * 100, "notes.txt")
    return path


def test_every_opener_takes_options(encrypted: Path) -> None:
    opts = hexz.OpenOptions(key=KEY)
    with hexz.Reader(encrypted, options=opts) as r:
        assert bytes(r.open("notes.txt").read()) == b"payload " * 100
    with hexz.open(encrypted, options=opts) as r:
        assert isinstance(r, hexz.Reader)
    ds = hexz.Dataset(encrypted, options=opts)
    assert len(ds) == N and np.array_equal(ds[3], [12, 13, 14, 15])
    report = hexz.verify(encrypted, options=opts)
    assert report.ok and report.contents_checked

    async def read_async() -> bytes:
        async with hexz.AsyncReader(encrypted, options=opts) as r:
            return bytes(await r.read_at(0, 16))

    assert len(asyncio.run(read_async())) == 16


def test_keyword_arguments_override_options(encrypted: Path) -> None:
    wrong = hexz.OpenOptions(key=OTHER_KEY)
    with pytest.raises(DecryptionError):
        hexz.Reader(encrypted, options=wrong)
    with hexz.Reader(encrypted, options=wrong, key=KEY) as r:
        assert len(r) > 0
    # The options travel with a pickled dataset (a DataLoader worker reopens with them).
    ds = pickle.loads(pickle.dumps(hexz.Dataset(encrypted, options=wrong, key=KEY)))
    assert np.array_equal(ds[N - 1], np.arange((N - 1) * 4, N * 4))


def test_misspelt_or_misplaced_options_are_errors(encrypted: Path, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'endpiont'"):
        hexz.Reader(encrypted, key=KEY, endpiont="http://127.0.0.1:9")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="options must be a hexz.OpenOptions"):
        hexz.Reader(encrypted, options={"key": KEY})  # type: ignore[arg-type]
    # Reading options mean nothing to a writer: refused, not ignored.
    with pytest.raises(ValueError, match="cache_dir does not apply to writing"):
        hexz.Writer(tmp_path / "w.hxz", options=hexz.OpenOptions(cache_dir=tmp_path / "c"))
    assert not (tmp_path / "w.hxz").exists()
    with pytest.raises(ValueError, match="cache_limit needs cache_dir"):
        hexz.OpenOptions(cache_limit=1 << 20).native()


def test_options_are_a_frozen_value() -> None:
    a = hexz.OpenOptions(endpoint="http://127.0.0.1:9000", anonymous=True)
    assert a == hexz.OpenOptions(endpoint="http://127.0.0.1:9000", anonymous=True)
    with pytest.raises(AttributeError):
        a.region = "eu-west-1"  # type: ignore[misc]
    assert a.native() == {"endpoint": "http://127.0.0.1:9000", "anonymous": True}


def test_a_missing_error_class_fails_the_import() -> None:
    """Exception classes are bound when the native module is imported: a hexz.errors without
    one of them fails the import at once, rather than some later raise."""
    code = (
        "import sys, types\n"
        "m = types.ModuleType('hexz.errors')\n"
        "m.HexzError = type('HexzError', (Exception,), {})\n"
        "sys.modules['hexz.errors'] = m\n"
        "try:\n"
        "    import hexz\n"
        "except Exception as e:\n"
        "    print('failed:', type(e).__name__, e)\n"
        "else:\n"
        "    print('imported')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("failed:") and "FormatError" in out, out
