//! `pack --encrypt` with a key file and a passphrase; every read command with the key, a wrong
//! key and none.

use crate::util::{arg, assert_no_panic, assert_same_tree, cmd, make_tree, ok, text};
use serde_json::Value;
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

    // No key: one line naming the ways to give one (inspect shows the header instead).
    for c in ["ls", "cat", "verify"] {
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

/// On a terminal (a pseudo-terminal from util-linux `script`), a reading command asks for the
/// passphrase of an encrypted archive when none was given, without echo.
#[test]
fn reading_prompts_for_the_passphrase_on_a_terminal() {
    use std::io::Write;
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("util-linux script is not installed: skipped");
        return;
    }
    let t = TempDir::new().expect("tempdir");
    let input = t.path().join("data.txt");
    std::fs::write(&input, b"prompted\n").expect("write");
    let archive = arg(t.path(), "enc.hxz");
    let mut args = vec!["pack", "-q", "--encrypt"];
    args.extend(CHEAP_KDF);
    args.extend([input.to_str().expect("utf-8"), &archive]);
    ok_env(&args, &[("HEXZ_PASSWORD", "typed secret")]);
    let typed = |pass: &str| {
        let line = format!("{} cat {archive} data.txt", env!("CARGO_BIN_EXE_hexz"));
        let mut child = std::process::Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .env_remove("HEXZ_KEY")
            .env_remove("HEXZ_PASSWORD")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn script");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(format!("{pass}\n").as_bytes())
            .expect("type");
        let out = child.wait_with_output().expect("wait");
        drop(stdin);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = typed("typed secret");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("Password:"), "{out}");
    assert!(out.contains("prompted"), "{out}");
    let (code, out) = typed("wrong secret");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("wrong key or password"), "{out}");
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

/// `inspect` (text and `--json`) of `archive` without a key: exit 0, only what the header
/// reveals, and one line saying how to give the key (`how`). Returns the JSON object.
fn inspect_header_only(archive: &str, how: [&str; 2]) -> Value {
    let out = run_env(&["inspect", archive], &[]);
    assert_no_panic(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let labels: Vec<&str> = text
        .lines()
        .map(|l| l.split("  ").next().unwrap_or(""))
        .collect();
    assert_eq!(
        labels,
        [
            "archive",
            "format",
            "features",
            "block size",
            "archive id",
            "cipher",
            "kdf",
            "file size",
            "signed",
            "contents"
        ],
        "{text}"
    );
    let last = text.lines().last().expect("a line");
    assert!(last.contains("encrypted"), "{text}");
    for h in how {
        assert!(last.contains(h), "{h} missing in {last:?}");
    }
    assert!(text.contains("format        version 2\n"), "{text}");
    assert!(text.contains("required: encrypted;"), "{text}");
    assert!(text.contains("cipher        aes-256-gcm\n"), "{text}");
    assert!(text.contains("signed        no\n"), "{text}");

    let v: Value =
        serde_json::from_slice(&ok_env(&["inspect", "--json", archive], &[])).expect("json");
    let mut keys: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "archive",
            "archive_id",
            "block_size",
            "cipher",
            "encrypted",
            "file_size",
            "format_version",
            "header_only",
            "kdf",
            "optional_features",
            "required_features",
            "signed",
            "signer"
        ],
        "{v}"
    );
    assert_eq!(v["header_only"], true);
    assert_eq!(v["signed"], false);
    assert_eq!(v["signer"], Value::Null);
    assert_eq!(v["encrypted"], true);
    assert_eq!(v["cipher"], "aes-256-gcm");
    assert_eq!(v["format_version"], 2);
    assert_eq!(v["required_features"], serde_json::json!(["encrypted"]));
    let len = std::fs::metadata(archive).expect("stat").len();
    assert_eq!(v["file_size"], len);
    assert!(text.contains(&format!("({len} bytes)")), "{text}");
    let id = v["archive_id"].as_str().expect("archive_id");
    assert!(text.contains(&format!("archive id    {id}\n")), "{text}");
    v
}

/// The `inspect --json` object with the key, after checking that its header fields are those
/// shown without it.
fn inspect_with_key(args: &[&str], env: &[(&str, &str)], header_only: &Value) -> Value {
    let v: Value = serde_json::from_slice(&ok_env(args, env)).expect("json");
    assert_eq!(v["header_only"], false, "{v}");
    for k in [
        "archive",
        "archive_id",
        "block_size",
        "cipher",
        "encrypted",
        "file_size",
        "format_version",
        "kdf",
        "optional_features",
        "required_features",
    ] {
        assert_eq!(v[k], header_only[k], "{k}");
    }
    assert!(v["logical_size"].as_u64().is_some_and(|n| n > 0), "{v}");
    assert_eq!(v["root_hash"].as_str().map(str::len), Some(64));
    v
}

#[test]
fn inspect_without_a_key_shows_the_header() {
    let t = TempDir::new().expect("tempdir");
    let input = t.path().join("data.txt");
    std::fs::write(&input, text(300_000)).expect("write");
    let i = input.to_str().expect("utf-8");

    // A raw key, 16 KiB blocks.
    let key = arg(t.path(), "archive.key");
    std::fs::write(&key, format!("{KEY_HEX}\n")).expect("write key");
    let raw = arg(t.path(), "raw.hxz");
    ok_env(
        &[
            "pack",
            "-q",
            "-b",
            "16K",
            "--encrypt",
            "--key-file",
            &key,
            i,
            &raw,
        ],
        &[],
    );
    let v = inspect_header_only(&raw, ["--key-file", "HEXZ_KEY"]);
    assert_eq!(v["kdf"], serde_json::json!({ "name": "raw-key" }));
    assert_eq!(v["block_size"], 16384);
    let full = inspect_with_key(&["inspect", "--json", "--key-file", &key, &raw], &[], &v);
    assert_eq!(full["logical_size"], 300_000);
    let shown =
        String::from_utf8(ok_env(&["inspect", &raw], &[("HEXZ_KEY", KEY_HEX)])).expect("utf-8");
    assert!(shown.contains("kdf           raw 32-byte key"), "{shown}");
    assert!(shown.contains("root hash"), "{shown}");
    // A key given but wrong still fails: only no key at all shows the header.
    let err = fails_env(&["inspect", &raw], &[("HEXZ_KEY", OTHER_HEX)]);
    assert_eq!(
        err,
        format!("hexz: error: wrong key or password for {raw}\n")
    );

    // A passphrase with the hidden Argon2id options; the header shows them exactly.
    let pw = arg(t.path(), "pw.hxz");
    let env = [("HEXZ_PASSWORD", "correct horse")];
    ok_env(
        &[
            "pack",
            "-q",
            "--encrypt",
            "--kdf-memory",
            "96",
            "--kdf-iterations",
            "2",
            i,
            &pw,
        ],
        &env,
    );
    let v = inspect_header_only(&pw, ["--password-file", "HEXZ_PASSWORD"]);
    let kdf = &v["kdf"];
    assert_eq!(kdf["name"], "argon2id", "{v}");
    assert_eq!(kdf["memory_kib"], 96);
    assert_eq!(kdf["iterations"], 2);
    assert_eq!(kdf["parallelism"], 4);
    let salt = kdf["salt"].as_str().expect("salt");
    assert!(salt.len() == 32 && salt != "0".repeat(32), "{salt}");
    assert_eq!(v["block_size"], 65536);
    let text = String::from_utf8(ok_env(&["inspect", &pw], &[])).expect("utf-8");
    assert!(
        text.contains(&format!(
            "kdf           argon2id (passphrase): memory 96 KiB, 2 iterations, 4 lanes, salt \
             {salt}\n"
        )),
        "{text}"
    );
    let full = inspect_with_key(&["inspect", "--json", &pw], &env, &v);
    assert_eq!(full["logical_size"], 300_000);
    // Two archives under the same passphrase: different ids and salts.
    let pw2 = arg(t.path(), "pw2.hxz");
    ok_env(
        &["pack", "-q", "--encrypt", "--kdf-memory", "64", i, &pw2],
        &env,
    );
    let v2 = inspect_header_only(&pw2, ["--password-file", "HEXZ_PASSWORD"]);
    assert_ne!(v2["archive_id"], v["archive_id"]);
    assert_ne!(v2["kdf"]["salt"], v["kdf"]["salt"]);
    assert_eq!(v2["kdf"]["memory_kib"], 64);
    assert_eq!(v2["kdf"]["iterations"], 3, "the default");

    // An unencrypted archive: the new keys say so; the text has no cipher line.
    let plain = arg(t.path(), "plain.hxz");
    ok(["pack", "-q", i, &plain]);
    let v: Value = serde_json::from_slice(&ok(["inspect", "--json", &plain])).expect("json");
    assert_eq!(v["encrypted"], false);
    assert_eq!(v["cipher"], "none");
    assert_eq!(v["kdf"], Value::Null);
    assert_eq!(v["header_only"], false);
    let text = String::from_utf8(ok(["inspect", &plain])).expect("utf-8");
    assert!(!text.contains("cipher") && !text.contains("kdf"), "{text}");
}

#[test]
fn inspect_help_explains_encrypted_archives() {
    let help = String::from_utf8(ok(["inspect", "--help"])).expect("utf-8");
    for want in [
        "without its key",
        "--key-file",
        "HEXZ_PASSWORD",
        "header_only",
        "kdf",
    ] {
        assert!(help.contains(want), "inspect --help lacks {want:?}");
    }
}

/// `--verify-key` is never skipped by the header-only view: a plain archive signed by another
/// key fails, and an encrypted one without its key fails instead of showing the header.
#[test]
fn inspect_with_a_verify_key_checks_the_signature() {
    let t = TempDir::new().expect("tempdir");
    let input = t.path().join("data.txt");
    std::fs::write(&input, text(10_000)).expect("write");
    let i = input.to_str().expect("utf-8");
    let keys = arg(t.path(), "keys");
    ok_env(&["keygen", "-q", "-o", &keys], &[]);
    ok_env(&["keygen", "-q", "-o", &keys, "--name", "other"], &[]);
    let (sign, good, bad) = (
        arg(t.path(), "keys/hexz.key"),
        arg(t.path(), "keys/hexz.pub"),
        arg(t.path(), "keys/other.pub"),
    );
    let plain = arg(t.path(), "plain.hxz");
    ok_env(&["pack", "-q", "--signing-key", &sign, i, &plain], &[]);
    ok_env(&["inspect", "--verify-key", &good, &plain], &[]);
    let err = fails_env(&["inspect", "--verify-key", &bad, &plain], &[]);
    assert!(err.contains("signature"), "{err}");

    let enc = arg(t.path(), "enc.hxz");
    let key = arg(t.path(), "archive.key");
    std::fs::write(&key, format!("{KEY_HEX}\n")).expect("write key");
    ok_env(
        &[
            "pack",
            "-q",
            "--encrypt",
            "--key-file",
            &key,
            "--signing-key",
            &sign,
            i,
            &enc,
        ],
        &[],
    );
    ok_env(
        &["inspect", "--key-file", &key, "--verify-key", &good, &enc],
        &[],
    );
    let err = fails_env(
        &["inspect", "--key-file", &key, "--verify-key", &bad, &enc],
        &[],
    );
    assert!(err.contains("signature"), "{err}");
    let err = fails_env(&["inspect", "--verify-key", &good, &enc], &[]);
    assert!(err.contains("is encrypted"), "{err}");
}
