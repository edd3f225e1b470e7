"""The hostile corpus (``tests/fixtures/hostile/``) through the Python API: opening,
listing, reading everything, verifying and iterating a Dataset stay within a memory bound (the
process's baseline, a multiple of the file and the default caches) and a time bound, in a
fresh process each, measured by GNU time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "hostile"
TIME = Path("/usr/bin/time")

READ_ALL = """
import sys, hexz
path = sys.argv[1]
with hexz.open(path) as r:
    names = r.namelist()
    for name in names[:50]:
        with r.open(name) as f:
            while f.read(1 << 20):
                pass
    view = r.read_at(0, 1 << 20)
    pos = 0
    while pos < len(r):
        pos += len(r.read_at(pos, 16 << 20))
    assert r.verify() == [], "the corpus is valid"
ds = hexz.Dataset(path)
seen = 0
for i in range(min(len(ds), 20000)):  # one sample (at most one 16 MiB block) per call
    seen += len(ds[i]) > 0
print("ok", len(names), seen)
"""

# Python with numpy and hexz imported, before anything is read.
BASELINE = """
import hexz, numpy
print("ok")
"""


def measured(code: str, *args: str) -> tuple[int, float, str]:
    """(peak RSS in KiB, seconds, stdout) of ``python -c code args``."""
    out = subprocess.run(
        [str(TIME), "-f", "HEXZ_RESOURCES %M %e", sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    line = [x for x in out.stderr.splitlines() if x.startswith("HEXZ_RESOURCES ")][-1]
    kib, secs = line.split()[1:]
    return int(kib), float(secs), out.stdout


@pytest.mark.skipif(not TIME.exists(), reason="needs GNU time (Debian package `time`)")
@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.hxz")))
def test_hostile_archives_cost_bounded_memory_and_time_in_python(name: str) -> None:
    base_kib, _, _ = measured(BASELINE)
    path = CORPUS / name
    kib, secs, stdout = measured(READ_ALL, str(path))
    assert stdout.startswith("ok"), stdout
    file_kib = path.stat().st_size // 1024
    # The default caches (64 MiB of blocks, twice 32 MiB of pages), a 16 MiB block being
    # decoded, what one call returns (at most 16 MiB here), and four times the file.
    limit = base_kib + 4 * file_kib + (64 + 64 + 16 + 32) * 1024
    assert kib <= limit, f"{name}: peak RSS {kib} KiB over {limit} KiB (baseline {base_kib})"
    assert secs < 60, f"{name}: {secs} s"
