"""What the FUSE benchmark reads from /proc: mounts, their file system types, the daemon
serving a mount and its CPU time, and the page cache it drops. Linux only."""

from __future__ import annotations

import os
from pathlib import Path


def mounts_under(prefix: Path) -> list[tuple[str, str]]:
    """(mountpoint, fstype) of every mount below PREFIX, in mount order, from
    /proc/self/mountinfo (field 5 with octal escapes; the type follows the "-")."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            mp = parts[4].encode().decode("unicode_escape")
            if mp.startswith(str(prefix) + "/"):
                out.append((mp, parts[parts.index("-") + 1]))
    return out


def daemon_pid(mp: str) -> int | None:
    """The FUSE daemon serving MP: the process whose command line names it."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if (
            mp.encode() in args
            and args[0]
            and Path(args[0].decode()).name.startswith(("hexz", "squashfuse"))
        ):
            return int(d)
    return None


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of PID so far (NaN when it is gone or unknown)."""
    if pid is None:
        return float("nan")
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


def drop_caches() -> None:
    """Writes dirty pages back, then drops the page cache, dentries and inodes (root only)."""
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")
