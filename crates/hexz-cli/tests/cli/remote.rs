//! Reading commands over HTTP (nginx) and S3 (moto_server), both real servers on 127.0.0.1.

use crate::servers;
use crate::util::{fails, make_tree, ok};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;

/// Packs a tree into `dir/name` and returns the source tree's root.
fn packed_tree(dir: &Path, name: &str) -> tempfile::TempDir {
    let src = tempfile::tempdir().expect("tempdir");
    make_tree(src.path());
    ok([
        "pack".as_ref(),
        "-q".as_ref(),
        src.path().as_os_str(),
        dir.join(name).as_os_str(),
    ]);
    src
}

/// Every reading command gives the same answer for `url` as for the local copy `local`.
fn same_as_local(url: &str, local: &Path, env: &[(&str, &str)], extra: &[&str]) {
    let local = local.to_str().expect("utf-8 path");
    let with = |args: &[&str]| {
        let mut c = crate::util::cmd(extra.iter().chain(args));
        c.envs(env.iter().copied());
        let out = c.output().expect("spawn hexz");
        assert!(
            out.status.success(),
            "hexz {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    assert_eq!(with(&["ls", "-l", url]), ok(["ls", "-l", local]));
    assert_eq!(with(&["cat", url]), ok(["cat", local]));
    assert_eq!(
        with(&["cat", url, "a/b/c/big.bin"]),
        ok(["cat", local, "a/b/c/big.bin"])
    );
    let out = with(&["verify", url]);
    assert!(String::from_utf8_lossy(&out).starts_with("OK:"));
    let remote_info = String::from_utf8(with(&["inspect", url])).expect("utf-8");
    assert!(remote_info.contains(url), "{remote_info}");
    let dest = tempfile::tempdir().expect("tempdir");
    let out_dir = dest.path().join("out");
    let out_dir = out_dir.to_str().expect("utf-8 path");
    with(&["extract", "-q", url, out_dir]);
    let back = dest.path().join("local");
    ok(["extract", "-q", local, back.to_str().expect("utf-8")]);
    crate::util::assert_same_tree(&back, Path::new(out_dir));
}

#[test]
fn reads_over_http() {
    let root = tempfile::tempdir().expect("tempdir");
    let state = tempfile::tempdir().expect("tempdir");
    packed_tree(root.path(), "t.hxz");
    let nginx = servers::nginx(root.path(), state.path());
    let url = format!("{}/t.hxz", nginx.base_url());
    same_as_local(&url, &root.path().join("t.hxz"), &[], &[]);

    let missing = format!("{}/nope.hxz", nginx.base_url());
    let err = fails(["ls", missing.as_str()]);
    assert!(err.contains(&missing) && err.contains("not found"), "{err}");
    // Not an archive: a format error naming the URL, not a panic.
    std::fs::write(root.path().join("junk.hxz"), vec![7u8; 5000]).expect("write");
    let junk = format!("{}/junk.hxz", nginx.base_url());
    let err = fails(["inspect", junk.as_str()]);
    assert!(err.contains(&junk), "{err}");
    let err = fails(["ls", "gopher://h/x.hxz"]);
    assert!(err.contains("unsupported URL scheme"), "{err}");
}

const BUCKET: &str = "hexz-cli";

/// Puts `data` at `key` with one unsigned request (moto accepts those).
fn put_object(port: u16, key: &str, data: &[u8]) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to moto");
    write!(
        s,
        "PUT /{BUCKET}/{key} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        data.len()
    )
    .expect("send");
    s.write_all(data).expect("send body");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read response");
    assert!(resp.starts_with("HTTP/1.1 200"), "PUT {key}: {resp}");
}

/// The environment of a `hexz` run with no AWS settings but `vars`.
fn aws_env(c: &mut Command, vars: &[(&str, &str)]) {
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            c.env_remove(k);
        }
    }
    c.env("HOME", "/nonexistent").envs(vars.iter().copied());
}

#[test]
fn reads_over_s3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = tempfile::tempdir().expect("tempdir");
    packed_tree(dir.path(), "t.hxz");
    let moto = servers::moto(state.path());
    let endpoint = moto.base_url();
    assert_eq!(
        servers::http_status(moto.port, "PUT", &format!("/{BUCKET}")),
        200
    );
    let local = dir.path().join("t.hxz");
    put_object(
        moto.port,
        "data/t.hxz",
        &std::fs::read(&local).expect("read"),
    );
    let url = format!("s3://{BUCKET}/data/t.hxz");
    let creds = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
    ];

    // Endpoint from the environment.
    let mut env = creds.to_vec();
    env.push(("AWS_ENDPOINT_URL", endpoint.as_str()));
    same_as_local(&url, &local, &env, &[]);
    // Endpoint from the command line.
    let mut c = crate::util::cmd(["--endpoint-url", endpoint.as_str(), "ls", url.as_str()]);
    aws_env(&mut c, &creds);
    let out = c.output().expect("spawn");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, ok(["ls", local.to_str().expect("utf-8")]));

    // Everything from a named profile in the shared config and credentials files.
    let aws = tempfile::tempdir().expect("tempdir");
    let credentials = aws.path().join("credentials");
    let config = aws.path().join("config");
    std::fs::write(
        &credentials,
        "[ci]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .expect("write");
    std::fs::write(
        &config,
        format!("[profile ci]\nregion = us-east-1\nendpoint_url = {endpoint}\n"),
    )
    .expect("write");
    let files = [
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            credentials.to_str().expect("utf-8"),
        ),
        ("AWS_CONFIG_FILE", config.to_str().expect("utf-8")),
    ];
    let mut c = crate::util::cmd(["cat", url.as_str(), "a/b/c/big.bin"]);
    let mut vars = files.to_vec();
    vars.push(("AWS_PROFILE", "ci"));
    aws_env(&mut c, &vars);
    let out = c.output().expect("spawn");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.stdout,
        ok(["cat", local.to_str().expect("utf-8"), "a/b/c/big.bin"])
    );
    // A profile that is not there: a clear error, not a silent fall-back.
    let mut c = crate::util::cmd(["ls", url.as_str()]);
    let mut vars = files.to_vec();
    vars.push(("AWS_PROFILE", "nope"));
    aws_env(&mut c, &vars);
    let out = c.output().expect("spawn");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("AWS_PROFILE=nope"),
        "{err}"
    );

    // Missing object and missing bucket: errors that name the URL.
    for missing in [
        format!("s3://{BUCKET}/nope.hxz"),
        "s3://no-such-bucket/t.hxz".to_string(),
    ] {
        let mut c = crate::util::cmd(["ls", missing.as_str()]);
        aws_env(&mut c, &env);
        let out = c.output().expect("spawn");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{missing}");
        assert!(err.contains(&missing) && err.contains("not found"), "{err}");
    }
}
