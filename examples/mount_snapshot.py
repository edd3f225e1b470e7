"""Mounting snapshots: a read-only FUSE file system (seed README, "Mounting Snapshots").

Creates a small snapshot of a fake disk image in a temporary directory, mounts it with
``hexz.mount`` and reads ``mp.path / "disk"`` with plain file I/O, as any program could; then
mounts a directory snapshot on a mountpoint of its own. Needs Linux, /dev/fuse and root (or
``fusermount3``). Run: sudo python examples/mount_snapshot.py
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile

import hexz


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # Input: a 2 MiB "disk image" with a recognisable header, as the raw stream `disk`.
        disk = os.path.join(tmp, "disk.raw")
        payload = b"HEXZDISK" + bytes(range(256)) * 8192
        with open(disk, "wb") as f:
            f.write(payload)
        path = os.path.join(tmp, "snapshot.hxz")
        with hexz.Writer(path) as w:
            w.add_stream(disk)  # the stream `disk` of a disk image

        # Mount as a read-only filesystem (requires FUSE)
        with hexz.mount(path) as mp:
            print(f"Mounted at {mp.path}")
            # Access files in mp.path/disk
            image = mp.path / "disk"
            print(f"{image}: {image.stat().st_size} bytes")
            with open(image, "rb") as f:
                print(f"header: {f.read(8)!r}")
            # Other processes see the files too.
            out = subprocess.run(["sha256sum", str(image)], capture_output=True, text=True)
            assert out.stdout.split()[0] == hashlib.sha256(payload).hexdigest()
            print(f"sha256sum: {out.stdout.split()[0]}")
        # Unmounted on leaving the block (also when it raises); the temporary mountpoint is gone.
        assert not mp.path.exists()

        # A directory snapshot, on a mountpoint of our own (an existing, empty directory).
        src = os.path.join(tmp, "project")
        os.makedirs(os.path.join(src, "docs"))
        for name, text in (("README.md", "# project\n"), ("docs/guide.txt", "step 1\n")):
            with open(os.path.join(src, name), "w") as f:
                f.write(text)
        tree = os.path.join(tmp, "project.hxz")
        with hexz.Writer(tree) as w:
            w.add_dir(src)
        mnt = os.path.join(tmp, "mnt")
        os.mkdir(mnt)
        with hexz.mount(tree, mnt) as mp:
            for dirpath, _dirs, files in os.walk(mp.path):
                for name in sorted(files):
                    full = os.path.join(dirpath, name)
                    print(f"{os.path.relpath(full, mp.path)}: {os.path.getsize(full)} bytes")
        assert os.listdir(mnt) == []


if __name__ == "__main__":
    main()
