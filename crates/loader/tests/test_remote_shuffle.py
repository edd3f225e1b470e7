"""A block-shuffled epoch from S3: every sample once, in the sampler's order, in a
few large ranged requests rather than one per sample; with ``cache_dir=`` the second epoch
fetches nothing. Against moto_server on 127.0.0.1."""

from __future__ import annotations

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
    before = moto_s3.gets(BUCKET, "samples.hxz")
    ds = hexz.Dataset(url)
    assert ds._fetching()
    sampler = ds.sampler(shuffle="block", seed=3, block_samples=250)
    seen = epoch(ds, sampler)
    assert seen == list(sampler.order())
    assert sorted(seen) == list(range(N))
    assert len(ds._ahead._blocks) == 8  # every shuffle block fetched ahead, whole
    first = moto_s3.gets(BUCKET, "samples.hxz") - before
    # 8 shuffle blocks of ~1.5 MiB, plus opening: a handful of requests, where one per
    # sample would be 2000.
    assert first <= 20, first


def test_a_cache_that_holds_the_archive_is_read_the_local_way(
    samples_archive: Path, moto_s3: S3, aws_env: dict[str, str], tmp_path: Path
) -> None:
    """With ``cache_dir=``: once the disk cache holds every chunk (here, opening the 12 MiB
    archive fetched both 8 MiB chunks), an epoch reads it like a local file (whole batches
    ahead, no block read-ahead) and makes no request; a new dataset (or process) too."""
    url = moto_s3.put(BUCKET, "cached.hxz", samples_archive)
    before = moto_s3.gets(BUCKET, "cached.hxz")
    cache = tmp_path / "cache"
    for epoch_no in range(2):
        ds = hexz.Dataset(url, cache_dir=cache)
        assert ds._h.native.all_local() and not ds._fetching()
        opened = moto_s3.gets(BUCKET, "cached.hxz")
        sampler = ds.sampler(shuffle="block", seed=3, block_samples=250)
        sampler.set_epoch(epoch_no)
        seen = epoch(ds, sampler)
        assert seen == list(sampler.order())
        assert sorted(seen) == list(range(N))
        assert not ds._ahead._blocks  # no shuffle block was fetched ahead
        assert moto_s3.gets(BUCKET, "cached.hxz") == opened, "the epoch made requests"
    assert moto_s3.gets(BUCKET, "cached.hxz") - before <= 4


def test_a_cache_filled_by_an_epoch_serves_the_next_the_local_way(
    moto_s3: S3, aws_env: dict[str, str], tmp_path: Path
) -> None:
    """An archive of five 8 MiB cache chunks, of which opening fetches two: the first epoch
    fills the disk cache, after which the dataset reads the local way, with the blocks it
    had decoded ahead of the network dropped (the default remote block cache shrinks to the
    local default), and the second epoch makes no request."""
    n = 6000
    rng = np.random.default_rng(4)
    path = tmp_path / "big.hxz"
    with hexz.Writer(path, compression="lz4") as w:
        w.add_records(
            (
                i.to_bytes(8, "little") + rng.bytes(int(size))  # incompressible
                for i, size in enumerate(rng.integers(4096, 8192, size=n))
            ),
            name="s",
        )
    assert path.stat().st_size > 32 << 20
    url = moto_s3.put(BUCKET, "big.hxz", path)
    ds = hexz.Dataset(url, cache_dir=tmp_path / "cache")
    assert ds._fetching(), "opening fetched only the first and last chunks"
    native = ds._h.native
    remote_budget = ds._h.cache_size
    sampler = ds.sampler(shuffle="block", seed=1, block_samples=250)
    seen = epoch(ds, sampler)
    assert seen == list(sampler.order())
    assert sorted(seen) == list(range(n))
    assert native.all_local() and not ds._fetching()
    assert ds._h.cache_size == hexz.dataset.LOCAL_CACHE_BLOCKS < remote_budget
    assert native.cached_bytes <= hexz.dataset.LOCAL_CACHE_BLOCKS * native.block_size
    before = moto_s3.gets(BUCKET, "big.hxz")
    sampler.set_epoch(1)
    seen = epoch(ds, sampler)
    assert seen == list(sampler.order())
    assert sorted(seen) == list(range(n))
    assert moto_s3.gets(BUCKET, "big.hxz") == before, "the second epoch made requests"
