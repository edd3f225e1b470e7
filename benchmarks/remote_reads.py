"""Items 1-4 of the remote-archive benchmark (``remote_bench.py``): timed client commands
(``run_timed``: wall and the child's CPU time), Python stages run in a fresh process of
remote_bench.py (``run_stage``; the boto3 download and the cold ``hexz.open`` stages it runs),
the whole archive read by ``hexz cat``, curl and boto3 over each server (``bench_reads``, with
nginx's access log analysed), the first 4 KiB of a cold open (``bench_ttfb``) and one download
from stock moto (``bench_stock``).
"""

# Docstrings, section rules and log lines keep their long lines.
# ruff: noqa: E501

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from remote_config import (
    AWS_ENV,
    BUCKET,
    DATA,
    HEXZ,
    HEXZ_PY,
    LATENCY_MS,
    ROOT,
    RUNS,
    SCRIPT,
    TTFB_RUNS,
    log,
)
from remote_data import s3_client
from remote_servers import Server

# --- timed runs ----------------------------------------------------------------------------


def run_timed(cmd: list, env: dict | None = None, stdout=subprocess.DEVNULL) -> dict:
    """Runs ``cmd``; wall time and the child's own CPU time (wait4)."""
    errf = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    p = subprocess.Popen(
        [str(c) for c in cmd],
        stdout=stdout,
        stderr=errf,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    errf.seek(0)
    err = errf.read().decode(errors="replace")
    if p.returncode != 0:
        raise RuntimeError(f"{cmd} exited {p.returncode}: {err[-1500:]}")
    return {"s": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss": ru.ru_maxrss * 1024}


def count_stdout(cmd: list, env: dict | None = None) -> int:
    """Bytes ``cmd`` writes to stdout (to check a client got everything)."""
    p = subprocess.Popen(
        [str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    n = 0
    while True:
        b = p.stdout.read(1 << 20)
        if not b:
            break
        n += len(b)
    err = p.stderr.read().decode(errors="replace")
    if p.wait() != 0:
        raise RuntimeError(f"{cmd} exited {p.returncode}: {err[-1500:]}")
    return n


def run_stage(kind: str, cfg: dict, timeout: float | None = None) -> dict:
    """Runs one Python stage (boto3 download, Python open, DataLoader epochs) in a fresh
    process of this venv; returns its RESULT."""
    env = {**os.environ, **AWS_ENV}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(HEXZ_PY), str(ROOT / "benchmarks"), env.get("PYTHONPATH")])
    )
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--stage",
        kind,
        json.dumps(cfg),
    ]
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        err += f"\ntimed out after {timeout:.0f} s (killed)"
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    lines = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        msg = (err.strip().splitlines() or ["(no output)"])[-1]
        sys.stderr.write(err[-3000:])
        raise RuntimeError(f"stage {kind} failed (exit {proc.returncode}): {msg}")
    return json.loads(lines[-1][len("RESULT ") :])


class NullSink:
    def write(self, b) -> int:
        return len(b)


def stage_boto3(cfg: dict) -> dict:
    import resource

    import boto3  # noqa: F401  (imported before the clock starts)

    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    s3 = s3_client(cfg["endpoint"])
    if cfg["mode"] == "file":
        s3.download_file(BUCKET, cfg["key"], cfg["dest"])
        n = os.path.getsize(cfg["dest"])
    else:
        sink = NullSink()
        counted = [0]

        def cb(k: int) -> None:
            counted[0] += k

        s3.download_fileobj(BUCKET, cfg["key"], sink, Callback=cb)
        n = counted[0]
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    if cfg["mode"] == "file":
        os.unlink(cfg["dest"])
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return {"s": dt, "cpu": cpu, "bytes": n, "rss": r1.ru_maxrss * 1024}


def stage_py_open(cfg: dict) -> dict:
    """Fresh ``hexz.open(url)`` + ``read_at(0, 4096)``, ``n`` times; requests counted in the
    server's log between opens."""
    import hexz

    req_re = re.compile(cfg["req_re"])

    def count() -> int:
        with open(cfg["log"], "rb") as f:
            return sum(1 for ln in f if req_re.search(ln.decode("utf-8", "replace")))

    kw = {"endpoint": cfg["endpoint"]} if cfg.get("endpoint") else {}
    out = []
    for _ in range(cfg["n"]):
        before = count()
        t0 = time.perf_counter()
        r = hexz.open(cfg["url"], **kw)
        b = r.read_at(0, 4096)
        dt = time.perf_counter() - t0
        assert len(b) == 4096
        r.close() if hasattr(r, "close") else None
        del r
        time.sleep(0.1)
        out.append({"s": dt, "requests": count() - before})
    return {"runs": out}


# --- items 1, 2, 4: whole archive --------------------------------------------------------


def median(xs: list) -> float:
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def bench_reads(arch: Path, meta: dict, srv: dict, tmp: Path) -> dict:
    env = {**os.environ, **AWS_ENV}
    name = arch.name
    ng, sv, mo, p20, p0 = (
        srv["nginx"],
        srv["serve"],
        srv["moto"],
        srv["proxy"],
        srv["proxy0"],
    )
    url = {
        k: f"http://127.0.0.1:{s.port}/{name}"
        for k, s in (("nginx", ng), ("serve", sv), ("proxy", p20), ("proxy0", p0))
    }
    s3url = f"s3://{BUCKET}/{name}"
    endpoint = f"http://127.0.0.1:{mo.port}"
    dest = Path("/dev/shm") if Path("/dev/shm").is_dir() else tmp
    cases = [
        # (id, server, client, peer-of, command or stage)
        ("local-hexz", "none (local file)", "hexz cat FILE", None, [HEXZ, "cat", arch]),
        (
            "nginx-curl",
            "nginx",
            "curl",
            None,
            ["curl", "-s", url["nginx"], "-o", "/dev/null"],
        ),
        ("nginx-hexz", "nginx", "hexz cat", "nginx-curl", [HEXZ, "cat", url["nginx"]]),
        (
            "serve-curl",
            "hexz serve",
            "curl",
            None,
            ["curl", "-s", url["serve"], "-o", "/dev/null"],
        ),
        (
            "serve-hexz",
            "hexz serve",
            "hexz cat",
            "serve-curl",
            [HEXZ, "cat", url["serve"]],
        ),
        (
            "moto-boto3",
            "moto (S3)",
            "boto3 download_file (to /dev/shm)",
            None,
            {"mode": "file"},
        ),
        (
            "moto-boto3-null",
            "moto (S3)",
            "boto3 download_fileobj (bytes dropped)",
            None,
            {"mode": "null"},
        ),
        (
            "moto-hexz",
            "moto (S3)",
            "hexz cat",
            "moto-boto3",
            [HEXZ, "cat", "--endpoint-url", endpoint, s3url],
        ),
        (
            "proxy-hexz",
            f"nginx + {LATENCY_MS} ms proxy",
            "hexz cat",
            None,
            [HEXZ, "cat", url["proxy"]],
        ),
        (
            "proxy-curl",
            f"nginx + {LATENCY_MS} ms proxy",
            "curl",
            None,
            ["curl", "-s", url["proxy"], "-o", "/dev/null"],
        ),
        (
            "proxy0-hexz",
            "nginx + 0 ms proxy",
            "hexz cat",
            None,
            [HEXZ, "cat", url["proxy0"]],
        ),
        (
            "proxy0-curl",
            "nginx + 0 ms proxy",
            "curl",
            None,
            ["curl", "-s", url["proxy0"], "-o", "/dev/null"],
        ),
    ]
    server_of = {"nginx": ng, "hexz serve": sv, "moto (S3)": mo}

    def one(case, check: bool) -> dict:
        cid, server, client, _, how = case
        s = server_of.get(server) or (ng if server.startswith("nginx +") else None)
        req0 = s.requests() if s else 0
        cpu0 = {k: v.cpu() for k, v in srv.items()}
        if isinstance(how, dict):
            r = run_stage(
                "boto3",
                {
                    **how,
                    "endpoint": endpoint,
                    "key": name,
                    "dest": str(dest / f"hexz-bench-{os.getpid()}.dl"),
                },
            )
            if check and r["bytes"] != meta["bytes"]:
                raise RuntimeError(f"{cid}: got {r['bytes']} bytes, want {meta['bytes']}")
        elif check:
            want = meta["logical"] if "hexz" in cid else meta["bytes"]
            n = count_stdout([*how[:-2], "-o", "-"] if "curl" in cid else how, env=env)
            if n != want:
                raise RuntimeError(f"{cid}: got {n} bytes, want {want}")
            r = {"s": float("nan"), "cpu": float("nan")}
        else:
            r = run_timed(how, env=env)
        time.sleep(0.05)  # let the servers write their log lines
        r["requests"] = (s.requests() - req0) if s else 0
        r["server_cpu"] = {k: v.cpu() - cpu0[k] for k, v in srv.items()}
        return r

    log("warm-up round (checks every client's byte count)")
    for case in cases:
        one(case, check=True)
    # One nginx-logged hexz read, for the request analysis.
    ng_lines0 = len(ng.log_lines())
    runs = {c[0]: [] for c in cases}
    for rnd in range(RUNS):
        for case in cases:
            if case[0] == "nginx-hexz" and rnd == 0:
                ng_lines0 = len(ng.log_lines())
            r = one(case, check=False)
            if case[0] == "nginx-hexz" and rnd == 0:
                ng_run = ng.log_lines()[ng_lines0:]
            runs[case[0]].append(r)
        log(
            f"round {rnd + 1}/{RUNS}: "
            + ", ".join(f"{c[0]} {runs[c[0]][-1]['s']:.2f} s" for c in cases)
            + f" (load {os.getloadavg()[0]:.1f})"
        )
    rows = []
    for cid, server, client, peer, _ in cases:
        rs = runs[cid]
        ts = [r["s"] for r in rs]
        rows.append(
            {
                "id": cid,
                "server": server,
                "client": client,
                "peer": peer,
                "times": ts,
                "median_s": median(ts),
                "cpu_s": median([r["cpu"] for r in rs]),
                "requests": median([r["requests"] for r in rs]),
                "server_cpu_s": {k: median([r["server_cpu"][k] for r in rs]) for k in srv},
            }
        )
    return {"rows": rows, "nginx_log": analyse_nginx(ng_run, meta["bytes"])}


def analyse_nginx(lines: list, object_bytes: int) -> dict:
    """Requests, bytes, connections and re-fetched bytes of one hexz read, from nginx's log."""
    pat = re.compile(r'(\S+) (\d+) (\d+) "(\S+) (\S+) [^"]*" (\d+) (\d+) "([^"]*)" (\S+)')
    reqs = []
    for ln in lines:
        m = pat.match(ln)
        if not m:
            continue
        _, conn, _, _, _, status, sent, rng, _ = m.groups()
        a = b = None
        mm = re.match(r"bytes=(\d*)-(\d*)$", rng)
        if mm and mm.group(1):
            a, b = int(mm.group(1)), int(mm.group(2)) + 1
        elif mm:
            a, b = object_bytes - int(mm.group(2)), object_bytes
        reqs.append(
            {
                "conn": int(conn),
                "status": int(status),
                "bytes": int(sent),
                "range": (a, b),
            }
        )
    ivs = sorted(r["range"] for r in reqs if r["range"][0] is not None)
    unique = 0
    end = 0
    for a, b in ivs:
        if b > end:
            unique += b - max(a, end)
            end = b
    # Bytes fetched again within 60 requests of their first fetch (overlap between nearby
    # requests, i.e. not explained by a cache that is too small).
    near = 0
    order = [r["range"] for r in reqs if r["range"][0] is not None]
    for j, (a, b) in enumerate(order):
        for x, y in order[max(0, j - 60) : j]:
            near += max(0, min(b, y) - max(a, x))
    sizes = sorted(r["bytes"] for r in reqs)
    return {
        "requests": len(reqs),
        "bytes": sum(r["bytes"] for r in reqs),
        "unique_bytes": unique,
        "near_refetch_bytes": near,
        "connections": len({r["conn"] for r in reqs}),
        "median_request": sizes[len(sizes) // 2] if sizes else 0,
        "max_request": sizes[-1] if sizes else 0,
        "statuses": sorted({r["status"] for r in reqs}),
    }


# --- item 3: first 4 KiB -------------------------------------------------------------------


def bench_ttfb(arch: Path, srv: dict, stock: Server | None) -> list:
    env = {**os.environ, **AWS_ENV}
    name = arch.name
    targets = [
        (
            "nginx",
            srv["nginx"],
            f"http://127.0.0.1:{srv['nginx'].port}/{name}",
            None,
            srv["nginx"],
        ),
        (
            "hexz serve",
            srv["serve"],
            f"http://127.0.0.1:{srv['serve'].port}/{name}",
            None,
            srv["serve"],
        ),
        (
            "moto (S3)",
            srv["moto"],
            f"s3://{BUCKET}/{name}",
            f"http://127.0.0.1:{srv['moto'].port}",
            srv["moto"],
        ),
        (
            f"nginx + {LATENCY_MS} ms proxy",
            srv["proxy"],
            f"http://127.0.0.1:{srv['proxy'].port}/{name}",
            None,
            srv["nginx"],
        ),
    ]
    if stock is not None:
        targets.append(
            (
                "stock moto (S3)",
                stock,
                f"s3://{BUCKET}/{name}",
                f"http://127.0.0.1:{stock.port}",
                stock,
            )
        )
    rows = []
    for label, _srv, url, endpoint, logsrv in targets:
        n = TTFB_RUNS if not label.startswith("stock") else min(TTFB_RUNS, 3)
        cli = [
            HEXZ,
            "cat",
            "--length",
            "4K",
            *(["--endpoint-url", endpoint] if endpoint else []),
            url,
        ]
        plain = url if not endpoint else f"{endpoint}/{BUCKET}/{name}"
        curl = ["curl", "-s", "-r", "0-4095", plain, "-o", "/dev/null"]
        res = {"cli": [], "curl": []}
        for _ in range(n):
            for kind, cmd in (("cli", cli), ("curl", curl)):
                before = logsrv.requests()
                r = run_timed(cmd, env=env)
                time.sleep(0.1)
                r["requests"] = logsrv.requests() - before
                res[kind].append(r)
        py = run_stage(
            "py_open",
            {
                "url": url,
                "endpoint": endpoint,
                "n": n,
                "log": str(logsrv.log),
                "req_re": logsrv.req_re.pattern,
            },
            timeout=600,
        )["runs"]
        for kind, rs, client in (
            ("cli", res["cli"], "`hexz cat --length 4K` (fresh process)"),
            (
                "py",
                py,
                "`hexz.open(url)` + `read_at(0, 4096)` (fresh open, warm interpreter)",
            ),
            ("curl", res["curl"], "`curl -r 0-4095` (fresh process; reference)"),
        ):
            rows.append(
                {
                    "server": label,
                    "client": client,
                    "kind": kind,
                    "runs": len(rs),
                    "median_ms": median([r["s"] for r in rs]) * 1e3,
                    "min_ms": min(r["s"] for r in rs) * 1e3,
                    "max_ms": max(r["s"] for r in rs) * 1e3,
                    "requests": median([r["requests"] for r in rs]),
                }
            )
        log(
            f"first 4 KiB via {label}: "
            + ", ".join(
                f"{r['kind']} {r['median_ms']:.1f} ms / {r['requests']:.0f} req" for r in rows[-3:]
            )
        )
    return rows


def bench_stock(arch: Path, stock: Server) -> dict:
    """One boto3 download_file from stock moto (no range patch), for scale."""
    dest = Path("/dev/shm") if Path("/dev/shm").is_dir() else DATA
    endpoint = f"http://127.0.0.1:{stock.port}"
    before = stock.requests()
    r = run_stage(
        "boto3",
        {
            "mode": "file",
            "endpoint": endpoint,
            "key": arch.name,
            "dest": str(dest / f"hexz-bench-{os.getpid()}.stock"),
        },
        timeout=1800,
    )
    time.sleep(0.1)
    r["requests"] = stock.requests() - before
    log(f"stock moto: boto3 download_file {r['s']:.1f} s ({r['requests']} requests)")
    return r
