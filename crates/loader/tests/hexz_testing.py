"""Helpers shared by the test modules (importable by DataLoader workers under spawn)."""

from __future__ import annotations

import os
import re
import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np

import hexz

HEADER_LEN = 128
# The golden archives of format v1, never regenerated (tests/fixtures/README.md).
FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "v1"

# Every dtype Writer.add_array accepts.
DTYPES = [
    "bool",
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
]

HEADER_CRC_AT = 124


def _crc32c_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), as docs/FORMAT.md defines it."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFFFFFF


def patch_header(path: Path, offset: int, value: bytes) -> None:
    """Overwrites header bytes at ``offset`` and recomputes the header crc32c."""
    raw = bytearray(path.read_bytes())
    raw[offset : offset + len(value)] = value
    raw[HEADER_CRC_AT:HEADER_LEN] = struct.pack("<I", crc32c(bytes(raw[:HEADER_CRC_AT])))
    path.write_bytes(bytes(raw))


# -- archives whose samples encode their index ---------------------------------------------

ROW = 6  # int64 values per record: [index, index * 3, 0, 0, 0, 0]


def make_records_archive(path: Path, n: int, block_size: int = 4096) -> Path:
    """An archive of two arrays with ``n`` rows: ``x`` (row i starts with i) and ``y`` (= i)."""
    x = np.zeros((n, ROW), dtype=np.int64)
    x[:, 0] = np.arange(n)
    x[:, 1] = np.arange(n) * 3
    y = np.arange(n, dtype=np.int32)
    with hexz.Writer(path, block_size=block_size) as w:
        w.add_array(x, "x")
        w.add_array(y, "y")
    return path


def file_payload(i: int) -> bytes:
    """Content of file ``i`` of the directory archive: its index, then i-dependent padding,
    so files have different sizes (1 to ~3 KB)."""
    head = f"sample:{i:06d}:".encode()
    return head + bytes((i + k) & 0xFF for k in range((i * 37) % 3000))


def make_dir_archive(path: Path, src: Path, n: int) -> Path:
    """An archive of a directory tree of ``n`` files of different sizes, in subdirectories."""
    for i in range(n):
        d = src / f"part{i % 7}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{i:06d}.bin").write_bytes(file_payload(i))
    with hexz.Writer(path, block_size=4096) as w:
        w.add(str(src))
    return path


def dir_sample_index(sample: Any) -> int:
    """The index encoded in a directory-archive sample (array or tensor of uint8)."""
    raw = bytes(np.asarray(sample, dtype=np.uint8))
    assert raw.startswith(b"sample:"), raw[:20]
    i = int(raw[7:13])
    assert raw == file_payload(i)
    return i


def collate_list(batch: list[Any]) -> list[Any]:
    """A DataLoader collate_fn that keeps samples of different sizes as a list."""
    return list(batch)


def random_bytes(n: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).bytes(n)


def compressible_bytes(n: int, seed: int = 0) -> bytes:
    """Bytes that compress (runs and a small alphabet) but are not trivially constant."""
    rng = np.random.default_rng(seed)
    runs = rng.integers(0, 8, size=n // 16 + 1, dtype=np.uint8)
    return np.repeat(runs, 16)[:n].tobytes()


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# -- FUSE mounts (hexz.mount) -----------------------------------------------------------------


def fuse_unavailable() -> str | None:
    """Why real FUSE mounts cannot run here (a skip reason), or None when they can: they need
    Linux, root (hexz mounts with mount(2) itself) and an openable /dev/fuse."""
    if not sys.platform.startswith("linux"):
        return "FUSE mounts are Linux-only"
    if os.geteuid() != 0:
        return "FUSE mount tests need root (hexz mounts with mount(2) itself; CI runs as root)"
    try:
        os.close(os.open("/dev/fuse", os.O_RDWR))
    except OSError as e:
        return (
            f"/dev/fuse is unavailable ({e}): load the fuse module, or run the container "
            "with --device /dev/fuse --cap-add SYS_ADMIN"
        )
    return None


def mounts() -> list[tuple[str, str, str]]:
    """``(mount point, fstype, source)`` of every line of /proc/self/mountinfo."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            point, fstype, source = fields[4], fields[sep + 1], fields[sep + 2]
            out.append((_unescape(point), fstype, _unescape(source)))
    return out


def hexz_mount_at(path: str | os.PathLike[str]) -> tuple[str, str, str] | None:
    """The hexz FUSE mount (fstype ``fuse.hexz``) at ``path``, if there is one."""
    want = os.path.realpath(path)
    found = [m for m in mounts() if m[0] == want and m[1] == "fuse.hexz"]
    return found[-1] if found else None


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)
