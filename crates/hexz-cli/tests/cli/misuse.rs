//! Bad arguments: usage errors exit 2, invalid values one clear error line.

use crate::util::{arg, fails, ok, run, text};
use tempfile::TempDir;

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec![],
        vec!["pack"],
        vec!["pack", "only-input"],
        vec!["frobnicate"],
        vec!["pack", "-c", "brotli", "a", "b"],
        vec!["pack", "--memory", "m", "a", "b"],
        vec!["cat", "--offset", "ten", "a.hxz"],
        vec!["ls", "--json", "--long", "a.hxz"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        crate::util::assert_no_panic(&out);
    }
}

#[test]
fn help_and_version() {
    let help = String::from_utf8(ok(["--help"])).expect("utf-8");
    assert!(help.contains("EXAMPLES"), "{help}");
    for sub in ["pack", "inspect", "ls", "cat", "extract", "verify"] {
        let help = String::from_utf8(ok([sub, "--help"])).expect("utf-8");
        assert!(help.contains("EXAMPLES:"), "{sub}: {help}");
        assert!(
            help.contains(&format!("hexz {sub}")) || sub == "inspect",
            "{sub}: {help}"
        );
    }
    let v = String::from_utf8(ok(["--version"])).expect("utf-8");
    assert!(v.starts_with("hexz "), "{v}");
}

#[test]
fn invalid_pack_options() {
    let t = TempDir::new().expect("tempdir");
    let f = t.path().join("f.txt");
    std::fs::write(&f, text(10_000)).expect("write");
    let f = f.to_str().expect("utf-8");
    let out = arg(t.path(), "out.hxz");
    for (opts, needle) in [
        (vec!["-c", "zstd", "-l", "20"], "level"),
        (vec!["-c", "zstd", "-l", "0"], "level"),
        (vec!["-l", "3"], "zstd"),
        (vec!["-b", "1000"], "block size"),
        (vec!["-b", "32M"], "block size"),
        (vec!["-b", "1X"], "unit"),
        (vec!["--metadata", "[1, 2]"], "object"),
        (vec!["--metadata", "{nope"], "JSON"),
        (vec!["--metadata", "@/nonexistent/meta.json"], "meta.json"),
    ] {
        let mut args = vec!["pack"];
        args.extend(&opts);
        args.extend([f, &out]);
        let out = run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{opts:?}");
        assert!(err.contains(needle), "{opts:?}: {err}");
        crate::util::assert_no_panic(&out);
    }
    assert!(!std::path::Path::new(&out).exists());

    let err = fails(["pack", "/nonexistent/input", &out]);
    assert!(err.contains("/nonexistent/input"), "{err}");
    let err = fails(["pack", "--raw", t.path().to_str().expect("utf-8"), &out]);
    assert!(err.contains("--raw"), "{err}");
    let err = fails([
        "pack",
        t.path().to_str().expect("utf-8"),
        &arg(t.path(), "inside.hxz"),
    ]);
    assert!(err.contains("inside"), "{err}");
    fails(["pack", f, "/nonexistent/dir/out.hxz"]);
    fails(["pack", f, t.path().to_str().expect("utf-8")]);
}

#[test]
fn pack_refuses_to_write_over_its_input_under_any_name() {
    let t = TempDir::new().expect("tempdir");
    let input = t.path().join("d.bin");
    let data = text(50_000);
    std::fs::write(&input, &data).expect("write");
    let sub = t.path().join("sub");
    std::fs::create_dir(&sub).expect("mkdir");
    let dotted = format!("{}/sub/../d.bin", t.path().display());
    let mut names = vec![input.display().to_string(), dotted];
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&input, t.path().join("link.hxz")).expect("symlink");
        std::fs::hard_link(&input, t.path().join("hard.hxz")).expect("link");
        names.push(arg(t.path(), "link.hxz"));
        names.push(arg(t.path(), "hard.hxz"));
    }
    for out in &names {
        let err = fails(["pack", "-q", input.to_str().expect("utf-8"), out]);
        assert!(err.contains("is the input file"), "{out}: {err}");
        assert_eq!(std::fs::read(&input).expect("read"), data, "{out}");
    }
    // Relative spellings, from inside the directory.
    let out = crate::util::cmd(["pack", "-q", "d.bin", "./d.bin"])
        .current_dir(t.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert_eq!(std::fs::read(&input).expect("read"), data);
}
