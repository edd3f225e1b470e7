"""Exceptions raised by hexz.

Every error specific to hexz derives from :class:`HexzError`. Where a builtin fits better,
hexz raises the builtin: :class:`FileNotFoundError` for a missing archive or entry,
:class:`PermissionError`, :class:`ValueError` for bad arguments, :class:`IndexError` for
out-of-range records or offsets.
"""

from __future__ import annotations

__all__ = [
    "DecryptionError",
    "FormatError",
    "HexzError",
    "IntegrityError",
    "SignatureError",
    "StoreError",
    "UnsupportedFeatureError",
    "UnsupportedVersionError",
]


class HexzError(Exception):
    """Base class of hexz's own exceptions.

    A :class:`FormatError`, :class:`IntegrityError` or :class:`StoreError` raised by the
    engine says where it happened, as attributes (``None`` where one does not apply):

    - ``archive``: the archive's path or URL (for a :class:`StoreError`, the file or object
      acted on);
    - ``part``: ``"file"``, ``"header"``, ``"footer"``, ``"signature"``, ``"block"``,
      ``"blocks"`` (several read together), ``"frame"`` (the summary or a table),
      ``"index page"``, ``"record page"`` or ``"pages"`` (every index and record page);
    - ``block``: the block's number, or the index or record page's;
    - ``offset``: the block's logical offset, or the frame's file offset;
    - ``frame``: what the frame holds (``"summary"``, ``"entries table"``, ...).
    """

    archive: str | None = None
    part: str | None = None
    block: int | None = None
    offset: int | None = None
    frame: str | None = None


class FormatError(HexzError):
    """The bytes are not a valid archive: bad magic, checksum, limits or layout.

    Besides where (see :class:`HexzError`), ``detail`` says which rule the bytes break.
    """

    detail: str | None = None


class UnsupportedVersionError(FormatError):
    """The archive uses a format version or required feature this build cannot read."""


class IntegrityError(HexzError):
    """Stored bytes do not match their checksum or hash: the archive is corrupt or tampered.

    Besides where (see :class:`HexzError`), ``detail`` says what did not match.
    """

    detail: str | None = None


class SignatureError(IntegrityError):
    """A public key was given (``verify_key=``) and the archive is not signed by it: it carries
    no signature, another key signed it, or it changed after it was signed. A subclass of
    :class:`IntegrityError`: either way the archive cannot be trusted as the signer's."""


class DecryptionError(HexzError):
    """Decryption failed: wrong key or password, or tampered encrypted data."""


class UnsupportedFeatureError(HexzError):
    """The archive needs a capability compiled out of this build (for example zstd)."""


class StoreError(HexzError, OSError):
    """Reading or writing the underlying storage failed.

    Besides where (see :class:`HexzError`), ``action`` says what was being done (``"open"``,
    ``"read"``, ``"write"``, ``"create"``, ...).
    """

    action: str | None = None
