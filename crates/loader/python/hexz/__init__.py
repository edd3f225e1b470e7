"""Hexz: random-access compressed snapshots for ML data and disk images.

Reads run in Rust with the GIL released, return zero-copy views where the bytes are already
decoded, and prefetch ahead on Rust threads. The public API:

- :func:`open`, :class:`Reader`, :class:`AsyncReader`, :class:`Writer`
- :func:`read_array`, :func:`load_array` (NumPy)
- :class:`Dataset` / :class:`Loader`, :class:`Sampler`, :class:`IterableDataset`,
  :func:`collate`, :class:`Ragged` (PyTorch), :func:`resume_state` (continuing a saved
  epoch on any number of GPUs and workers), :func:`tf_dataset` (TensorFlow)
- :func:`mount` (a read-only FUSE mount, Linux): ``with hexz.mount("a.hxz") as mp: mp.path``
- signatures: :func:`keygen`, :func:`sign`, :func:`verify`, ``Writer(..., signing_key=...)``
  and ``verify_key=`` wherever an archive is opened
- :class:`OpenOptions`: how to open an archive (S3 settings, keys, a disk cache), accepted
  as ``options=`` by everything that opens one; its fields are keyword arguments too
- exceptions: :class:`HexzError` and subclasses

Everywhere a path goes, a URL goes: ``s3://bucket/key``, ``https://...``, ``http://...``
(read block by block with ranged requests). S3 is configured by the standard AWS environment
variables and profile, or the open options ``endpoint``, ``region``, ``path_style``,
``anonymous`` and ``allow_http``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal, overload

from ._native import FORMAT_VERSION
from ._native import __version__ as __version__
from .aio import AsyncReader
from .array import load_array, read_array
from .collate import Ragged, collate
from .dataset import Dataset, Loader, Sampler
from .errors import (
    DecryptionError,
    FormatError,
    HexzError,
    IntegrityError,
    SignatureError,
    StoreError,
    UnsupportedFeatureError,
    UnsupportedVersionError,
)
from .mount import Mount, mount
from .options import OpenOptions
from .reader import Entry, EntryReader, Reader
from .signing import VerifyReport, keygen, sign, verify
from .state import resume_state
from .tensorflow import tf_dataset
from .writer import Writer

if TYPE_CHECKING:
    from .iterable import IterableDataset

__all__ = [
    "FORMAT_VERSION",
    "AsyncReader",
    "Dataset",
    "DecryptionError",
    "Entry",
    "EntryReader",
    "FormatError",
    "HexzError",
    "IntegrityError",
    "IterableDataset",
    "Loader",
    "Mount",
    "OpenOptions",
    "Ragged",
    "Reader",
    "Sampler",
    "SignatureError",
    "StoreError",
    "UnsupportedFeatureError",
    "UnsupportedVersionError",
    "VerifyReport",
    "Writer",
    "__version__",
    "collate",
    "keygen",
    "load_array",
    "mount",
    "open",
    "read_array",
    "resume_state",
    "sign",
    "tf_dataset",
    "verify",
]


@overload
def open(path: str | os.PathLike[str], mode: Literal["r", "rb"] = "r", **kwargs: Any) -> Reader: ...
@overload
def open(path: str | os.PathLike[str], mode: Literal["w", "wb"], **kwargs: Any) -> Writer: ...


def open(path: str | os.PathLike[str], mode: str = "r", **kwargs: Any) -> Reader | Writer:
    """Opens an archive: ``mode="r"`` returns a :class:`Reader`, ``mode="w"`` a
    :class:`Writer` (keyword arguments go to the class). ``path`` may be a URL
    (``s3://bucket/key``, ``https://...``); how to reach and decrypt it is ``options=`` (a
    :class:`OpenOptions`) or its fields as keyword arguments (``endpoint=``, ``key=``,
    ``verify_key=``, ``cache_dir=``, ...)."""
    if mode in ("r", "rb"):
        return Reader(path, **kwargs)
    if mode in ("w", "wb"):
        return Writer(path, **kwargs)
    raise ValueError(f"invalid mode {mode!r}: use 'r' or 'w'")


def __getattr__(name: str) -> Any:
    # IterableDataset subclasses PyTorch's, made on first use so `import hexz` skips torch.
    if name == "IterableDataset":
        from . import iterable

        return iterable.IterableDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
