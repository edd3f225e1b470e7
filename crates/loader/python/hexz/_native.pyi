"""Type stubs of ``hexz._native``, the private Rust module behind the ``hexz`` package.

Checked against the compiled module by ``python -m mypy.stubtest hexz._native`` (``make lint``).
"""

from collections.abc import Mapping, Sequence
from typing import Any, final

from typing_extensions import Buffer

__all__ = [
    "NativeArchive",
    "NativeWriter",
    "Chunk",
    "PendingRead",
    "NativeMount",
    "NativeShare",
    "keygen",
    "sign_file",
    "check_signature",
    "url_scheme",
    "cli_main",
    "__version__",
    "FORMAT_VERSION",
    "HAS_ZSTD",
    "HAS_S3",
    "HAS_ENCRYPTION",
    "HAS_SIGNING",
    "HAS_MOUNT",
    "HAS_CLI",
]

__version__: str
FORMAT_VERSION: int
HAS_ZSTD: bool
HAS_S3: bool
HAS_ENCRYPTION: bool
HAS_SIGNING: bool
HAS_MOUNT: bool
HAS_CLI: bool

# The open options, as ``hexz.OpenOptions.native()`` builds them: ``endpoint``, ``region``,
# ``path_style``, ``anonymous``, ``allow_http``, ``key`` (32 bytes), ``key_file``, ``password``,
# ``verify_key`` (PEM or hex), ``verify_key_file``, ``cache_dir``, ``cache_limit``.
_OpenArgs = Mapping[str, Any]

# (path, kind, mode, mtime_ns, offset, size, symlink target)
_EntryTuple = tuple[str, str, int, int, int, int, str | None]
# (name, dtype, sample_shape, first_record, record_count)
_GroupTuple = tuple[str, str, list[int], int, int]

@final
class Chunk:
    """Bytes owned by Rust; ``numpy.asarray(chunk)`` views them without a copy."""

    def __len__(self) -> int: ...
    def __bytes__(self) -> bytes: ...
    @property
    def __array_interface__(self) -> dict[str, Any]: ...
    @property
    def readonly(self) -> bool: ...
    @property
    def address(self) -> int: ...

# (buffer, (start, length) of each sample, positions of the samples that lie in the map)
_Gathered = tuple[Chunk, list[tuple[int, int]], list[int]]

@final
class PendingRead:
    """A batch being read on a Rust thread (``NativeArchive.submit_records``)."""

    def wait(self) -> _Gathered: ...

# What reopens an archive in another process with no request to its store: the remote
# object's (length, etag), the stored metadata bytes read so far by offset, and the same for
# each parent of a thin archive.
_Reopen = tuple[tuple[int, str | None] | None, list[tuple[int, bytes]], list["_Reopen"]]

@final
class NativeArchive:
    """One open archive (a local path, or an ``s3://``, ``http(s)://`` or ``file://`` URL);
    every read releases the GIL."""

    def __new__(
        cls,
        path: str,
        cache_bytes: int = ...,
        readahead_threads: int = 4,
        *,
        options: _OpenArgs | None = None,
        mmap: bool = False,
        reopen: _Reopen | None = None,
    ) -> NativeArchive: ...
    @property
    def path(self) -> str: ...
    @property
    def block_size(self) -> int: ...
    @property
    def record_count(self) -> int: ...
    @property
    def cached_bytes(self) -> int: ...
    def set_cache_bytes(self, bytes: int) -> None: ...
    def __len__(self) -> int: ...
    def read_at(self, offset: int, length: int) -> Chunk: ...
    def read_into(self, offset: int, buffer: Buffer) -> int: ...
    def read_ranges(self, ranges: list[tuple[int, int]]) -> tuple[Chunk, list[int]]: ...
    def read_records(self, indices: list[int]) -> tuple[Chunk, list[tuple[int, int]]]: ...
    def gather_records(self, indices: list[int], views: bool = True) -> _Gathered: ...
    def gather_ranges(self, ranges: list[tuple[int, int]], views: bool = True) -> _Gathered: ...
    def submit_records(self, indices: list[int], views: bool = True) -> PendingRead: ...
    def map_view(self) -> Chunk | None: ...
    def reopen_state(self) -> _Reopen: ...
    def hold_pages(self) -> bool: ...
    def all_local(self) -> bool: ...
    def stats(self) -> dict[str, int]: ...
    def prefetch(self, ranges: list[tuple[int, int]]) -> None: ...
    def prefetch_records(self, indices: list[int]) -> None: ...
    def entries(self) -> list[_EntryTuple]: ...
    def entry(self, path: str) -> _EntryTuple | None: ...
    def metadata(self) -> str | None: ...
    def record_groups(self) -> list[_GroupTuple]: ...
    def record(self, i: int) -> tuple[int, int]: ...
    def info(self) -> dict[str, Any]: ...
    def verify(self) -> list[str]: ...
    def verify_report(self) -> dict[str, Any]: ...

@final
class NativeWriter:
    """Builds an archive (a local path, or ``s3://bucket/key`` uploaded as it is written);
    compression runs on Rust threads with the GIL released."""

    def __new__(
        cls,
        path: str,
        compression: str = "lz4",
        level: int | None = None,
        block_size: int = 65536,
        threads: int = 0,
        dedup: bool = True,
        *,
        options: _OpenArgs | None = None,
        kdf: tuple[int, int, int] | None = None,
        signing_key: str | None = None,
        signing_key_file: str | None = None,
        record_block: int = ...,
        chunking: str = "fixed",
        chunk_min: int | None = None,
        chunk_avg: int | None = None,
        chunk_max: int | None = None,
        parent: str | None = None,
    ) -> NativeWriter: ...
    @property
    def closed(self) -> bool: ...
    def add_file(self, src: str, name: str) -> int: ...
    def add_dir(self, src: str, prefix: str) -> None: ...
    def add_stream(self, src: str, name: str) -> int: ...
    def add_bytes(self, name: str, data: bytes) -> None: ...
    def add_buffer(self, name: str, data: Buffer) -> None: ...
    def add_array(self, name: str, dtype: str, shape: list[int], data: Buffer) -> None: ...
    def begin_records(self, name: str) -> None: ...
    def add_records(self, samples: Sequence[Any]) -> None: ...
    def set_metadata(self, json: str) -> None: ...
    def finish(self) -> dict[str, Any]: ...
    def abort(self) -> None: ...

@final
class NativeMount:
    """A read-only FUSE mount of an open archive (Linux; elsewhere the constructor raises
    ``hexz.UnsupportedFeatureError``); mounting and unmounting release the GIL."""

    def __new__(
        cls,
        archive: NativeArchive,
        mountpoint: str,
        *,
        uid: int | None = None,
        gid: int | None = None,
        allow_other: bool = False,
        threads: int = 8,
    ) -> NativeMount: ...
    @property
    def path(self) -> str: ...
    @property
    def archive(self) -> str: ...
    @property
    def is_mounted(self) -> bool: ...
    @property
    def read_errors(self) -> int: ...
    def unmount(self) -> None: ...

def keygen(dir: str, name: str) -> tuple[str, str]:
    """Writes ``DIR/NAME.key`` (mode 0600) and ``DIR/NAME.pub``; returns their paths."""

def cli_main(argv: list[str]) -> int:
    """Runs the ``hexz`` command line ``argv`` (program name first); its exit status. Only in
    builds with the ``cli`` feature (``HAS_CLI``)."""

def url_scheme(path: str) -> str | None:
    """The lowercase scheme of ``path`` when it is a URL, else ``None``."""

def check_signature(
    path: str,
    *,
    options: _OpenArgs | None = None,
) -> dict[str, Any] | None:
    """Checks the signature from the header and tail alone (no decryption key); ``None`` when
    the archive is unsigned."""

def sign_file(
    path: str,
    *,
    output: str | None = None,
    signing_key: str | None = None,
    signing_key_file: str | None = None,
) -> dict[str, Any]:
    """Signs the local archive at ``path``: a signed copy put at ``output`` atomically, or in
    place without it; returns ``root_hash``, ``public_key``, ``replaced`` and ``file_size``."""

@final
class NativeShare:
    """Rank ``rank`` of ``world_size``'s samples of an epoch's order (the ``hexz-order``
    crate), from global position ``start``."""

    def __new__(
        cls,
        n: int,
        shuffle: str,
        seed: int,
        epoch: int,
        block: int,
        rank: int,
        world_size: int,
        start: int,
        drop_last: bool,
    ) -> NativeShare: ...
    def __len__(self) -> int: ...
    def take(self, first: int, count: int) -> list[int]: ...
    def index_of(self, index: int) -> int | None: ...
    def resume_position(self, taken: int) -> int: ...
