//! `pack --encrypt` with a key file and a passphrase; every read command with the key, a wrong
//! key and none.

use crate::util::{arg, assert_no_panic, assert_same_tree, cmd, make_tree, text};
use std::process::Output;
use tempfile::TempDir;

const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const OTHER_HEX: &str = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// Cheap Argon2id parameters (hidden options), so that debug builds stay fast.
const CHEAP_KDF: [&str; 4] = ["--kdf-memory", "64", "--kdf-iterations", "1"];

/// Runs `hexz` with `args` and `env`, and none of the key variables of the caller's
/// environment.
fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = cmd(args);
    c.env_remove("HEXZ_KEY").env_remove("HEXZ_PASSWORD");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("spawn hexz")
}

fn ok_env(args: &[&str], env: &[(&str, &str)]) -> Vec<u8> {
    let out = run_env(args, env);
    assert!(
        out.status.success(),
        "hexz {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Expects exit status 1, nothing on stdout and one `hexz: error:` line; returns it.
fn fails_env(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = run_env(args, env);
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(1), "hexz {args:?}");
    assert!(out.stdout.is_empty(), "hexz {args:?} wrote to stdout");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "hexz {args:?}: {err:?}");
    assert!(lines[0].starts_with("hexz: error: "), "{err}");
    err
}

#[test]
fn key_file_round_trip_and_errors() {
    let t = TempDir::new().expect("tempdir");
    let src = t.path().join("src");
    make_tree(&src);
    let key = arg(t.path(), "archive.key");
    std::fs::write(&key, format!("{KEY_HEX}\n")).expect("write key");
    let wrong = arg(t.path(), "wrong.key");
    std::fs::write(&wrong, format!("{OTHER_HEX}\n")).expect("write key");
    let archive = arg(t.path(), "enc.hxz");
    let s = src.to_str().expect("utf-8");
    ok_env(
        &["pack", "-q", "--encrypt", "--key-file", &key, s, &archive],
        &[],
    );
    // Nothing of the contents shows in the file.
    let bytes = std::fs::read(&archive).expect("read");
    let needle = &text(100_000)[..64];
    assert!(!bytes.windows(needle.len()).any(|w| w == needle));

    // Every read command, with the key file and with HEXZ_KEY.
    let listing = ok_env(&["ls", "--key-file", &key, &archive], &[]);
    assert!(String::from_utf8_lossy(&listing).contains("a/medium.txt"));
    let env_key = [("HEXZ_KEY", KEY_HEX)];
    assert_eq!(ok_env(&["ls", &archive], &env_key), listing);
    assert_eq!(
        ok_env(&["cat", &archive, "a/medium.txt"], &env_key),
        text(100_000)
    );
    let out =
        String::from_utf8(ok_env(&["verify", "--key-file", &key, &archive], &[])).expect("utf-8");
    assert!(out.starts_with("OK: "), "{out}");
    ok_env(&["inspect", "--key-file", &key, &archive], &[]);
    let dest = t.path().join("out");
    ok_env(
        &[
            "extract",
            "-q",
            "--key-file",
            &key,
            &archive,
            dest.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert_same_tree(&src, &dest);

    // No key: one line naming the ways to give one.
    for c in ["ls", "cat", "verify", "inspect"] {
        let err = fails_env(&[c, &archive], &[]);
        assert!(err.contains("is encrypted"), "{err}");
        assert!(
            err.contains("--key-file") && err.contains("HEXZ_PASSWORD"),
            "{err}"
        );
    }
    // A wrong key, a passphrase for a raw-key archive: "wrong key or password".
    let expected = format!("hexz: error: wrong key or password for {archive}\n");
    for args in [
        vec!["cat", "--key-file", &wrong, &archive, "a/medium.txt"],
        vec!["ls", &archive],
    ] {
        let env: &[(&str, &str)] = if args.contains(&"--key-file") {
            &[]
        } else {
            &[("HEXZ_PASSWORD", "not the key")]
        };
        assert_eq!(fails_env(&args, env), expected);
    }
    let err = fails_env(&["verify", &archive], &[("HEXZ_KEY", "abc")]);
    assert!(err.contains("HEXZ_KEY"), "{err}");
}

#[test]
fn passphrase_round_trip_and_errors() {
    let t = TempDir::new().expect("tempdir");
    let input = t.path().join("data.txt");
    std::fs::write(&input, text(300_000)).expect("write");
    let archive = arg(t.path(), "enc.hxz");
    let mut args = vec!["pack", "-q", "--encrypt"];
    args.extend(CHEAP_KDF);
    args.extend([input.to_str().expect("utf-8"), &archive]);
    ok_env(&args, &[("HEXZ_PASSWORD", "correct horse")]);

    // The same passphrase from a file, final newline dropped.
    let pw = arg(t.path(), "pw.txt");
    std::fs::write(&pw, "correct horse\n").expect("write");
    assert_eq!(
        ok_env(&["cat", "--password-file", &pw, &archive, "data.txt"], &[]),
        text(300_000)
    );
    let env = [("HEXZ_PASSWORD", "correct horse")];
    ok_env(&["verify", "-q", &archive], &env);
    assert!(String::from_utf8_lossy(&ok_env(&["ls", &archive], &env)).contains("data.txt"));

    let expected = format!("hexz: error: wrong key or password for {archive}\n");
    assert_eq!(
        fails_env(
            &["cat", &archive, "data.txt"],
            &[("HEXZ_PASSWORD", "correct horse ")]
        ),
        expected
    );
    assert_eq!(
        fails_env(&["verify", &archive], &[("HEXZ_KEY", KEY_HEX)]),
        expected
    );
    let err = fails_env(&["cat", &archive, "data.txt"], &[]);
    assert!(err.contains("is encrypted"), "{err}");
}

#[test]
fn encrypt_needs_a_key() {
    let t = TempDir::new().expect("tempdir");
    let input = t.path().join("data.txt");
    std::fs::write(&input, b"hello").expect("write");
    let archive = arg(t.path(), "enc.hxz");
    let i = input.to_str().expect("utf-8");
    // No key source and no terminal.
    let err = fails_env(&["pack", "--encrypt", i, &archive], &[]);
    assert!(
        err.contains("--key-file") && err.contains("HEXZ_KEY"),
        "{err}"
    );
    assert!(!std::path::Path::new(&archive).exists());
    // A key file without --encrypt.
    let key = arg(t.path(), "k");
    std::fs::write(&key, [7u8; 32]).expect("write key");
    let err = fails_env(&["pack", "--key-file", &key, i, &archive], &[]);
    assert!(err.contains("--encrypt"), "{err}");
    // A key for an archive that is not encrypted is refused.
    ok_env(&["pack", "-q", i, &archive], &[]);
    let err = fails_env(&["cat", "--key-file", &key, &archive], &[]);
    assert!(err.contains("not encrypted"), "{err}");
    // A 32-byte raw key file works for packing and reading.
    let enc = arg(t.path(), "enc2.hxz");
    ok_env(
        &["pack", "-q", "--encrypt", "--key-file", &key, i, &enc],
        &[],
    );
    assert_eq!(
        ok_env(&["cat", "--key-file", &key, &enc, "data.txt"], &[]),
        b"hello"
    );
}
