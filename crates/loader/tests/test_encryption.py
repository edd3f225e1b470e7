"""Encrypted archives: writing with a key or a password, reading them back through every
entry point, wrong and missing keys, and DataLoader workers reopening an encrypted archive."""

from __future__ import annotations

import multiprocessing
import pickle
from pathlib import Path

import numpy as np
import pytest

import hexz
from hexz.errors import DecryptionError

KEY = bytes(range(32))
# Cheap Argon2id parameters (64 KiB, 1 pass, 1 lane): tests only.
CHEAP = (64, 1, 1)
N = 200


def _write(path: Path, **keys: object) -> Path:
    x = np.arange(N * 4, dtype=np.int64).reshape(N, 4)
    with hexz.Writer(path, block_size=4096, **keys) as w:  # type: ignore[arg-type]
        w.add_array(x, "x")
        w.add_bytes(b"secret payload " * 1000, "notes.txt")
    return path


@pytest.fixture(scope="module")
def key_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("enc") / "key.hxz", key=KEY)


@pytest.fixture(scope="module")
def password_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("enc") / "pw.hxz", password="correct horse", kdf=CHEAP)


def test_key_round_trip(key_archive: Path, tmp_path: Path) -> None:
    assert b"secret payload" not in key_archive.read_bytes()
    with hexz.open(key_archive, key=KEY) as r:
        assert r.open("notes.txt").read() == b"secret payload " * 1000
        assert r.verify() == []
    # The same key as hex, and as a key file (docs/keys.md).
    with hexz.Reader(key_archive, key=KEY.hex()) as r:
        assert "notes.txt" in r.namelist()
    key_file = tmp_path / "archive.key"
    key_file.write_text(KEY.hex() + "\n")
    with hexz.Reader(key_archive, key=key_file) as r:
        assert "notes.txt" in r.namelist()
    ds = hexz.Dataset(key_archive, key=str(key_file), group="x")
    assert len(ds) == N and list(np.asarray(ds[7])) == [28, 29, 30, 31]
    # A pickled dataset reopens with its key.
    again = pickle.loads(pickle.dumps(ds))
    assert list(np.asarray(again[N - 1])) == list(range(4 * N - 4, 4 * N))


def test_password_round_trip(password_archive: Path) -> None:
    with hexz.Reader(password_archive, password="correct horse") as r:
        assert r.open("notes.txt").read() == b"secret payload " * 1000
    ds = hexz.Dataset(password_archive, password="correct horse", group="x")
    assert list(np.asarray(ds[3])) == [12, 13, 14, 15]
    arr = hexz.read_array(password_archive, 0, (N, 4), np.int64, password="correct horse")
    assert int(arr[N - 1, 3]) == 4 * N - 1


def test_async_reader(key_archive: Path) -> None:
    import asyncio

    async def go() -> bytes:
        async with hexz.AsyncReader(key_archive, key=KEY) as r:
            return bytes(await r.read_at(0, 16))

    assert len(asyncio.run(go())) == 16


def test_wrong_and_missing_keys(key_archive: Path, password_archive: Path) -> None:
    with pytest.raises(DecryptionError):
        hexz.Reader(password_archive, password="wrong horse")
    with pytest.raises(DecryptionError):
        hexz.Reader(password_archive)
    with pytest.raises(DecryptionError):
        hexz.Reader(key_archive, key=bytes(32))
    with pytest.raises(DecryptionError):
        hexz.Reader(key_archive, password="correct horse")
    with pytest.raises(DecryptionError):
        hexz.Dataset(key_archive)
    assert issubclass(DecryptionError, hexz.errors.HexzError)


def test_bad_key_arguments(key_archive: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        hexz.Reader(key_archive, key=b"short")
    with pytest.raises(ValueError, match="not both"):
        hexz.Reader(key_archive, key=KEY, password="x")
    with pytest.raises(ValueError):
        hexz.Reader(key_archive, password="")
    with pytest.raises(ValueError, match="password only"):
        hexz.Writer(tmp_path / "a.hxz", key=KEY, kdf=CHEAP)
    # A key for an archive that is not encrypted is refused.
    plain = tmp_path / "plain.hxz"
    with hexz.Writer(plain) as w:
        w.add_bytes(b"hello", "a")
    with pytest.raises(ValueError, match="not encrypted"):
        hexz.Reader(plain, key=KEY)


@pytest.mark.slow
def test_dataloader_workers(password_archive: Path) -> None:
    torch = pytest.importorskip("torch")
    context = "spawn" if "spawn" in multiprocessing.get_all_start_methods() else None
    ds = hexz.Dataset(password_archive, password="correct horse", group="x")
    loader = torch.utils.data.DataLoader(
        ds, batch_size=16, shuffle=True, num_workers=2, multiprocessing_context=context
    )
    seen: list[int] = []
    for batch in loader:
        seen.extend(int(row[0]) // 4 for row in batch)
    assert sorted(seen) == list(range(N))
