"""``hexz.mount``: real read-only FUSE mounts of local, S3 and HTTP archives, compared with their
sources; encrypted archives (key=, password=, a wrong or missing key); the context manager
(also when its block raises), mountpoint and archive errors, and that nothing is left behind:
no mount, no temporary mountpoint, no thread, no process.

The mounts need Linux, root and /dev/fuse (CI runs as root); elsewhere those tests skip and
say why.
"""

from __future__ import annotations

import errno
import gc
import os
import stat
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import S3, Http

import hexz
import hexz_testing as ht

NO_FUSE = ht.fuse_unavailable()
needs_fuse = pytest.mark.skipif(NO_FUSE is not None, reason=NO_FUSE or "")

# What the tests mounted, for the final check that none of it is left.
MOUNTED: list[Path] = []
TEMP_DIRS: list[Path] = []


def mount(path: Any, mountpoint: Any = None, **options: Any) -> hexz.Mount:
    """hexz.mount, remembering where it mounted."""
    mp = hexz.mount(path, mountpoint, **options)
    MOUNTED.append(mp.path)
    if mountpoint is None:
        TEMP_DIRS.append(mp.path)
    return mp


def fuse_threads() -> list[str]:
    """Names of this process's threads that serve FUSE requests (hexz-fuse's supervisor and
    fuser's request threads)."""
    names = []
    for task in os.listdir("/proc/self/task"):
        try:
            name = Path(f"/proc/self/task/{task}/comm").read_text().strip()
        except OSError:
            continue  # the thread just ended
        if name == "hexz-fuse" or name.startswith("fuser-"):
            names.append(name)
    return names


def child_processes() -> dict[int, str]:
    """This process's children (pid: command line), except the session's test servers."""
    me = os.getpid()
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[1]) == me and "moto_server" not in cmd and "nginx" not in cmd:
            out[int(pid)] = cmd
    return out


@pytest.fixture(scope="module", autouse=True)
def nothing_left_behind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the module: no mount it made is left, no temporary mountpoint, no FUSE thread
    (lazily detached mounts end with their last file, so this waits up to 10 s) and no new
    child process."""
    if NO_FUSE is not None:
        yield
        return
    # The engine decodes on rayon's global pool, whose threads, started on first use, take
    # the name of the thread that started them: start it here, not in a FUSE request thread.
    warm = tmp_path_factory.mktemp("warm") / "warm.hxz"
    with hexz.Writer(warm, block_size=4096) as w:
        w.add_bytes(ht.random_bytes(1 << 20, seed=30), "x")
    with hexz.Reader(warm) as r:
        r.read_at(0, 1 << 20)
    children = set(child_processes())
    assert not fuse_threads(), f"FUSE threads before the tests: {fuse_threads()}"
    yield
    gc.collect()
    left = [str(p) for p in MOUNTED if ht.hexz_mount_at(p)]
    assert not left, f"still mounted: {left}"
    temps = [str(p) for p in TEMP_DIRS if p.exists()]
    assert not temps, f"temporary mountpoints left: {temps}"
    deadline = time.monotonic() + 10
    while fuse_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not fuse_threads(), f"FUSE threads left: {fuse_threads()}"
    new = {p: c for p, c in child_processes().items() if p not in children}
    assert not new, f"processes left: {new}"


# -- archives -----------------------------------------------------------------------------------

MTIME_NS = 1_600_000_000_123_456_789


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A source tree (files of several blocks, an empty file, an executable and a private
    file, nested and empty directories, relative, absolute and dangling symlinks, fixed
    mtimes) and its archive (4 KiB blocks)."""
    base = tmp_path_factory.mktemp("mount-tree")
    src = base / "src"
    files = {
        "a.txt": b"alpha\nbeta\ngamma\n",
        "empty": b"",
        "bin/run.sh": b"#!/bin/sh\necho hi\n",
        "sub/big.bin": ht.compressible_bytes(300_000, seed=31),
        "sub/rand.bin": ht.random_bytes(70_001, seed=32),
        "sub/deeper/private.key": b"secret\n",
        "name with spaces.txt": b"spaces\n",
    }
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    (src / "emptydir").mkdir()
    (src / "bin/run.sh").chmod(0o755)
    (src / "sub/deeper/private.key").chmod(0o600)
    (src / "link").symlink_to("a.txt")
    (src / "sub/up").symlink_to("../a.txt")
    (src / "abs").symlink_to("/etc/hostname")
    (src / "dangling").symlink_to("no/such/file")
    for i, p in enumerate(sorted(src.rglob("*"), reverse=True)):
        os.utime(p, ns=(MTIME_NS + i, MTIME_NS + i * 1_000_003), follow_symlinks=False)
    path = base / "tree.hxz"
    with hexz.Writer(path, block_size=4096) as w:
        w.add_dir(src)
    return src, path


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    """A raw disk image of 1 MiB + 100 bytes (zeros, data, random) as the ``disk`` stream."""
    base = tmp_path_factory.mktemp("mount-image")
    data = bytes(300_000) + ht.compressible_bytes(400_000, seed=33)
    data += ht.random_bytes((1 << 20) + 100 - len(data), seed=34)
    (base / "disk.raw").write_bytes(data)
    path = base / "image.hxz"
    with hexz.Writer(path, block_size=65536) as w:
        w.add_stream(base / "disk.raw")
    return data, path


def assert_same_tree(src: Path, mounted: Path) -> None:
    """Names, kinds, sizes, permission bits, mtimes, contents and symlink targets of ``mounted``
    are those of ``src``."""
    want = {
        os.path.relpath(os.path.join(d, n), src)
        for d, dirs, names in os.walk(src)
        for n in dirs + names
    }
    got = {
        os.path.relpath(os.path.join(d, n), mounted)
        for d, dirs, names in os.walk(mounted)
        for n in dirs + names
    }
    assert got == want
    for rel in sorted(want):
        a, b = os.lstat(src / rel), os.lstat(mounted / rel)
        assert stat.S_IFMT(b.st_mode) == stat.S_IFMT(a.st_mode), rel
        if not stat.S_ISLNK(a.st_mode):
            assert stat.S_IMODE(b.st_mode) == stat.S_IMODE(a.st_mode), rel
        assert b.st_mtime_ns == a.st_mtime_ns, rel
        if stat.S_ISREG(a.st_mode):
            assert b.st_size == a.st_size, rel
            assert (mounted / rel).read_bytes() == (src / rel).read_bytes(), rel
        elif stat.S_ISLNK(a.st_mode):
            assert os.readlink(mounted / rel) == os.readlink(src / rel), rel


# -- mounting -----------------------------------------------------------------------------------


@needs_fuse
def test_tree_matches_its_source(tree: tuple[Path, Path]) -> None:
    src, archive = tree
    with mount(archive) as mp:
        assert isinstance(mp.path, Path) and mp.path.is_absolute()
        assert mp.path.name.startswith("hexz-mount-")
        assert mp.mounted and mp.archive == str(archive)
        assert ht.hexz_mount_at(mp.path) == (str(mp.path), "fuse.hexz", f"hexz:{archive}")
        assert_same_tree(src, mp.path)
        # The ways the seed README and users name files under it.
        assert f"{mp.path}" == str(mp.path)
        with open(os.path.join(mp.path, "a.txt"), "rb") as f:
            assert f.read() == b"alpha\nbeta\ngamma\n"
        assert (mp.path / "link").read_text() == "alpha\nbeta\ngamma\n"
        assert (mp.path / "sub/up").read_text() == "alpha\nbeta\ngamma\n"
        assert not (mp.path / "dangling").exists()
        with pytest.raises(OSError) as e:
            (mp.path / "new").write_bytes(b"x")
        assert e.value.errno == errno.EROFS
        assert mp.read_errors == 0
    assert not mp.mounted
    assert ht.hexz_mount_at(mp.path) is None
    assert not mp.path.exists()
    assert "unmounted" in repr(mp)


@needs_fuse
def test_raw_image_is_the_disk_file(image: tuple[bytes, Path]) -> None:
    data, archive = image
    with mount(archive) as mp:
        assert sorted(os.listdir(mp.path)) == ["disk"]
        st = os.stat(mp.path / "disk")
        assert stat.S_ISREG(st.st_mode) and st.st_size == len(data)
        assert (mp.path / "disk").read_bytes() == data
        with open(mp.path / "disk", "rb") as f:
            f.seek(299_990)
            assert f.read(20) == data[299_990:300_010]
            f.seek(len(data) - 7)
            assert f.read(100) == data[-7:]


@needs_fuse
def test_exception_in_the_block_propagates_and_unmounts(tree: tuple[Path, Path]) -> None:
    _, archive = tree
    seen = []

    class Boom(Exception):
        pass

    with pytest.raises(Boom, match="in the block"):
        with mount(archive) as mp:
            seen.append(mp)
            assert ht.hexz_mount_at(mp.path)
            assert (mp.path / "a.txt").exists()
            raise Boom("in the block")
    (mp,) = seen
    assert not mp.mounted
    assert ht.hexz_mount_at(mp.path) is None
    assert not mp.path.exists(), "the temporary mountpoint was not removed"
    # A KeyboardInterrupt (BaseException) unmounts too.
    with pytest.raises(KeyboardInterrupt):
        with mount(archive) as mp:
            raise KeyboardInterrupt
    assert ht.hexz_mount_at(mp.path) is None and not mp.path.exists()


@needs_fuse
def test_explicit_mountpoint_is_kept(tree: tuple[Path, Path], tmp_path: Path) -> None:
    src, archive = tree
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    with mount(archive, mnt) as mp:
        assert mp.path == mnt.resolve()
        assert (mnt / "a.txt").read_bytes() == (src / "a.txt").read_bytes()
    assert mnt.is_dir() and not any(mnt.iterdir())
    assert ht.hexz_mount_at(mnt) is None
    # str paths and a relative mountpoint (resolved at mount time) too.
    os.chdir(tmp_path)
    try:
        with mount(str(archive), "mnt") as mp:
            assert mp.path == mnt.resolve()
            assert os.listdir("mnt")
    finally:
        os.chdir(Path(__file__).parent)
    assert not os.listdir(mnt)


@needs_fuse
def test_without_with(tree: tuple[Path, Path]) -> None:
    src, archive = tree
    mp = mount(archive)
    assert mp.mounted
    assert (mp.path / "sub/big.bin").read_bytes() == (src / "sub/big.bin").read_bytes()
    mp.unmount()
    assert not mp.mounted and not mp.path.exists()
    mp.unmount()  # again: nothing to do
    with pytest.raises(ValueError, match="unmounted"):
        with mp:
            pass
    # Forgotten: garbage collection unmounts and removes the temporary mountpoint.
    forgotten = mount(archive)
    where = forgotten.path
    assert ht.hexz_mount_at(where)
    del forgotten
    gc.collect()
    assert ht.hexz_mount_at(where) is None and not where.exists()


@needs_fuse
def test_mount_of_an_open_reader_shares_it(tree: tuple[Path, Path]) -> None:
    src, archive = tree
    with hexz.Reader(archive) as r:
        with mount(r) as mp:
            assert (mp.path / "sub/rand.bin").read_bytes() == (src / "sub/rand.bin").read_bytes()
            assert r._h.native.cached_bytes > 0  # the mount read through the reader's cache
        assert bytes(r.open("a.txt").read()) == b"alpha\nbeta\ngamma\n"
        with pytest.raises(ValueError, match="open Reader"):
            hexz.mount(r, cache_size=10)


@needs_fuse
def test_unmount_while_a_file_is_open(tree: tuple[Path, Path]) -> None:
    """A busy mount is detached: it leaves the tree at once, the open file still reads, and
    its threads end when the file is closed (checked at the end of the module)."""
    src, archive = tree
    mp = mount(archive)
    f = open(mp.path / "sub/big.bin", "rb")
    try:
        mp.unmount()
        assert ht.hexz_mount_at(mp.path) is None and not mp.path.exists()
        assert f.read() == (src / "sub/big.bin").read_bytes()
    finally:
        f.close()


@needs_fuse
def test_unmounted_from_outside(tree: tuple[Path, Path]) -> None:
    _, archive = tree
    with mount(archive) as mp:
        subprocess.run(["umount", str(mp.path)], check=True)
        deadline = time.monotonic() + 5
        while mp.mounted and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not mp.mounted
    assert not mp.path.exists()


@needs_fuse
def test_concurrent_readers(tree: tuple[Path, Path]) -> None:
    """Python threads (the GIL released during their reads) and child processes read the
    mount at the same time as this process."""
    src, archive = tree
    names = ["sub/big.bin", "sub/rand.bin", "a.txt", "bin/run.sh"] * 4
    with mount(archive, threads=4) as mp:
        with ThreadPoolExecutor(8) as ex:
            got = list(ex.map(lambda n: (mp.path / n).read_bytes(), names))
        assert got == [(src / n).read_bytes() for n in names]
        out = subprocess.run(
            ["sha256sum", *(str(mp.path / n) for n in names[:4])],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        want = subprocess.run(
            ["sha256sum", *(str(src / n) for n in names[:4])],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        assert [line.split()[0] for line in out.splitlines()] == [
            line.split()[0] for line in want.splitlines()
        ]


@needs_fuse
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_forked_child_leaves_the_parents_mount(tree: tuple[Path, Path]) -> None:
    _, archive = tree
    with mount(archive) as mp:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                mp.unmount()  # the parent's: nothing happens
                mp._handle.unmount()  # nor natively
                del mp
                gc.collect()
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert mp.mounted and ht.hexz_mount_at(mp.path)
        assert (mp.path / "a.txt").read_bytes() == b"alpha\nbeta\ngamma\n"


@pytest.mark.parametrize("scheme", ["s3", "http"])
@needs_fuse
def test_remote_archive(
    scheme: str,
    tree: tuple[Path, Path],
    moto_s3: S3,
    nginx_http: Http,
    aws_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    src, archive = tree
    if scheme == "s3":
        url = moto_s3.put("hexz-mount", "tree.hxz", archive)
        # The S3 options reach the store: the endpoint given here, not the environment's.
        monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        options: dict[str, Any] = {"endpoint": moto_s3.endpoint, "region": "us-east-1"}
    else:
        url = nginx_http.put("mount/tree.hxz", archive)
        options = {}
    with mount(url, cache_size=16, **options) as mp:
        assert mp.archive == url
        assert ht.hexz_mount_at(mp.path) == (str(mp.path), "fuse.hexz", f"hexz:{url}")
        assert_same_tree(src, mp.path)
    assert ht.hexz_mount_at(mp.path) is None and not mp.path.exists()


# -- encrypted archives ---------------------------------------------------------------------------

KEY = bytes(range(32))
# Cheap Argon2id parameters (64 KiB, 1 pass, 1 lane): tests only.
CHEAP_KDF = (64, 1, 1)


@pytest.fixture(scope="module")
def encrypted(tree: tuple[Path, Path]) -> tuple[Path, Path, Path]:
    """The source tree of ``tree`` packed with a raw key (``KEY``) and with the password
    ``correct horse``: ``(source, raw-key archive, password archive)``."""
    src, plain = tree
    raw = plain.with_name("tree-key.hxz")
    with hexz.Writer(raw, block_size=4096, key=KEY) as w:
        w.add_dir(src)
    pw = plain.with_name("tree-password.hxz")
    with hexz.Writer(pw, block_size=4096, password="correct horse", kdf=CHEAP_KDF) as w:
        w.add_dir(src)
    assert ht.compressible_bytes(300_000, seed=31)[:4096] not in raw.read_bytes()
    return src, raw, pw


@needs_fuse
def test_encrypted_archive_matches_its_source(
    encrypted: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    src, raw, pw = encrypted
    key_file = tmp_path / "archive.key"
    key_file.write_text(KEY.hex() + "\n")
    cases: list[tuple[Path, dict[str, Any]]] = [
        (raw, {"key": KEY}),
        (raw, {"key": KEY.hex()}),
        (raw, {"key": key_file}),
        (pw, {"password": "correct horse"}),
    ]
    for archive, options in cases:
        with mount(archive, **options) as mp:
            assert ht.hexz_mount_at(mp.path) == (str(mp.path), "fuse.hexz", f"hexz:{archive}")
            assert_same_tree(src, mp.path)
            assert mp.read_errors == 0
        assert ht.hexz_mount_at(mp.path) is None and not mp.path.exists()
    # An open Reader of an encrypted archive mounts too, sharing its key and cache.
    with hexz.Reader(pw, password="correct horse") as r, mount(r) as mp:
        assert (mp.path / "sub/big.bin").read_bytes() == (src / "sub/big.bin").read_bytes()


def test_encrypted_archive_wrong_or_missing_key(
    encrypted: tuple[Path, Path, Path], tmp_path: Path, own_tempdir: Path
) -> None:
    """A wrong or missing key fails before anything is mounted: DecryptionError, no mount, no
    temporary or leftover mountpoint contents."""
    if not sys.platform.startswith("linux"):
        pytest.skip("mounting is Linux-only")
    _, raw, pw = encrypted
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    cases: list[tuple[Path, dict[str, Any]]] = [
        (raw, {"key": bytes(32)}),
        (raw, {"password": "correct horse"}),
        (raw, {}),
        (pw, {"password": "correct horse "}),
        (pw, {"key": KEY}),
        (pw, {}),
    ]
    for archive, options in cases:
        for where in (None, mnt):
            with pytest.raises(hexz.DecryptionError) as e:
                hexz.mount(archive, where, **options)
            assert str(archive) in str(e.value)
            assert ht.hexz_mount_at(mnt) is None
            assert not any(mnt.iterdir())
    assert not list(own_tempdir.iterdir())
    assert not [m for m in ht.mounts() if m[1] == "fuse.hexz" and str(tmp_path) in m[0]]


# -- errors -------------------------------------------------------------------------------------


@needs_fuse
def test_mountpoint_errors(tree: tuple[Path, Path], tmp_path: Path) -> None:
    _, archive = tree
    missing = tmp_path / "missing"
    with pytest.raises(FileNotFoundError, match="does not exist") as e:
        hexz.mount(archive, missing)
    assert e.value.errno == errno.ENOENT and str(missing) in str(e.value)
    assert not missing.exists()
    with pytest.raises(NotADirectoryError, match="not a directory"):
        hexz.mount(archive, archive)
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("x")
    with pytest.raises(OSError, match="is not empty") as e2:
        hexz.mount(archive, full)
    assert e2.value.errno == errno.ENOTEMPTY
    assert (full / "x").read_text() == "x"
    for p in (missing, archive, full):
        assert ht.hexz_mount_at(p) is None


def test_option_errors(tree: tuple[Path, Path]) -> None:
    _, archive = tree
    for bad in ({"threads": 0}, {"threads": 257}, {"uid": -1}, {"gid": 2**32}, {"uid": "0"}):
        with pytest.raises(ValueError):
            hexz.mount(archive, **bad)
    with pytest.raises(TypeError):
        hexz.mount(archive, allow_other=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        hexz.mount(archive, endpoint=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        hexz.mount(archive, no_such_option=1)  # type: ignore[call-arg]


@pytest.fixture
def own_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private temporary directory for mkdtemp, to see what a failed mount leaves there."""
    d = tmp_path / "tmp"
    d.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    return d


def test_archive_errors(tree: tuple[Path, Path], tmp_path: Path, own_tempdir: Path) -> None:
    """A missing or corrupt archive fails before anything is mounted or created."""
    if not sys.platform.startswith("linux"):
        pytest.skip("mounting is Linux-only")
    _, archive = tree
    with pytest.raises(FileNotFoundError):
        hexz.mount(tmp_path / "missing.hxz")
    data = bytearray(archive.read_bytes())
    bad = tmp_path / "truncated.hxz"
    bad.write_bytes(data[:-10])
    with pytest.raises(hexz.FormatError):
        hexz.mount(bad)
    bad = tmp_path / "footer.hxz"
    data2 = bytearray(data)
    data2[-20] ^= 0x40
    bad.write_bytes(data2)
    with pytest.raises(hexz.FormatError):
        hexz.mount(bad)
    assert not list(own_tempdir.iterdir())


@needs_fuse
def test_corrupt_entries_table(tmp_path: Path, own_tempdir: Path) -> None:
    """An archive that opens but whose entries table is corrupt fails at mount (the table is
    read then), with the temporary mountpoint removed and nothing mounted."""
    src = tmp_path / "src"
    src.mkdir()
    marker = "a-unique-file-name-found-only-in-the-entries-table.txt"
    (src / marker).write_bytes(b"x" * 100)
    archive = tmp_path / "a.hxz"
    with hexz.Writer(archive, compression="none") as w:
        w.add_dir(src)
    data = bytearray(archive.read_bytes())
    at = data.rfind(marker.encode())
    assert at > 0
    data[at + 5] ^= 0x01
    archive.write_bytes(data)
    hexz.open(archive).close()  # opens: the table is read on first use
    with pytest.raises((hexz.FormatError, hexz.IntegrityError)):
        hexz.mount(archive)
    assert not list(own_tempdir.iterdir())


def test_exports() -> None:
    assert isinstance(hexz.mount, types.FunctionType)  # the function, not the module hexz.mount
    assert callable(hexz.mount) and "mount" in hexz.__all__ and "Mount" in hexz.__all__


@pytest.mark.skipif(sys.platform.startswith("linux"), reason="Linux mounts; tested above")
def test_not_linux_is_unsupported(tree: tuple[Path, Path]) -> None:  # pragma: no cover
    with pytest.raises(hexz.UnsupportedFeatureError, match="Linux"):
        hexz.mount(tree[1])
