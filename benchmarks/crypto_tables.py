"""The encryption benchmark's tables, from its rows: medians and per-round paired ratios of each
case (``summarize``), the results.md report (``report``) and the goal's verdict
(``goal_verdict``). crypto_bench.py measures; crypto_report.py renders the docs section from a
recorded run. Standard library only."""

from __future__ import annotations

import statistics

READ_GOAL = 0.25  # the goal (docs/benchmarks.md): encrypted sequential read at most 25% slower


def summarize(rows: list[dict]) -> dict:
    groups: dict = {}
    for r in rows:
        groups.setdefault(f"{r['test']}|{r['variant']}|{r['cond']}", []).append(r)
    out = {}
    for key, rs in groups.items():
        secs = [r["seconds"] for r in rs]
        out[key] = {
            "runs": len(rs),
            "seconds": statistics.median(secs),
            "min_s": min(secs),
            "max_s": max(secs),
            "cpu_s": statistics.median(r["cpu_s"] for r in rs),
            "rss_mib": max(r["rss_mib"] for r in rs),
        }
    # Per-round ratios against the pair's reference (same round, back to back): steadier than
    # the ratio of medians when the machine's load drifts during a run.
    base = {
        "pack": "plain",
        "read hexz cat": "plain",
        "read hexz.open": "plain",
        "verify": "b3sum",
        "open": "raw key",
        "read signed": "unchecked",
        "verify signed": "no key",
    }
    by = {(r["run"], r["test"], r["variant"], r["cond"]): r for r in rows}
    for key, m in out.items():
        test, variant, cond = key.split("|")
        if test not in base or variant == base[test]:
            continue
        ratios = [
            r["seconds"] / b["seconds"]
            for r in rows
            if (r["test"], r["variant"], r["cond"]) == (test, variant, cond)
            and (b := by.get((r["run"], test, base[test], cond)))
        ]
        if ratios:
            m["paired"] = statistics.median(ratios)
            m["paired_min"], m["paired_max"] = min(ratios), max(ratios)
    return out


def report(s: dict, meta: dict) -> str:
    n = meta["input_bytes"]

    def mb(secs):
        return n / secs / 1e6

    def get(test, var, cond="warm"):
        return s.get(f"{test}|{var}|{cond}")

    lines = [
        f"# Encryption benchmark ({meta['date']})",
        "",
        f"- Machine: {meta['machine']}; load average {meta['load_start']} at the start, "
        f"{meta['load_end']} at the end",
        f"- Versions: {meta['versions']}",
        f"- Data: {meta['input']} ({n / 1e6:,.0f} MB, {n / 2**20:,.0f} MiB), packed with "
        "`hexz pack --raw` (LZ4, 64 KiB blocks)",
        f"- Archives: plain {meta['plain_bytes'] / 1e6:,.1f} MB, encrypted "
        f"{meta['enc_bytes'] / 1e6:,.1f} MB (+{meta['enc_bytes'] - meta['plain_bytes']:,} "
        "bytes)",
        f"- Rounds: {meta['runs']}, medians (range min–max); CPU = user + system of the process; "
        "MB/s of the unpacked data; ratios: median time / median time of the reference "
        "(in brackets: the median of the per-round ratios, each pair run back to back)",
        "",
    ]

    def row(label, m, base=None, speed=True):
        if not m:
            return f"| {label} | — | — | — | — | — |"
        rel = "—" if base is None else f"{m['seconds'] / base['seconds']:.2f}×"
        if base is not None and "paired" in m:
            rel += f" ({m['paired']:.2f}×)"
        cpu_rel = "" if base is None else f" ({m['cpu_s'] / base['cpu_s']:.2f}×)"
        sp = f"{mb(m['seconds']):,.0f}" if speed else "—"
        return (
            f"| {label} | {m['seconds']:.3f} ({m['min_s']:.3f}–{m['max_s']:.3f}) | {sp} | "
            f"{m['cpu_s']:.2f}{cpu_rel} | {m['rss_mib']:.0f} | {rel} |"
        )

    head = [
        "| Case | Time (s) | MB/s | CPU (s) | Peak RSS (MiB) | vs plain |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    goals = []
    if get("pack", "plain"):
        p, e = get("pack", "plain"), get("pack", "encrypted")
        lines += ["## Pack", ""] + head
        lines += [row("`hexz pack --raw`", p), row("`hexz pack --raw --encrypt --key-file`", e, p)]
        lines += [""]
    if get("read hexz cat", "plain"):
        lines += ["## Sequential read to /dev/null", ""] + head
        for cond in ("warm", "cold"):
            p, e = get("read hexz cat", "plain", cond), get("read hexz cat", "encrypted", cond)
            lines.append(row(f"`hexz cat ARCHIVE disk`, {cond}", p))
            lines.append(row(f"`hexz cat --key-file KEY ENCRYPTED disk`, {cond}", e, p))
            if p and e:
                goals.append((cond, "hexz cat", p, e))
        p, e = get("read hexz.open", "plain"), get("read hexz.open", "encrypted")
        if p:
            lines.append(row("`hexz.open(path).open('disk').read_at`, 8 MiB chunks, warm", p))
            lines.append(row("`hexz.open(path, key=KEYFILE)...`, warm", e, p))
            if e:
                goals.append(("warm", "hexz.open", p, e))
        lines += [
            "",
            "Cold: the archive's pages dropped (`posix_fadvise(DONTNEED)`) before the "
            "run. The hexz.open rows time open + read inside the process; their CPU and "
            "RSS are the whole process's (interpreter start and import included).",
            "",
        ]
    if get("verify", "plain"):
        b = get("verify", "b3sum")
        lines += [
            "## Verify against b3sum",
            "",
            "| Case | Time (s) | MB/s | CPU (s) | Peak RSS (MiB) | vs b3sum |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        lines.append(row("`hexz verify ARCHIVE`", get("verify", "plain"), b))
        lines.append(row("`hexz verify --key-file KEY ENCRYPTED`", get("verify", "encrypted"), b))
        lines.append(row("`b3sum --num-threads 2 DATA`", b))
        lines += [
            "",
            "vs b3sum: time / b3sum's time (above 1×: slower than hashing the "
            "unpacked bytes with b3sum).",
            "",
        ]
    if get("read signed", "unchecked"):
        u, v = get("read signed", "unchecked"), get("read signed", "--verify-key")
        lines += [
            "## Signed archive: reading with the public key",
            "",
            "| Case | Time (s) | MB/s | CPU (s) | Peak RSS (MiB) | vs unchecked |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        lines.append(row("`hexz cat SIGNED disk`", u))
        lines.append(row("`hexz cat --verify-key PUB SIGNED disk`", v, u))
        vu, vk = get("verify signed", "no key"), get("verify signed", "--verify-key")
        lines.append(row("`hexz verify SIGNED`", vu, u))
        lines.append(row("`hexz verify SIGNED --verify-key PUB`", vk, u))
        sg, sc = get("sign", "in place"), get("sign", "atomic copy")
        if sg:
            lines.append(
                row("`hexz sign --in-place SIGNED --signing-key KEY` (re-sign)", sg, speed=False)
            )
        if sc:
            lines.append(
                row("`hexz sign SIGNED --signing-key KEY` (re-sign: copy, rename)", sc, speed=False)
            )
        lines += [
            "",
            "--verify-key checks the signature at open, then each frame's BLAKE3 hash "
            "and each block's content hash as it is decoded.",
            "",
        ]
    if get("open", "plain"):
        p, k, w = get("open", "plain"), get("open", "raw key"), get("open", "passphrase")
        lines += [
            "## Open (`hexz inspect` of a 64 KiB archive)",
            "",
            "| Case | Time (s) | CPU (s) | Peak RSS (MiB) | vs raw key |",
            "|---|---:|---:|---:|---:|",
        ]
        for label, m in (
            ("plain", p),
            ("raw key (`--key-file`)", k),
            (f"passphrase (`HEXZ_PASSWORD`; header: {meta['kdf']})", w),
        ):
            if m:
                rel = f"{m['seconds'] / k['seconds']:.2f}×" if k else "—"
                lines.append(
                    f"| {label} | {m['seconds']:.3f} ({m['min_s']:.3f}–{m['max_s']:.3f})"
                    f" | {m['cpu_s']:.3f} | {m['rss_mib']:.0f} | {rel} |"
                )
        if k and w:
            lines += [
                "",
                f"Key derivation ≈ passphrase − raw key: "
                f"{(w['seconds'] - k['seconds']) * 1e3:.0f} ms wall, "
                f"{(w['cpu_s'] - k['cpu_s']) * 1e3:.0f} ms CPU.",
            ]
        lines.append("")
    if goals:
        lines += [
            "## Goal: encrypted sequential read at most 25% slower",
            "",
            "| Reader | Condition | Time overhead (medians) | per-round, median (range) "
            "| CPU overhead | Verdict |",
            "|---|---|---:|---:|---:|---|",
        ]
        for cond, who, p, e in goals:
            ov = e["seconds"] / p["seconds"] - 1
            cpu = e["cpu_s"] / p["cpu_s"] - 1
            paired = (
                f"{(e['paired'] - 1) * 100:+.1f}% ({(e['paired_min'] - 1) * 100:+.0f}% to "
                f"{(e['paired_max'] - 1) * 100:+.0f}%)"
                if "paired" in e
                else "—"
            )
            verdict = "met" if ov <= READ_GOAL else "**missed**"
            if not (who == "hexz cat" and cond == "warm"):
                verdict = f"({verdict})"
            lines.append(
                f"| {who} | {cond} | {ov * 100:+.1f}% | {paired} | {cpu * 100:+.1f}% | {verdict} |"
            )
        lines += [
            "",
            "The goal is judged on `hexz cat`, warm; the other rows are for information.",
            "",
        ]
    return "\n".join(lines)


def goal_verdict(s: dict) -> dict | None:
    """The goal, judged on warm ``hexz cat``: encrypted / plain - 1 of the medians."""
    p, e = s.get("read hexz cat|plain|warm"), s.get("read hexz cat|encrypted|warm")
    if not (p and e):
        return None
    ov = e["seconds"] / p["seconds"] - 1
    return {
        "goal": f"encrypted sequential read (hexz cat, warm) at most {READ_GOAL:.0%} slower",
        "limit": READ_GOAL,
        "overhead": ov,
        "overhead_paired": e["paired"] - 1 if "paired" in e else None,
        "cpu_overhead": e["cpu_s"] / p["cpu_s"] - 1,
        "met": ov <= READ_GOAL,
    }
