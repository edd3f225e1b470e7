"""Signatures (Ed25519, ``docs/FORMAT.md`` §10): :func:`keygen`, :func:`sign` and
:func:`verify`.

A signature covers the archive's root hash, which covers its header, its tables and, through
their hashes, every block: a reader given the signer's public key (``verify_key=`` of
:func:`hexz.open`, :class:`hexz.Dataset`, :func:`hexz.mount`, ...) refuses an archive that
is not signed by it and checks every byte it reads. Encrypted archives are signed without
their key. Everything here needs the ``signing`` feature (in the default build); without it,
:class:`hexz.UnsupportedFeatureError` is raised.

Example::

    private, public = hexz.keygen("keys", "release")   # keys/release.key, keys/release.pub
    hexz.sign("data.hxz", private)                     # or Writer(..., signing_key=private)
    reader = hexz.open("data.hxz", verify_key=public)  # SignatureError unless signed by it
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union, Unpack

from . import _native
from .errors import DecryptionError
from .options import (
    DEFAULT_CACHE_BYTES,
    OpenOptions,
    PathLike,
    PublicKeyLike,
    _ReachKwargs,
    is_url,
    open_options,
)

__all__ = ["SigningKeyLike", "VerifyReport", "keygen", "sign", "verify"]

SigningKeyLike = Union[str, "os.PathLike[str]"]


def _signing_key_options(signing_key: SigningKeyLike | None) -> dict[str, Any]:
    """``signing_key=`` as the keyword options of the native functions: ``signing_key`` (PEM
    text) or ``signing_key_file`` (a path)."""
    if signing_key is None:
        return {}
    if isinstance(signing_key, str) and signing_key.lstrip().startswith("-----BEGIN"):
        return {"signing_key": signing_key}
    if isinstance(signing_key, (str, os.PathLike)):
        path = os.fspath(signing_key)
        if not isinstance(path, str):
            raise TypeError("a private key file path must be a str or os.PathLike[str]")
        if not path:
            raise ValueError("signing_key must not be empty")
        return {"signing_key_file": path}
    raise TypeError(
        "signing_key must be a private key file path or its PEM text, "
        f"not {type(signing_key).__name__}"
    )


def _local_path(path: PathLike, what: str) -> str:
    name = os.fspath(path)
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str or os.PathLike[str]")
    if is_url(name):
        raise ValueError(f"{name}: only local archives can be signed (sign before uploading)")
    return name


def keygen(output_dir: PathLike = ".", name: str = "hexz") -> tuple[str, str]:
    """Generates an Ed25519 key pair and returns the paths ``(private, public)``:
    ``OUTPUT_DIR/NAME.key`` (PKCS#8 PEM, created with mode 0600; keep it secret) and
    ``OUTPUT_DIR/NAME.pub`` (SubjectPublicKeyInfo PEM; give it to readers). The same files as
    ``hexz keygen`` and OpenSSL's ``genpkey -algorithm ed25519`` / ``pkey -pubout``.

    Raises:
        FileExistsError: either file exists (nothing is replaced, nothing is left behind).
        FileNotFoundError: ``output_dir`` does not exist.
        ValueError: ``name`` is not a plain file name.
    """
    directory = os.fspath(output_dir)
    if not isinstance(directory, str):
        raise TypeError("output_dir must be a str or os.PathLike[str]")
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, not {type(name).__name__}")
    private, public = _native.keygen(directory, name)
    return private, public


def sign(
    path: PathLike,
    signing_key: SigningKeyLike,
    *,
    output: PathLike | None = None,
    in_place: bool = False,
) -> dict[str, Any]:
    """Signs a finished local archive with a private key (a key file path, or its PEM text).

    The signed archive is 144 bytes longer: the signature goes where the footer was, followed
    by a new footer (an earlier signature is replaced). By default ``path`` is replaced
    atomically by a signed copy (made beside it by the kernel, without copying data on file
    systems with reflinks), so a crash leaves the old file or the signed one. With ``output``
    the signed copy goes there and ``path`` is left as it was. ``in_place=True`` writes the
    signature into ``path`` itself: no copy, but a crash during that one write can leave the
    file without a valid footer. Only the header, footer and tables are read: run
    :func:`verify` first on an archive of unknown origin, since signing vouches for whatever
    it holds. Encrypted archives need no key.

    Returns a dict: ``root_hash`` and ``public_key`` (hex), ``replaced`` (whether an earlier
    signature was replaced), ``file_size`` and ``path`` (the signed file).
    """
    src = _local_path(path, "path")
    keys = _signing_key_options(signing_key)
    if not keys:
        raise ValueError("a signing key is required")
    if not isinstance(in_place, bool):
        raise TypeError(f"in_place must be a bool, not {type(in_place).__name__}")
    if in_place:
        if output is not None:
            raise ValueError("give output or in_place=True, not both")
        report = dict(_native.sign_file(src, **keys))
        report["path"] = src
        return report
    # Replacing ``path`` through a symlink replaces the file it points to, not the link.
    dst = _local_path(output, "output") if output is not None else os.path.realpath(src)
    report = dict(_native.sign_file(src, output=dst, **keys))
    report["path"] = dst if output is not None else src
    return report


@dataclass(frozen=True)
class VerifyReport:
    """What :func:`verify` found. Also readable as a mapping (``report["ok"]``), as the dict
    it once was."""

    #: No problem found.
    ok: bool
    #: One line per problem (a block or table that fails its checksum or hash, bytes that
    #: belong to nothing); empty when ``ok``.
    problems: tuple[str, ...]
    #: Whether the archive carries a signature.
    signed: bool
    #: ``"unsigned"``, ``"valid"``, ``"invalid"``, or ``"unchecked"`` in a build without
    #: signing.
    signature: Literal["unsigned", "valid", "invalid", "unchecked"]
    #: The public key of a valid signature (hex), else ``None``.
    signer: str | None
    #: The archive's root hash (hex), what a signature signs.
    root_hash: str
    #: Whether blocks and tables were checked (``False``: an encrypted archive checked
    #: without its key, whose signature alone was verified).
    contents_checked: bool
    #: Frames (tables) checked.
    frames: int
    #: Blocks checked.
    blocks: int
    #: Logical bytes checked.
    bytes: int

    @classmethod
    def _of(cls, raw: Mapping[str, Any]) -> VerifyReport:
        return cls(
            ok=bool(raw["ok"]),
            problems=tuple(raw["problems"]),
            signed=bool(raw["signed"]),
            signature=raw["signature"],
            signer=raw["signer"],
            root_hash=raw["root_hash"],
            contents_checked=bool(raw["contents_checked"]),
            frames=int(raw["frames"]),
            blocks=int(raw["blocks"]),
            bytes=int(raw["bytes"]),
        )

    def __getitem__(self, name: str) -> Any:
        if name not in self.__dataclass_fields__:
            raise KeyError(name)
        return getattr(self, name)


def verify(
    path: PathLike,
    verify_key: PublicKeyLike | None = None,
    *,
    options: OpenOptions | None = None,
    **open_kwargs: Unpack[_ReachKwargs],
) -> VerifyReport:
    """Checks a whole archive (local or a URL), as ``hexz verify`` does: every block and table
    against its checksum and hash, that every byte belongs to one, and the signature.

    With ``verify_key`` (the signer's public key, as for :class:`hexz.Reader`) the archive
    must be signed by that key, else :class:`hexz.SignatureError` is raised. Without it a
    signature is checked against the key it names (proving the archive is intact since that
    key signed it, not who holds the key): compare ``signer`` with the key you expect.
    ``options`` (a :class:`hexz.OpenOptions`, or its fields as keyword arguments) are those of
    :class:`hexz.Reader`: ``key`` / ``password`` decrypt an encrypted archive, the S3
    settings reach an ``s3://`` one.

    Returns a :class:`VerifyReport`. Corruption is reported in its ``problems``; an archive
    that cannot be opened at all raises as :func:`hexz.open` does.

    An encrypted archive given without ``key``/``password`` cannot have its blocks checked,
    but its signature can (it covers the header and the sealed summary): for a signed one the
    report says ``contents_checked=False``; an unsigned one raises
    :class:`hexz.DecryptionError`.
    """
    name = os.fspath(path)
    if not isinstance(name, str):
        raise TypeError("path must be a str (a path or URL) or os.PathLike[str]")
    opts = open_options(options, open_kwargs)
    if verify_key is not None:
        opts = dataclasses.replace(opts, verify_key=verify_key)
    remote = opts.native()
    try:
        native = _native.NativeArchive(name, DEFAULT_CACHE_BYTES, 0, options=remote)
    except DecryptionError:
        if opts.key is not None or opts.password is not None:
            raise
        # Encrypted, and no key: the signature is all that can be checked.
        report = _native.check_signature(name, options=remote)
        if report is None:
            raise
        return VerifyReport._of(report)
    return VerifyReport._of(native.verify_report())
