//! The proxy between real sockets: a small HTTP/1.1 origin server written here (independent of
//! the proxy's own parser) and raw clients that check bytes, framing and connection handling.
#![allow(clippy::unwrap_used)]

use hexz_faultproxy::{FaultProxy, Faults};
use std::io::{BufReader, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

mod client;
mod origin;

use client::{raw_exchange, Conn};
use origin::{field, pattern, read_line, read_raw_head, Origin};

#[test]
fn passes_bytes_through_unchanged() {
    let origin = Origin::start();
    let proxy = FaultProxy::start(origin.addr, Faults::none()).unwrap();
    // Byte for byte the same as straight from the origin, whatever the framing.
    for path in [
        "/len/1000000",
        "/chunked/300001",
        "/close/70000",
        "/len/0",
        "/nope",
    ] {
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let direct = raw_exchange(origin.addr, req.as_bytes());
        let proxied = raw_exchange(proxy.addr(), req.as_bytes());
        assert!(direct.len() > 20, "{path}");
        assert!(
            direct == proxied,
            "{path}: {} vs {} bytes",
            direct.len(),
            proxied.len()
        );
    }
    // The head reaches the origin exactly as sent: Host, field order and case, odd spacing.
    let head = "GET /head HTTP/1.1\r\nHost: bucket.s3.example:9000\r\nx-amz-date: 20240101T000000Z\r\n\
                Authorization: AWS4-HMAC-SHA256 Credential=x,  Signature=abc\r\nRange: bytes=0-9\r\n\r\n";
    let mut c = Conn::open(proxy.addr());
    c.send(head.as_bytes());
    let r = c.recv("GET").unwrap();
    assert_eq!(String::from_utf8(r.body).unwrap(), head);
    let s = proxy.stats();
    assert_eq!((s.errors, s.drops, s.upstream_failures), (0, 0, 0), "{s:?}");
    assert_eq!(s.forwarded, 6, "{s:?}");
    assert_eq!(
        origin.requests(),
        s.forwarded + 5,
        "the direct requests, and these"
    );
}

#[test]
fn keeps_client_connections_alive() {
    let origin = Origin::start();
    let proxy = FaultProxy::start(origin.addr, Faults::none()).unwrap();
    let mut c = Conn::open(proxy.addr());
    let data = pattern(2_000_000);
    for (i, path) in ["/len/2000000", "/chunked/2000000", "/len/2000000"]
        .iter()
        .enumerate()
    {
        let r = c.get(path).unwrap();
        assert_eq!(r.status, 200, "{i}");
        assert!(r.body == data, "{path}: {} bytes", r.body.len());
    }
    // HEAD: the head only, and the connection goes on.
    c.send(b"HEAD /len/12345 HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.recv("HEAD").unwrap();
    assert_eq!(field(&r.fields, "content-length"), Some("12345"));
    assert_eq!(c.get("/len/3").unwrap().body, pattern(3));
    // Two requests pipelined in one write.
    c.send(b"GET /len/10 HTTP/1.1\r\nHost: x\r\n\r\nGET /len/20 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.recv("GET").unwrap().body, pattern(10));
    assert_eq!(c.recv("GET").unwrap().body, pattern(20));
    let s = proxy.stats();
    assert_eq!(s.connections, 1, "{s:?}");
    assert_eq!(s.requests, 7, "{s:?}");
    assert!(s.bytes_down > 3 * 2_000_000, "{s:?}");
    // `Connection: close` from the client: answered, then closed.
    c.send(b"GET /len/5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(c.recv("GET").unwrap().body, pattern(5));
    assert!(c.is_closed());
}

#[test]
fn forwards_request_bodies() {
    let origin = Origin::start();
    let proxy = FaultProxy::start(origin.addr, Faults::none()).unwrap();
    let mut c = Conn::open(proxy.addr());
    let data = pattern(3_000_001);
    c.send(
        format!(
            "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            data.len()
        )
        .as_bytes(),
    );
    c.send(&data);
    let r = c.recv("PUT").unwrap();
    assert!(r.body == data, "{} bytes back", r.body.len());
    // Chunked, in uneven chunks with an extension and a trailer.
    c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    let mut sent = Vec::new();
    for (i, piece) in data[..500_000].chunks(77_777).enumerate() {
        c.send(format!("{:X};i={i}\r\n", piece.len()).as_bytes());
        c.send(piece);
        c.send(b"\r\n");
        sent.extend_from_slice(piece);
    }
    c.send(b"0\r\nX-Sum: 1\r\n\r\n");
    let r = c.recv("POST").unwrap();
    assert!(r.body == sent, "{} bytes back", r.body.len());
    // Expect: 100-continue gets its 100 from the proxy, then the final response.
    c.send(b"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    let interim = c.recv("PUT").unwrap();
    assert_eq!(interim.status, 100);
    c.send(b"abcd");
    assert_eq!(c.recv("PUT").unwrap().body, b"abcd");
    assert!(proxy.stats().bytes_up > 3_500_000);
}

#[test]
fn injects_errors() {
    let origin = Origin::start();
    let proxy = FaultProxy::start(origin.addr, Faults::none().error_rate(1.0)).unwrap();
    let mut c = Conn::open(proxy.addr());
    for _ in 0..3 {
        let r = c.get("/len/100").unwrap();
        assert_eq!(r.status, 503);
        assert_eq!(field(&r.fields, "retry-after"), Some("0"));
        assert!(String::from_utf8_lossy(&r.body).contains("injected 503"));
    }
    // The body of a refused upload is read and thrown away; the connection goes on.
    c.send(b"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
    c.send(&pattern(100_000));
    assert_eq!(c.recv("PUT").unwrap().status, 503);
    assert_eq!(origin.requests(), 0, "errors never reach the origin");
    proxy
        .set_faults(
            Faults::none()
                .error_rate(1.0)
                .error_statuses([429, 500, 502]),
        )
        .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..60 {
        seen.insert(c.get("/len/1").unwrap().status);
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), [429, 500, 502]);
    proxy.set_faults(Faults::none()).unwrap();
    assert_eq!(c.get("/len/7").unwrap().body, pattern(7));
    let s = proxy.stats();
    assert_eq!(
        (s.connections, s.requests, s.errors, s.forwarded),
        (1, 65, 64, 1),
        "{s:?}"
    );
    assert!(proxy.set_faults(Faults::none().error_rate(2.0)).is_err());
}

#[test]
fn drops_cut_responses_short() {
    let origin = Origin::start();
    let proxy = FaultProxy::start(origin.addr, Faults::none().drop_rate(1.0).seed(3)).unwrap();
    let data = pattern(500_000);
    for i in 0..20 {
        // Content-Length: the head, then fewer bytes than it promises, then the end.
        let mut c = Conn::open(proxy.addr());
        c.send(b"GET /len/500000 HTTP/1.1\r\nHost: x\r\n\r\n");
        let (raw, fields) = read_raw_head(&mut c.r).unwrap().unwrap();
        assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
        assert_eq!(field(&fields, "content-length"), Some("500000"));
        let mut got = Vec::new();
        let _ = c.r.read_to_end(&mut got);
        assert!(got.len() < data.len(), "{i}: the whole body came through");
        assert!(
            got == data[..got.len()],
            "{i}: the bytes before the cut are the origin's"
        );
        // Chunked: a cut is a body that never reaches its last chunk.
        let mut c = Conn::open(proxy.addr());
        assert!(c.get("/chunked/500000").is_err(), "{i}");
        // No body to cut: the head itself is cut.
        let mut c = Conn::open(proxy.addr());
        c.send(b"HEAD /len/10 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(c.recv("HEAD").is_err(), "{i}");
        // Delimited by close, where a cut body would look complete: the head is cut.
        let mut c = Conn::open(proxy.addr());
        assert!(c.get("/close/1000").is_err(), "{i}");
    }
    let s = proxy.stats();
    assert_eq!(s.drops, 80, "{s:?}");
    assert_eq!(s.forwarded, 80, "{s:?}");
}

#[test]
fn rates_latency_and_streaks() {
    let origin = Origin::start();
    let faults = Faults::none().error_rate(0.3).drop_rate(0.2).seed(11);
    let proxy = FaultProxy::start(origin.addr, faults).unwrap();
    let (mut ok, mut errors, mut broken) = (0, 0, 0);
    let mut c = Conn::open(proxy.addr());
    for _ in 0..500 {
        match c.get("/len/1000") {
            Ok(r) if r.status == 200 => {
                assert_eq!(r.body, pattern(1000));
                ok += 1;
            }
            Ok(r) => {
                assert_eq!(r.status, 503);
                errors += 1;
            }
            Err(_) => {
                broken += 1;
                c = Conn::open(proxy.addr());
            }
        }
    }
    let s = proxy.stats();
    assert_eq!((s.errors, s.drops), (errors, broken), "{s:?}");
    assert!((110..190).contains(&errors), "{s:?}");
    assert!((60..140).contains(&broken), "{s:?}");
    assert_eq!(ok + errors + broken, 500);

    // At most two faults in a row for the same request: the third try always gets through.
    proxy
        .set_faults(
            Faults::none()
                .error_rate(0.5)
                .drop_rate(0.5)
                .max_in_a_row(2),
        )
        .unwrap();
    let mut c = Conn::open(proxy.addr());
    for i in 0..20 {
        let mut tries = 0;
        let body = loop {
            tries += 1;
            match c.get(&format!("/len/{}", 100 + i)) {
                Ok(r) if r.status == 200 => break r.body,
                Ok(_) => {}
                Err(_) => c = Conn::open(proxy.addr()),
            }
        };
        assert_eq!(tries, 3, "{i}");
        assert_eq!(body, pattern(100 + i));
    }

    // Latency: added to every request.
    proxy
        .set_faults(Faults::none().latency(Duration::from_millis(50)))
        .unwrap();
    let t = Instant::now();
    for _ in 0..4 {
        assert_eq!(c.get("/len/10").unwrap().status, 200);
    }
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(200), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn refuses_what_it_cannot_forward() {
    let origin = Origin::start();
    let proxy = FaultProxy::start(origin.addr, Faults::none()).unwrap();
    let cases: [(&[u8], &str); 4] = [
        (b"GARBAGE\r\n\r\n", "HTTP/1.1 400 "),
        (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", "HTTP/1.1 400 "),
        (
            b"POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            "HTTP/1.1 501 ",
        ),
        (
            b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            "HTTP/1.1 400 ",
        ),
    ];
    for (req, want) in cases {
        let out = String::from_utf8(raw_exchange(proxy.addr(), req)).unwrap();
        assert!(out.starts_with(want), "{out}");
        assert!(out.contains("Connection: close"), "{out}");
    }
    let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(100_000));
    let out = String::from_utf8_lossy(&raw_exchange(proxy.addr(), huge.as_bytes())).to_string();
    assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
    assert_eq!(origin.requests(), 0);

    // Nothing listening upstream: 502 naming it, and the connection goes on.
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let proxy = FaultProxy::start(dead, Faults::none()).unwrap();
    let mut c = Conn::open(proxy.addr());
    for _ in 0..2 {
        let r = c.get("/x").unwrap();
        assert_eq!(r.status, 502);
        let text = String::from_utf8(r.body).unwrap();
        assert!(text.contains(&dead.to_string()), "{text}");
    }
    assert_eq!(proxy.stats().upstream_failures, 2);
}

#[test]
fn drop_stops_everything() {
    let origin = Origin::start();
    let proxy = FaultProxy::start(origin.addr, Faults::none()).unwrap();
    let addr = proxy.addr();
    let mut idle = Conn::open(addr);
    assert_eq!(idle.get("/len/1").unwrap().status, 200);
    let mut busy = Conn::open(addr);
    busy.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    proxy
        .set_faults(Faults::none().latency(Duration::from_secs(60)))
        .unwrap();
    let mut waiting = Conn::open(addr);
    waiting.send(b"GET /len/1 HTTP/1.1\r\nHost: x\r\n\r\n");
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    drop(proxy);
    // Not held up by the 60 s latency nor the slow origin.
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(idle.is_closed());
    assert!(waiting.is_closed());
    let mut rest = Vec::new();
    let _ = busy.r.read_to_end(&mut rest);
    // Nothing listens any more.
    assert!(TcpStream::connect(addr).is_err());
    let _ = busy.w.shutdown(Shutdown::Both);
}

#[test]
fn binary_prints_its_address_and_teaches() {
    let exe = env!("CARGO_BIN_EXE_hexz-faultproxy");
    let help = std::process::Command::new(exe)
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    for word in [
        "--upstream",
        "--latency-ms",
        "--error-rate",
        "--drop-rate",
        "--seed",
        "EXAMPLES",
    ] {
        assert!(help.contains(word), "{word} missing from:\n{help}");
    }
    let bad = std::process::Command::new(exe)
        .args(["--upstream", "127.0.0.1:1", "--error-rate", "1.5"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("between 0 and 1"));

    let origin = Origin::start();
    let mut child = std::process::Command::new(exe)
        .args(["--upstream", &origin.addr.to_string(), "--error-rate", "1"])
        .args(["--error-status", "500", "--latency-ms", "1", "--seed", "5"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let line = read_line(&mut out).unwrap();
    let addr: SocketAddr = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .trim()
        .parse()
        .unwrap();
    assert!(addr.ip().is_loopback());
    let status = Conn::open(addr).get("/len/1").map(|r| r.status);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status.unwrap(), 500);
}
