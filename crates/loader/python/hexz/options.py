"""The options every way of opening an archive shares: S3 settings, the key or password of an
encrypted archive, the public key of a signed one, and the local disk cache of a remote one,
turned into the keyword options of the native classes (and, with them, pickled to
DataLoader workers)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict, Union

from . import _native

__all__ = [
    "KeyLike",
    "OpenKwargs",
    "OpenOptions",
    "PathLike",
    "PublicKeyLike",
    "default_cache_dir",
    "is_url",
]

PathLike = Union[str, "os.PathLike[str]"]

# Default block cache of a Reader, in bytes.
DEFAULT_CACHE_BYTES = 64 << 20
# More threads than this is a mistake (each costs a stack); the engine would try to spawn them.
MAX_THREADS = 1024


KeyLike = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]"]


def _key_options(key: KeyLike | None, password: str | None) -> dict[str, Any]:
    """``key=`` and ``password=`` as the keyword options of the native classes: ``key`` (32
    raw bytes; from bytes or 64 hex digits), ``key_file`` (a path) or ``password``."""
    if key is not None and password is not None:
        raise ValueError("give key or password, not both")
    if password is not None:
        if not isinstance(password, str):
            raise TypeError(f"password must be a str, not {type(password).__name__}")
        if not password:
            raise ValueError("password must not be empty")
        return {"password": password}
    if key is None:
        return {}
    if isinstance(key, (bytes, bytearray, memoryview)):
        raw = bytes(key)
        if len(raw) != 32:
            raise ValueError(f"key must be 32 bytes, got {len(raw)}")
        return {"key": raw}
    if isinstance(key, str):
        text = key.strip()
        if len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text):
            return {"key": bytes.fromhex(text)}
    if isinstance(key, (str, os.PathLike)):
        path = os.fspath(key)
        if not isinstance(path, str):
            raise TypeError("a key file path must be a str or os.PathLike[str]")
        return {"key_file": path}
    raise TypeError(f"key must be bytes, a hex str or a key file path, not {type(key).__name__}")


PublicKeyLike = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]"]

_HEX = frozenset("0123456789abcdefABCDEF")


def _verify_key_options(verify_key: PublicKeyLike | None) -> dict[str, Any]:
    """``verify_key=`` as the keyword options of the native classes: ``verify_key`` (text: a
    PEM block or 64 hex digits; from 32 bytes as hex) or ``verify_key_file`` (a path)."""
    if verify_key is None:
        return {}
    if isinstance(verify_key, (bytes, bytearray, memoryview)):
        raw = bytes(verify_key)
        if len(raw) != 32:
            raise ValueError(f"verify_key must be 32 bytes, got {len(raw)}")
        return {"verify_key": raw.hex()}
    if isinstance(verify_key, str):
        text = verify_key.strip()
        if text.startswith("-----BEGIN") or (len(text) == 64 and set(text) <= _HEX):
            return {"verify_key": text}
        if not text:
            raise ValueError("verify_key must not be empty")
    if isinstance(verify_key, (str, os.PathLike)):
        path = os.fspath(verify_key)
        if not isinstance(path, str):
            raise TypeError("a public key file path must be a str or os.PathLike[str]")
        return {"verify_key_file": path}
    raise TypeError(
        "verify_key must be a public key file path, a PEM str, 64 hex digits or 32 bytes, "
        f"not {type(verify_key).__name__}"
    )


class _ReachKwargs(TypedDict, total=False):
    """The open options but ``verify_key``: for :func:`hexz.verify`, which takes that one as
    its second positional argument."""

    endpoint: str | None
    region: str | None
    path_style: bool | None
    anonymous: bool
    allow_http: bool
    key: KeyLike | None
    password: str | None
    cache_dir: PathLike | bool | None
    cache_limit: int | None
    parent_path: PathLike | list[PathLike] | None


class OpenKwargs(_ReachKwargs, total=False):
    """The fields of :class:`OpenOptions` as keyword arguments: every function that opens an
    archive takes them (``hexz.Reader(url, endpoint=..., key=...)``) as well as ``options=``."""

    verify_key: PublicKeyLike | None


@dataclass(frozen=True)
class OpenOptions:
    """How to open an archive, in one value that :class:`hexz.Reader`,
    :class:`hexz.AsyncReader`, :class:`hexz.Dataset`, :func:`hexz.mount`, :func:`hexz.verify`,
    :func:`hexz.tf_dataset` and (its S3 and key fields) :class:`hexz.Writer` all accept as
    ``options=``. The same fields are also keyword arguments of each of them, which take
    precedence over ``options``::

        opts = hexz.OpenOptions(endpoint="http://127.0.0.1:9000", cache_dir=True)
        ds = hexz.Dataset("s3://bucket/train.hxz", options=opts)
        r = hexz.Reader("s3://bucket/val.hxz", options=opts, verify_key="signer.pub")

    Attributes:
        endpoint: S3 endpoint URL (else ``AWS_ENDPOINT_URL``, else AWS), e.g.
            ``"http://127.0.0.1:9000"`` for MinIO; plain-http loopback endpoints always work.
        region: S3 region (else ``AWS_REGION``, the AWS profile, or ``us-east-1``).
        path_style: ``True`` for path-style requests (``endpoint/bucket/key``), ``False`` for
            virtual-hosted style (``bucket.endpoint/key``); default: the client's (path-style).
        anonymous: send unsigned requests (public buckets), ignoring any credentials.
        allow_http: allow a plain-``http://`` endpoint that is not on loopback.
        key: the raw key of an encrypted archive: 32 bytes, a str of 64 hex digits, or the
            path of a key file (``docs/keys.md``). Pickled with a reader or dataset (a path
            as a path), so DataLoader workers reopen the archive with it.
        password: the password of an encrypted archive (pickled likewise).
        verify_key: the public key of the archive's signer: the path of a public key file
            (``hexz.keygen``'s ``.pub``), a PEM str, 64 hex digits or 32 bytes. Opening raises
            :class:`hexz.SignatureError` unless the archive is signed by it, and every read is
            checked against the archive's hashes.
        cache_dir: keep the parts of a remote archive that are read as 8 MiB chunk files in
            this directory and read them from there next time (the next epoch, another
            process) instead of the network. ``True`` means :func:`default_cache_dir`
            (``~/.cache/hexz/remote``); default ``None``: no cache. Chunks are keyed by the
            URL, ETag and length (a replaced object is fetched anew) and checked against their
            CRC-32C on every read (a damaged one is refetched). Processes may share a
            directory. Local archives are never cached. ``hexz cache ls|du|clear`` inspects it.
        cache_limit: bound on the cache directory's size in bytes (default 10 GiB); the least
            recently used chunks are evicted. Needs ``cache_dir``.
        parent_path: where the parent of a thin archive is (a path or URL), when it moved
            from where the archive records it (beside itself, by default); a list for each
            parent in order. Parents are opened with the same options.

    The S3 fields apply to ``s3://`` URLs only; credentials come from the standard AWS
    environment variables or the profile ``AWS_PROFILE`` names.
    """

    endpoint: str | None = None
    region: str | None = None
    path_style: bool | None = None
    anonymous: bool = False
    allow_http: bool = False
    key: KeyLike | None = None
    password: str | None = None
    verify_key: PublicKeyLike | None = None
    cache_dir: PathLike | bool | None = None
    cache_limit: int | None = None
    parent_path: PathLike | list[PathLike] | None = None

    def native(self) -> dict[str, Any]:
        """The options, checked, as the ``options=`` dict of the native classes: only what
        differs from the defaults, keys as raw bytes or file paths, the cache directory
        absolute (so a DataLoader worker that changed directory uses the same one)."""
        return _remote_options(
            self.endpoint,
            self.region,
            self.path_style,
            self.anonymous,
            self.allow_http,
            self.key,
            self.password,
            self.verify_key,
            cache_dir=self.cache_dir,
            cache_limit=self.cache_limit,
            parent_path=self.parent_path,
        )


_FIELDS = frozenset(f.name for f in dataclasses.fields(OpenOptions))


def open_options(options: OpenOptions | None, overrides: Mapping[str, Any]) -> OpenOptions:
    """``options=`` with the keyword arguments given beside it applied on top."""
    if options is not None and not isinstance(options, OpenOptions):
        raise TypeError(f"options must be a hexz.OpenOptions, not {type(options).__name__}")
    unknown = sorted(set(overrides) - _FIELDS)
    if unknown:
        raise TypeError(
            f"unexpected keyword argument {unknown[0]!r} (the open options are "
            f"{', '.join(sorted(_FIELDS))})"
        )
    base = options if options is not None else OpenOptions()
    return dataclasses.replace(base, **overrides) if overrides else base


def is_url(path: str) -> bool:
    """Whether ``path`` is a URL (``s3://``, ``https://``, ``file://``, ...) rather than a
    local path, by the engine's own rule."""
    return _native.url_scheme(path) is not None


def _remote_options(
    endpoint: str | None = None,
    region: str | None = None,
    path_style: bool | None = None,
    anonymous: bool = False,
    allow_http: bool = False,
    key: KeyLike | None = None,
    password: str | None = None,
    verify_key: PublicKeyLike | None = None,
    *,
    cache_dir: PathLike | bool | None = None,
    cache_limit: int | None = None,
    parent_path: PathLike | list[PathLike] | None = None,
) -> dict[str, Any]:
    """The S3 keyword options that differ from their defaults, checked, with the key and
    cache options, as a dict for :class:`~hexz._native.NativeArchive` (and for pickling: a
    DataLoader worker reopens the archive with the same options, so it shares the cache)."""
    for name, value in (("endpoint", endpoint), ("region", region)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be a str or None, not {type(value).__name__}")
    if path_style is not None and not isinstance(path_style, bool):
        raise TypeError(f"path_style must be a bool or None, not {type(path_style).__name__}")
    for name, flag in (("anonymous", anonymous), ("allow_http", allow_http)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool, not {type(flag).__name__}")
    given = {
        "endpoint": endpoint,
        "region": region,
        "path_style": path_style,
        "anonymous": anonymous or None,
        "allow_http": allow_http or None,
    }
    options: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    options.update(_key_options(key, password))
    options.update(_verify_key_options(verify_key))
    options.update(_cache_options(cache_dir, cache_limit))
    if parent_path is not None:
        paths = parent_path if isinstance(parent_path, list) else [parent_path]
        options["parent_path"] = [_location(p) for p in paths]
    return options


def _location(path: PathLike) -> str:
    """A parent's location for the engine: a URL as is, a local path made absolute (so a
    DataLoader worker that changed directory finds the same file)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"parent_path must be a path or URL, not {type(path).__name__}")
    text = os.fspath(path)
    if not isinstance(text, str):
        raise TypeError("parent_path must be a str or os.PathLike[str]")
    return text if is_url(text) else os.path.abspath(text)


def default_cache_dir() -> str:
    """The directory ``cache_dir=True`` names: ``$HEXZ_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/hexz/remote``, else ``~/.cache/hexz/remote`` (``hexz cache``'s
    default too)."""
    env = os.environ.get("HEXZ_CACHE_DIR")
    if env:
        return os.path.abspath(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = xdg if xdg and os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "hexz", "remote")


def _cache_options(cache_dir: PathLike | bool | None, cache_limit: int | None) -> dict[str, Any]:
    """``cache_dir=`` and ``cache_limit=`` as keyword options of the native classes: an
    absolute ``cache_dir`` (so a worker that changed directory uses the same one) and the
    limit in bytes; nothing when there is no cache."""
    if cache_dir is None or cache_dir is False:
        if cache_limit is not None:
            raise ValueError("cache_limit needs cache_dir")
        return {}
    if cache_dir is True:
        path = default_cache_dir()
    else:
        if not isinstance(cache_dir, (str, os.PathLike)):
            raise TypeError(
                "cache_dir must be a path, True (the default directory) or None, "
                f"not {type(cache_dir).__name__}"
            )
        raw = os.fspath(cache_dir)
        if not isinstance(raw, str) or not raw:
            raise TypeError("cache_dir must be a non-empty str or os.PathLike[str]")
        path = os.path.abspath(os.path.expanduser(raw))
    options: dict[str, Any] = {"cache_dir": path}
    if cache_limit is not None:
        if isinstance(cache_limit, bool) or not isinstance(cache_limit, int):
            raise TypeError(f"cache_limit must be an int, not {type(cache_limit).__name__}")
        if cache_limit <= 0:
            raise ValueError(f"cache_limit must be > 0 bytes, got {cache_limit}")
        options["cache_limit"] = cache_limit
    return options
