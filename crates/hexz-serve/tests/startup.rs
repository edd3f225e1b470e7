//! What `Server::bind` refuses, with an error naming the file.
#![allow(clippy::unwrap_used)]

mod common;

use hexz_serve::{Error, Server};
use std::net::SocketAddr;
use std::path::PathBuf;

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn refused(paths: &[PathBuf]) -> Error {
    Server::bind(any_port(), paths).expect_err("bind must fail")
}

#[test]
fn corrupt_archives_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.hxz");
    common::write_archive(&good);
    let bytes = std::fs::read(&good).unwrap();
    let len = bytes.len();

    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut magic = bytes.clone();
    magic[0] ^= 0xff;
    cases.push(("bad-magic.hxz", magic));
    let mut footer = bytes.clone();
    footer[len - 3] ^= 0x55;
    cases.push(("bad-footer.hxz", footer));
    cases.push(("truncated.hxz", bytes[..len / 2].to_vec()));
    cases.push(("tiny.hxz", b"hello".to_vec()));
    cases.push(("empty.hxz", Vec::new()));
    for (name, data) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, data).unwrap();
        // The good archive first: one bad file refuses the whole set.
        let err = refused(&[good.clone(), path.clone()]);
        assert!(
            matches!(err, Error::InvalidArchive { .. }),
            "{name}: {err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()), "{name}: {msg}");
        assert!(msg.contains("not a valid archive"), "{name}: {msg}");
    }
    Server::bind(any_port(), &[good]).unwrap();
}

#[test]
fn other_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.hxz");
    common::write_archive(&a);
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let b = dir.path().join("sub/a.hxz");
    std::fs::copy(&a, &b).unwrap();

    let err = refused(&[a.clone(), b.clone()]);
    assert!(matches!(err, Error::DuplicateName { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("/a.hxz") && msg.contains(&b.display().to_string()),
        "{msg}"
    );

    let missing = dir.path().join("missing.hxz");
    let err = refused(std::slice::from_ref(&missing));
    assert!(matches!(err, Error::Open { .. }), "{err:?}");
    assert!(err.to_string().contains(&missing.display().to_string()));

    let err = refused(&[dir.path().join("sub")]);
    assert!(matches!(err, Error::NotAFile { .. }), "{err:?}");

    assert!(matches!(refused(&[]), Error::NoArchives));

    // A port in use.
    let held = std::net::TcpListener::bind(any_port()).unwrap();
    let err = Server::bind(held.local_addr().unwrap(), &[a])
        .err()
        .unwrap();
    assert!(matches!(err, Error::Bind { .. }), "{err:?}");
}

#[test]
fn archives_and_address() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.hxz"), dir.path().join("b c.hxz"));
    common::write_archive(&a);
    std::fs::copy(&a, &b).unwrap();
    let server = Server::bind(any_port(), &[a.clone(), b]).unwrap();
    assert_ne!(server.local_addr().port(), 0);
    let names: Vec<_> = server.archives().into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["a.hxz", "b c.hxz"]);
    assert_eq!(
        server.archives()[0].len,
        std::fs::metadata(&a).unwrap().len()
    );
    let handle = server.spawn().unwrap();
    let r = common::curl(&["-r", "0-3"], &handle.url("b%20c.hxz"));
    assert_eq!(r.status, 206);
    assert_eq!(r.body, std::fs::read(&a).unwrap()[..4]);
}
