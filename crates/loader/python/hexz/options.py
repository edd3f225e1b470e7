"""The options every way of opening an archive shares: S3 settings, the key or password of an
encrypted archive, the public key of a signed one, and the local disk cache of a remote one,
turned into the keyword options of the native classes (and, with them, pickled to
DataLoader workers)."""

from __future__ import annotations

import os
from typing import Any, Union

__all__ = ["KeyLike", "PathLike", "PublicKeyLike", "default_cache_dir"]

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
    options = {k: v for k, v in given.items() if v is not None}
    options.update(_key_options(key, password))
    options.update(_verify_key_options(verify_key))
    options.update(_cache_options(cache_dir, cache_limit))
    return options


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
