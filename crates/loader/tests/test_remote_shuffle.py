"""A block-shuffled epoch from S3 (issue 11): every sample once, in the sampler's order, in a
few large ranged requests rather than one per sample; with ``cache_dir=`` the second epoch
fetches nothing. Against moto_server on 127.0.0.1."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from conftest import S3

import hexz
import hexz_testing as ht

torch = pytest.importorskip("torch")

BUCKET = "hexz-shuffle-test"
N = 2000


@pytest.fixture(scope="module")
def samples_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """N records of 4-8 KB, each starting with its index (about 12 MiB)."""
    rng = np.random.default_rng(9)
    path = tmp_path_factory.mktemp("shuffle") / "samples.hxz"
    with hexz.Writer(path, compression="lz4") as w:
        w.add_records(
            (
                i.to_bytes(8, "little") + ht.compressible_bytes(int(n), seed=i)
                for i, n in enumerate(rng.integers(4096, 8192, size=N))
            ),
            name="s",
        )
    return path


def gets(moto_s3: S3, key: str) -> int:
    time.sleep(0.1)  # logged just after the response
    needle = f"GET /{BUCKET}/{key} HTTP"
    return sum(needle in line for line in moto_s3.server.log.read_text().splitlines())


def epoch(ds: hexz.Dataset, sampler: hexz.Sampler) -> list[int]:
    loader = torch.utils.data.DataLoader(
        ds, batch_size=64, sampler=sampler, collate_fn=hexz.collate
    )
    out: list[int] = []
    for batch in loader:
        for k in range(len(batch)):
            out.append(int.from_bytes(bytes(batch[k][:8].numpy()), "little"))
    return out


def test_block_shuffled_epoch_from_s3_fetches_large_ranges(
    samples_archive: Path, moto_s3: S3, aws_env: dict[str, str], tmp_path: Path
) -> None:
    url = moto_s3.put(BUCKET, "samples.hxz", samples_archive)
    before = gets(moto_s3, "samples.hxz")
    cache = tmp_path / "cache"
    ds = hexz.Dataset(url, cache_dir=cache)
    sampler = ds.sampler(shuffle="block", seed=3, block_samples=250)
    seen = epoch(ds, sampler)
    assert seen == list(sampler.order())
    assert sorted(seen) == list(range(N))
    first = gets(moto_s3, "samples.hxz") - before
    # 8 shuffle blocks of ~1.5 MiB fetched in 8 MiB cache chunks, plus opening: a handful of
    # requests, where one per sample would be 2000.
    assert first <= 20, first
    # Second epoch, a new dataset (a new process would do the same): from the disk cache.
    again = hexz.Dataset(url, cache_dir=cache)
    sampler = again.sampler(shuffle="block", seed=3, block_samples=250)
    sampler.set_epoch(1)
    assert sorted(epoch(again, sampler)) == list(range(N))
    assert gets(moto_s3, "samples.hxz") - before - first <= 2
