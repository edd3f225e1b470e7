//! The HTTP semantics of `hexz serve` (RFC 9110), checked with a real client: `curl`.
#![allow(clippy::unwrap_used)]

mod common;

use common::{curl, Response};
use hexz_testkit::Rng;
use std::io::{Read, Write};
use std::net::TcpStream;

fn assert_status(r: &Response, status: u16) {
    assert_eq!(r.status, status, "headers: {:?}", r.headers);
}

#[test]
fn full_get_and_head() {
    let s = common::serve_archive();
    let file = std::fs::read(&s.path).unwrap();
    let len = file.len().to_string();

    let r = curl(&[], &s.url());
    assert_status(&r, 200);
    assert!(r.body == file, "the whole file");
    assert_eq!(r.header("content-length"), Some(len.as_str()));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    let etag = r.header("etag").unwrap();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
        "a strong ETag: {etag}"
    );
    assert!(r.header("last-modified").unwrap().ends_with(" GMT"));
    assert!(r.header("date").is_some());

    let h = curl(&["-I"], &s.url());
    assert_status(&h, 200);
    assert_eq!(h.header("content-length"), Some(len.as_str()));
    assert_eq!(h.header("etag"), Some(etag));
    assert_eq!(h.header("accept-ranges"), Some("bytes"));
    // HEAD ignores Range (RFC 9110 §14.2): the headers of the 200.
    let h = curl(&["-I", "-r", "0-9"], &s.url());
    assert_status(&h, 200);
    assert_eq!(h.header("content-length"), Some(len.as_str()));

    // No body bytes follow a HEAD response on the wire (curl -I would not tell).
    let port = s.server.local_addr().port();
    let mut sock = TcpStream::connect(s.server.local_addr()).unwrap();
    write!(
        sock,
        "HEAD /a.hxz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    sock.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains(&format!("content-length: {len}\r\n")),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\n"), "no body after HEAD: {text:?}");
}

#[test]
fn ranges() {
    let s = common::serve_archive();
    let file = std::fs::read(&s.path).unwrap();
    let n = file.len();

    // a-b, spanning several 256 KiB chunks.
    let r = curl(&["-r", "1000-900999"], &s.url());
    assert_status(&r, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 1000-900999/{n}").as_str())
    );
    assert_eq!(r.header("content-length"), Some("900000"));
    assert!(r.body == file[1000..901_000]);

    // a- (open range).
    let r = curl(&["-r", "12345-"], &s.url());
    assert_status(&r, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 12345-{}/{n}", n - 1).as_str())
    );
    assert!(r.body == file[12345..]);

    // -n (suffix), and a suffix longer than the file.
    let r = curl(&["-r", "-500"], &s.url());
    assert_status(&r, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes {}-{}/{n}", n - 500, n - 1).as_str())
    );
    assert!(r.body == file[n - 500..]);
    let r = curl(&["-r", &format!("-{}", n * 2)], &s.url());
    assert_status(&r, 206);
    assert!(r.body == file);

    // A last position past the end is clamped.
    let r = curl(&["-r", &format!("{}-{}", n - 10, n + 1000)], &s.url());
    assert_status(&r, 206);
    assert!(r.body == file[n - 10..]);

    // Unsatisfiable: 416 with bytes */LEN.
    for range in [
        format!("{n}-"),
        format!("{}-{}", n + 5, n + 10),
        "-0".into(),
    ] {
        let r = curl(&["-r", &range], &s.url());
        assert_status(&r, 416);
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes */{n}").as_str()),
            "{range}"
        );
    }

    // Invalid or foreign ranges are ignored: 200 and the whole file.
    for header in ["Range: bytes=9-3", "Range: lines=1-2", "Range: bytes=x-"] {
        let r = curl(&["-H", header], &s.url());
        assert_status(&r, 200);
        assert!(r.body == file, "{header}");
    }
}

#[test]
fn multiple_ranges_are_multipart() {
    let s = common::serve_archive();
    let file = std::fs::read(&s.path).unwrap();
    let n = file.len();
    let r = curl(&["-r", "500000-500009,10-19,-5"], &s.url());
    assert_status(&r, 206);
    let ctype = r.header("content-type").unwrap();
    let boundary = ctype
        .strip_prefix("multipart/byteranges; boundary=")
        .unwrap_or_else(|| panic!("{ctype}"));
    assert_eq!(
        r.header("content-length").unwrap(),
        r.body.len().to_string()
    );
    // Each part: delimiter, headers, blank line, bytes; in the order asked for.
    let mut rest = &r.body[..];
    for (start, end) in [(500_000, 500_009), (10, 19), (n - 5, n - 1)] {
        let head = format!(
            "\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n\
             Content-Range: bytes {start}-{end}/{n}\r\n\r\n"
        );
        assert!(
            rest.starts_with(head.as_bytes()),
            "{:?}",
            String::from_utf8_lossy(&rest[..rest.len().min(200)])
        );
        rest = &rest[head.len()..];
        assert_eq!(&rest[..end - start + 1], &file[start..=end]);
        rest = &rest[end - start + 1..];
    }
    assert_eq!(rest, format!("\r\n--{boundary}--\r\n").as_bytes());

    // Overlapping ranges are merged into one: a plain 206.
    let r = curl(&["-r", "0-99,50-149"], &s.url());
    assert_status(&r, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 0-149/{n}").as_str())
    );
    assert!(r.body == file[..150]);
}

#[test]
fn conditional_requests() {
    let s = common::serve_archive();
    let file = std::fs::read(&s.path).unwrap();
    let etag = curl(&["-I"], &s.url()).header("etag").unwrap().to_string();
    let last_modified = curl(&["-I"], &s.url())
        .header("last-modified")
        .unwrap()
        .to_string();
    let if_match = |v: &str| format!("If-Match: {v}");

    // If-Match: the right tag (alone, in a list, or *) serves; another one is 412.
    for v in [etag.clone(), format!("\"nope\", {etag}"), "*".into()] {
        let r = curl(&["-H", &if_match(&v), "-r", "0-99"], &s.url());
        assert_status(&r, 206);
        assert!(r.body == file[..100]);
    }
    for v in ["\"nope\"", &format!("W/{etag}")] {
        let r = curl(&["-H", &if_match(v), "-r", "0-99"], &s.url());
        assert_status(&r, 412);
        assert!(!r.body.starts_with(&file[..8]), "no archive bytes");
    }

    // If-None-Match: the current tag (weakly compared too) is 304 for GET and HEAD.
    for v in [etag.clone(), format!("W/{etag}"), "*".into()] {
        let header = format!("If-None-Match: {v}");
        let r = curl(&["-H", &header], &s.url());
        assert_status(&r, 304);
        assert!(r.body.is_empty());
        assert_eq!(r.header("etag"), Some(etag.as_str()));
        let r = curl(&["-I", "-H", &header], &s.url());
        assert_status(&r, 304);
    }
    let r = curl(&["-H", "If-None-Match: \"old\""], &s.url());
    assert_status(&r, 200);
    assert!(r.body == file);

    // If-Modified-Since / If-Unmodified-Since with the file's own date.
    let r = curl(
        &["-H", &format!("If-Modified-Since: {last_modified}")],
        &s.url(),
    );
    assert_status(&r, 304);
    let r = curl(
        &["-H", "If-Unmodified-Since: Thu, 01 Jan 1970 00:00:01 GMT"],
        &s.url(),
    );
    assert_status(&r, 412);

    // If-Range: the current tag honours the range, a stale one gets the whole file.
    let r = curl(
        &["-H", &format!("If-Range: {etag}"), "-r", "100-199"],
        &s.url(),
    );
    assert_status(&r, 206);
    assert!(r.body == file[100..200]);
    let r = curl(&["-H", "If-Range: \"stale\"", "-r", "100-199"], &s.url());
    assert_status(&r, 200);
    assert!(r.body == file);
    assert!(r.header("content-range").is_none());
}

#[test]
fn not_found_and_method_not_allowed() {
    let s = common::serve_archive();
    let base = format!("http://{}", s.server.local_addr());
    for path in ["/nope.hxz", "/a.hxz/x", "/A.HXZ", "//a.hxz", "/a.hxz%"] {
        let r = curl(&[], &format!("{base}{path}"));
        assert_status(&r, 404);
    }
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let r = curl(&["-X", method], &s.url());
        assert_status(&r, 405);
        assert_eq!(r.header("allow"), Some("GET, HEAD"), "{method}");
    }
    // A percent-encoded name is decoded.
    let r = curl(&["-r", "0-3"], &format!("{base}/a%2Ehxz"));
    assert_status(&r, 206);
}

#[test]
fn listing() {
    let s = common::serve_archive();
    let r = curl(&[], &format!("http://{}/", s.server.local_addr()));
    assert_status(&r, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "a.hxz");
    assert_eq!(items[0]["path"], "/a.hxz");
    assert_eq!(
        items[0]["size"].as_u64(),
        Some(std::fs::metadata(&s.path).unwrap().len())
    );
    let etag = curl(&["-I"], &s.url()).header("etag").unwrap().to_string();
    assert_eq!(items[0]["etag"].as_str(), Some(etag.as_str()));
}

#[test]
fn many_concurrent_range_gets() {
    let s = common::serve_archive();
    let file = std::fs::read(&s.path).unwrap();
    let n = file.len() as u64;
    let url = s.url();
    std::thread::scope(|scope| {
        for t in 0..16u64 {
            let (file, url) = (&file, &url);
            scope.spawn(move || {
                let mut rng = Rng::new(t + 1);
                for _ in 0..6 {
                    let x = rng.next_u64();
                    let start = x % n;
                    let len = 1 + (x >> 40) % 700_000;
                    let end = (start + len).min(n) - 1;
                    let r = curl(&["-r", &format!("{start}-{end}")], url);
                    assert_eq!(r.status, 206);
                    assert!(
                        r.body == file[start as usize..=end as usize],
                        "bytes {start}-{end}"
                    );
                }
            });
        }
    });
}

#[test]
fn stop_closes_the_port() {
    let s = common::serve_archive();
    let addr = s.server.local_addr();
    assert_eq!(curl(&["-r", "0-0"], &s.url()).status, 206);
    s.server.stop().unwrap();
    // Closed at once; but a child process forked by another test (curl) may hold a copy of the
    // socket until it execs, so allow a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while TcpStream::connect(addr).is_ok() {
        assert!(std::time::Instant::now() < deadline, "still listening");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
