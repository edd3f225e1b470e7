//! A response is streamed in bounded chunks, never read into memory whole: a 4 GiB range to a
//! client that stops reading costs the server a few MiB. Linux only (reads VmRSS from /proc).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// This process's resident memory in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

#[test]
fn a_huge_range_to_a_slow_client_is_streamed() {
    const SIZE: u64 = 4 << 30;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.bin");
    // Sparse: reads of it cost no disk and no page-cache memory counted in our RSS.
    std::fs::File::create(&path).unwrap().set_len(SIZE).unwrap();
    let server = common::spawn(&[path], false);
    let before = rss();

    let mut sock = TcpStream::connect(server.local_addr()).unwrap();
    write!(
        sock,
        "GET /huge.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=1-\r\n\r\n"
    )
    .unwrap();
    // Headers and the first 8 MiB, then the client stops reading.
    let mut head = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut body = 0usize;
    while body < 8 << 20 {
        let n = sock.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed early");
        let mut data = &buf[..n];
        if body == 0 && !head.ends_with(b"\r\n\r\n") {
            head.extend_from_slice(data);
            let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let rest = head.split_off(end + 4);
            let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
            assert!(text.starts_with("http/1.1 206"), "{text}");
            assert!(
                text.contains(&format!("content-length: {}\r\n", SIZE - 1)),
                "{text}"
            );
            assert!(rest.iter().all(|&b| b == 0));
            body += rest.len();
            data = &[];
        }
        assert!(data.iter().all(|&b| b == 0));
        body += data.len();
    }

    // Give the server time to run ahead if it were going to.
    std::thread::sleep(Duration::from_millis(500));
    let grown = rss().saturating_sub(before);
    assert!(
        grown < 64 << 20,
        "the server's memory grew by {} MiB for one slow response",
        grown >> 20
    );
    drop(sock);
}
