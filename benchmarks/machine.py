"""What the benchmark scripts say about the machine and the tools they ran (standard library)."""

from __future__ import annotations

import os
import subprocess


def machine() -> str:
    """CPU count and model, RAM and kernel: e.g. ``2 vCPUs (Xeon), 24 GiB RAM, Linux 6.18``."""
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 2**20
    return f"{os.cpu_count()} vCPUs ({model}), {mem:.0f} GiB RAM, Linux {os.uname().release}"


def first_line(cmd: list[str]) -> str:
    """The first line a command prints (its version, say), or ``?``."""
    try:
        r = subprocess.run(cmd, check=False, capture_output=True, text=True)
        return (r.stdout or r.stderr).strip().splitlines()[0]
    except (OSError, IndexError):
        return "?"
