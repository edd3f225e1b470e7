//! Raw test clients: a keep-alive connection that reads whole responses, and one-shot exchanges.

use super::origin::{field, read_chunked, read_raw_head, Fields};
use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response read by a test client.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) fields: Fields,
    pub(crate) body: Vec<u8>,
}

/// A keep-alive client connection.
pub(crate) struct Conn {
    pub(crate) r: BufReader<TcpStream>,
    pub(crate) w: TcpStream,
}

impl Conn {
    pub(crate) fn open(addr: SocketAddr) -> Conn {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Conn {
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
        }
    }

    pub(crate) fn send(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).unwrap();
    }

    /// Reads one response to a request with `method`; `Err` when the connection breaks first.
    pub(crate) fn recv(&mut self, method: &str) -> std::io::Result<Resp> {
        let (raw, fields) = read_raw_head(&mut self.r)?
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
        let status: u16 = raw.split(' ').nth(1).unwrap().parse().unwrap();
        let body = if method == "HEAD" || (100..200).contains(&status) {
            Vec::new()
        } else if field(&fields, "transfer-encoding") == Some("chunked") {
            read_chunked(&mut self.r)?
        } else if let Some(n) = field(&fields, "content-length") {
            let mut b = vec![0u8; n.parse().unwrap()];
            self.r.read_exact(&mut b)?;
            b
        } else {
            let mut b = Vec::new();
            self.r.read_to_end(&mut b)?;
            b
        };
        Ok(Resp {
            status,
            fields,
            body,
        })
    }

    pub(crate) fn get(&mut self, path: &str) -> std::io::Result<Resp> {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: origin.test\r\n\r\n").as_bytes());
        self.recv("GET")
    }

    /// Whether the server closed the connection (EOF or reset, not a timeout).
    pub(crate) fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        match self.r.read(&mut b) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
    }
}

/// Everything `request` gets back on a fresh connection, read until the server closes it.
pub(crate) fn raw_exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}
