#!/usr/bin/env python3
"""`hexz serve` under slow and idle clients, on loopback only (docs/benchmarks.md, "hexz serve
under slow and idle clients").

Starts `hexz serve` on a packed archive of incompressible data, then alternates two phases:
`wrk` sending Range requests (64 KiB at random offsets) alone, and the same `wrk` run while
BAD bad connections stay open: a third that ask for the whole archive and never read
(4 KiB receive buffer), a third that connect and send nothing, a third that send an endless
header one byte a second. A bad connection the server closes (its timeouts) is opened again at
once, as an attacker would, so BAD are open throughout. Requests/s and p99 latency are medians
over ROUNDS rounds; the raw wrk output of every run is kept.

    python3 benchmarks/serve_soak.py [--hexz PATH] [--bad 500] [--duration 20] [--rounds 3]

Writes benchmarks/runs/<YYYY-MM-DD-HHMM>-serve-soak/results.json; with ``--record`` also
regenerates its section of docs/benchmarks.md (serve_soak_report.py). Standard library and wrk
only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import first_line, machine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RANGE = 64 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, limit: float = 30.0) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if proc.poll() is not None:
            sys.exit(f"hexz serve exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"hexz serve is not listening on port {port} after {limit} s")


class BadClients:
    """Keeps `n` bad connections open, reopening each one the server closes."""

    KINDS = ("stalled", "idle", "slow-header")

    def __init__(self, port: int, n: int, path: str):
        self.port, self.n, self.path = port, n, path
        self.stop = threading.Event()
        self.reopened = {k: 0 for k in self.KINDS}
        self.open_samples: list[int] = []
        self.failed_connects = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _connect(self, kind: str) -> socket.socket | None:
        s = socket.socket()
        if kind == "stalled":
            # Set before connecting: a small window, so the server's writes stall soon.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            s.connect(("127.0.0.1", self.port))
            if kind == "stalled":
                s.sendall(f"GET /{self.path} HTTP/1.1\r\nHost: soak\r\n\r\n".encode())
            elif kind == "slow-header":
                s.sendall(f"GET /{self.path} HTTP/1.1\r\nHost: soak\r\n".encode())
        except OSError:
            s.close()
            self.failed_connects += 1
            return None
        s.setblocking(False)
        return s

    def start(self) -> None:
        self.thread.start()
        # Wait until all are open.
        end = time.monotonic() + 30
        while time.monotonic() < end and (not self.open_samples or self.open_samples[-1] < self.n):
            time.sleep(0.1)

    def _run(self) -> None:
        poll = select.poll()
        socks: dict[int, tuple[socket.socket, str]] = {}
        # POLLRDHUP without POLLIN: a close is noticed, unread data is not (stalled ones keep it).
        events = select.POLLRDHUP | select.POLLHUP | select.POLLERR

        def open_one(kind: str) -> None:
            s = self._connect(kind)
            if s is not None:
                socks[s.fileno()] = (s, kind)
                poll.register(s, events | (select.POLLIN if kind != "stalled" else 0))

        for i in range(self.n):
            open_one(self.KINDS[i % 3])
        next_byte = time.monotonic() + 1
        while not self.stop.is_set():
            for fd, _ in poll.poll(100):
                s, kind = socks.pop(fd)
                poll.unregister(fd)
                s.close()
                self.reopened[kind] += 1
            while len(socks) < self.n and not self.stop.is_set():
                counts = {k: 0 for k in self.KINDS}
                for _, k in socks.values():
                    counts[k] += 1
                kind = min(self.KINDS, key=lambda k: counts[k])
                before = len(socks)
                open_one(kind)
                if len(socks) == before:
                    time.sleep(0.05)
                    break
            if time.monotonic() >= next_byte:
                next_byte += 1
                for s, kind in list(socks.values()):
                    if kind == "slow-header":
                        try:
                            s.send(b"X")
                        except OSError:
                            pass
            self.open_samples.append(len(socks))
        for s, _ in socks.values():
            s.close()

    def finish(self) -> dict:
        self.stop.set()
        self.thread.join()
        return {
            "open_min": min(self.open_samples, default=0),
            "open_median": statistics.median(self.open_samples) if self.open_samples else 0,
            "reopened_after_server_close": self.reopened,
            "failed_connects": self.failed_connects,
        }


def to_ms(v: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", v)
    if not m:
        raise ValueError(v)
    return float(m[1]) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[m[2]]


def parse_wrk(out: str) -> dict:
    r: dict = {"raw": out}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    r["requests_s"] = float(m[1]) if m else None
    for p in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{p}%\s+(\S+)", out, re.M)
        r[f"p{p}_ms"] = to_ms(m[1]) if m else None
    m = re.search(r"(\d+) requests in", out)
    r["requests"] = int(m[1]) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non_2xx"] = int(m[1]) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r["socket_errors"] = (
        dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups()), strict=False))
        if m
        else {}
    )
    return r


def run_wrk(url: str, script: Path, args) -> dict:
    cmd = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return parse_wrk(out) | {"command": " ".join(cmd)}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--hexz",
        default=str(Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release/hexz"),
    )
    ap.add_argument("--bad", type=int, default=500, help="bad connections kept open (default 500)")
    ap.add_argument("--duration", type=int, default=20, help="seconds per wrk run (default 20)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of (alone, with bad clients)")
    ap.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument("--size-mib", type=int, default=256, help="archive payload in MiB")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/runs"))
    ap.add_argument(
        "--record",
        action="store_true",
        help="regenerate the docs/benchmarks.md section from this run",
    )
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk not found: install it (Debian: apt-get install wrk)")
    if not Path(args.hexz).is_file():
        sys.exit(
            f"{args.hexz} not found: build it (cargo build --release -p hexz-cli) or pass --hexz"
        )
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    started = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "src")
        src.mkdir()
        with open(src / "noise.bin", "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1 << 20))
        archive = Path(tmp, "soak.hxz")
        subprocess.run([args.hexz, "pack", "-q", str(src), str(archive)], check=True)
        size = archive.stat().st_size
        script = Path(tmp, "range.lua")
        script.write_text(
            f"""math.randomseed(os.time())
request = function()
  local a = math.random(0, {size - RANGE})
  return wrk.format("GET", "/soak.hxz", {{["Range"] = "bytes=" .. a .. "-" .. (a + {RANGE - 1})}})
end
"""
        )
        port = free_port()
        serve_cmd = [args.hexz, "serve", "-q", "--bind", f"127.0.0.1:{port}", str(archive)]
        server = subprocess.Popen(
            serve_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        try:
            wait_listening(port, server)
            url = f"http://127.0.0.1:{port}/soak.hxz"
            run_wrk(url, script, argparse.Namespace(**{**vars(args), "duration": 3}))  # warm-up
            rounds = []
            for i in range(args.rounds):
                alone = run_wrk(url, script, args)
                print(
                    f"round {i + 1}: alone {alone['requests_s']:.0f} req/s,"
                    f" p99 {alone['p99_ms']} ms",
                    flush=True,
                )
                bad = BadClients(port, args.bad, "soak.hxz")
                bad.start()
                time.sleep(2)
                with_bad = run_wrk(url, script, args)
                with_bad["bad_clients"] = bad.finish()
                print(
                    f"round {i + 1}: with {args.bad} bad {with_bad['requests_s']:.0f} req/s, "
                    f"p99 {with_bad['p99_ms']} ms,"
                    f" bad open >= {with_bad['bad_clients']['open_min']}",
                    flush=True,
                )
                rounds.append({"alone": alone, "with_bad": with_bad})
        finally:
            server.terminate()
            try:
                _, err = server.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                _, err = server.communicate()

    def med(phase: str, key: str) -> float:
        return statistics.median(r[phase][key] for r in rounds)

    summary = {
        phase: {
            "requests_s": med(phase, "requests_s"),
            "p50_ms": med(phase, "p50_ms"),
            "p99_ms": med(phase, "p99_ms"),
            "non_2xx": sum(r[phase]["non_2xx"] for r in rounds),
            "socket_errors": sum(sum(r[phase]["socket_errors"].values()) for r in rounds),
        }
        for phase in ("alone", "with_bad")
    }
    summary["goal_p99_ms"] = 50
    summary["goal_met"] = summary["with_bad"]["p99_ms"] < 50 and summary["with_bad"]["non_2xx"] == 0
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    result = {
        "name": "serve-soak",
        "started": started.isoformat(),
        "command": " ".join([sys.executable, *sys.argv]),
        "machine": machine(),
        "load_avg": os.getloadavg(),
        "versions": {
            "python": sys.version.split()[0],
            "hexz": f"{first_line([args.hexz, '--version'])} (commit {commit})",
            "wrk": first_line(["wrk", "-v"]),
        },
        "server": " ".join(serve_cmd[:-1] + ["soak.hxz"]),
        "server_stderr": err[-4000:],
        "archive_bytes": size,
        "range_bytes": RANGE,
        "bad": args.bad,
        "bad_kinds": list(BadClients.KINDS),
        "summary": summary,
        "rounds": rounds,
    }
    out = Path(args.out, started.strftime("%Y-%m-%d-%H%M") + "-serve-soak")
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    print(f"wrote {out / 'results.json'}")
    if args.record:
        import serve_soak_report

        serve_soak_report.update_docs()


if __name__ == "__main__":
    main()
