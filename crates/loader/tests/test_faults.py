"""A DataLoader epoch from S3 through ``hexz-faultproxy`` injecting 10% error answers, 10%
connections cut mid-response and 10% requests stalled for 200 ms: every sample
arrives exact, each once, with and without worker processes."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import S3, Server, free_port, start_server

import hexz
import hexz_testing as ht

torch = pytest.importorskip("torch")

N = 1500
ROOT = Path(__file__).resolve().parents[3]


def sample(i: int) -> bytes:
    """Sample ``i``: its index, then 4-16 KB that depend on it."""
    size = 4096 + (i * 7919) % 12288
    return int(i).to_bytes(8, "little") + ht.compressible_bytes(size - 8, seed=i)


def faultproxy_binary() -> Path:
    """The release hexz-faultproxy (`make test` builds it with the Rust tests; built here if
    missing)."""
    given = os.environ.get("HEXZ_FAULTPROXY")
    if given:
        return Path(given)
    cache = Path(os.environ.get("HEXZ_CACHE", Path.home() / ".cache" / "hexz"))
    target = Path(os.environ.get("CARGO_TARGET_DIR", cache / "target"))
    exe = target / "release" / "hexz-faultproxy"
    if not exe.exists():
        subprocess.run(
            ["cargo", "build", "--release", "-p", "hexz-faultproxy"],
            cwd=ROOT,
            check=True,
            env=dict(os.environ, CARGO_TARGET_DIR=str(target)),
        )
    return exe


@pytest.fixture(scope="module")
def faulty_s3(moto_s3: S3, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """hexz-faultproxy in front of moto_server: 10% errors, 10% cut responses, 10% stalls of
    200 ms, at most 3 faults in a row on one request (the store retries 5 times)."""
    port = free_port()
    log = tmp_path_factory.mktemp("faultproxy") / "proxy.log"
    cmd = [
        str(faultproxy_binary()),
        "--upstream",
        f"127.0.0.1:{moto_s3.server.port}",
        "--listen",
        f"127.0.0.1:{port}",
        "--error-rate",
        "0.1",
        "--error-status",
        "503",
        "--error-status",
        "500",
        "--drop-rate",
        "0.1",
        "--stall-rate",
        "0.1",
        "--stall-ms",
        "200",
        "--max-in-a-row",
        "3",
        "--seed",
        "11",
        "--stats-every",
        "1",
    ]
    server = start_server("hexz-faultproxy", cmd, port, log)
    yield server
    server.stop()


def injected(log: Path) -> dict[str, int]:
    """The proxy's newest counters, from its --stats-every lines (none before the first)."""
    lines = re.findall(r"Stats \{([^}]*)\}", log.read_text())
    return {k: int(v) for k, v in re.findall(r"(\w+): (\d+)", lines[-1])} if lines else {}


@pytest.mark.parametrize("workers", [0, 2])
def test_an_epoch_through_faults_is_exact(
    moto_s3: S3, faulty_s3: Server, aws_env: dict[str, str], tmp_path: Path, workers: int
) -> None:
    path = tmp_path / "samples.hxz"
    with hexz.Writer(path, compression="lz4") as w:
        w.add_records((sample(i) for i in range(N)), name="s")
    url = moto_s3.put("faults", f"samples-{workers}.hxz", path)
    before = injected(faulty_s3.log)
    ds = hexz.Dataset(url, endpoint=faulty_s3.url)
    sampler = ds.sampler(shuffle=True, seed=2, block_samples=10)  # ~150 ranged requests
    loader = torch.utils.data.DataLoader(
        ds, batch_size=64, sampler=sampler, num_workers=workers, collate_fn=hexz.collate
    )
    seen = []
    for batch in loader:
        for k in range(len(batch)):
            got = bytes(batch[k].numpy())
            i = int.from_bytes(got[:8], "little")
            assert got == sample(i), f"sample {i} arrived wrong"
            seen.append(i)
    assert seen == list(sampler.order())
    assert sorted(seen) == list(range(N))
    time.sleep(1.2)  # the proxy prints its counters every second
    after = injected(faulty_s3.log)
    for fault in ("errors", "drops", "stalls"):
        assert after.get(fault, 0) > before.get(fault, 0), f"no {fault} were injected: {after}"
