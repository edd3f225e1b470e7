"""NumPy integration: zero-copy reads into arrays (seed README, "NumPy Integration").

Run: python examples/numpy_integration.py
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

import hexz


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        # Input: a 100 x 100 float32 matrix stored as raw bytes, plus an array dataset.
        matrix = np.random.default_rng(0).standard_normal((100, 100)).astype(np.float32)
        with hexz.Writer("data.hxz") as w:
            w.add_bytes(matrix.tobytes(), "matrix.f32")
            w.add_array(np.arange(60, dtype=np.int16).reshape(5, 3, 4), "cube")

        reader = hexz.open("data.hxz")

        # Zero-copy read into NumPy array
        array = hexz.read_array(reader, offset=0, shape=(100, 100), dtype=np.float32)

        assert np.array_equal(array, matrix)
        print(f"read_array -> {array.dtype} {array.shape}, owns its data: {array.flags.owndata}")

        # Two reads inside one cached block share the cache's memory: no copies.
        a = hexz.read_array(reader, offset=0, shape=(10,), dtype=np.float32)
        b = hexz.read_array(reader, offset=16, shape=(10,), dtype=np.float32)
        print(
            f"two small reads share memory: {np.shares_memory(a, b)}; "
            f"read-only cache view: {not a.flags.writeable}"
        )

        # Arrays written with add_array come back by name, with dtype and shape.
        cube = hexz.load_array(reader, "cube")
        print(f"load_array('cube') -> {cube.dtype} {cube.shape}; cube[1, 2] = {cube[1, 2]}")


if __name__ == "__main__":
    main()
