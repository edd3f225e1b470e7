//! `--cache-dir` on reading commands over HTTP (nginx on 127.0.0.1), and `hexz cache
//! ls/du/clear`.

use crate::servers;
use crate::util::{cmd, fails, make_tree, ok};
use std::path::Path;

/// Runs `hexz` with `args` and `env`, expecting success; returns stdout as text.
fn run_env(args: &[&str], env: &[(&str, &Path)]) -> String {
    let mut c = cmd(args);
    c.env_remove("HEXZ_CACHE_DIR").env_remove("XDG_CACHE_HOME");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("spawn hexz");
    assert!(
        out.status.success(),
        "hexz {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn cache_dir_serves_a_second_read_locally_and_cache_commands_manage_it() {
    let root = tempfile::tempdir().expect("tempdir");
    let state = tempfile::tempdir().expect("tempdir");
    let src = tempfile::tempdir().expect("tempdir");
    make_tree(src.path());
    let local = root.path().join("t.hxz");
    ok([
        "pack".as_ref(),
        "-q".as_ref(),
        src.path().as_os_str(),
        local.as_os_str(),
    ]);
    let nginx = servers::nginx(root.path(), state.path());
    let url = format!("{}/t.hxz", nginx.base_url());
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = cache.path().to_str().expect("utf-8");
    std::fs::write(cache.path().join("mine.txt"), b"not the cache's").expect("write");
    let requests = || {
        // nginx logs a request just after answering it.
        std::thread::sleep(std::time::Duration::from_millis(100));
        servers::nginx_requests(state.path()).len()
    };
    let want = ok(["cat", local.to_str().expect("utf-8")]);

    // Off by default: nothing is cached.
    assert_eq!(ok(["cat", url.as_str()]), want);
    assert!(!cache.path().join("hexz-cache-v1").exists());

    // The first read fills the cache, the second makes only the request that opens the
    // object (its ETag and length, which key the cache).
    assert_eq!(ok(["--cache-dir", dir, "cat", url.as_str()]), want);
    let before = requests();
    assert_eq!(ok(["cat", url.as_str(), "--cache-dir", dir]), want);
    assert_eq!(requests() - before, 1);
    // HEXZ_CACHE_DIR does the same; so do the other reading commands.
    let before = requests();
    let listed = run_env(&["ls", "-l", &url], &[("HEXZ_CACHE_DIR", cache.path())]);
    assert_eq!(
        listed.as_bytes(),
        ok(["ls", "-l", local.to_str().expect("utf-8")])
    );
    let verified = run_env(&["verify", &url], &[("HEXZ_CACHE_DIR", cache.path())]);
    assert!(verified.starts_with("OK:"), "{verified}");
    assert_eq!(requests() - before, 2);

    // ls: one archive, its URL; --json has the numbers.
    let text = run_env(&["cache", "ls", "--cache-dir", dir], &[]);
    assert!(text.starts_with("KEY") && text.contains(&url), "{text}");
    assert_eq!(text.lines().count(), 2, "{text}");
    let json = run_env(
        &["cache", "ls", "--json"],
        &[("HEXZ_CACHE_DIR", cache.path())],
    );
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let entry = &v[0];
    assert_eq!(entry["url"], url.as_str());
    let archive_len = std::fs::metadata(&local).expect("stat").len();
    assert_eq!(entry["object_bytes"], archive_len);
    assert!(entry["chunks"].as_u64().expect("chunks") >= 1);
    let bytes = entry["bytes"].as_u64().expect("bytes");
    assert!(
        bytes > archive_len,
        "the whole archive and the chunk headers: {bytes}"
    );
    assert!(entry["last_used"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));

    // du: the same total.
    let du = run_env(&["cache", "du", "-b", "--cache-dir", dir], &[]);
    assert!(du.starts_with(&format!("{bytes}\t{dir}")), "{du}");
    assert!(du.contains("1 archives"), "{du}");

    // clear: by URL (a wrong one is an error), then all; other files stay.
    let err = fails([
        "cache",
        "clear",
        "https://elsewhere/x.hxz",
        "--cache-dir",
        dir,
    ]);
    assert!(err.contains("no cached archive matches"), "{err}");
    let err = fails(["cache", "clear", "xyz", "--cache-dir", dir]);
    assert!(err.contains("neither a URL nor a key prefix"), "{err}");
    let out = run_env(&["cache", "clear", &url, "--cache-dir", dir], &[]);
    assert!(out.contains("removed 1 archive"), "{out}");
    let du = run_env(&["cache", "du", "-b", "--cache-dir", dir], &[]);
    assert!(du.starts_with("0\t"), "{du}");
    ok(["--cache-dir", dir, "cat", url.as_str()]);
    let key = run_env(&["cache", "ls", "--cache-dir", dir], &[]);
    let key = key
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .expect("key");
    let out = run_env(&["cache", "clear", &key[..6], "--cache-dir", dir], &[]);
    assert!(out.contains("removed 1 archive"), "{out}");
    ok(["--cache-dir", dir, "cat", url.as_str()]);
    run_env(&["cache", "clear", "--cache-dir", dir], &[]);
    assert!(!cache.path().join("hexz-cache-v1").exists());
    assert!(cache.path().join("mine.txt").exists());

    // The default directory: under HOME (or XDG_CACHE_HOME).
    let home = tempfile::tempdir().expect("tempdir");
    let text = run_env(&["cache", "ls"], &[("HOME", home.path())]);
    let default = home.path().join(".cache/hexz/remote");
    assert!(text.contains(&*default.to_string_lossy()), "{text}");
}

#[test]
fn cache_help_has_examples() {
    let help = String::from_utf8(ok(["cache", "--help"])).expect("utf-8");
    for part in [
        "EXAMPLES:",
        "hexz cache ls",
        "hexz cache clear",
        "HEXZ_CACHE_DIR",
        "10 GiB",
    ] {
        assert!(help.contains(part), "{part} missing from:\n{help}");
    }
    let help = String::from_utf8(ok(["--help"])).expect("utf-8");
    assert!(
        help.contains("--cache-dir") && help.contains("--cache-limit"),
        "{help}"
    );
}
