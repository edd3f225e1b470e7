//! `S3Store` against a real S3-compatible server (moto_server) on 127.0.0.1.
//!
//! One test function: it sets the AWS environment variables, which must not race with other
//! threads of this process.
#![cfg(feature = "s3")]
#![allow(clippy::unwrap_used)]

mod moto_bucket;

use hexz_core::{Archive, ReadAt, ReadOptions};
use hexz_store::{open_url, S3Options, S3Store};
use hexz_testkit::data::noise;
use hexz_testkit::{archive, servers};
use std::io::ErrorKind;
use std::sync::atomic::{AtomicUsize, Ordering};

const BUCKET: &str = "hexz-test";

#[test]
fn s3_against_moto() {
    let state = tempfile::tempdir().unwrap();
    let server = servers::moto(state.path());
    let endpoint = server.base_url();
    // Only this thread runs in this test binary, so setting the environment is safe here.
    moto_bucket::use_moto_env(&server);
    let up = moto_bucket::TestBucket::create(&server, BUCKET);

    // The conformance suite, through the environment configuration.
    let counter = AtomicUsize::new(0);
    hexz_core::conformance::check_store(&|data| {
        let key = format!("conf/obj{}.bin", counter.fetch_add(1, Ordering::Relaxed));
        up.put(&key, data);
        open_url(&format!("s3://{BUCKET}/{key}")).unwrap()
    });

    // A real archive, compared with the local copy.
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("a.hxz");
    archive::write_archive(&local);
    up.put("archives/a.hxz", &std::fs::read(&local).unwrap());
    let store = open_url(&format!("s3://{BUCKET}/archives/a.hxz")).unwrap();
    let remote = Archive::open_store(store, ReadOptions::default()).unwrap();
    archive::compare_with_local(&remote, &local);

    // Request counts, from moto's own request log: open in 2, a 4 KiB read whose index page
    // is cached in 1.
    let data = noise(8 << 20, 1);
    archive::write_bytes_archive(&dir.path().join("big.hxz"), &data, 4096);
    up.put(
        "archives/big.hxz",
        &std::fs::read(dir.path().join("big.hxz")).unwrap(),
    );
    let served = || {
        std::fs::read_to_string(state.path().join("moto.out"))
            .unwrap()
            .lines()
            .filter(|l| l.contains(&format!("/{BUCKET}/archives/big.hxz HTTP")))
            .count()
    };
    let before = served();
    let store = S3Store::open(&format!("s3://{BUCKET}/archives/big.hxz")).unwrap();
    let store = std::sync::Arc::new(store);
    let big = Archive::open_store(store.clone(), ReadOptions::default()).unwrap();
    let at_open = served() - before;
    assert!(at_open <= 2, "open took {at_open} requests");
    assert_eq!(
        store.requests() as usize,
        at_open,
        "client and server agree"
    );
    let mut buf = vec![0u8; 4096];
    big.read_exact_at(1 << 20, &mut buf).unwrap();
    for off in [3usize << 20, 6 << 20] {
        let before = served();
        big.read_exact_at(off as u64, &mut buf).unwrap();
        assert_eq!(buf, &data[off..off + 4096]);
        assert_eq!(served() - before, 1, "4 KiB read at {off}");
    }

    // Explicit options: endpoint, region, path-style.
    let opts = S3Options::new()
        .endpoint(&endpoint)
        .region("us-east-1")
        .path_style(true);
    let s = S3Store::open_with(&format!("s3://{BUCKET}/archives/a.hxz"), &opts).unwrap();
    assert_eq!(s.len().unwrap(), std::fs::metadata(&local).unwrap().len());
    let mut head = [0u8; 16];
    s.read_exact_at(0, &mut head).unwrap();
    assert_eq!(&head[..], &std::fs::read(&local).unwrap()[..16]);

    // Anonymous (unsigned) requests for a private object: the server answers 403, which is
    // PermissionDenied naming the URL.
    let url = format!("s3://{BUCKET}/archives/a.hxz");
    let err = S3Store::open_with(&url, &opts.clone().anonymous(true)).unwrap_err();
    let err = std::io::Error::from(err);
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains(&url), "{err}");

    // Missing object and missing bucket: NotFound, naming the URL.
    for url in [
        format!("s3://{BUCKET}/nope.hxz"),
        "s3://no-such-bucket/a.hxz".to_string(),
    ] {
        let err = open_url(&url).err().unwrap();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{url}: {err}");
        assert!(err.to_string().contains(&url), "{err}");
    }

    // Replaced after open: an error that says so, never the new bytes. (Larger than the tail
    // fetched at open, so reads near the start go to the server.)
    let v1 = hexz_core::conformance::pattern(600_000);
    up.put("v.bin", &v1);
    let s = S3Store::open(&format!("s3://{BUCKET}/v.bin")).unwrap();
    assert!(s.etag().is_some());
    let mut buf = vec![0u8; 1000];
    s.read_exact_at(100, &mut buf).unwrap();
    assert_eq!(buf, &v1[100..1100]);
    let v2: Vec<u8> = v1.iter().map(|b| b ^ 0x55).collect();
    up.put("v.bin", &v2);
    let err = s.read_exact_at(100, &mut buf).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Other, "{err}");
    assert!(err.to_string().contains("changed"), "{err}");
    let err = s.read_ranges(&[(0, 10), (150_000, 10)]).unwrap_err();
    let mut end = vec![0u8; 1000];
    s.read_exact_at(599_000, &mut end).unwrap();
    assert_eq!(
        end,
        &v1[599_000..],
        "the tail pinned at open is the old object's"
    );
    assert!(err.to_string().contains("changed"), "{err}");
    let s = S3Store::open(&format!("s3://{BUCKET}/v.bin")).unwrap();
    s.read_exact_at(100, &mut buf).unwrap();
    assert_eq!(buf, &v2[100..1100]);

    // Bad URLs.
    for url in ["s3://", "s3://bucket", "s3://bucket/"] {
        let err = open_url(url).err().unwrap();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{url}: {err}");
    }
    drop(server);
}
