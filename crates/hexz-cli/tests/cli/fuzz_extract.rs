//! Fuzzing `hexz extract` on stable Rust: the golden fixtures and random mutations of them
//! (`hexz_testkit::replay`; `HEXZ_FUZZ_SECONDS`, default 3) are extracted into a fresh directory by the real binary. Whatever the input: no panic,
//! exit status 0 or 1 with one `hexz: error:` line, and nothing written outside the
//! directory (a sibling directory and file stay as they were, the parent gains nothing).

use hexz_testkit::replay::{self, fixtures};
use std::path::Path;

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn extract_never_panics_or_writes_outside() {
    let t = tempfile::TempDir::new().expect("tempdir");
    let outside = t.path().join("outside");
    std::fs::create_dir(&outside).expect("mkdir");
    std::fs::write(outside.join("keep.txt"), b"keep").expect("write");
    let archive = t.path().join("input.hxz");
    std::fs::write(&archive, b"").expect("write");
    let before = listing(t.path());
    let runs = std::cell::Cell::new(0u64);
    let report = replay::replay("extract", &fixtures(), |data| {
        std::fs::write(&archive, data).expect("write input");
        runs.set(runs.get() + 1);
        let dest = t.path().join(format!("dest-{}", runs.get()));
        let out = crate::util::cmd(["extract", "-q"])
            .arg(&archive)
            .arg(&dest)
            .output()
            .expect("run hexz");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "hexz extract panicked: {err}");
        match out.status.code() {
            Some(0) => {}
            Some(1) => assert!(err.contains("hexz: error: "), "{err}"),
            other => panic!("hexz extract exited with {other:?}: {err}"),
        }
        assert_eq!(
            listing(&outside),
            ["keep.txt"],
            "something was written outside"
        );
        assert_eq!(
            std::fs::read(outside.join("keep.txt")).expect("read"),
            b"keep"
        );
        let mut now = listing(t.path());
        now.retain(|n| !n.starts_with("dest-"));
        assert_eq!(now, before, "the parent directory gained files");
        // Read-only directories may resist (without root); a later run uses a new name.
        let _ = std::fs::remove_dir_all(&dest);
    });
    assert!(report.mutations > 0, "{report:?}");
}
