"""Reading snapshots: the file-like Reader (seed README, "Reading Snapshots").

Creates a small snapshot of a fake disk image in a temporary directory, then reads it back
as the README shows: whole, by range, and with seek/read. Run: python examples/reading_snapshots.py
"""

from __future__ import annotations

import os
import tempfile

import hexz


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # Input: a 1 MiB "disk image" with a recognisable header, packed into a snapshot.
        disk = os.path.join(tmp, "disk.raw")
        payload = b"HEXZDISK" + bytes(range(256)) * 4096
        with open(disk, "wb") as f:
            f.write(payload)
        path = os.path.join(tmp, "snapshot.hxz")
        with hexz.Writer(path, compression="lz4") as w:
            w.add_file(disk)

        # Open a snapshot
        reader = hexz.open(path)

        # Read entire file
        data = reader.read()

        # Read specific range
        chunk = reader.read_at(offset=1024, length=512)

        # File-like seek/read
        reader.seek(0)
        header = reader.read(100)

        assert bytes(data) == payload
        assert bytes(chunk) == payload[1024:1536]
        print(f"snapshot: {len(reader)} bytes, entries {reader.namelist()}")
        print(f"read() -> {len(data)} bytes; read_at(1024, 512) -> {len(chunk)} bytes")
        print(f"header: {bytes(header[:8])!r}")

        # Results are memoryviews (zero-copy for ranges inside one cached block).
        entry = reader.open("disk.raw")  # a file-like view of one entry
        entry.seek(-16, os.SEEK_END)
        print(f"last 16 bytes of disk.raw: {bytes(entry.read()).hex()}")
        reader.close()


if __name__ == "__main__":
    main()
