"""Tests of benchmarks/measure.py (the shuffle-quality measure above all).

``make test-python`` runs them (with ``test_runs.py``); alone: ``python -m pytest
benchmarks/test_measure.py`` in the test or benchmark venv, or without pytest
``python benchmarks/test_measure.py``.
"""

from __future__ import annotations

import doctest
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import measure  # noqa: E402
import numpy as np  # noqa: E402


def test_doctests() -> None:
    failed, _ = doctest.testmod(measure)
    assert failed == 0


def test_quality_of_known_orders() -> None:
    n = 64 * 1024
    seq = measure.shuffle_quality(np.arange(n), n)
    assert seq["regions_per_batch"] == 1.0
    perm = measure.shuffle_quality(np.random.default_rng(1).permutation(n), n)
    assert abs(perm["regions_per_batch"] - measure.expected_regions()) < 0.5
    assert abs(perm["mean_jump"] - 1 / 3) < 0.01
    # Chunks of 1024 in random order, shuffled within groups of 4 chunks: each batch draws
    # from about 4 chunks, i.e. at most 4 or 5 of the 256 regions (a region is 256 samples).
    rng = np.random.default_rng(2)
    chunks = rng.permutation(n // 1024)
    order = np.concatenate(
        [
            rng.permutation(
                np.concatenate([np.arange(c * 1024, (c + 1) * 1024) for c in chunks[g : g + 4]])
            )
            for g in range(0, len(chunks), 4)
        ]
    )
    local = measure.shuffle_quality(order, n)
    assert 4 <= local["regions_per_batch"] <= 17
    assert measure.check_epoch(order, n)["permutation"]


def test_check_epoch_counts_drops_and_repeats() -> None:
    r = measure.check_epoch([0, 1, 1, 3], 5)
    assert (r["permutation"], r["missing"], r["repeated"]) == (False, 2, 1)


def test_batch_indices_of_a_2d_array() -> None:
    rows = np.zeros((3, 16), dtype=np.uint8)
    for k, i in enumerate((7, 300, 2**40)):
        rows[k, :8] = np.frombuffer(measure.index_prefix(i), dtype=np.uint8)
    assert measure.batch_indices(rows) == [7, 300, 2**40]


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_"):
            fn()
            print(f"ok {name}")
