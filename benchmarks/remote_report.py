"""The report of the remote-archive benchmark (``remote_bench.py``): the versions of everything
involved, the Markdown of a run (``bench-out/remote.md``: the archive, the tables of items 1-5
and the goals met or missed) and ``record``, which appends it to docs/benchmarks.md under
``DOC_HEADING``.
"""

# The report's Markdown sentences keep their long lines.
# ruff: noqa: E501

from __future__ import annotations

import platform
import subprocess

import measure
import runs
from machine import machine
from remote_config import (
    DOC_HEADING,
    ENV_VARS,
    HEXZ,
    LATENCY_MS,
    MOTO_SERVER,
    NGINX,
    ROOT,
    RUNS,
    S3S_FS,
    TTFB_RUNS,
    mib,
)
from remote_servers import s3_fs_version

# --- report --------------------------------------------------------------------------------


def versions() -> dict:
    from importlib.metadata import version

    def sh(cmd: list) -> str:
        try:
            p = subprocess.run(cmd, capture_output=True, text=True)
            return (p.stdout + p.stderr).strip()
        except OSError:
            return "?"

    v = {"python": platform.python_version()}
    try:
        import hexz

        v["hexz"] = hexz.__version__
    except Exception:
        v["hexz"] = sh([str(HEXZ), "--version"]).split()[-1]
    head = sh(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = sh(["git", "-C", str(ROOT), "status", "--porcelain", "--", "crates"])
    v["hexz"] += f" (commit {head}{', crates/ modified' if dirty else ''})"
    v["nginx"] = sh([str(NGINX), "-v"]).split("/")[-1]
    v["curl"] = sh(["curl", "--version"]).split()[1]
    v["moto"] = sh(
        [
            str(MOTO_SERVER.parent / "python"),
            "-c",
            "import moto; print(moto.__version__)",
        ]
    )
    if S3S_FS.exists():
        v["s3s-fs"] = s3_fs_version().split()[-1]
    for pkg in ("boto3", "torch", "mosaicml-streaming", "litdata"):
        try:
            v[pkg] = version(pkg)
        except Exception:
            v[pkg] = "?"
    return v


def fmt_s(x: float) -> str:
    return "–" if x != x else f"{x:.2f}"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def archive_lines(meta: dict, a) -> None:
    a(
        f"- Archive: {meta['bytes'] / 1e6:,.0f} MB ({meta['bytes']:,} bytes), LZ4, 64 KiB blocks,"
        f" logical stream {meta['logical'] / 1e9:.2f} GB ({meta['logical'] / meta['bytes']:.2f}x):"
        f" {meta['source']}." + (f" Blocks: {meta['blocks']}." if meta.get("blocks") else "")
    )


def loader_report(L: dict, a) -> None:
    """Item 5's table: DataLoader epochs from s3s-fs behind the latency proxy."""
    d = L["data"]
    a(
        f"#### DataLoader from S3 ({L.get('server', 's3s-fs')}, +{L['latency_ms']} ms per request),"
        " item 5"
    )
    a("")
    forms = ", ".join(f"{fmt} ({mib(size)} MiB)" for fmt, size in d["sizes"].items())
    a(
        f"Data: loader_bench.py's data set, {L['samples']:,} samples ({d['payload'] / 1e9:.2f} GB),"
        f" as {forms} in s3s-fs (hexz-raw: the same samples made incompressible, as in the local"
        " benchmark; webdataset: tar shards read through a `pipe:curl` per shard; files: one"
        f" object per sample, one GET each), read through hexz-faultproxy adding"
        f" {L['latency_ms']} ms to each request."
        " Two epochs per configuration in a fresh process; `-cache` rows give hexz `cache_dir=`"
        " (a fresh directory), the peers always have theirs."
    )
    a("")
    a(
        "| Configuration | nw | Epoch | Samples/s | First batch (s) | Requests | Fetched ÷ samples"
        " | CPU-s |"
        " Peak PSS (MiB) | Local disk (MiB) | Regions/batch | Each sample once |"
    )
    a("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in L["results"]:
        name = f"{r['fmt']}, {r['order']}, {r['variant']}"
        if "epochs" not in r:
            why = r.get("skipped") or r.get("error", "?")
            a(
                f"| {name} | {r['workers']} | |"
                f" {'skipped' if 'skipped' in r else 'failed'}: {why[:90]} |" + " |" * 8
            )
            continue
        for e in r["epochs"]:
            once = measure.describe_epoch(e["epoch_check"], e["capped"])
            cap = " (capped)" if e["capped"] else ""
            a(
                f"| {name} | {r['workers']} | {e['epoch']} | {e['samples_s']:,.0f}{cap}"
                f" | {e['first_batch_total_s']:.2f} | {e['requests']:,}"
                f" | {e['fetched_ratio'] or 0:.2f}"
                f" | {e['cpu_s']:.1f} | {mib(e['peak_pss'])}"
                f" | {e['local_bytes'] / 2**20:,.0f} | {e['regions_per_batch']:.1f} | {once} |"
            )
    a("")
    a(
        "Requests: all requests through the proxy during the epoch (its counters)."
        " Fetched ÷ samples: bytes"
        " the proxy sent down ÷ the samples' bytes. First batch: epoch 1 from creating the dataset."
    )
    a("")


def report(res: dict, meta: dict, ver: dict, started, elapsed: float, load) -> str:
    lines: list = []
    a = lines.append
    cmd = runs.command_line("make bench-remote", ENV_VARS)
    a(f"### Run of {started:%Y-%m-%d %H:%M} UTC")
    a("")
    a(f"- Command: `{cmd}` (script: `benchmarks/remote_bench.py`), {elapsed / 60:.0f} min in all.")
    a(f"- Machine: {machine()}; shared with other engineers' builds while this ran.")
    a(f"  Load average (1 min) {load[0][0]:.1f} at the start, {load[1][0]:.1f} at the end.")
    a("- Versions: " + ", ".join(f"{k} {v}" for k, v in ver.items()) + ".")
    if meta:
        archive_lines(meta, a)
        a(
            "- Servers on 127.0.0.1, each started by the script: nginx (`sendfile on`, one process), `hexz serve`,"
            " moto_server (S3; with the ranged-GET patch described below unless marked stock), and"
            f" `hexz-faultproxy --latency-ms {LATENCY_MS}` (and `--latency-ms 0`, the control) in front of nginx."
            " Page cache warm. Requests are counted in each server's own log."
        )
    a("")
    if "loader" in res:
        loader_report(res["loader"], a)
    if "read" in res:
        rows = {r["id"]: r for r in res["read"]["rows"]}
        a(f"#### Whole archive to /dev/null (items 1, 2, 4): medians of {RUNS} interleaved rounds")
        a("")
        a(
            "| Server | Client | Time (s) | range (s) | Archive MB/s | Logical MB/s | Client CPU (s) | Server CPU (s) | Requests | Peer time / hexz time |"
        )
        a("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        srv_key = {"nginx": "nginx", "hexz serve": "serve", "moto (S3)": "moto"}
        for r in res["read"]["rows"]:
            t = r["median_s"]
            hexz_row = "hexz" in r["client"]
            logical = f"{meta['logical'] / t / 1e6:,.0f}" if hexz_row else "–"
            ratio = "–"
            if r["peer"] and r["peer"] in rows:
                ratio = f"**{rows[r['peer']]['median_s'] / t:.2f}×**"
            if r["id"] == "moto-hexz" and "moto-boto3-null" in rows:
                ratio += f" ({rows['moto-boto3-null']['median_s'] / t:.2f}× vs fileobj)"
            sk = srv_key.get(r["server"]) or (
                "nginx" if r["server"].startswith("nginx +") else None
            )
            scpu = r["server_cpu_s"].get(sk, float("nan")) if sk else float("nan")
            if r["server"].startswith("nginx +"):
                pk = "proxy" if f"{LATENCY_MS} ms" in r["server"] else "proxy0"
                scpu_s = f"{scpu:.2f} + proxy {r['server_cpu_s'].get(pk, float('nan')):.2f}"
            else:
                scpu_s = fmt_s(scpu)
            a(
                f"| {r['server']} | {r['client']} | {t:.2f} | {min(r['times']):.2f}–{max(r['times']):.2f}"
                f" | {meta['bytes'] / t / 1e6:,.0f} | {logical} | {fmt_s(r['cpu_s'])} | {scpu_s}"
                f" | {r['requests']:,.0f} | {ratio} |"
            )
        a("")
        a(
            "Archive MB/s: the archive's bytes (what crosses the socket) per second; logical MB/s: the"
            " decompressed stream hexz writes. Client CPU: user + system of the client process (boto3: of"
            " the download only, measured in the process; its time also excludes starting Python and"
            " importing boto3). Server CPU: the server process's CPU during the run."
        )
        a("")
        nl = res["read"]["nginx_log"]
        a(
            f"One `hexz cat` over nginx, from nginx's access log: {nl['requests']:,} requests on"
            f" {nl['connections']} connections, median response {nl['median_request'] / 1e6:.2f} MB (largest"
            f" {nl['max_request'] / 1e6:.2f} MB), {nl['bytes'] / 1e6:,.0f} MB sent for a {meta['bytes'] / 1e6:,.0f} MB"
            f" object ({nl['bytes'] / meta['bytes']:.3f}×; {nl['unique_bytes'] / 1e6:,.0f} MB distinct;"
            f" {nl['near_refetch_bytes'] / 1e6:,.1f} MB fetched twice within 60 requests), statuses {nl['statuses']}."
        )
        a("")
        a("Goals:")
        a("")

        def goal(label, peer, hexz_id, target):
            if peer in rows and hexz_id in rows:
                x = rows[peer]["median_s"] / rows[hexz_id]["median_s"]
                a(
                    f"- {label} ≥ {target}× the peer: {verdict(x >= target)} — {x:.2f}×"
                    f" (hexz {rows[hexz_id]['median_s']:.2f} s, peer {rows[peer]['median_s']:.2f} s)"
                    + ("" if x >= target else f", {target / x:.2f}× short")
                    + "."
                )

        goal(
            "Loopback HTTP, nginx, `hexz cat` vs `curl`,",
            "nginx-curl",
            "nginx-hexz",
            0.8,
        )
        goal(
            "Loopback HTTP, `hexz serve`, `hexz cat` vs `curl`,",
            "serve-curl",
            "serve-hexz",
            0.8,
        )
        goal(
            "S3 (moto), `hexz cat` vs boto3 `download_file`,",
            "moto-boto3",
            "moto-hexz",
            1.0,
        )
        if "proxy-hexz" in rows and "nginx-hexz" in rows:
            x = rows["proxy-hexz"]["median_s"] / rows["nginx-hexz"]["median_s"]
            x0 = rows["proxy-hexz"]["median_s"] / rows["proxy0-hexz"]["median_s"]
            a(
                f"- With {LATENCY_MS} ms added per request, sequential throughput within 2× of no latency:"
                f" {verdict(x <= 2.0)} — {x:.2f}× the time of the direct nginx read"
                f" ({rows['proxy-hexz']['median_s']:.2f} s vs {rows['nginx-hexz']['median_s']:.2f} s);"
                f" {x0:.2f}× the time through the same proxy at 0 ms ({rows['proxy0-hexz']['median_s']:.2f} s),"
                " which separates the latency from the proxy's own cost."
            )
        a("")
    if "ttfb" in res:
        a(f"#### First 4 KiB, cold (item 3): medians of {TTFB_RUNS} runs (3 on stock moto)")
        a("")
        a("| Server | Client | Median (ms) | range (ms) | Requests |")
        a("|---|---|---:|---:|---:|")
        for r in res["ttfb"]:
            a(
                f"| {r['server']} | {r['client']} | {r['median_ms']:.1f} | {r['min_ms']:.1f}–{r['max_ms']:.1f}"
                f" | {r['requests']:.0f} |"
            )
        a("")
        a(
            "A fresh `hexz cat` includes starting the process (a few ms); the Python row times"
            " `hexz.open` + `read_at` only, each with a new store (new connections)."
        )
        a("")
    if "stock" in res:
        s = res["stock"]
        a(
            f"Stock moto (no range patch), for scale: boto3 `download_file` of the same object took {s['s']:.1f} s"
            f" ({meta['bytes'] / s['s'] / 1e6:,.0f} MB/s, {s['requests']} requests): each ranged GET reads and copies"
            " the whole object in moto, so any client's time there grows with its number of requests. Hexz,"
            " with ten times the requests, was not timed there."
        )
        a("")
    return "\n".join(lines) + "\n"


def record(md: str) -> None:
    """Adds this run to docs/benchmarks.md, at the end of the "Remote archives" section."""
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text()
    intro = (
        f"{DOC_HEADING}\n\n"
        "`make bench-remote` (`benchmarks/remote_bench.py`) reads a ~1 GB LZ4 archive over loopback HTTP\n"
        "(nginx, `hexz serve`) and S3 (moto_server), against `curl` and boto3 fetching the same bytes,\n"
        "times the first 4 KiB of a cold open, adds 20 ms per request with `hexz-faultproxy`, and feeds\n"
        "`torch.utils.data.DataLoader` from S3 against MosaicML Streaming and LitData. Goals:\n"
        "loopback HTTP at least 0.8x curl's speed with decompression included; S3 at least 1.0x boto3;\n"
        "with 20 ms of latency, sequential throughput within 2x of none. Each run is appended below.\n\n"
    )
    body = md.rstrip() + "\n"
    if DOC_HEADING not in text:
        text = text.rstrip() + "\n\n" + intro + body
    else:
        start = text.index(DOC_HEADING)
        nxt = text.find("\n## ", start + len(DOC_HEADING))
        if nxt == -1:
            text = text.rstrip() + "\n\n" + body
        else:
            text = text[:nxt].rstrip() + "\n\n" + body + text[nxt:]
    doc.write_text(text)
