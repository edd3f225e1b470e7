"""The local cache of remote archives (``cache_dir=``): a second read makes no data requests,
a damaged cache file is detected and refetched, processes and pickled readers share one
directory. Against moto_server (S3) and nginx (HTTP) on 127.0.0.1."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import S3, Http

import hexz
import hexz_testing as ht

BUCKET = "hexz-cache-test"
SIZE = 20 << 20  # three 8 MiB chunks


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """An archive of 20 MiB of random bytes (stored raw): several cache chunks."""
    data = ht.random_bytes(SIZE, seed=41)
    path = tmp_path_factory.mktemp("cache") / "cached.hxz"
    with hexz.Writer(path, compression="lz4") as w:
        w.add_bytes(bytearray(data), "data")
    return path, data


def http_gets(nginx_http: Http, name: str) -> int:
    time.sleep(0.1)
    return nginx_http.sent(name)[0]


def chunk_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("hexz-cache-v1/*/*.chunk"))


def read_all(url: str, **kw: object) -> bytes:
    with hexz.open(url, **kw) as r:
        return bytes(r.open("data").read())


def test_second_read_from_s3_makes_no_data_requests(
    archive: tuple[Path, bytes], moto_s3: S3, aws_env: dict[str, str], tmp_path: Path
) -> None:
    path, data = archive
    url = moto_s3.put(BUCKET, "twice.hxz", path)
    cache = tmp_path / "cache"
    start = moto_s3.gets(BUCKET, "twice.hxz")
    assert read_all(url, cache_dir=cache) == data
    first = moto_s3.gets(BUCKET, "twice.hxz") - start
    assert first >= 3, first
    chunks = chunk_files(cache)
    assert len(chunks) == 3, chunks
    assert sum(f.stat().st_size for f in chunks) > path.stat().st_size

    # The next epoch: the only request is the one that opens the object (ETag and length,
    # which key the cache; the bytes all come from the cache).
    before = moto_s3.gets(BUCKET, "twice.hxz")
    assert read_all(url, cache_dir=cache) == data
    assert moto_s3.gets(BUCKET, "twice.hxz") - before == 1
    # Without the cache, it is all fetched again.
    before = moto_s3.gets(BUCKET, "twice.hxz")
    assert read_all(url) == data
    assert moto_s3.gets(BUCKET, "twice.hxz") - before >= 3


def test_http_too_and_local_paths_are_not_cached(
    archive: tuple[Path, bytes], nginx_http: Http, tmp_path: Path
) -> None:
    path, data = archive
    url = nginx_http.put("cache/twice.hxz", path)
    cache = tmp_path / "cache"
    assert read_all(url, cache_dir=cache, cache_limit=1 << 30) == data
    before = http_gets(nginx_http, "cache/twice.hxz")
    assert read_all(url, cache_dir=cache) == data
    assert http_gets(nginx_http, "cache/twice.hxz") - before == 1
    local_cache = tmp_path / "local"
    assert read_all(str(path), cache_dir=local_cache) == data
    assert not local_cache.exists()


def test_a_damaged_cache_file_is_detected_and_refetched(
    archive: tuple[Path, bytes], moto_s3: S3, aws_env: dict[str, str], tmp_path: Path
) -> None:
    path, data = archive
    url = moto_s3.put(BUCKET, "damaged.hxz", path)
    cache = tmp_path / "cache"
    assert read_all(url, cache_dir=cache) == data
    chunks = chunk_files(cache)
    # One flipped bit in the middle chunk's data, and the last chunk cut short.
    raw = bytearray(chunks[1].read_bytes())
    raw[len(raw) // 2] ^= 0x10
    chunks[1].write_bytes(raw)
    with open(chunks[2], "r+b") as f:
        f.truncate(1000)
    before = moto_s3.gets(BUCKET, "damaged.hxz")
    assert read_all(url, cache_dir=cache) == data
    # Opening, and each damaged chunk once.
    assert moto_s3.gets(BUCKET, "damaged.hxz") - before == 3
    # Rewritten whole: the next read is all from the cache again.
    before = moto_s3.gets(BUCKET, "damaged.hxz")
    assert read_all(url, cache_dir=cache) == data
    assert moto_s3.gets(BUCKET, "damaged.hxz") - before == 1


READER = """
import sys, hexz
url, cache, out = sys.argv[1:4]
with hexz.open(url, cache_dir=cache) as r:
    e = r.getinfo("data")
    step = 1 << 20
    offs = list(range(0, e.size, step))
    if int(out[-1]) % 2:
        offs.reverse()
    parts = {o: bytes(r.read_at(e.offset + o, min(step, e.size - o))) for o in offs}
open(out, "wb").write(b"".join(parts[o] for o in sorted(parts)))
"""


def test_processes_and_pickled_readers_share_the_cache(
    archive: tuple[Path, bytes], moto_s3: S3, aws_env: dict[str, str], tmp_path: Path
) -> None:
    path, data = archive
    url = moto_s3.put(BUCKET, "shared.hxz", path)
    cache = tmp_path / "cache"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", READER, url, str(cache), str(tmp_path / f"out{i}")],
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for i in range(3)
    ]
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0, out.decode()
    for i in range(3):
        assert (tmp_path / f"out{i}").read_bytes() == data
    assert len(chunk_files(cache)) == 3
    assert not list(cache.glob("hexz-cache-v1/*/.tmp-*")), "no temporary files left"

    # A pickled reader (as a DataLoader worker gets it) keeps the cache options, and reopens
    # the object as the original pinned it: no request at all, every byte from the cache.
    r = hexz.open(url, cache_dir=cache, cache_limit=2 << 30)
    before = moto_s3.gets(BUCKET, "shared.hxz")
    clone = pickle.loads(pickle.dumps(r))
    assert bytes(clone.open("data").read()) == data
    assert moto_s3.gets(BUCKET, "shared.hxz") - before == 0
    clone.close()
    r.close()


def test_cache_options(
    archive: tuple[Path, bytes],
    nginx_http: Http,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, data = archive
    url = nginx_http.put("cache/options.hxz", path)
    with pytest.raises(ValueError, match="cache_limit needs cache_dir"):
        hexz.open(url, cache_limit=1 << 30)
    with pytest.raises(ValueError, match="cache_limit must be > 0"):
        hexz.open(url, cache_dir=tmp_path, cache_limit=0)
    with pytest.raises(TypeError, match="cache_dir must be"):
        hexz.open(url, cache_dir=5)
    # True: HEXZ_CACHE_DIR, else ~/.cache/hexz/remote.
    monkeypatch.setenv("HEXZ_CACHE_DIR", str(tmp_path / "env"))
    assert hexz.options.default_cache_dir() == str(tmp_path / "env")
    assert read_all(url, cache_dir=True) == data
    assert len(chunk_files(tmp_path / "env")) == 3
    monkeypatch.delenv("HEXZ_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert hexz.options.default_cache_dir() == str(tmp_path / "home/.cache/hexz/remote")
    # A relative directory is made absolute (a worker may change directory).
    monkeypatch.chdir(tmp_path)
    r = hexz.open(url, cache_dir="rel", cache_limit=64 << 20)
    assert r._h.remote["cache_dir"] == str(tmp_path / "rel")
    assert r._h.remote["cache_limit"] == 64 << 20
    r.close()
    # A limit below the data read: the cache stays within it.
    assert read_all(url, cache_dir=tmp_path / "small", cache_limit=10 << 20) == data
    total = sum(f.stat().st_size for f in chunk_files(tmp_path / "small"))
    assert total <= 10 << 20, total
