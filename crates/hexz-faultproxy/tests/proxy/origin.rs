//! The origin server the proxy forwards to: a small HTTP/1.1 server written here, independent
//! of the proxy's own parser, and the wire helpers it shares with the clients.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// `n` bytes that differ from position to position.
pub(crate) fn pattern(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// An origin server on 127.0.0.1, one thread per connection, keep-alive. Routes:
/// `GET|HEAD /len/N` (N bytes with Content-Length), `GET /chunked/N` (chunked, 1000-byte
/// chunks, a trailer), `GET /close/N` (delimited by close), `GET /head` (the request head as
/// received, as the body), `PUT|POST /echo` (the decoded request body back, Content-Length or
/// chunked), `GET /slow` (sleeps 300 ms, then 5 bytes).
pub(crate) struct Origin {
    pub(crate) addr: SocketAddr,
    pub(crate) requests: Arc<AtomicU64>,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) handle: Option<JoinHandle<()>>,
}

impl Origin {
    pub(crate) fn start() -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (requests.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let r = r.clone();
                std::thread::spawn(move || {
                    let _ = origin_conn(conn, &r);
                });
            }
        });
        Origin {
            addr,
            requests,
            stop,
            handle: Some(handle),
        }
    }

    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

pub(crate) fn read_line(r: &mut impl BufRead) -> std::io::Result<String> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    Ok(line)
}

/// Header fields, names in lowercase.
pub(crate) type Fields = Vec<(String, String)>;

/// Reads a head: its raw text and its fields.
pub(crate) fn read_raw_head(r: &mut impl BufRead) -> std::io::Result<Option<(String, Fields)>> {
    let mut raw = String::new();
    let mut fields = Vec::new();
    loop {
        let line = read_line(r)?;
        if line.is_empty() {
            return if raw.is_empty() {
                Ok(None)
            } else {
                Err(std::io::ErrorKind::UnexpectedEof.into())
            };
        }
        raw.push_str(&line);
        if line == "\r\n" {
            return Ok(Some((raw, fields)));
        }
        if let Some((k, v)) = line.split_once(':') {
            fields.push((k.to_ascii_lowercase(), v.trim().to_string()));
        }
    }
}

pub(crate) fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Decodes a chunked body.
pub(crate) fn read_chunked(r: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(r)?;
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap(), 16).unwrap();
        if size == 0 {
            while read_line(r)? != "\r\n" {}
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..])?;
        assert_eq!(read_line(r)?, "\r\n");
    }
}

pub(crate) fn origin_conn(conn: TcpStream, count: &AtomicU64) -> std::io::Result<()> {
    let mut r = BufReader::new(conn.try_clone()?);
    let mut w = conn;
    while let Some((raw, fields)) = read_raw_head(&mut r)? {
        count.fetch_add(1, Ordering::SeqCst);
        let mut parts = raw.split(' ');
        let (method, path) = (parts.next().unwrap(), parts.next().unwrap());
        let body = if field(&fields, "transfer-encoding") == Some("chunked") {
            read_chunked(&mut r)?
        } else {
            let n: usize = field(&fields, "content-length").map_or(0, |v| v.parse().unwrap());
            let mut b = vec![0u8; n];
            r.read_exact(&mut b)?;
            b
        };
        let arg = |prefix: &str| {
            path.strip_prefix(prefix)
                .map(|n| n.parse::<usize>().unwrap())
        };
        if let Some(n) = arg("/len/") {
            write!(
                w,
                "HTTP/1.1 200 OK\r\nContent-Length: {n}\r\nETag: \"e{n}\"\r\n\r\n"
            )?;
            if method != "HEAD" {
                w.write_all(&pattern(n))?;
            }
        } else if let Some(n) = arg("/chunked/") {
            write!(w, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")?;
            for c in pattern(n).chunks(1000) {
                write!(w, "{:x}\r\n", c.len())?;
                w.write_all(c)?;
                w.write_all(b"\r\n")?;
            }
            w.write_all(b"0\r\nX-Trailer: yes\r\n\r\n")?;
        } else if let Some(n) = arg("/close/") {
            write!(w, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")?;
            w.write_all(&pattern(n))?;
            return Ok(());
        } else if path == "/head" {
            write!(
                w,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{raw}",
                raw.len()
            )?;
        } else if path == "/echo" {
            write!(
                w,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )?;
            w.write_all(&body)?;
        } else if path == "/slow" {
            std::thread::sleep(Duration::from_millis(300));
            write!(w, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nslow!")?;
        } else {
            write!(w, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")?;
        }
        w.flush()?;
        if field(&fields, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) {
            return Ok(());
        }
    }
    Ok(())
}
