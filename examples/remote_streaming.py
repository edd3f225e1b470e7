"""Remote streaming: read archives straight from S3 or HTTP (seed README, "Remote Streaming").

NEEDS A SERVER: unlike the other examples, this one reads an archive someone has put on S3
(or any S3-compatible server: MinIO, Cloudflare R2, moto) and/or on an HTTP server that
answers Range requests (nginx, a CDN). Give their URLs in the environment:

    HEXZ_EXAMPLE_S3_URL=s3://bucket/dataset.hxz \\
    HEXZ_EXAMPLE_HTTP_URL=https://example.com/data.hxz \\
    python examples/remote_streaming.py

S3 is configured the AWS way: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
AWS_REGION, AWS_ENDPOINT_URL (for a server other than AWS) or AWS_PROFILE; or with the keyword
options shown below. The test suite runs this script against moto_server and nginx on
127.0.0.1 (crates/loader/tests/test_examples.py). Only the blocks a read needs are fetched.
"""

from __future__ import annotations

import os
import sys
import time

import hexz


def stream(url: str) -> bytes:
    t0 = time.perf_counter()
    dataset = hexz.open(url)  # two small requests: the archive's ends, not the whole file
    opened = time.perf_counter() - t0
    print(f"{dataset!r}: opened in {opened * 1000:.1f} ms, entries {dataset.namelist()}")

    # Read on-demand (only fetches needed blocks)
    t0 = time.perf_counter()
    chunk = dataset.read_at(1024 * 1024, 4096)
    took = time.perf_counter() - t0
    print(f"  read_at(1 MiB, 4096) -> {len(chunk)} bytes in {took * 1000:.1f} ms")

    # The file-like API works as for local archives: entries, seek/read, slices.
    name = dataset.namelist()[0]
    with dataset.open(name) as entry:
        entry.seek(-16, os.SEEK_END)
        print(f"  last 16 bytes of {name}: {bytes(entry.read()).hex()}")
    dataset.close()
    return bytes(chunk)


def main() -> int:
    s3_url = os.environ.get("HEXZ_EXAMPLE_S3_URL")
    http_url = os.environ.get("HEXZ_EXAMPLE_HTTP_URL")
    if not (s3_url or http_url):
        print(__doc__, file=sys.stderr)
        print("error: set HEXZ_EXAMPLE_S3_URL and/or HEXZ_EXAMPLE_HTTP_URL", file=sys.stderr)
        return 2

    chunks = []
    if s3_url:
        # S3 streaming
        chunks.append(stream(s3_url))
        # Explicit settings override the environment, e.g. for a public bucket on MinIO:
        #   hexz.open(url, endpoint="http://minio:9000", anonymous=True, allow_http=True)
        # Dataset, Loader, AsyncReader, read_array and tf_dataset take URLs and these options
        # too; a DataLoader worker reopens the URL with them.
    if http_url:
        # HTTP streaming
        chunks.append(stream(http_url))
    if len(chunks) == 2:
        assert chunks[0] == chunks[1], "the S3 and HTTP archives differ"
        print("S3 and HTTP returned the same bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
