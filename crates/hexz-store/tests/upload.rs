//! Writing archives to S3 with `S3Sink` (multipart upload) against a real S3-compatible server
//! (moto_server) on 127.0.0.1, and `create_sink` for local paths and refused schemes.
//!
//! The moto test is one function: it sets the AWS environment variables, which must not race
//! with other threads of this process reading them.
#![cfg(feature = "s3")]
#![allow(clippy::unwrap_used)]

mod moto_bucket;

use hexz_core::{Archive, ArchiveWriter, EntryMeta, ReadOptions, WriteOptions};
use hexz_store::{create_sink, S3Options, S3Sink, S3Store, UploadConfig};
use hexz_testkit::data::{noise, text};
use hexz_testkit::{archive, servers};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

const BUCKET: &str = "hexz-upload";
const MIB: usize = 1 << 20;

/// What the sink left in the bucket: `TestBucket` plus the multipart uploads in progress.
struct Bucket(moto_bucket::TestBucket);

impl std::ops::Deref for Bucket {
    type Target = moto_bucket::TestBucket;
    fn deref(&self) -> &moto_bucket::TestBucket {
        &self.0
    }
}

impl Bucket {
    /// The upload ids of the bucket's multipart uploads in progress (ListMultipartUploads).
    fn uploads(&self) -> Vec<String> {
        let body = http_get(self.port, &format!("/{BUCKET}?uploads"));
        assert!(
            body.contains("ListMultipartUploadsResult"),
            "unexpected ListMultipartUploads answer: {body}"
        );
        body.split("<UploadId>")
            .skip(1)
            .filter_map(|s| s.split("</UploadId>").next())
            .map(str::to_string)
            .collect()
    }
}

/// One plain HTTP/1.1 GET (moto does not check signatures); returns the body as text.
fn http_get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    assert!(head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
    body.to_string()
}

fn write_options() -> WriteOptions {
    WriteOptions {
        threads: 2,
        archive_id: Some([7; 16]),
        ..WriteOptions::default()
    }
}

/// Adds the entries of the round-trip archive: ~30 MB, incompressible and compressible.
fn fill(w: &mut ArchiveWriter) {
    w.add_bytes(
        "readme.txt",
        b"hello from a remote archive\n",
        EntryMeta::default(),
    )
    .unwrap();
    w.add_bytes("noise.bin", &noise(14 * MIB, 1), EntryMeta::default())
        .unwrap();
    w.add_bytes("text.txt", &text(12 * MIB), EntryMeta::default())
        .unwrap();
    w.add_bytes("zeros.bin", &vec![0u8; 3 * MIB], EntryMeta::default())
        .unwrap();
    w.add_bytes("noise2.bin", &noise(5 * MIB + 123, 2), EntryMeta::default())
        .unwrap();
}

/// A reader that yields `ok` bytes of noise, then fails.
struct FailAfter {
    data: Vec<u8>,
    pos: usize,
}

impl Read for FailAfter {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.data.len() {
            return Err(std::io::Error::other("the source broke"));
        }
        let n = buf.len().min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn small_parts() -> UploadConfig {
    UploadConfig::new().part_size(5 * MIB).max_in_flight(2)
}

#[test]
fn upload_against_moto() {
    let state = tempfile::tempdir().unwrap();
    let server = servers::moto(state.path());
    let endpoint = server.base_url();
    // Only this thread runs in this test binary's moto test, so setting the environment is
    // safe here; the other tests do not read it.
    moto_bucket::use_moto_env(&server);
    let bucket = Bucket(moto_bucket::TestBucket::create(&server, BUCKET));
    let dir = tempfile::tempdir().unwrap();
    let url = |key: &str| format!("s3://{BUCKET}/{key}");

    // A ~30 MB archive in 5 MiB parts, two in flight, equals the same archive written
    // locally byte for byte, and reads back through S3Store.
    let local = dir.path().join("a.hxz");
    let mut w = ArchiveWriter::create(&local, write_options()).unwrap();
    fill(&mut w);
    w.finish().unwrap();
    let sink =
        S3Sink::create_with(&url("dir/a.hxz"), &S3Options::default(), small_parts()).unwrap();
    assert_eq!(bucket.uploads().len(), 1, "the upload started at create");
    let mut w = ArchiveWriter::with_sink(Box::new(sink), write_options()).unwrap();
    fill(&mut w);
    let report = w.finish().unwrap();
    let expected = std::fs::read(&local).unwrap();
    assert!(expected.len() > 4 * 5 * MIB, "{} bytes", expected.len());
    assert_eq!(report.file_len, expected.len() as u64);
    let got = bucket
        .get("dir/a.hxz")
        .expect("the object exists after commit");
    assert!(
        got == expected,
        "uploaded bytes differ from the local archive"
    );
    assert_eq!(
        bucket.uploads(),
        Vec::<String>::new(),
        "completed, none left"
    );
    let store = Arc::new(S3Store::open(&url("dir/a.hxz")).unwrap());
    let remote = Archive::open_store(store, ReadOptions::default()).unwrap();
    archive::compare_with_local(&remote, &local);
    let e = remote.entry("noise2.bin").unwrap().unwrap();
    let mut buf = vec![0u8; e.size as usize];
    assert_eq!(remote.read_entry_at(&e, 0, &mut buf).unwrap(), buf.len());
    assert!(buf == noise(5 * MIB + 123, 2));

    // Default parts (8 MiB, 4 in flight) through create_sink, with explicit options.
    let opts = S3Options::new()
        .endpoint(&endpoint)
        .region("us-east-1")
        .path_style(true);
    let sink = create_sink(&url("b.hxz"), &opts).unwrap();
    assert_eq!(sink.describe(), url("b.hxz"));
    let mut w = ArchiveWriter::with_sink(sink, write_options()).unwrap();
    fill(&mut w);
    w.finish().unwrap();
    assert!(bucket.get("b.hxz").unwrap() == expected);

    // A small archive: one part, smaller than the minimum, is fine as the last part.
    let sink = create_sink(&url("small.hxz"), &S3Options::default()).unwrap();
    let mut w = ArchiveWriter::with_sink(sink, write_options()).unwrap();
    w.add_bytes("readme.txt", b"tiny\n", EntryMeta::default())
        .unwrap();
    w.finish().unwrap();
    let store = Arc::new(S3Store::open(&url("small.hxz")).unwrap());
    let small = Archive::open_store(store, ReadOptions::default()).unwrap();
    assert_eq!(small.read_vec(0, 5).unwrap(), b"tiny\n");

    // Dropped without commit after several parts: no object, no upload left.
    let sink =
        S3Sink::create_with(&url("dropped.hxz"), &S3Options::default(), small_parts()).unwrap();
    let mut w = ArchiveWriter::with_sink(Box::new(sink), write_options()).unwrap();
    fill(&mut w);
    assert_eq!(bucket.uploads().len(), 1, "under way");
    drop(w);
    assert_eq!(bucket.get("dropped.hxz"), None);
    assert_eq!(bucket.uploads(), Vec::<String>::new(), "aborted");

    // The sink alone, dropped with parts in flight.
    let mut sink =
        S3Sink::create_with(&url("raw.bin"), &S3Options::default(), small_parts()).unwrap();
    sink.write_all(&noise(23 * MIB, 3)).unwrap();
    assert_eq!(sink.parts(), 4);
    drop(sink);
    assert_eq!(bucket.get("raw.bin"), None);
    assert_eq!(bucket.uploads(), Vec::<String>::new(), "aborted");

    // An explicit abort says whether it worked.
    let mut sink = S3Sink::create(&url("raw.bin"), &S3Options::default()).unwrap();
    sink.write_all(&noise(9 * MIB, 4)).unwrap();
    sink.abort().unwrap();
    assert_eq!(bucket.get("raw.bin"), None);
    assert_eq!(bucket.uploads(), Vec::<String>::new(), "aborted");

    // A writer error mid-way (the source breaks after 17 MiB), over an existing object: the
    // object survives unchanged and no upload is left.
    let precious = noise(1000, 9);
    bucket.put("keep.hxz", &precious);
    let sink = S3Sink::create_with(&url("keep.hxz"), &S3Options::default(), small_parts()).unwrap();
    let mut w = ArchiveWriter::with_sink(Box::new(sink), write_options()).unwrap();
    w.add_bytes("first.bin", &noise(2 * MIB, 5), EntryMeta::default())
        .unwrap();
    let broken = FailAfter {
        data: noise(17 * MIB, 6),
        pos: 0,
    };
    let err = w
        .add_reader("broken.bin", broken, EntryMeta::default(), None)
        .unwrap_err();
    assert!(err.to_string().contains("broken.bin"), "{err}");
    assert_eq!(bucket.uploads().len(), 1, "under way");
    drop(w);
    assert_eq!(bucket.get("keep.hxz").as_deref(), Some(&precious[..]));
    assert_eq!(bucket.uploads(), Vec::<String>::new(), "aborted");

    // A successful pack replaces it.
    let sink = create_sink(&url("keep.hxz"), &S3Options::default()).unwrap();
    let mut w = ArchiveWriter::with_sink(sink, write_options()).unwrap();
    fill(&mut w);
    w.finish().unwrap();
    assert!(bucket.get("keep.hxz").unwrap() == expected);

    // A missing bucket: NotFound at create, naming the URL and the bucket.
    let missing = "s3://no-such-bucket/a.hxz";
    let err = create_sink(missing, &S3Options::default()).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let msg = err.to_string();
    assert!(msg.contains(missing), "{msg}");
    assert!(
        msg.contains("bucket \"no-such-bucket\" does not exist"),
        "{msg}"
    );

    // Credentials the server does not know (a second moto, checking them): PermissionDenied
    // naming the URL and saying why.
    let auth = servers::moto_auth(state.path());
    let opts = S3Options::new().endpoint(auth.base_url());
    let err = S3Sink::create(&url("denied.hxz"), &opts).unwrap_err();
    let err = std::io::Error::from(err);
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&url("denied.hxz")), "{msg}");
    assert!(
        msg.ends_with("permission denied: InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records."),
        "{msg}"
    );
    drop(auth);

    // A write after a failure repeats it; here the server went away mid-upload.
    let mut sink =
        S3Sink::create_with(&url("gone.bin"), &S3Options::default(), small_parts()).unwrap();
    sink.write_all(&noise(MIB, 7)).unwrap();
    drop(server);
    let first = sink.write_all(&noise(30 * MIB, 8)).unwrap_err();
    let again = sink.write_all(b"x").unwrap_err();
    assert_eq!(first.to_string(), again.to_string());
    assert!(first.to_string().contains(&url("gone.bin")), "{first}");
    drop(sink);
}

#[test]
fn local_paths_and_refused_schemes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("local.hxz");
    let sink = create_sink(path.to_str().unwrap(), &S3Options::default()).unwrap();
    let mut w = ArchiveWriter::with_sink(sink, write_options()).unwrap();
    w.add_bytes("a.txt", b"local\n", EntryMeta::default())
        .unwrap();
    w.finish().unwrap();
    let a = Archive::open_with_options(&path, ReadOptions::default()).unwrap();
    assert_eq!(a.read_vec(0, 6).unwrap(), b"local\n");

    let file_url = format!("file://{}", dir.path().join("f.hxz").display());
    let sink = create_sink(&file_url, &S3Options::default()).unwrap();
    ArchiveWriter::with_sink(sink, write_options())
        .unwrap()
        .finish()
        .unwrap();
    assert!(dir.path().join("f.hxz").is_file());

    // Dropped uncommitted: nothing at the path, no temporary file left.
    let sink = create_sink(
        dir.path().join("never.hxz").to_str().unwrap(),
        &S3Options::default(),
    )
    .unwrap();
    drop(ArchiveWriter::with_sink(sink, write_options()).unwrap());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    let err = create_sink(
        dir.path().join("no/such/dir/x.hxz").to_str().unwrap(),
        &S3Options::default(),
    )
    .err()
    .unwrap();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("no/such/dir/x.hxz"), "{err}");

    for url in ["http://127.0.0.1:1/a.hxz", "https://example.com/a.hxz"] {
        let err = create_sink(url, &S3Options::default()).err().unwrap();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let msg = err.to_string();
        assert!(msg.contains(url), "{msg}");
        assert!(msg.contains("HTTP servers are read-only"), "{msg}");
    }
    let err = create_sink("ftp://h/a.hxz", &S3Options::default())
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}
