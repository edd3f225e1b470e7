#!/usr/bin/env python3
"""The "Encryption and signatures" section of docs/benchmarks.md, generated from the newest
``benchmarks/runs/*-crypto/results.json`` (which every run of ``make bench-crypto``,
``benchmarks/crypto_bench.py``, writes), and a plot of plain against encrypted (pack, warm and
cold read, verify; MB/s) drawn into that run's directory as ``crypto.png``.

    ~/.cache/hexz/bench-venv/bin/python benchmarks/crypto_report.py

Replaces the section from its heading ``HEADING`` up to ``KEEP`` (the hand-written analysis,
"### Where the time goes", which stays as it is) or the next ``## `` heading; every other byte
of the document is kept. Standard library, plus matplotlib for the plot (skipped, with a note on
stderr, when matplotlib does not import).
"""

from __future__ import annotations

import datetime
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import runs  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
HEADING = "## Encryption and signatures"
KEEP = "### Where the time goes"
NAME = "crypto"
PNG = "crypto.png"


def pct(x: float) -> str:
    return f"{x * 100:+.1f}%"


class Run:
    """One run's results.json, with the lookups the tables need."""

    def __init__(self, run_dir: Path, doc: dict):
        self.dir, self.doc = run_dir, doc
        self.meta = doc["meta"]
        self.med = doc["medians"]
        self.n = self.meta["input_bytes"]

    def get(self, test: str, variant: str, cond: str = "warm") -> dict | None:
        return self.med.get(f"{test}|{variant}|{cond}")

    def mbs(self, m: dict) -> float:
        return self.n / m["seconds"] / 1e6

    @staticmethod
    def time(m: dict) -> str:
        digits = 2 if m["seconds"] >= 1 else 3
        return f"{m['seconds']:.{digits}f} ({m['min_s']:.{digits}f}–{m['max_s']:.{digits}f})"

    @staticmethod
    def ratio(m: dict, base: dict, key: str = "seconds") -> str:
        r = f"{m[key] / base[key]:.2f}×"
        if key == "seconds" and "paired" in m:
            r += f" ({m['paired']:.2f}×)"
        return r


# --- the tables ------------------------------------------------------------------------------


def pack_read_table(r: Run) -> list[str]:
    out = [
        "| Case | Time (s), median (range) | MB/s | CPU (s) | Encrypted / plain: time | CPU |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = [
        ("pack", "warm", "`hexz pack --raw`", "`hexz pack --raw --encrypt --key-file KEY`", ""),
        ("read hexz cat", "warm", "`hexz cat`, warm", "`hexz cat --key-file KEY`, warm", ""),
        ("read hexz cat", "cold", "`hexz cat`, cold", "`hexz cat --key-file KEY`, cold", ""),
        (
            "read hexz.open",
            "warm",
            "`hexz.open(path)` + `read_at`, warm",
            "`hexz.open(path, key=KEYFILE)` + `read_at`, warm",
            "*",
        ),
    ]
    for test, cond, plain_label, enc_label, star in rows:
        p, e = r.get(test, "plain", cond), r.get(test, "encrypted", cond)
        if not p:
            continue
        out.append(
            f"| {plain_label} | {r.time(p)} | {r.mbs(p):,.0f} | {p['cpu_s']:.2f}{star} | — | — |"
        )
        if e:
            bold = "**" if (test, cond) == ("read hexz cat", "warm") else ""
            out.append(
                f"| {enc_label} | {r.time(e)} | {r.mbs(e):,.0f} | {e['cpu_s']:.2f}{star} "
                f"| {bold}{r.ratio(e, p)}{bold} | {r.ratio(e, p, 'cpu_s')} |"
            )
    return out


def rss_note(r: Run) -> str:
    bits = []
    for test, what in (("pack", "pack"), ("read hexz cat", "`hexz cat`")):
        vals = [m["rss_mib"] for k, m in r.med.items() if k.startswith(test + "|")]
        if vals:
            lo, hi = min(vals), max(vals)
            bits.append(
                f"{lo:.0f} MiB for {what}"
                if round(lo) == round(hi)
                else f"{lo:.0f}–{hi:.0f} MiB for {what}"
            )
    return f"Peak RSS: {', '.join(bits)}, encrypted or not." if bits else ""


def verify_table(r: Run) -> list[str]:
    b = r.get("verify", "b3sum")
    out = [
        "| Case | Time (s), median (range) | MB/s | CPU (s) | Time / b3sum's | "
        "Encrypted / plain: time |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    p, e = r.get("verify", "plain"), r.get("verify", "encrypted")
    for label, m in (
        ("`hexz verify ARCHIVE`", p),
        ("`hexz verify --key-file KEY ENCRYPTED`", e),
        ("`b3sum --num-threads 2 DATA`", b),
    ):
        if not m:
            continue
        vs_b = r.ratio(m, b) if b and m is not b else "—"
        vs_p = f"{e['seconds'] / p['seconds']:.2f}×" if m is e and p else "—"
        out.append(
            f"| {label} | {r.time(m)} | {r.mbs(m):,.0f} | {m['cpu_s']:.2f} | {vs_b} | {vs_p} |"
        )
    return out


def open_table(r: Run) -> list[str]:
    k = r.get("open", "raw key")
    out = [
        "| Case | Time (s), median (range) | CPU (s) | Peak RSS (MiB) | vs raw key |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, var in (
        ("plain", "plain"),
        ("raw key (`--key-file`)", "raw key"),
        ("passphrase (`HEXZ_PASSWORD`)", "passphrase"),
    ):
        m = r.get("open", var)
        if m:
            rel = f"{m['seconds'] / k['seconds']:.2f}×" if k and m is not k else "—"
            out.append(
                f"| {label} | {m['seconds']:.3f} ({m['min_s']:.3f}–{m['max_s']:.3f}) | "
                f"{m['cpu_s']:.3f} | {m['rss_mib']:.0f} | {rel} |"
            )
    return out


def sign_table(r: Run) -> list[str]:
    u = r.get("read signed", "unchecked")
    out = [
        "| Case | Time (s), median (range) | MB/s | CPU (s) | vs unchecked: time (per round) "
        "| CPU |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = [
        ("read signed", "unchecked", "`hexz cat SIGNED disk`", True, None),
        ("read signed", "--verify-key", "`hexz cat --verify-key PUB SIGNED disk`", True, u),
        ("verify signed", "no key", "`hexz verify SIGNED`", True, None),
        ("verify signed", "--verify-key", "`hexz verify SIGNED --verify-key PUB`", True, "verify"),
        (
            "sign",
            "in place",
            "`hexz sign --in-place SIGNED --signing-key KEY` (re-sign)",
            False,
            None,
        ),
        (
            "sign",
            "atomic copy",
            "`hexz sign SIGNED --signing-key KEY` (re-sign: copy, rename; the default)",
            False,
            None,
        ),
    ]
    for test, var, label, speed, base in rows:
        m = r.get(test, var)
        if not m:
            continue
        if base == "verify":
            nk = r.get("verify signed", "no key")
            rel = f"{m['seconds'] / nk['seconds']:.2f}× of plain verify" if nk else "—"
            cpu = "—"
        elif base:
            rel, cpu = f"**{r.ratio(m, base)}**", r.ratio(m, base, "cpu_s")
        else:
            rel = cpu = "—"
        sp = f"{r.mbs(m):,.0f}" if speed else "—"
        out.append(f"| {label} | {r.time(m)} | {sp} | {m['cpu_s']:.2f} | {rel} | {cpu} |")
    return out


def goal_table(r: Run) -> list[str]:
    limit = r.doc.get("read_goal", 0.25)
    out = [
        "| Reader | Condition | Time overhead (medians) | Per round: median (range) | "
        "CPU overhead | Verdict |",
        "|---|---|---:|---:|---:|---|",
    ]
    for test, who, cond in (
        ("read hexz cat", "`hexz cat`", "warm"),
        ("read hexz cat", "`hexz cat`", "cold"),
        ("read hexz.open", "`hexz.open` + `read_at`", "warm"),
    ):
        p, e = r.get(test, "plain", cond), r.get(test, "encrypted", cond)
        if not (p and e):
            continue
        ov = e["seconds"] / p["seconds"] - 1
        paired = (
            f"{pct(e['paired'] - 1)} ({pct(e['paired_min'] - 1)} to {pct(e['paired_max'] - 1)})"
            if "paired" in e
            else "—"
        )
        verdict = "met" if ov <= limit else "missed"
        verdict = (
            f"**{verdict}**"
            if (test, cond) == ("read hexz cat", "warm")
            else f"({verdict}; for information)"
        )
        out.append(
            f"| {who} | {cond} | {pct(ov)} | {paired} | "
            f"{pct(e['cpu_s'] / p['cpu_s'] - 1)} | {verdict} |"
        )
    return out


def goal_sentence(r: Run) -> str:
    p, e = r.get("read hexz cat", "plain"), r.get("read hexz cat", "encrypted")
    limit = r.doc.get("read_goal", 0.25)
    if not (p and e):
        return "The goal was not measured in this run (no `read` test)."
    ov = e["seconds"] / p["seconds"] - 1
    cpu = e["cpu_s"] / p["cpu_s"] - 1
    paired = e.get("paired", 0) - 1 if "paired" in e else None
    verdict = "met" if ov <= limit else "missed"
    margin = limit - ov
    bits = [
        f"Goal (encrypted sequential read at most {limit:.0%} slower, judged on warm",
        f"`hexz cat` by the ratio of medians): **{verdict}**, {pct(ov)}",
        f"({pct(paired)} by the per-round ratios)" if paired is not None else "",
        f"with {abs(margin) * 100:.1f} points {'to spare' if margin >= 0 else 'too many'}."
        f" The CPU overhead, which does not depend on whether the second core is free,",
        f"is {pct(cpu)}",
        (
            "— also within the limit."
            if cpu <= limit
            else "— above the limit: the wall-time figure meets the goal only because the reader's "
            "threads spread the extra work over both cores."
            if ov <= limit
            else "— above the limit too."
        ),
    ]
    return " ".join(b for b in bits if b)


# --- the plot --------------------------------------------------------------------------------


def plot(r: Run) -> Path | None:
    """Plain against encrypted, MB/s of the unpacked data: pack, warm read, cold read, verify."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            "crypto_report: no matplotlib, no plot (use ~/.cache/hexz/bench-venv/bin/python)",
            file=sys.stderr,
        )
        return None
    groups = [
        ("pack", "warm", "pack"),
        ("read hexz cat", "warm", "read, warm\n(hexz cat)"),
        ("read hexz cat", "cold", "read, cold\n(hexz cat)"),
        ("verify", "warm", "verify"),
    ]
    groups = [g for g in groups if r.get(g[0], "plain", g[1]) and r.get(g[0], "encrypted", g[1])]
    if not groups:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    w = 0.38
    for i, (name, color) in enumerate((("plain", "tab:gray"), ("encrypted", "tab:blue"))):
        meds = [r.get(t, name, c) for t, c, _ in groups]
        vals = [r.mbs(m) for m in meds]
        # Error bars: the range over the rounds (fastest and slowest round).
        lo = [v - r.n / m["max_s"] / 1e6 for v, m in zip(vals, meds, strict=True)]
        hi = [r.n / m["min_s"] / 1e6 - v for v, m in zip(vals, meds, strict=True)]
        xs = [x + (i - 0.5) * w for x in range(len(groups))]
        ax.bar(
            xs,
            vals,
            w,
            color=color,
            label=name,
            yerr=[lo, hi],
            capsize=3,
            error_kw={"elinewidth": 0.8},
        )
        for x, v in zip(xs, vals, strict=True):
            ax.text(x, v, f"{v:,.0f}", ha="center", va="bottom", fontsize=7)
    for j, (t, c, _) in enumerate(groups):
        p, e = r.get(t, "plain", c), r.get(t, "encrypted", c)
        ax.text(
            j,
            0,
            f"time {e['seconds'] / p['seconds']:.2f}×",
            ha="center",
            va="bottom",
            fontsize=7,
            color="white",
            fontweight="bold",
        )
    ax.set_xticks(range(len(groups)), [g[2] for g in groups], fontsize=8)
    ax.set_ylabel("MB/s of unpacked data (median; bars: range)", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(
        f"hexz plain vs --encrypt (AES-256-GCM), {r.n / 1e6:,.0f} MB, LZ4 — "
        f"{r.dir.name}\n{r.doc['machine']}",
        fontsize=8,
        loc="left",
    )
    fig.tight_layout()
    out = r.dir / PNG
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


# --- the section -----------------------------------------------------------------------------


def when(doc: dict) -> str:
    try:
        t = datetime.datetime.fromisoformat(doc["started"])
        return f"{t:%Y-%m-%d %H:%M} UTC"
    except (KeyError, ValueError):
        return doc["meta"].get("date", "?")


def load_text(doc: dict) -> str:
    fmt = lambda xs: " / ".join(f"{x:.2f}" for x in xs)  # noqa: E731
    bits = []
    if doc.get("load_avg_start"):
        bits.append(
            f"load average (1 / 5 / 15 min) {fmt(doc['load_avg_start'])} at the start"
            f" and {fmt(doc['load_avg_end'])} at the end"
        )
    w = doc.get("load1_while_timing")
    if w:
        bits.append(
            f"1-minute load read before each of the {w['samples']} timed commands: "
            f"{w['min']:.2f}–{w['max']:.2f}, median {w['median']:.2f}, on "
            f"{doc.get('cpus', '?')} vCPUs (the benchmark's own commands, which use "
            "both cores, count in it)"
        )
    return "; ".join(bits) or "load not recorded"


def section(found: tuple[Path, dict] | None, with_plot: bool = True) -> str:
    lines = [
        HEADING,
        "",
        *runs.para(
            "What `hexz pack --encrypt` (AES-256-GCM, every block and table sealed) costs against",
            "the same archive unencrypted: pack, sequential read, `hexz verify` (against `b3sum`",
            "of the unpacked bytes) and the key derivation of a passphrase; and what a signature",
            "costs a reader that checks it. Goal: sequential reads of an encrypted",
            "archive at most 25% slower than of the plain one on this 2-core machine.",
        ),
        "",
        *runs.para(
            "Generated by `benchmarks/crypto_report.py` from the newest",
            "`benchmarks/runs/*-crypto/results.json`, which every run of `make bench-crypto`",
            "(`benchmarks/crypto_bench.py`) writes; regenerate with",
            "`~/.cache/hexz/bench-venv/bin/python benchmarks/crypto_report.py`.",
        ),
        "",
    ]
    if not found:
        return "\n".join([*lines, "No run yet (`make bench-crypto`).", ""])
    r = Run(*found)
    doc, meta = r.doc, r.meta
    rel = os.path.relpath(r.dir / "results.json", DOC.parent)
    rounds = doc.get("rounds", "?")
    quick = (
        " — **fewer than the 5 rounds the docs ask for**"
        if isinstance(rounds, int) and rounds < 5
        else ""
    )
    extra = meta["enc_bytes"] - meta["plain_bytes"]
    lines += [
        f"### Run of {when(doc)}",
        "",
        *runs.para(
            f"- Run: [{r.dir.name}]({rel}), `{doc['command']}`{quick}. Every measurement of",
            "every round (time, CPU, peak RSS, the exact command, the load before it), the",
            "medians and the goal's verdict are in that file;",
            "`~/.cache/hexz/crypto-bench/results.md` has the script's own tables.",
        ),
        *runs.para(f"- Machine: {doc['machine']}; {load_text(doc)}. Versions: {meta['versions']}."),
        *runs.para(
            "- Method: every case once per round, plain and encrypted back to back (their",
            f"order flipped every round); {rounds} rounds, medians (range over the rounds).",
            "Ratios are median / median, and in brackets the median of the per-round ratios;",
            "CPU is the process's user + system time (`wait4`), steadier than wall time when",
            "the machine is busy. MB/s of the unpacked data, MB = 10^6 bytes.",
        ),
        *runs.para(
            f"- Data: {meta['input']} ({r.n / 1e6:,.0f} MB), packed with `hexz pack --raw` at",
            f"its defaults (LZ4, 64 KiB blocks): plain {meta['plain_bytes'] / 1e6:,.1f} MB,",
            f"encrypted {meta['enc_bytes'] / 1e6:,.1f} MB (+{extra / 1e3:,.0f} KB: mostly the",
            "16-byte tag of each stored block). Encrypted with `--encrypt --key-file KEY`, KEY a",
            "hex key file (64 hex digits and a newline).",
        ),
        *runs.para(
            "- Reads: `hexz cat [--key-file KEY] ARCHIVE disk > /dev/null`, warm (archive in the",
            "page cache) and cold (the archive's pages alone dropped first with",
            "`posix_fadvise(DONTNEED)`, so cold includes reading it from disk);",
            '`hexz.open(path[, key=KEYFILE]).open("disk")` read with `read_at` in 8 MiB chunks',
            "(open + read timed inside the process).",
        ),
        "",
        *pack_read_table(r),
        "",
        *runs.para(
            "\\* the whole Python process, interpreter start and `import hexz` included."
            if r.get("read hexz.open", "plain")
            else "",
            "Pack times include the fsync of the output.",
            rss_note(r),
        ),
        "",
    ]
    if with_plot:
        png = plot(r) or (r.dir / PNG if (r.dir / PNG).exists() else None)
        if png:
            lines += [
                f"![plain vs encrypted: pack, read, verify (MB/s)]"
                f"({os.path.relpath(png, DOC.parent)})",
                "",
            ]
    if r.get("verify", "plain"):
        b = r.get("verify", "b3sum")
        lines += [
            *runs.para(
                "`hexz verify` (every block's crc32c, decompression and BLAKE3 content hash;",
                "keyed BLAKE3 when encrypted) against `b3sum --num-threads 2` of the",
                f"{r.n / 1e6:,.0f} MB of unpacked data (both use the 2 cores), warm:",
            ),
            "",
            *verify_table(r),
            "",
        ]
        if b:
            lines += [*runs.para(f"b3sum: {b['cpu_s']:.2f} s of CPU in {b['seconds']:.3f} s."), ""]
    if r.get("open", "plain"):
        lines += [
            *runs.para(
                "Opening: `hexz inspect` of a one-file archive (64 KiB), plain, with a raw key",
                "file, and with a passphrase (`HEXZ_PASSWORD`) at the default Argon2id",
                f"parameters (read back from the header: {meta.get('kdf', '?')}):",
            ),
            "",
            *open_table(r),
            "",
        ]
        k, w = r.get("open", "raw key"), r.get("open", "passphrase")
        if k and w:
            kdf_cpu, kdf_wall = (w["cpu_s"] - k["cpu_s"]) * 1e3, (w["seconds"] - k["seconds"]) * 1e3
            lines += [
                *runs.para(
                    f"The key derivation (passphrase − raw key) costs **{kdf_cpu:.0f} ms of CPU**",
                    f"({kdf_wall:.0f} ms wall)",
                    f"and {w['rss_mib'] - k['rss_mib']:.0f} MiB more peak RSS, once per open.",
                ),
                "",
            ]
    if r.get("read signed", "unchecked"):
        lines += [
            "#### Signatures: reading with the public key",
            "",
            *runs.para(
                "The plain archive above signed with `hexz sign --output` by a key from",
                "`hexz keygen`, read and verified without and with `--verify-key PUB` (which",
                "checks the signature at open, then each frame's BLAKE3 hash and each block's",
                "content hash as it is decoded), and signed again; warm. No goal was set for",
                "these.",
            ),
            "",
            *sign_table(r),
            "",
        ]
    if r.get("read hexz cat", "plain"):
        lines += ["#### Goal", "", *goal_table(r), "", *runs.para(goal_sentence(r)), ""]
    lines += [
        *runs.para(
            "The analysis below was written from the hand-run figures of 2026-11-25 (a 2-vCPU VM",
            "of that day) and a `perf` profile taken then; its numbers are from those runs, whose",
            "tables are in this file's git history, not from the run above.",
        ),
        "",
    ]
    return "\n".join(lines)


def update_docs() -> None:
    """Replaces the section's generated part (from HEADING up to KEEP, or up to the next ``## ``
    heading) in docs/benchmarks.md."""
    runs.replace_section(HEADING, section(runs.latest(NAME)), keep=KEEP, doc=DOC)


def main(argv: list[str]) -> int:
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    update_docs()
    print(f"updated {DOC} ({HEADING!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
