"""A pool of DataLoader workers opens a remote archive with no requests of its own: the
process that made the dataset opens it once and fetches its index and record pages once,
and each worker reopens it from that state (the object's length and ETag and the metadata
bytes), under fork and spawn alike. Against nginx (its log records every Range) and
moto_server on 127.0.0.1."""

from __future__ import annotations

import pickle
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import S3, Http

import hexz
import hexz_testing as ht

torch = pytest.importorskip("torch")

N = 20_000  # five record pages of 4,096 records
OPEN_RANGES = {"bytes=-262144", "bytes=0-127"}  # the suffix GET that pins, and the header
MANY_WORKERS = pytest.mark.filterwarnings("ignore:This DataLoader will create:UserWarning")


def payload(i: int) -> bytes:
    return i.to_bytes(8, "little") + ht.compressible_bytes(200 + i % 300, seed=i)


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """N records of 208-507 bytes, each starting with its index (about 7 MiB)."""
    path = tmp_path_factory.mktemp("workers") / "records.hxz"
    with hexz.Writer(path, compression="lz4") as w:
        w.add_records((payload(i) for i in range(N)), name="s")
    return path


def new_ranges(http: Http, name: str, since: int) -> list[str]:
    time.sleep(0.1)  # logged just after the response
    return http.ranges(name)[since:]


def page_ranges(http: Http, url: str, name: str) -> set[str]:
    """The ranges of the archive's index and record pages outside the tail read at open: what
    one process fetches to hold them all."""
    native = hexz.Dataset(url)._h.native
    before = len(http.ranges(name))
    assert native.hold_pages()
    pages = new_ranges(http, name, before)
    assert len(pages) == len(set(pages)) >= 4, pages
    return set(pages)


@MANY_WORKERS
@pytest.mark.parametrize(("context", "workers"), [("fork", 8), ("spawn", 2)])
def test_workers_make_no_metadata_requests(
    records: Path, nginx_http: Http, context: str, workers: int
) -> None:
    name = f"workers-{context}.hxz"
    url = nginx_http.put(name, records)
    pages = page_ranges(nginx_http, url, name)

    before = len(nginx_http.ranges(name))
    ds = hexz.Dataset(url)
    sampler = hexz.Sampler(ds, shuffle=True, seed=5)
    loader = torch.utils.data.DataLoader(
        ds,
        batch_size=256,
        sampler=sampler,
        num_workers=workers,
        multiprocessing_context=context,
        collate_fn=ht.collate_list,
    )
    seen = Counter()
    for batch in loader:
        for sample in batch:
            i = int.from_bytes(bytes(sample[:8]), "little")
            assert bytes(sample) == payload(i)
            seen[i] += 1
    assert seen == Counter(range(N))

    ranges = new_ranges(nginx_http, name, before)
    opens = Counter(r for r in ranges if r in OPEN_RANGES)
    # One open (the dataset's own) and each page once, for the whole pool of workers.
    assert opens == Counter(OPEN_RANGES), opens
    assert Counter(r for r in ranges if r in pages) == Counter(pages)


def test_a_pickled_dataset_reopens_s3_without_a_request(
    records: Path, moto_s3: S3, aws_env: dict[str, str]
) -> None:
    url = moto_s3.put("hexz-workers", "pickled.hxz", records)
    ds = hexz.Dataset(url)
    copy = pickle.loads(pickle.dumps(ds))
    before = moto_s3.gets("hexz-workers", "pickled.hxz")
    assert bytes(copy[N - 1]) == payload(N - 1)
    # The sample's block, and nothing to open the object or find the sample.
    assert moto_s3.gets("hexz-workers", "pickled.hxz") - before == 1


def test_an_object_replaced_after_pickling_is_an_error(
    records: Path, tmp_path: Path, moto_s3: S3, aws_env: dict[str, str]
) -> None:
    url = moto_s3.put("hexz-workers", "replaced.hxz", records)
    state = pickle.dumps(hexz.Dataset(url))
    other = tmp_path / "other.hxz"
    with hexz.Writer(other, compression="lz4") as w:
        w.add_records((payload(N - i) for i in range(N)), name="s")
    moto_s3.put("hexz-workers", "replaced.hxz", other)
    copy = pickle.loads(state)
    with pytest.raises(hexz.errors.StoreError, match="replaced.hxz") as caught:
        copy[0]
    # Where, as data: a read of this object's blocks from logical offset 0 (sample 0).
    e = caught.value
    assert (e.action, e.archive, e.part, e.offset) == ("read", url, "blocks", 0)
