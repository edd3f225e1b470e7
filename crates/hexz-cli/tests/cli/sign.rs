//! `keygen`, `sign --signing-key`, `pack --signing-key` and the global `--verify-key` (on
//! `verify` too), and the old spellings `--key`, `-k` and `--sign-key`: key files, in-place and
//! copy signing, the wrong signer, tampering, encrypted archives checked without their key, and
//! a signed archive read over HTTP (nginx).

use crate::servers::TempNginx;
use crate::util::{arg, assert_same_tree, fails, make_tree, ok, run};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tempfile::TempDir;

const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

struct Setup {
    t: TempDir,
    src: TempDir,
}

impl Setup {
    fn new() -> Setup {
        let t = TempDir::new().expect("tempdir");
        let src = TempDir::new().expect("tempdir");
        make_tree(src.path());
        ok(["keygen", "-q", "-o", &arg(t.path(), "keys")]);
        ok([
            "keygen",
            "-q",
            "-o",
            &arg(t.path(), "keys"),
            "--name",
            "other",
        ]);
        Setup { t, src }
    }
    fn p(&self, name: &str) -> String {
        arg(self.t.path(), name)
    }
    fn pack(&self, name: &str, extra: &[&str]) -> String {
        let out = self.p(name);
        let mut args = vec!["pack", "-q"];
        args.extend_from_slice(extra);
        let src = self.src.path().to_str().expect("utf-8");
        args.extend_from_slice(&[src, &out]);
        ok(&args);
        out
    }
}

fn stdout(args: &[&str]) -> String {
    String::from_utf8(ok(args)).expect("utf-8")
}

#[test]
fn keygen_writes_a_pem_pair_and_refuses_to_overwrite() {
    let s = Setup::new();
    let key = s.p("keys/hexz.key");
    let public = s.p("keys/hexz.pub");
    let mode = std::fs::metadata(&key).expect("key").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let pem = std::fs::read_to_string(&key).expect("read");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
    let pem = std::fs::read_to_string(&public).expect("read");
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    let before = std::fs::read(&key).expect("read");
    let err = fails(["keygen", "-o", &s.p("keys")]);
    assert!(err.contains("exists"), "{err}");
    assert_eq!(std::fs::read(&key).expect("read"), before);
    // The printed hex is the public key: it verifies in place of the .pub file.
    let out = stdout(&["keygen", "-o", &s.p("k3")]);
    let hex = out
        .lines()
        .find_map(|l| l.strip_prefix("public key (hex): "))
        .expect("hex line")
        .to_string();
    let a = s.pack("a.hxz", &[]);
    ok(["sign", "-q", &a, "--signing-key", &s.p("k3/hexz.key")]);
    let v = stdout(&["verify", &a, "--verify-key", &hex]);
    assert!(v.contains("signature valid, by the given key"), "{v}");
}

#[test]
fn sign_then_verify_and_read_with_the_public_key() {
    let s = Setup::new();
    let a = s.pack("a.hxz", &[]);
    let len = std::fs::metadata(&a).expect("stat").len();
    let out = stdout(&["sign", &a, "--signing-key", &s.p("keys/hexz.key")]);
    assert!(out.starts_with("signed "), "{out}");
    assert_eq!(std::fs::metadata(&a).expect("stat").len(), len + 144);
    let pk = s.p("keys/hexz.pub");
    let v = stdout(&["verify", &a, "--verify-key", &pk]);
    assert!(
        v.starts_with("OK: ") && v.contains("by the given key"),
        "{v}"
    );
    let v = stdout(&["verify", &a]);
    assert!(v.contains("signature valid, by "), "{v}");
    let info = stdout(&["inspect", &a]);
    assert!(info.contains("signed        yes"), "{info}");
    let json: serde_json::Value =
        serde_json::from_slice(&ok(["inspect", "--json", &a])).expect("json");
    assert_eq!(json["signed"], true);
    assert_eq!(json["signer"].as_str().map(str::len), Some(64));

    // Every reading command takes --verify-key.
    let out = s.p("out");
    ok(["extract", "-q", "--verify-key", &pk, &a, &out]);
    assert_same_tree(s.src.path(), Path::new(&out));
    assert_eq!(
        ok(["cat", "--verify-key", &pk, &a, "a/b/c/big.bin"]),
        std::fs::read(s.src.path().join("a/b/c/big.bin")).expect("read")
    );
    ok(["ls", "--verify-key", &pk, &a]);

    // Re-signing with another key replaces the signature; the file does not grow again.
    let out = stdout(&["sign", &a, "--signing-key", &s.p("keys/other.key")]);
    assert!(out.starts_with("re-signed "), "{out}");
    assert_eq!(std::fs::metadata(&a).expect("stat").len(), len + 144);
    let err = fails(["verify", &a, "--verify-key", &pk]);
    assert!(err.contains("not by the expected key"), "{err}");
    let err = fails(["cat", "--verify-key", &pk, &a, "a/b/c/big.bin"]);
    assert!(err.contains("not by the expected key"), "{err}");
    ok(["verify", "-q", &a, "--verify-key", &s.p("keys/other.pub")]);
}

#[test]
fn sign_output_writes_a_signed_copy_and_pack_signs_while_writing() {
    let s = Setup::new();
    let a = s.pack("a.hxz", &[]);
    let before = std::fs::read(&a).expect("read");
    let copy = s.p("signed.hxz");
    ok([
        "sign",
        "-q",
        &a,
        "--signing-key",
        &s.p("keys/hexz.key"),
        "--output",
        &copy,
    ]);
    assert_eq!(
        std::fs::read(&a).expect("read"),
        before,
        "the original is untouched"
    );
    ok(["verify", "-q", &copy, "--verify-key", &s.p("keys/hexz.pub")]);
    let err = fails(["verify", &a, "--verify-key", &s.p("keys/hexz.pub")]);
    assert!(err.contains("not signed"), "{err}");

    let b = s.pack("b.hxz", &["--signing-key", &s.p("keys/hexz.key")]);
    let v = stdout(&["verify", &b, "--verify-key", &s.p("keys/hexz.pub")]);
    assert!(v.contains("by the given key"), "{v}");
}

/// By default `sign` replaces the archive with a signed copy (a new inode, renamed over it,
/// through a symlink onto its target); `--in-place` writes into the same inode.
#[test]
fn sign_replaces_atomically_unless_in_place() {
    use std::os::unix::fs::MetadataExt;
    let s = Setup::new();
    let a = s.pack("a.hxz", &[]);
    std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let ino = |p: &str| std::fs::metadata(p).expect("stat").ino();
    let before = ino(&a);
    ok(["sign", "-q", &a, "--signing-key", &s.p("keys/hexz.key")]);
    assert_ne!(ino(&a), before, "signed by copy and rename");
    let mode = std::fs::metadata(&a).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o640, "the mode is kept");
    let left: Vec<_> = std::fs::read_dir(s.t.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .filter(|n| n.starts_with(".hexz-sign-"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    ok(["verify", "-q", &a, "--verify-key", &s.p("keys/hexz.pub")]);

    let before = ino(&a);
    let len = std::fs::metadata(&a).expect("stat").len();
    let out = stdout(&[
        "sign",
        &a,
        "--in-place",
        "--signing-key",
        &s.p("keys/other.key"),
    ]);
    assert!(out.starts_with("re-signed "), "{out}");
    assert_eq!(ino(&a), before, "signed in place");
    assert_eq!(std::fs::metadata(&a).expect("stat").len(), len);
    ok(["verify", "-q", &a, "--verify-key", &s.p("keys/other.pub")]);

    let link = s.p("link.hxz");
    std::os::unix::fs::symlink(&a, &link).expect("symlink");
    ok(["sign", "-q", &link, "--signing-key", &s.p("keys/hexz.key")]);
    assert!(std::fs::symlink_metadata(&link)
        .expect("lstat")
        .file_type()
        .is_symlink());
    ok(["verify", "-q", &a, "--verify-key", &s.p("keys/hexz.pub")]);
    let out = run([
        "sign",
        &a,
        "--in-place",
        "--output",
        &s.p("x.hxz"),
        "--signing-key",
        "k",
    ]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}

#[test]
fn key_mistakes_are_one_line_errors() {
    let s = Setup::new();
    let a = s.pack("a.hxz", &[]);
    let err = fails(["sign", &a, "--signing-key", &s.p("keys/hexz.pub")]);
    assert!(err.contains("this is a public key"), "{err}");
    let err = fails(["verify", &a, "--verify-key", &s.p("keys/hexz.key")]);
    assert!(err.contains("this is a private key"), "{err}");
    let err = fails(["sign", &a, "--signing-key", &s.p("keys/missing.key")]);
    assert!(err.contains("missing.key"), "{err}");
    let err = fails(["verify", &a, "--verify-key", "not-a-key"]);
    assert!(
        err.contains("neither a public key file nor 64 hexadecimal digits"),
        "{err}"
    );
    let err = fails([
        "sign",
        "http://127.0.0.1:1/a.hxz",
        "--signing-key",
        &s.p("keys/hexz.key"),
    ]);
    assert!(err.contains("remote"), "{err}");
    let junk = s.p("junk.hxz");
    std::fs::write(&junk, vec![9u8; 4096]).expect("write");
    let err = fails(["sign", &junk, "--signing-key", &s.p("keys/hexz.key")]);
    assert!(err.contains("junk.hxz"), "{err}");
    assert_eq!(std::fs::read(&junk).expect("read"), vec![9u8; 4096]);
}

/// Each key option's name says which key it takes: `--signing-key` (private) on `sign` and
/// `pack`, `--verify-key` (public) on `verify` and every reading command, `--key-file` and
/// `--password-file` (encryption). The old spellings (`sign --key`/`-k`, `verify --key`/`-k`,
/// `pack --sign-key`) still work but are not shown in the help.
#[test]
fn key_options_say_which_key_and_old_spellings_still_work() {
    let s = Setup::new();
    let sign = stdout(&["sign", "--help"]);
    assert!(sign.contains("--signing-key <PRIVATE_KEY>"), "{sign}");
    let verify = stdout(&["verify", "--help"]);
    assert!(verify.contains("--verify-key <PUBLIC_KEY>"), "{verify}");
    assert!(verify.contains("--key-file <FILE>"), "{verify}");
    let pack = stdout(&["pack", "--help"]);
    assert!(pack.contains("--signing-key <PRIVATE_KEY>"), "{pack}");
    for (name, text) in [("sign", &sign), ("verify", &verify), ("pack", &pack)] {
        for old in ["--key <", "-k,", "--sign-key"] {
            assert!(!text.contains(old), "{name} --help shows {old:?}:\n{text}");
        }
    }
    let top = stdout(&["--help"]);
    assert!(
        top.contains("--verify-key <PUBLIC_KEY>") && top.contains("--key-file <FILE>"),
        "{top}"
    );
    assert!(top.contains("Encryption key file"), "{top}");

    // The old spellings.
    let a = s.pack("a.hxz", &["--sign-key", &s.p("keys/other.key")]);
    ok(["verify", "-q", &a, "--key", &s.p("keys/other.pub")]);
    ok(["sign", "-q", &a, "--key", &s.p("keys/hexz.key")]);
    ok(["verify", "-q", &a, "-k", &s.p("keys/hexz.pub")]);
    ok(["sign", "-q", &a, "-k", &s.p("keys/other.key")]);
    let err = fails(["verify", &a, "--key", &s.p("keys/hexz.pub")]);
    assert!(err.contains("not by the expected key"), "{err}");
    // The old and the new spelling together on `verify` is a usage error, not a silent choice.
    let pk = s.p("keys/other.pub");
    let out = run(["verify", &a, "--key", &pk, "--verify-key", &pk]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
}

#[test]
fn tampering_after_signing_fails_verify() {
    let s = Setup::new();
    let a = s.pack("a.hxz", &[]);
    ok(["sign", "-q", &a, "--signing-key", &s.p("keys/hexz.key")]);
    let good = std::fs::read(&a).expect("read");
    let pk = s.p("keys/hexz.pub");
    // A byte in the header, in the data, in the summary, in the signature, in the footer.
    for at in [
        40,
        200,
        good.len() / 2,
        good.len() - 144 - 64 - 5,
        good.len() - 144 - 64 + 100,
        good.len() - 10,
    ] {
        let mut b = good.clone();
        b[at] ^= 0x10;
        std::fs::write(&a, &b).expect("write");
        let out = run(["verify", &a, "--verify-key", &pk]);
        assert_eq!(out.status.code(), Some(1), "byte {at} undetected");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("hexz: error:") && !err.contains("panicked"),
            "{err}"
        );
    }
}

#[test]
fn encrypted_signed_archive_verifies_with_and_without_its_key() {
    let s = Setup::new();
    let key_file = s.p("enc.key");
    std::fs::write(&key_file, format!("{KEY_HEX}\n")).expect("write");
    let a = s.pack(
        "enc.hxz",
        &[
            "--encrypt",
            "--key-file",
            &key_file,
            "--signing-key",
            &s.p("keys/hexz.key"),
        ],
    );
    let pk = s.p("keys/hexz.pub");
    let v = stdout(&["verify", &a, "--verify-key", &pk, "--key-file", &key_file]);
    assert!(v.starts_with("OK: ") && v.contains("blocks"), "{v}");
    // Without the decryption key only the signature (header and summary) is checked.
    let v = stdout(&["verify", &a, "--verify-key", &pk]);
    assert!(v.contains("signature valid, by the given key"), "{v}");
    assert!(v.contains("blocks not"), "{v}");
    let err = fails(["verify", &a, "--verify-key", &s.p("keys/other.pub")]);
    assert!(err.contains("not by the expected key"), "{err}");
    // inspect without the key shows the header and the signer.
    let info: serde_json::Value =
        serde_json::from_slice(&ok(["inspect", "--json", &a])).expect("json");
    assert_eq!(info["header_only"], true);
    assert_eq!(info["signed"], true);
    let hex = stdout(&["verify", &a]);
    let signer = info["signer"].as_str().expect("signer");
    assert!(hex.contains(signer), "{hex} vs {signer}");
    // An encrypted archive without a signature cannot be checked at all without its key.
    let b = s.pack("enc2.hxz", &["--encrypt", "--key-file", &key_file]);
    let err = fails(["verify", &b]);
    assert!(err.contains("encrypted and not signed"), "{err}");
    // The header is changed (archive id, crc fixed): the signature catches it, keyless.
    let mut bytes = std::fs::read(&a).expect("read");
    bytes[40] ^= 1;
    let crc = hexz_format::crc32c(&bytes[..124]);
    bytes[124..128].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&a, &bytes).expect("write");
    let err = fails(["verify", &a, "--verify-key", &pk]);
    assert!(err.contains("signature"), "{err}");
}

#[test]
fn signed_archive_over_http_checks_every_block() {
    let s = Setup::new();
    let nginx = TempNginx::start();
    let a = s.pack("a.hxz", &["--signing-key", &s.p("keys/hexz.key")]);
    std::fs::copy(&a, nginx.root.path().join("a.hxz")).expect("copy");
    let url = nginx.url("a.hxz");
    let pk = s.p("keys/hexz.pub");
    assert_eq!(
        ok(["cat", "--verify-key", &pk, &url, "a/b/c/big.bin"]),
        std::fs::read(s.src.path().join("a/b/c/big.bin")).expect("read")
    );
    ok(["verify", "-q", &url, "--verify-key", &pk]);
    let err = fails(["ls", "--verify-key", &s.p("keys/other.pub"), &url]);
    assert!(err.contains("not by the expected key"), "{err}");
    // A block changed on the server: reading it fails, naming the block.
    let mut bytes = std::fs::read(&a).expect("read");
    bytes[300] ^= 0x01;
    std::fs::write(nginx.root.path().join("a.hxz"), &bytes).expect("write");
    let err = fails(["cat", "--verify-key", &pk, &url]);
    assert!(err.contains("block"), "{err}");
}
