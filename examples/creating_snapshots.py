"""Creating snapshots from Python (seed README, "Creating Snapshots").

Writes archives from a file, from bytes, from a directory tree and from NumPy arrays, with
metadata. Nothing appears at the output path until the writer finishes (atomic rename).
Run: python examples/creating_snapshots.py
"""

from __future__ import annotations

import os
import tempfile

import hexz


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        with open("source_disk.raw", "wb") as f:  # input: a 4 MiB "disk image"
            f.write(bytes(1 << 20) + os.urandom(1 << 20) + b"abc" * (2 << 20 // 3))

        # From a file
        with hexz.open("output.hxz", mode="w", compression="lz4") as w:
            w.add("source_disk.raw")

        # Or use Writer directly
        with hexz.Writer("output.hxz", compression="lz4") as w:
            w.add_file("source_disk.raw")
            w.add_bytes(b"additional data")
        print(f"output.hxz: {os.path.getsize('output.hxz')} bytes, report {w.report}")
        print("entries:", hexz.open("output.hxz").namelist())

        # A directory tree, with zstd and user metadata.
        os.makedirs("tree/sub")
        for i in range(10):
            with open(f"tree/sub/file{i}.txt", "w") as f:
                f.write(f"file {i}\n" * (i + 1))
        with hexz.Writer("tree.hxz", compression="zstd", level=9, block_size=16384) as w:
            w.add("tree")
            w.add_metadata({"source": "example", "files": 10})
        r = hexz.open("tree.hxz")
        print(f"tree.hxz: {len(r.namelist())} files, metadata {r.metadata}")
        print(bytes(r.open("sub/file2.txt").read()).decode(), end="")

        # NumPy arrays become datasets (one record per row, dtype and shape recorded).
        try:
            import numpy as np
        except ImportError:
            print("(NumPy not installed: skipping add_array)")
            return
        with hexz.Writer("arrays.hxz") as w:
            w.add_array(np.random.default_rng(0).standard_normal((1000, 32)), "features")
            w.add_array(np.arange(1000) % 10, "labels")
        feats = hexz.load_array(hexz.open("arrays.hxz"), "features")
        print(f"arrays.hxz: features {feats.dtype} {feats.shape}")


if __name__ == "__main__":
    main()
