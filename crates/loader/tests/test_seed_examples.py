"""Every example of the seed README (hexz-loader), written as the README shows it.

Each test works in a temporary directory with the README's relative paths. The remote examples
run as written against real servers on 127.0.0.1: the README's buckets (``my-bucket``,
``bucket``) on moto_server, reached through ``AWS_ENDPOINT_URL``, and its HTTP archive on nginx
(only the ``https://example.com`` host is replaced). Mounting (FUSE) needs Linux, root and
/dev/fuse (CI runs as root); elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import S3, Http

import hexz
import hexz_testing as ht


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def snapshot(in_tmp: Path) -> bytes:
    """``path/to/snapshot.hxz``: one raw stream of 200 KB, returned as its bytes."""
    data = ht.compressible_bytes(200_000, seed=7)
    os.makedirs("path/to")
    Path("disk.raw").write_bytes(data)
    with hexz.Writer("path/to/snapshot.hxz") as w:
        w.add_file("disk.raw")
    return data


# num_workers=4 as in the README; torch warns when that exceeds the cores of the machine.
MANY_WORKERS = pytest.mark.filterwarnings("ignore:This DataLoader will create:UserWarning")


@MANY_WORKERS
def test_quick_start_pytorch_integration(
    in_tmp: Path, moto_s3: S3, aws_env: dict[str, str], fork_safe: None
) -> None:
    torch = pytest.importorskip("torch")
    images = np.random.default_rng(0).integers(0, 255, size=(256, 3, 8, 8), dtype=np.uint8)
    labels = np.arange(256, dtype=np.int64) % 10
    with hexz.Writer("imagenet.hxz") as w:
        w.add_array(images, "images")
        w.add_array(labels, "labels")
    moto_s3.put("my-bucket", "imagenet.hxz", in_tmp / "imagenet.hxz")
    seen = []

    def train_step(batch: object) -> None:
        seen.append(batch)

    # --- as in the README ---
    from hexz import Loader

    # Open a compressed dataset (local or remote)
    dataset = Loader("s3://my-bucket/imagenet.hxz")

    # Standard PyTorch DataLoader
    # Hexz handles prefetching in Rust background threads
    loader = torch.utils.data.DataLoader(dataset, batch_size=64, num_workers=4)

    for batch in loader:
        # GPU is fed instantly with zero-copy overhead
        train_step(batch)
    # ---

    assert len(seen) == 4
    x = torch.cat([b[0] for b in seen])
    y = torch.cat([b[1] for b in seen])
    assert x.dtype == torch.uint8 and tuple(x.shape) == (256, 3, 8, 8)
    assert torch.equal(x, torch.from_numpy(images))
    assert torch.equal(y, torch.from_numpy(labels))


def test_reading_snapshots(snapshot: bytes) -> None:
    # --- as in the README ---
    import hexz

    # Open a snapshot
    reader = hexz.open("path/to/snapshot.hxz")

    # Read entire file
    data = reader.read()

    # Read specific range
    chunk = reader.read_at(offset=1024, length=512)

    # File-like seek/read
    reader.seek(0)
    header = reader.read(100)
    # ---

    assert bytes(data) == snapshot
    assert bytes(chunk) == snapshot[1024:1536]
    assert bytes(header) == snapshot[:100]
    assert reader.tell() == 100


def test_async_io(snapshot: bytes) -> None:
    out = {}

    # --- as in the README ---
    import asyncio

    import hexz

    async def main() -> None:
        async with hexz.AsyncReader("path/to/snapshot.hxz") as reader:
            data = await reader.read_at(0, 1024)
            out["data"] = data

    asyncio.run(main())
    # ---

    assert bytes(out["data"]) == snapshot[:1024]


def test_creating_snapshots(in_tmp: Path) -> None:
    disk = ht.compressible_bytes(300_000, seed=3)
    Path("source_disk.raw").write_bytes(disk)

    # --- as in the README ---
    import hexz

    # From a file
    with hexz.open("output.hxz", mode="w", compression="lz4") as w:
        w.add("source_disk.raw")

    # Or use Writer directly
    with hexz.Writer("output.hxz", compression="lz4") as w:
        w.add_file("source_disk.raw")
        w.add_bytes(b"additional data")
    # ---

    r = hexz.open("output.hxz")
    names = r.namelist()
    assert "source_disk.raw" in names and len(names) == 2
    assert bytes(r.open("source_disk.raw").read()) == disk
    (other,) = [n for n in names if n != "source_disk.raw"]
    assert bytes(r.open(other).read()) == b"additional data"


def _write_matrix(path: str) -> np.ndarray:
    matrix = np.random.default_rng(5).standard_normal((100, 100)).astype(np.float32)
    with hexz.Writer(path) as w:
        w.add_bytes(matrix.tobytes(), "matrix")
    return matrix


def test_numpy_integration(in_tmp: Path) -> None:
    matrix = _write_matrix("data.hxz")

    # --- as in the README ---
    import numpy as np

    import hexz

    reader = hexz.open("data.hxz")

    # Zero-copy read into NumPy array
    array = hexz.read_array(reader, offset=0, shape=(100, 100), dtype=np.float32)
    # ---

    assert array.dtype == np.float32 and array.shape == (100, 100)
    np.testing.assert_array_equal(array, matrix)


@MANY_WORKERS
def test_pytorch_dataset(
    in_tmp: Path, moto_s3: S3, aws_env: dict[str, str], fork_safe: None
) -> None:
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((200, 4)).astype(np.float32)
    with hexz.Writer("train.hxz") as w:
        w.add_array(x, "x")
    moto_s3.put("bucket", "train.hxz", in_tmp / "train.hxz")

    # --- as in the README ---
    from torch.utils.data import DataLoader

    from hexz import Dataset

    # Create dataset
    dataset = Dataset(
        "s3://bucket/train.hxz",
        transform=None,  # Optional transform function
        cache_size=1024,  # Cache 1024 blocks in memory
    )

    # Use with DataLoader
    loader = DataLoader(dataset, batch_size=32, num_workers=4, shuffle=True)
    # ---

    batches = list(loader)
    assert len(batches) == 7
    got = torch.cat(batches).numpy()
    assert got.dtype == np.float32 and got.shape == (200, 4)
    # shuffled, but every row exactly once
    order = np.lexsort(got.T[::-1])
    np.testing.assert_array_equal(got[order], x[np.lexsort(x.T[::-1])])


def test_api_reference_names() -> None:
    """The README's API reference: core types and functions exist; Loader aliases Dataset."""
    names = ("Reader", "AsyncReader", "Writer", "Dataset", "Loader", "open", "read_array", "mount")
    for name in names:
        assert hasattr(hexz, name), name
    assert hexz.Loader is hexz.Dataset
    assert callable(hexz.mount)  # mount(path): the function, not the module hexz.mount


@pytest.mark.skipif(ht.fuse_unavailable() is not None, reason=ht.fuse_unavailable() or "")
def test_mounting_snapshots(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``snapshot.hxz`` is a raw disk image, whose ``disk`` the README's comment points at."""
    data = _write_image("snapshot.hxz", 300_000)
    seen = []

    # --- as in the README ---
    import hexz

    with hexz.mount("snapshot.hxz") as mp:
        print(f"Mounted at {mp.path}")
        # Access files in mp.path/disk
        # ---
        seen.append((mp.path / "disk").read_bytes())
        assert ht.hexz_mount_at(mp.path)

    assert seen == [data]
    assert capsys.readouterr().out == f"Mounted at {mp.path}\n"
    assert ht.hexz_mount_at(mp.path) is None and not mp.path.exists()


def _write_image(path: str, size: int) -> bytes:
    """A raw disk image: the stream ``disk``."""
    data = ht.compressible_bytes(size, seed=11)
    Path("disk.raw").write_bytes(data)
    with hexz.Writer(path) as w:
        w.add_stream("disk.raw")
    return data


def _write_random(path: str, size: int) -> bytes:
    data = ht.random_bytes(size, seed=4)
    with hexz.Writer(path) as w:
        w.add_bytes(data, "data")
    return data


def test_remote_streaming(
    in_tmp: Path, moto_s3: S3, nginx_http: Http, aws_env: dict[str, str]
) -> None:
    data = _write_random("dataset.hxz", 8 << 20)
    moto_s3.put("bucket", "dataset.hxz", in_tmp / "dataset.hxz")
    http_url = nginx_http.put("data.hxz", in_tmp / "dataset.hxz")
    assert http_url.endswith("/data.hxz")  # http://127.0.0.1:PORT, not https://example.com
    opened = []

    # --- as in the README (nginx on 127.0.0.1 for example.com, plain http) ---
    import hexz

    # S3 streaming
    dataset = hexz.open("s3://bucket/dataset.hxz")
    opened.append(dataset)

    # HTTP streaming
    dataset = hexz.open(http_url)

    # Read on-demand (only fetches needed blocks)
    chunk = dataset.read_at(1024 * 1024, 4096)
    # ---

    want = data[1 << 20 : (1 << 20) + 4096]
    assert bytes(chunk) == want
    assert bytes(opened[0].read_at(1024 * 1024, 4096)) == want
    # Only what the read needs came over the wire, not the 8 MiB archive.
    requests, sent = nginx_http.sent("data.hxz")
    assert requests <= 6 and sent < (1 << 20), (requests, sent)


def test_async_example_runs_on_running_loop(snapshot: bytes) -> None:
    """The async example's AsyncReader also works with reads issued concurrently."""

    async def main() -> list[bytes]:
        async with hexz.AsyncReader("path/to/snapshot.hxz") as reader:
            parts = await asyncio.gather(*(reader.read_at(i * 1000, 1000) for i in range(50)))
            return [bytes(p) for p in parts]

    parts = asyncio.run(main())
    assert b"".join(parts) == snapshot[:50_000]
