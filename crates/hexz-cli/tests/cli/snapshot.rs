//! What a file system snapshot keeps (`docs/FORMAT.md` §7.6): a tree with every kind of
//! metadata (owners, ACLs and other extended attributes, hard links, device nodes, a FIFO, a
//! socket, a sparse file, a symlink) packed and extracted by `hexz` compares equal to itself,
//! field by field, and keeps everything `tar --xattrs` and `mksquashfs` + `unsquashfs` keep of
//! the same tree (run side by side; what each loses is printed). Needs root (device nodes,
//! owners): skipped with a message otherwise.

use crate::util::ok;
use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

/// One path's metadata, as the comparison sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    kind: &'static str,
    mode: u32,
    owner: (u32, u32),
    size: u64,
    mtime: (i64, i64),
    rdev: u64,
    target: Option<PathBuf>,
    data: Option<Vec<u8>>,
    xattrs: Vec<(String, Vec<u8>)>,
    /// The first path (in sorted order) of the same inode: hard links.
    link_of: String,
    /// Allocated 512-byte blocks when the file is sparse (else 0).
    sparse_blocks: u64,
}

const FIELDS: [&str; 10] = [
    "type",
    "mode",
    "owner",
    "size",
    "mtime",
    "rdev",
    "target",
    "data",
    "xattrs",
    "hard links",
];

impl Fingerprint {
    /// The fields of `self` and `other` that differ, by name.
    fn diff(&self, other: &Fingerprint) -> Vec<&'static str> {
        let same = [
            self.kind == other.kind,
            self.mode == other.mode,
            self.owner == other.owner,
            self.size == other.size,
            // Directories' mtimes change as their entries are created, unless restored last.
            self.mtime == other.mtime,
            self.rdev == other.rdev,
            self.target == other.target,
            self.data == other.data,
            self.xattrs == other.xattrs,
            self.link_of == other.link_of,
        ];
        FIELDS
            .iter()
            .zip(same)
            .filter(|(_, s)| !s)
            .map(|(f, _)| *f)
            .collect()
    }
}

/// Every path under `root` (not `root` itself) and its fingerprint.
fn fingerprints(root: &Path) -> BTreeMap<String, Fingerprint> {
    let mut paths = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.symlink_metadata().expect("stat").is_dir() {
                stack.push(p.clone());
            }
            paths.push(p);
        }
    }
    paths.sort();
    let mut first_of: HashMap<(u64, u64), String> = HashMap::new();
    let mut out = BTreeMap::new();
    for p in paths {
        let rel = p
            .strip_prefix(root)
            .expect("under root")
            .display()
            .to_string();
        let md = p.symlink_metadata().expect("stat");
        let ft = md.file_type();
        let kind = match () {
            _ if ft.is_dir() => "dir",
            _ if ft.is_symlink() => "symlink",
            _ if ft.is_file() => "file",
            _ if ft.is_char_device() => "char",
            _ if ft.is_block_device() => "block",
            _ if ft.is_fifo() => "fifo",
            _ => "socket",
        };
        let mut xattrs: Vec<(String, Vec<u8>)> = xattr::list(&p)
            .map(|names| {
                names
                    .filter_map(|n| {
                        let v = xattr::get(&p, &n).ok().flatten()?;
                        Some((n.to_string_lossy().into_owned(), v))
                    })
                    .collect()
            })
            .unwrap_or_default();
        xattrs.sort();
        let link_of = match ft.is_file() {
            true => first_of
                .entry((md.dev(), md.ino()))
                .or_insert_with(|| rel.clone())
                .clone(),
            false => rel.clone(),
        };
        let fp = Fingerprint {
            kind,
            mode: md.mode() & 0o7777,
            owner: (md.uid(), md.gid()),
            size: if ft.is_file() { md.len() } else { 0 },
            mtime: (md.mtime(), md.mtime_nsec()),
            rdev: md.rdev(),
            target: ft
                .is_symlink()
                .then(|| std::fs::read_link(&p).expect("readlink")),
            data: ft.is_file().then(|| std::fs::read(&p).expect("read")),
            xattrs,
            link_of,
            sparse_blocks: if ft.is_file() && md.blocks() * 512 < md.len() {
                md.blocks()
            } else {
                0
            },
        };
        out.insert(rel, fp);
    }
    out
}

fn sh(cmd: &mut Command) {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The tree: every kind of entry and attribute a snapshot should keep.
fn make_tree(src: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(src.join("etc/sub")).expect("mkdir");
    std::fs::write(src.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").expect("write");
    std::fs::hard_link(src.join("etc/passwd"), src.join("etc/sub/passwd.link")).expect("link");
    std::fs::write(src.join("owned"), "belongs to 1234").expect("write");
    nix::unistd::chown(
        &src.join("owned"),
        Some(nix::unistd::Uid::from_raw(1234)),
        Some(nix::unistd::Gid::from_raw(4321)),
    )
    .expect("chown");
    std::fs::write(src.join("acl"), "with an ACL").expect("write");
    xattr::set(
        src.join("acl"),
        "system.posix_acl_access",
        &hexz_testkit::tree::posix_acl_granting(1234),
    )
    .expect("acl");
    xattr::set(src.join("acl"), "user.note", b"hello").expect("xattr");
    xattr::set(src.join("etc"), "user.dir", b"on a directory").expect("xattr");
    xattr::set(src.join("owned"), "trusted.secret", b"root only").expect("xattr");
    std::os::unix::fs::symlink("etc/passwd", src.join("link")).expect("symlink");
    use nix::sys::stat::{makedev, mknod, Mode, SFlag};
    let rw = Mode::from_bits_truncate(0o640);
    mknod(&src.join("null"), SFlag::S_IFCHR, rw, makedev(1, 3)).expect("mknod c");
    mknod(&src.join("loop9"), SFlag::S_IFBLK, rw, makedev(7, 9)).expect("mknod b");
    nix::unistd::mkfifo(&src.join("fifo"), rw).expect("mkfifo");
    let sock = std::os::unix::net::UnixListener::bind(src.join("sock")).expect("socket");
    drop(sock);
    let sparse = std::fs::File::create(src.join("sparse")).expect("create");
    sparse.set_len(16 << 20).expect("set_len");
    std::os::unix::fs::FileExt::write_all_at(&sparse, b"middle", 8 << 20).expect("write");
    std::fs::set_permissions(
        src.join("etc/passwd"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .expect("chmod");
    // Directory mtimes last: creating entries changes them.
    let t = filetime::FileTime::from_unix_time(1_600_000_000, 123_456_789);
    for d in ["etc/sub", "etc", ""] {
        filetime::set_file_mtime(src.join(d), t).expect("mtime");
    }
}

/// The tree of [`make_tree`] in a temporary directory, packed by `hexz pack`: (the directory,
/// the tree, the archive).
fn packed_tree() -> (TempDir, PathBuf, PathBuf) {
    let t = TempDir::new().expect("tempdir");
    let src = t.path().join("src");
    make_tree(&src);
    let archive = t.path().join("tree.hxz");
    ok([
        "pack",
        "-q",
        src.to_str().expect("utf-8"),
        archive.to_str().expect("utf-8"),
    ]);
    (t, src, archive)
}

fn tool(name: &str) -> bool {
    Command::new(name).arg("--help").output().is_ok()
}

#[test]
fn a_snapshot_keeps_what_tar_and_squashfs_keep() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: making device nodes and giving files away needs root");
        return;
    }
    let (t, src, archive) = packed_tree();
    let want = fingerprints(&src);
    assert_eq!(want.len(), 12, "{:?}", want.keys());
    let out = t.path().join("hexz");
    ok([
        "extract",
        "-q",
        archive.to_str().expect("utf-8"),
        out.to_str().expect("utf-8"),
    ]);
    let got = fingerprints(&out);
    let mut report = vec![format!(
        "{:14}{:>10}{:>10}{:>10}",
        "paths losing", "hexz", "tar", "squashfs"
    )];

    // Peers, side by side on the same tree.
    let tar_out = t.path().join("tar");
    std::fs::create_dir(&tar_out).expect("mkdir");
    let tarball = t.path().join("tree.tar");
    sh(Command::new("tar")
        .args(["--xattrs", "--xattrs-include=*", "--acls", "-cpf"])
        .arg(&tarball)
        .arg("-C")
        .arg(&src)
        .arg("."));
    sh(Command::new("tar")
        .args(["--xattrs", "--xattrs-include=*", "--acls", "-xpf"])
        .arg(&tarball)
        .arg("-C")
        .arg(&tar_out));
    let peers: Vec<(&str, Option<BTreeMap<String, Fingerprint>>)> = vec![
        ("tar", Some(fingerprints(&tar_out))),
        ("squashfs", {
            if tool("mksquashfs") && tool("unsquashfs") {
                let img = t.path().join("tree.sqfs");
                let sq_out = t.path().join("squashfs");
                sh(Command::new("mksquashfs").arg(&src).arg(&img).args([
                    "-quiet",
                    "-no-progress",
                    "-xattrs",
                ]));
                sh(Command::new("unsquashfs")
                    .args(["-quiet", "-no-progress", "-xattrs", "-d"])
                    .arg(&sq_out)
                    .arg(&img));
                Some(fingerprints(&sq_out))
            } else {
                None
            }
        }),
    ];

    // Per field: how many paths each tool got wrong.
    let lost = |got: &BTreeMap<String, Fingerprint>| -> BTreeMap<&'static str, usize> {
        let mut n = BTreeMap::new();
        for (path, w) in &want {
            match got.get(path) {
                None => *n.entry("whole entry").or_insert(0) += 1,
                Some(g) => {
                    for f in w.diff(g) {
                        *n.entry(f).or_insert(0) += 1;
                    }
                }
            }
        }
        n
    };
    let ours = lost(&got);
    let theirs: Vec<Option<BTreeMap<&str, usize>>> =
        peers.iter().map(|(_, p)| p.as_ref().map(lost)).collect();
    for f in FIELDS.iter().copied().chain(["whole entry"]) {
        let cell = |m: &Option<BTreeMap<&str, usize>>| match m {
            Some(m) => m.get(f).copied().unwrap_or(0).to_string(),
            None => "n/a".into(),
        };
        report.push(format!(
            "{f:14}{:>10}{:>10}{:>10}",
            ours.get(f).copied().unwrap_or(0),
            cell(&theirs[0]),
            cell(&theirs[1])
        ));
    }
    eprintln!("{}", report.join("\n"));
    // Hexz keeps everything: every path, every field, sparse files sparse.
    for (path, w) in &want {
        let g = got
            .get(path)
            .unwrap_or_else(|| panic!("{path} missing after extract"));
        assert!(
            w.diff(g).is_empty(),
            "{path}: {:?} differ\n{w:?}\n{g:?}",
            w.diff(g)
        );
        if w.sparse_blocks > 0 {
            assert!(g.sparse_blocks > 0, "{path} is no longer sparse");
        }
    }
    assert_eq!(got.len(), want.len());
    // So it keeps at least what each peer keeps.
    for ((name, _), lost) in peers.iter().zip(&theirs) {
        if let Some(lost) = lost {
            for (field, n) in &ours {
                assert!(
                    lost.get(field).copied().unwrap_or(0) >= *n,
                    "{name} keeps {field}"
                );
            }
        }
    }
}

/// Unmounts on drop, so a failed assertion leaves no mount behind.
#[cfg(all(feature = "fuse", target_os = "linux"))]
struct Mounted(PathBuf);

#[cfg(all(feature = "fuse", target_os = "linux"))]
impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = crate::util::run(["unmount", self.0.to_str().unwrap_or_default()]);
    }
}

/// The mount shows the same tree: owners, device numbers, hard links as one inode, extended
/// attributes through getxattr and listxattr.
#[cfg(all(feature = "fuse", target_os = "linux"))]
#[test]
fn a_mount_shows_every_attribute() {
    if !nix::unistd::geteuid().is_root() || !hexz_testkit::mounts::can_mount() {
        eprintln!("skipped: needs root and /dev/fuse");
        return;
    }
    let (t, src, archive) = packed_tree();
    let mnt = t.path().join("mnt");
    std::fs::create_dir(&mnt).expect("mkdir");
    ok([
        "mount",
        "--daemon",
        archive.to_str().expect("utf-8"),
        mnt.to_str().expect("utf-8"),
    ]);
    let _m = Mounted(mnt.clone());
    let (want, got) = (fingerprints(&src), fingerprints(&mnt));
    assert_eq!(
        want.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>()
    );
    for (path, w) in &want {
        let g = &got[path];
        assert!(
            w.diff(g).is_empty(),
            "{path}: {:?} differ\n{w:?}\n{g:?}",
            w.diff(g)
        );
    }
}
