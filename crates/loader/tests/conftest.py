from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

# DataLoader workers started with "spawn" unpickle helpers by module name: keep this
# directory importable in them (spawn passes sys.path on to the child).
sys.path.insert(0, str(Path(__file__).parent))

import hexz  # noqa: E402
import hexz_testing as ht  # noqa: E402


@pytest.fixture(scope="session")
def records_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """x: (300, 6) int64 rows starting with their index; y: (300,) int32 = index."""
    return ht.make_records_archive(tmp_path_factory.mktemp("rec") / "records.hxz", 300)


@pytest.fixture(scope="session")
def dir_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory tree of 120 files of different sizes (1 to 3 KB), each encoding its index."""
    base = tmp_path_factory.mktemp("dir")
    return ht.make_dir_archive(base / "tree.hxz", base / "src", 120)


@pytest.fixture(scope="session")
def blob() -> bytes:
    """1 MiB of compressible bytes."""
    return ht.compressible_bytes(1 << 20, seed=1)


@pytest.fixture(scope="session")
def blob_archive(tmp_path_factory: pytest.TempPathFactory, blob: bytes) -> Path:
    """One entry ``blob`` holding :func:`blob`, 64 KiB blocks, LZ4."""
    path = tmp_path_factory.mktemp("blob") / "blob.hxz"
    with hexz.Writer(path, compression="lz4") as w:
        w.add_bytes(blob, "blob")
    return path


# Keep Hypothesis' example database next to the tests (ignored by git), whatever the cwd.
settings.register_profile(
    "hexz", database=DirectoryBasedExampleDatabase(str(Path(__file__).parent / ".hypothesis"))
)
settings.load_profile("hexz")


@pytest.fixture(scope="session")
def big_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """64 MiB of random bytes (stored raw), one entry ``big``."""
    path = tmp_path_factory.mktemp("big") / "big.hxz"
    with hexz.Writer(path, compression="lz4") as w:
        w.add_bytes(bytearray(ht.random_bytes(64 << 20, seed=9)), "big")
    return path
