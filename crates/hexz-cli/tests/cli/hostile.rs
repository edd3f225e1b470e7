//! The hostile corpus (`tests/fixtures/hostile/`, listed in `tests/fixtures/README.md`):
//! archives that are valid but built to cost time or memory (`docs/FORMAT.md` §14, resource
//! exhaustion), each read by every reading command under a memory and time limit: memory
//! within a fixed multiple of the file plus the default caches, time bounded.
//!
//! The fixtures are made by [`generate`] (run `HEXZ_REGENERATE_HOSTILE=1 cargo test -p
//! hexz-cli --test cli hostile` to rewrite them) and kept in the repository, so a change to
//! the writer does not silently change what the readers are tested against.

use hexz_core::{ArchiveWriter, Compression, DType, EntryMeta, WriteOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/hostile")
}

fn meta() -> EntryMeta {
    EntryMeta {
        mode: 0o644,
        mtime_ns: 0,
    }
}

/// The cases: (file name, what it holds, how it is made).
type Make = fn(&Path);
const CASES: &[(&str, &str, Make)] = &[
    (
        "max-entries-per-page.hxz",
        "70,000 zero blocks of 4 KiB indexed by pages of 65,536 entries (the spec's maximum)",
        make_max_entries_per_page,
    ),
    (
        "one-byte-blocks.hxz",
        "30,000 records of one byte, each in a block of its own",
        make_one_byte_blocks,
    ),
    (
        "max-paths.hxz",
        "300 files whose paths are 4,096 bytes long (16 components of 255 bytes)",
        make_max_paths,
    ),
    (
        "dedup-chain.hxz",
        "5,000 files with the same 64 KiB of content: one stored block read through every file",
        make_dedup_chain,
    ),
    (
        "zstd-bomb.hxz",
        "256 MiB of one repeated byte in 16 MiB blocks, Zstandard: a few KiB on disk",
        make_zstd_bomb,
    ),
];

fn make_max_entries_per_page(path: &Path) {
    let opts = WriteOptions {
        block_size: 4096,
        entries_per_page: 65_536,
        archive_id: Some([1; 16]),
        ..WriteOptions::default()
    };
    let mut w = ArchiveWriter::create(path, opts).expect("create");
    w.add_stream("disk", std::io::repeat(0).take(70_000 * 4096), meta())
        .expect("stream");
    w.finish().expect("finish");
}

fn make_one_byte_blocks(path: &Path) {
    let opts = WriteOptions {
        record_block_min: 1,
        archive_id: Some([2; 16]),
        ..WriteOptions::default()
    };
    let mut w = ArchiveWriter::create(path, opts).expect("create");
    w.begin_records("bytes", DType::Bytes, &[]).expect("group");
    for i in 0..30_000u32 {
        w.add_record(&[(i % 251) as u8]).expect("record");
    }
    w.finish().expect("finish");
}

fn make_max_paths(path: &Path) {
    let opts = WriteOptions {
        archive_id: Some([3; 16]),
        ..WriteOptions::default()
    };
    let mut w = ArchiveWriter::create(path, opts).expect("create");
    for i in 0..300u32 {
        // 16 components of 255 bytes and 15 slashes: 4,095 bytes, then one more character.
        let mut p: Vec<String> = (0..16).map(|c| format!("{c:x}").repeat(255)).collect();
        p[15] = format!("{i:05}{}", "z".repeat(251));
        let full = p.join("/");
        assert_eq!(full.len(), 4096);
        w.add_bytes(&full, format!("file {i}").as_bytes(), meta())
            .expect("add");
    }
    w.finish().expect("finish");
}

fn make_dedup_chain(path: &Path) {
    let opts = WriteOptions {
        archive_id: Some([4; 16]),
        ..WriteOptions::default()
    };
    let mut w = ArchiveWriter::create(path, opts).expect("create");
    let same = crate::util::noise(64 << 10, 9);
    for i in 0..5_000u32 {
        w.add_bytes(&format!("copies/{i:05}.bin"), &same, meta())
            .expect("add");
    }
    w.finish().expect("finish");
}

fn make_zstd_bomb(path: &Path) {
    let opts = WriteOptions {
        compression: Compression::Zstd(19),
        block_size: 16 << 20,
        archive_id: Some([5; 16]),
        ..WriteOptions::default()
    };
    let mut w = ArchiveWriter::create(path, opts).expect("create");
    w.add_stream("disk", std::io::repeat(1).take(256 << 20), meta())
        .expect("stream");
    w.finish().expect("finish");
}

/// Writes every case into `dir`.
fn generate(dir: &Path) {
    std::fs::create_dir_all(dir).expect("mkdir");
    for (name, _, make) in CASES {
        make(&dir.join(name));
    }
}

/// Peak RSS (KiB), wall seconds, success and stderr of `hexz args...`, measured by GNU time
/// (wait4).
fn measured(args: &[&str]) -> (u64, f64, bool, String) {
    let time = Path::new("/usr/bin/time");
    assert!(
        time.exists(),
        "/usr/bin/time is missing: install the Debian package `time` (make apt-build does)"
    );
    let out = Command::new(time)
        .args(["-f", "HEXZ_RESOURCES %M %e"])
        .arg(env!("CARGO_BIN_EXE_hexz"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "hexz {args:?} panicked: {err}");
    let line = err
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("HEXZ_RESOURCES "))
        .unwrap_or_else(|| panic!("no figures from time: {err}"));
    let mut it = line.split_whitespace();
    let kib = it.next().and_then(|v| v.parse().ok()).expect("rss");
    let secs = it.next().and_then(|v| v.parse().ok()).expect("secs");
    // GNU time prints "Command exited with non-zero status" before its own line.
    (
        kib,
        secs,
        !err.contains("non-zero status"),
        err.into_owned(),
    )
}

/// Commands that must fail on a case, and what their error says: 16 components of 255 bytes
/// under the extraction directory exceed the system's PATH_MAX.
const EXPECTED_FAILURES: &[(&str, &str, &str)] =
    &[("max-paths.hxz", "extract", "File name too long")];

#[test]
fn hostile_archives_cost_bounded_memory_and_time() {
    let dir = corpus();
    if std::env::var_os("HEXZ_REGENERATE_HOSTILE").is_some() {
        generate(&dir);
    }
    // The default caches: 64 MiB of blocks and twice 32 MiB of pages, plus a 16 MiB block
    // being decoded, and the process itself.
    let caches_kib = (64 + 2 * 32 + 16) << 10;
    let base_kib = 64 << 10;
    let scratch = tempfile::TempDir::new().expect("tempdir");
    for (name, what, _) in CASES {
        let path = dir.join(name);
        let file_kib = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (regenerate the corpus?)", path.display()))
            .len()
            / 1024;
        assert!(
            file_kib < 2048,
            "{name} is {file_kib} KiB: keep the corpus small"
        );
        let limit_kib = 4 * file_kib + caches_kib + base_kib;
        let p = path.to_str().expect("utf-8");
        let dest = scratch.path().join(name);
        let dest = dest.to_str().expect("utf-8");
        for args in [
            vec!["inspect", p],
            vec!["ls", p],
            vec!["verify", "-q", p],
            vec!["cat", "-q", p],
            vec!["extract", "-q", p, dest],
        ] {
            let (kib, secs, ok, err) = measured(&args);
            eprintln!(
                "hostile: hexz {} on {name}: peak RSS {kib} KiB, {secs} s",
                args[0]
            );
            let expected = EXPECTED_FAILURES
                .iter()
                .find(|(case, cmd, _)| case == name && *cmd == args[0]);
            match expected {
                None => assert!(ok, "hexz {args:?} failed on {name} ({what}): {err}"),
                Some((_, _, message)) => {
                    assert!(!ok, "hexz {args:?} should fail on {name}");
                    assert!(err.contains(message), "hexz {args:?} on {name}: {err}");
                    assert!(err.contains("hexz: error: "), "{err}");
                }
            }
            assert!(
                kib <= limit_kib,
                "hexz {args:?} on {name} ({what}): peak RSS {kib} KiB, limit {limit_kib} KiB"
            );
            assert!(secs < 60.0, "hexz {args:?} on {name} ({what}): {secs} s");
        }
    }
}
