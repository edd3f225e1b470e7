//! Slow, idle and stalled clients against a real server on 127.0.0.1 (ARCHITECTURE.md, hexz-serve): they
//! are cut off after their timeouts, connections over the limit are answered `503`, and while
//! hundreds of them are open a well-behaved client is served at once.
#![allow(clippy::unwrap_used)]

mod common;

use hexz_serve::{Error, Options, Server, ServerHandle};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A sparse file of `len` bytes (zeros, no disk) in a new temporary directory.
fn big_file(len: u64) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    std::fs::File::create(&path).unwrap().set_len(len).unwrap();
    (dir, path)
}

/// Serves `path` (any file) quietly with `options` changed by `set`.
fn serve(path: &PathBuf, set: impl FnOnce(&mut Options)) -> ServerHandle {
    let mut options = Options {
        quiet: true,
        check_archives: false,
        ..Options::default()
    };
    set(&mut options);
    common::spawn_with(std::slice::from_ref(path), &options)
}

/// One response read off a socket.
struct Answer {
    status: u16,
    /// The header block, lower-cased.
    head: String,
    body_len: usize,
}

/// Reads one response (headers and a `Content-Length` body) from `sock`.
fn read_answer(sock: &mut TcpStream) -> std::io::Result<Answer> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if sock.read(&mut byte)? == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    sock.read_exact(&mut body)?;
    Ok(Answer {
        status,
        head,
        body_len: len,
    })
}

/// `GET path` with `extra` headers on a new connection, answer read in full.
fn get(addr: SocketAddr, path: &str, extra: &str) -> std::io::Result<Answer> {
    let mut sock = TcpStream::connect(addr)?;
    sock.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(sock, "GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n")?;
    read_answer(&mut sock)
}

/// Waits until the server closes `sock` (EOF or reset), reading and counting what comes first;
/// `None` if it is still open after `limit`.
fn wait_closed(sock: &mut TcpStream, limit: Duration) -> Option<(Duration, u64)> {
    let start = Instant::now();
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    loop {
        let left = limit.checked_sub(start.elapsed())?;
        sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match sock.read(&mut buf) {
            Ok(0) => return Some((start.elapsed(), got)),
            Ok(n) => got += n as u64,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return None
            }
            Err(_) => return Some((start.elapsed(), got)),
        }
    }
}

/// A connection with a 4 KiB receive buffer (so the server's writes stall soon) that asks for
/// all of `/big.bin` and then reads nothing.
fn stalled_client(rt: &tokio::runtime::Runtime, addr: SocketAddr) -> TcpStream {
    let stream = rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        socket.connect(addr).await.unwrap()
    });
    let mut sock = stream.into_std().unwrap();
    sock.set_nonblocking(false).unwrap();
    sock.write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    sock
}

/// Raises this process's soft limit on open files to the hard limit; returns the limit.
// rlim_t is u64 on Linux and macOS, not on every Unix.
#[allow(clippy::unnecessary_cast)]
fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit write and read only the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
    }
    lim.rlim_cur as u64
}

#[test]
fn slow_and_idle_clients_do_not_delay_a_well_behaved_one() {
    // Each bad client costs two descriptors here (its socket and the server's end).
    let fds = raise_fd_limit();
    let each = 300.min((fds.saturating_sub(200) / 4) as usize);
    if each < 300 {
        eprintln!("open-file limit {fds}: {each} stalled and {each} idle clients, not 300");
    }
    assert!(
        each >= 100,
        "open-file limit {fds} is too low for this test"
    );
    let (_dir, path) = big_file(64 << 20);
    // Default timeouts: the bad clients stay for the whole test.
    let server = serve(&path, |_| {});
    let addr = server.local_addr();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let stalled: Vec<TcpStream> = (0..each).map(|_| stalled_client(&rt, addr)).collect();
    let idle: Vec<TcpStream> = (0..each)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    // Let the server accept them all and fill the stalled ones' sockets.
    std::thread::sleep(Duration::from_millis(500));

    let mut times = Vec::new();
    for i in 0..50u64 {
        let start = Instant::now();
        let a = i * 1_000_000;
        let answer = get(
            addr,
            "/big.bin",
            &format!("Range: bytes={a}-{}\r\nConnection: close\r\n", a + 65_535),
        )
        .unwrap_or_else(|e| panic!("request {i} failed: {e}"));
        let took = start.elapsed();
        assert_eq!(answer.status, 206, "request {i}: {}", answer.head);
        assert_eq!(answer.body_len, 65_536);
        times.push(took);
    }
    times.sort();
    let worst = times[times.len() - 1];
    eprintln!(
        "with {each} stalled and {each} idle clients: median {:?}, worst {worst:?}",
        times[times.len() / 2]
    );
    assert!(worst < Duration::from_secs(1), "a request took {worst:?}");

    // The bad clients were served too, not turned away: a stalled one has its 200 waiting.
    let mut one = stalled.into_iter().next().unwrap();
    one.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut head = [0u8; 12];
    one.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    drop(idle);
}

#[test]
fn a_slow_header_is_cut_off_after_the_header_timeout() {
    let (_dir, path) = big_file(1 << 20);
    let server = serve(&path, |o| o.header_timeout = Duration::from_secs(1));
    let mut sock = TcpStream::connect(server.local_addr()).unwrap();
    let mut writer = sock.try_clone().unwrap();
    // A byte every 200 ms: the headers would take about 7 s.
    let trickle = std::thread::spawn(move || {
        for b in b"GET /big.bin HTTP/1.1\r\nHost: slow\r\n\r\n" {
            if writer.write_all(&[*b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let (after, got) = wait_closed(&mut sock, Duration::from_secs(5))
        .expect("the slow client was not cut off within 5 s");
    assert!(
        after >= Duration::from_millis(900) && after < Duration::from_secs(3),
        "cut off after {after:?}, with a 1 s header timeout"
    );
    assert_eq!(got, 0, "a response was sent to an incomplete request");
    trickle.join().unwrap();
}

#[test]
fn idle_connections_are_closed_after_the_header_timeout() {
    let (_dir, path) = big_file(1 << 20);
    let server = serve(&path, |o| o.header_timeout = Duration::from_secs(1));
    let addr = server.local_addr();

    // Never sends anything.
    let mut silent = TcpStream::connect(addr).unwrap();
    // Kept alive after one answer, then silent.
    let mut kept = TcpStream::connect(addr).unwrap();
    write!(
        kept,
        "GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n"
    )
    .unwrap();
    let answer = read_answer(&mut kept).unwrap();
    assert_eq!(answer.status, 206);
    assert!(
        !answer.head.contains("connection: close"),
        "{}",
        answer.head
    );

    for (what, sock) in [("silent", &mut silent), ("kept-alive", &mut kept)] {
        let (after, got) = wait_closed(sock, Duration::from_secs(5))
            .unwrap_or_else(|| panic!("the {what} connection is still open after 5 s"));
        assert!(
            after < Duration::from_secs(3),
            "{what}: closed after {after:?}"
        );
        assert_eq!(got, 0, "{what}: unexpected bytes");
    }
}

#[test]
fn a_client_that_stops_reading_is_disconnected_after_the_send_timeout() {
    let (_dir, path) = big_file(64 << 20);
    // One connection at a time, so the slot the stalled client holds is visible.
    let server = serve(&path, |o| {
        o.send_timeout = Duration::from_secs(1);
        o.max_connections = 1;
    });
    let addr = server.local_addr();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    let mut stalled = stalled_client(&rt, addr);
    std::thread::sleep(Duration::from_millis(300));
    let busy = get(addr, "/big.bin", "Range: bytes=0-9\r\n").unwrap();
    assert_eq!(
        busy.status, 503,
        "the stalled client does not hold the only slot"
    );

    // The send timeout frees the slot: within 1 s of the stall, plus slack.
    let freed = loop {
        let a = get(addr, "/big.bin", "Range: bytes=0-9\r\n").unwrap();
        if a.status == 206 {
            break start.elapsed();
        }
        assert_eq!(a.status, 503, "{}", a.head);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the stalled client still holds its slot after {:?}",
            start.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(freed >= Duration::from_secs(1), "freed after {freed:?}");

    // What it was sent ends early: the connection was closed, not finished.
    let (_, got) = wait_closed(&mut stalled, Duration::from_secs(5))
        .expect("the stalled connection is still open");
    assert!(got < 64 << 20, "the whole file came through ({got} bytes)");
}

#[test]
fn a_connection_over_the_limit_is_answered_503_at_once() {
    let (_dir, path) = big_file(1 << 20);
    let server = serve(&path, |o| o.max_connections = 2);
    let addr = server.local_addr();
    let idle: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));

    for _ in 0..5 {
        let start = Instant::now();
        let mut sock = TcpStream::connect(addr).unwrap();
        sock.write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let a = read_answer(&mut sock).unwrap();
        assert_eq!(a.status, 503, "{}", a.head);
        assert!(a.head.contains("retry-after: 1\r\n"), "{}", a.head);
        assert!(a.head.contains("connection: close\r\n"), "{}", a.head);
        let (_, extra) = wait_closed(&mut sock, Duration::from_secs(3)).expect("left open");
        assert_eq!(extra, 0);
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
    }

    // Once the idle clients leave, their slots serve again.
    drop(idle);
    let start = Instant::now();
    loop {
        let a = get(addr, "/big.bin", "Range: bytes=0-9\r\n").unwrap();
        if a.status == 206 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(3), "slots not freed");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_connection_serves_a_bounded_number_of_requests() {
    let (_dir, path) = big_file(1 << 20);
    let server = serve(&path, |o| o.max_requests_per_connection = 3);
    let mut sock = TcpStream::connect(server.local_addr()).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for i in 1..=3 {
        write!(
            sock,
            "GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n"
        )
        .unwrap();
        let a = read_answer(&mut sock).unwrap();
        assert_eq!(a.status, 206);
        assert_eq!(a.head.contains("connection: close"), i == 3, "{}", a.head);
    }
    let (_, extra) = wait_closed(&mut sock, Duration::from_secs(3)).expect("left open");
    assert_eq!(extra, 0);
}

#[test]
fn settings_out_of_range_are_refused() {
    let (_dir, path) = big_file(10);
    type Set = fn(&mut Options);
    let cases: [(&str, Set); 4] = [
        ("max_connections", |o| o.max_connections = 0),
        ("header_timeout", |o| o.header_timeout = Duration::ZERO),
        ("send_timeout", |o| o.send_timeout = Duration::ZERO),
        ("max_requests_per_connection", |o| {
            o.max_requests_per_connection = 0
        }),
    ];
    for (name, set) in cases {
        let mut options = Options {
            check_archives: false,
            ..Options::default()
        };
        set(&mut options);
        match Server::bind_with(
            "127.0.0.1:0".parse().unwrap(),
            std::slice::from_ref(&path),
            &options,
        ) {
            Err(e @ Error::InvalidOption { .. }) => {
                assert!(e.to_string().contains(name), "{e}")
            }
            other => panic!("{name}: expected InvalidOption, got {other:?}"),
        }
    }
}
