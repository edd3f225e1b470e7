"""Mounting archives as read-only file systems: :func:`mount` and :class:`Mount` (Linux, FUSE).

The mount is served by Rust threads of this process (no helper process, no ``fusermount``
when running as root), which never need the GIL: the process itself, its threads and its
child processes can all read the mounted files. Mounting needs ``/dev/fuse`` and root (or
``fusermount3`` for an unprivileged user).

Example::

    with hexz.mount("snapshot.hxz") as mp:
        with open(mp.path / "disk", "rb") as f:  # a raw image's `disk` stream
            header = f.read(512)
"""

from __future__ import annotations

import os
import tempfile
import warnings
import weakref
from pathlib import Path
from types import TracebackType
from typing import Any, Unpack

from . import _native
from ._native import NativeArchive, NativeMount
from .errors import UnsupportedFeatureError
from .handle import _open_native
from .options import OpenKwargs, OpenOptions, PathLike, open_options
from .reader import Reader

__all__ = ["Mount", "mount"]

# The block cache of an archive that mount() opens itself, as `hexz mount --cache-size`.
DEFAULT_MOUNT_CACHE_BYTES = 256 << 20
MAX_MOUNT_THREADS = 256


def mount(
    path: PathLike | Reader,
    mountpoint: PathLike | None = None,
    *,
    uid: int | None = None,
    gid: int | None = None,
    allow_other: bool = False,
    cache_size: int | None = None,
    threads: int = 8,
    options: OpenOptions | None = None,
    **open_kwargs: Unpack[OpenKwargs],
) -> Mount:
    """Mounts an archive read-only and returns the :class:`Mount`, already mounted.

    Use it as a context manager, which unmounts on leaving the block (also when the block
    raises; the exception is never swallowed)::

        with hexz.mount("snapshot.hxz") as mp:
            print(f"Mounted at {mp.path}")
            data = (mp.path / "disk").read_bytes()

    or call :meth:`Mount.unmount` yourself. A mount that is neither is unmounted when the
    :class:`Mount` is garbage-collected, and at the latest when the interpreter exits.

    Files, directories and symlinks appear with their mode and mtime; the raw streams of an
    image (``disk``, ``memory``) appear as regular files.

    Args:
        path: the archive: a local path, a URL (``s3://bucket/key``, ``https://...``,
            ``http://...``, ``file://...``), or an open :class:`Reader`, whose archive and cache
            the mount then shares (the other options that open an archive must not be given).
        mountpoint: an existing, empty directory; by default a new temporary directory
            (``hexz-mount-*`` under :func:`tempfile.gettempdir`), removed after unmounting.
        uid: owner of every file and directory (default: the user who mounts).
        gid: group of every file and directory (default: the group of the user who mounts).
        allow_other: let other users in (the permission bits still apply); needs root, or
            ``user_allow_other`` in ``/etc/fuse.conf``.
        cache_size: block cache size in blocks, as for :class:`Reader` (default: 256 MiB
            worth, as ``hexz mount``).
        threads: threads serving the kernel's requests (1 to 256).
        options: how to open the archive (:class:`hexz.OpenOptions`: S3 settings, the key
            or password of an encrypted archive, the signer's public key, a disk cache for a
            remote archive), as for :class:`Reader`; its fields are also keyword arguments,
            which override it. With ``verify_key`` the archive must be signed by that key, and
            every block the mount serves is checked against its hash (a tampered block reads as
            ``EIO``, counted in :attr:`Mount.read_errors`).

    Raises:
        FileNotFoundError: the archive or ``mountpoint`` does not exist, or ``/dev/fuse`` is
            missing (the message says how to load FUSE or pass it into a container).
        NotADirectoryError: ``mountpoint`` is not a directory.
        OSError: ``mountpoint`` is not empty (``errno.ENOTEMPTY``), ``/dev/fuse`` cannot be
            opened (``PermissionError``), or the kernel refused the mount.
        hexz.FormatError, hexz.IntegrityError: the archive is corrupt.
        hexz.DecryptionError: the archive is encrypted and the key is missing or wrong.
        hexz.SignatureError: ``verify_key`` was given and the archive is not signed by it.
        hexz.UnsupportedFeatureError: not on Linux.
    """
    if not _native.HAS_MOUNT:
        raise UnsupportedFeatureError(
            "hexz.mount needs FUSE, which hexz supports on Linux only "
            "(read the archive with hexz.open instead)"
        )
    _check_options(uid, gid, allow_other, threads)
    native = _archive(
        path,
        cache_size,
        open_options(options, open_kwargs).native(),
    )
    tmpdir: str | None = None
    if mountpoint is None:
        tmpdir = tempfile.mkdtemp(prefix="hexz-mount-")
        where = tmpdir
    else:
        where = os.fspath(mountpoint)
        if not isinstance(where, str):
            raise TypeError("mountpoint must be a str or os.PathLike[str]")
    try:
        handle = NativeMount(
            native, where, uid=uid, gid=gid, allow_other=allow_other, threads=threads
        )
    except BaseException:
        if tmpdir is not None:
            _remove_dir(tmpdir)
        raise
    return Mount(handle, tmpdir)


class Mount:
    """A mounted archive, returned by :func:`mount`.

    :attr:`path` is where its files are, as a :class:`pathlib.Path` (``mp.path / "disk"``,
    ``os.path.join(mp.path, "disk")`` and ``f"{mp.path}"`` all work). :meth:`unmount`, leaving
    a ``with`` block, garbage collection or the interpreter's exit unmounts it, removes a
    temporary mountpoint and stops its threads. A forked child never unmounts its parent's
    mount.
    """

    def __init__(self, handle: NativeMount, tmpdir: str | None = None) -> None:
        self._handle = handle
        self._path = Path(handle.path)
        self._tmpdir = tmpdir
        self._finalizer = weakref.finalize(self, _release, handle, tmpdir, os.getpid())

    @property
    def path(self) -> Path:
        """The mountpoint (absolute, symlinks resolved)."""
        return self._path

    @property
    def archive(self) -> str:
        """The path or URL of the mounted archive."""
        return self._handle.archive

    @property
    def mounted(self) -> bool:
        """Whether the mount still serves requests (false after :meth:`unmount`, or once it
        was unmounted from outside, e.g. with ``hexz unmount`` or ``umount``)."""
        return self._finalizer.alive and self._handle.is_mounted

    @property
    def read_errors(self) -> int:
        """Reads answered with an I/O error (``EIO``: a corrupt block, a failing store)."""
        return self._handle.read_errors

    def unmount(self) -> None:
        """Unmounts (lazily if a file under it is still open: it leaves the tree at once and
        goes away with its last file), waits for its threads and removes a temporary
        mountpoint. Calling it again does nothing."""
        self._finalizer()

    def __enter__(self) -> Mount:
        if not self._finalizer.alive:
            raise ValueError(f"{self._path} was unmounted: mount the archive again")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.unmount()
            return
        # The block's exception goes on; a failure to unmount is only reported beside it.
        try:
            self.unmount()
        except Exception as e:
            warnings.warn(f"hexz.mount: cannot unmount {self._path}: {e}", RuntimeWarning, 2)

    def __repr__(self) -> str:
        state = "mounted" if self.mounted else "unmounted"
        return f"<hexz.Mount {self.archive!r} at {str(self._path)!r} ({state})>"


def _archive(
    path: PathLike | Reader, cache_size: int | None, remote: dict[str, Any]
) -> NativeArchive:
    if isinstance(path, Reader):
        if cache_size is not None or remote:
            raise ValueError(
                "cache_size and the open options (S3 settings, key, password, verify_key, "
                "cache_dir) apply when mount() opens the archive, not to an open Reader"
            )
        return path._check()
    name = os.fspath(path)
    if not isinstance(name, str):
        raise TypeError("path must be a str (a path or URL), os.PathLike[str] or a hexz.Reader")
    if cache_size is None:
        return NativeArchive(name, DEFAULT_MOUNT_CACHE_BYTES, 4, options=remote)
    return _open_native(name, cache_size, 4, remote)


def _check_options(uid: int | None, gid: int | None, allow_other: bool, threads: int) -> None:
    for name, value in (("uid", uid), ("gid", gid)):
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**32
        ):
            raise ValueError(f"{name} must be None or an int from 0 to 2**32 - 1, got {value!r}")
    if not isinstance(allow_other, bool):
        raise TypeError(f"allow_other must be a bool, not {type(allow_other).__name__}")
    if (
        not isinstance(threads, int)
        or isinstance(threads, bool)
        or not 1 <= threads <= MAX_MOUNT_THREADS
    ):
        raise ValueError(f"threads must be an int from 1 to {MAX_MOUNT_THREADS}, got {threads!r}")


def _release(handle: NativeMount, tmpdir: str | None, pid: int) -> None:
    """Unmounts and removes a temporary mountpoint: once, from :meth:`Mount.unmount`, garbage
    collection or the interpreter's exit (never in a forked child)."""
    if os.getpid() != pid:
        return
    handle.unmount()
    if tmpdir is not None:
        _remove_dir(tmpdir)


def _remove_dir(path: str) -> None:
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
