//! Running `hexz`; test data and source trees come from `hexz_testkit`.

pub use hexz_testkit::data::{mixed, noise, text};
pub use hexz_testkit::tree::{assert_same_tree, make_tree, put, walk};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A `hexz` command with `args`, stdin closed.
pub fn cmd<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut c = Command::new(env!("CARGO_BIN_EXE_hexz"));
    c.args(args).stdin(Stdio::null());
    c
}

/// Runs `hexz` with `args`.
pub fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    cmd(args).output().expect("spawn hexz")
}

/// Runs `hexz` and expects success; returns stdout.
pub fn ok<I, S>(args: I) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = run(&args);
    assert!(
        out.status.success(),
        "hexz {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `hexz`, expects a failure reported as one `hexz: error:` line and no panic; returns
/// stderr.
pub fn fails<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = run(&args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "hexz {args:?} succeeded");
    assert_no_panic(&out);
    let errors = err
        .lines()
        .filter(|l| l.starts_with("hexz: error: "))
        .count();
    assert_eq!(
        errors, 1,
        "hexz {args:?}: expected one error line in {err:?}"
    );
    err
}

/// Fails the test when `hexz` panicked or was killed by a signal.
pub fn assert_no_panic(out: &Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "hexz panicked: {err}");
    assert!(out.status.code().is_some(), "hexz died: {:?}", out.status);
}

/// A path under `dir` as an argument.
pub fn arg(dir: &Path, name: &str) -> String {
    dir.join(name).to_string_lossy().into_owned()
}
