//! `cat` of the whole stream, of entries and of byte ranges; raw images with holes; stdin.

use crate::util::{arg, fails, mixed, noise, ok, text};
use std::io::Write;
use std::process::Stdio;
use tempfile::TempDir;

#[test]
fn ranges_of_a_file_and_of_the_stream() {
    let t = TempDir::new().expect("tempdir");
    let data = mixed(1_000_000, 11);
    let file = t.path().join("data.bin");
    std::fs::write(&file, &data).expect("write");
    let archive = arg(t.path(), "data.hxz");
    ok([
        "pack",
        "-q",
        "-b",
        "16K",
        file.to_str().expect("utf-8"),
        &archive,
    ]);

    assert!(ok(["cat", &archive]) == data);
    assert!(ok(["cat", &archive, "data.bin"]) == data);
    assert!(ok(["cat", &archive, "./data.bin"]) == data);
    for (offset, length) in [
        (0usize, 1usize),
        (1, 16_383),
        (16_383, 2),
        (100_000, 300_000),
        (999_999, 1),
        (999_999, 10),
        (1_000_000, 5),
    ] {
        let (o, l) = (offset.to_string(), length.to_string());
        let want = &data[offset.min(data.len())..(offset + length).min(data.len())];
        let got = ok(["cat", "--offset", &o, "--length", &l, &archive, "data.bin"]);
        assert!(got == want, "entry range {offset}+{length}");
        let got = ok(["cat", "--offset", &o, "--length", &l, &archive]);
        assert!(got == want, "stream range {offset}+{length}");
    }
    assert!(ok(["cat", "--offset", "64K", &archive]) == data[65_536..]);
    fails(["cat", "--offset", "1000001", &archive]);
    fails(["cat", &archive, "missing"]);
}

#[test]
fn entries_of_a_tree() {
    let t = TempDir::new().expect("tempdir");
    let src = t.path().join("src");
    crate::util::make_tree(&src);
    let archive = arg(t.path(), "tree.hxz");
    ok(["pack", "-q", src.to_str().expect("utf-8"), &archive]);
    for name in [
        "empty",
        "one",
        "a/medium.txt",
        "a/b/c/big.bin",
        "z/random.bin",
    ] {
        let want = std::fs::read(src.join(name)).expect("read");
        assert!(ok(["cat", &archive, name]) == want, "{name}");
    }
    fails(["cat", &archive, "a"]);
    fails(["cat", &archive, "dangling"]);
}

#[test]
fn raw_image_with_holes() {
    let t = TempDir::new().expect("tempdir");
    let mut img = noise(100_000, 5);
    img.resize(img.len() + (1 << 20), 0);
    img.extend(text(200_000));
    img.resize(img.len() + 200_000, 0);
    let disk = t.path().join("disk.img");
    std::fs::write(&disk, &img).expect("write");
    let mem = t.path().join("ram.bin");
    std::fs::write(&mem, text(50_000)).expect("write");
    let archive = arg(t.path(), "vm.hxz");
    ok([
        "pack",
        "-q",
        "--raw",
        disk.to_str().expect("utf-8"),
        "--memory",
        mem.to_str().expect("utf-8"),
        &archive,
    ]);
    assert!(ok(["cat", &archive, "disk"]) == img);
    assert!(ok(["cat", &archive, "memory"]) == text(50_000));
    let mut stream = img.clone();
    stream.extend(text(50_000));
    assert!(ok(["cat", &archive]) == stream);

    let info: serde_json::Value =
        serde_json::from_slice(&ok(["inspect", "--json", &archive])).expect("json");
    assert!(
        info["zero_blocks"].as_u64().expect("zero_blocks") > 0,
        "{info}"
    );
    assert_eq!(info["streams"], 2);
    assert_eq!(info["logical_size"], stream.len());
    assert_eq!(
        String::from_utf8_lossy(&ok(["ls", &archive])),
        "disk\nmemory\n"
    );
}

#[test]
fn standard_input() {
    let t = TempDir::new().expect("tempdir");
    let data = mixed(700_000, 9);
    for (flags, name) in [(&[][..], "stdin"), (&["--raw"][..], "disk")] {
        let archive = arg(t.path(), "in.hxz");
        let mut args = vec!["pack", "-q"];
        args.extend_from_slice(flags);
        args.extend(["-", &archive]);
        let mut child = crate::util::cmd(&args)
            .stdin(Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&data)
            .expect("feed");
        assert!(child.wait().expect("wait").success());
        assert!(ok(["cat", &archive, name]) == data, "{name}");
    }
}
