//! The `serve_headers` fuzz target on stable Rust: its kept corpus, typical requests' headers,
//! and time-bounded mutations (see `hexz_testkit::replay`).

use hexz_testkit::replay;

fn seeds() -> Vec<Vec<u8>> {
    let len = 1_000_000u64.to_le_bytes();
    [
        "Range: bytes=0-1023",
        "Range: bytes=-500\nIf-Range: \"0123456789abcdef\"",
        "Range: bytes=0-0,5-9,2-3,100-\nIf-None-Match: W/\"x\", \"0123456789abcdef\"",
        "If-Match: *\nIf-Unmodified-Since: Tue, 14 Nov 2023 22:13:20 GMT",
        "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\nRange: bytes=999999-",
    ]
    .iter()
    .map(|h| [len.as_slice(), h.as_bytes()].concat())
    .collect()
}

#[test]
fn serve_headers() {
    let report = replay::replay(
        "serve_headers",
        &seeds(),
        hexz_serve::fuzzing::request_headers,
    );
    assert!(report.mutations > 0, "{report:?}");
}
