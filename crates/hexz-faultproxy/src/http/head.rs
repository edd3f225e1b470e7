//! Reading one message head off a connection, byte for byte, within [`MAX_HEAD`] and
//! [`MAX_HEADERS`].

use std::io::{self, BufRead};

/// The longest message head accepted (start line and headers).
pub const MAX_HEAD: usize = 64 * 1024;
/// The most header fields accepted in one head.
pub const MAX_HEADERS: usize = 128;

/// Why a head could not be used.
#[derive(Debug, PartialEq, Eq)]
pub enum HeadError {
    /// Malformed: answered with 400 Bad Request.
    Bad(String),
    /// Longer than [`MAX_HEAD`] or more than [`MAX_HEADERS`] fields: answered with 431.
    TooLarge,
    /// Well-formed but asks for something this proxy does not do (a transfer coding other than
    /// `chunked`): answered with 501 Not Implemented.
    NotImplemented(String),
}

impl std::fmt::Display for HeadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeadError::Bad(m) => write!(f, "malformed HTTP message: {m}"),
            HeadError::TooLarge => write!(
                f,
                "message head longer than {MAX_HEAD} bytes or with more than {MAX_HEADERS} fields"
            ),
            HeadError::NotImplemented(m) => write!(f, "not implemented: {m}"),
        }
    }
}

pub(super) fn bad(m: impl Into<String>) -> HeadError {
    HeadError::Bad(m.into())
}

/// Reads one message head (through the empty line) from `r`, returning its exact bytes.
///
/// `Ok(None)`: the peer closed the connection before sending a byte of it (the normal end of a
/// keep-alive connection). Empty lines before the start line are skipped, as RFC 9112 §2.2
/// allows. A head cut off by the end of the stream is an `UnexpectedEof` error.
pub fn read_head<R: BufRead>(r: &mut R) -> io::Result<Option<Result<Vec<u8>, HeadError>>> {
    let mut head = Vec::with_capacity(1024);
    let mut lines = 0usize;
    loop {
        let start = head.len();
        let room = (MAX_HEAD + 1).saturating_sub(start) as u64;
        let n = io::Read::take(&mut *r, room).read_until(b'\n', &mut head)?;
        if n == 0 {
            if head.is_empty() {
                return Ok(None);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a message head",
            ));
        }
        if head.len() > MAX_HEAD {
            return Ok(Some(Err(HeadError::TooLarge)));
        }
        if !head.ends_with(b"\n") {
            // Within the limit but no line end: the stream ended in the middle of a line.
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a message head",
            ));
        }
        let line = &head[start..];
        if line == b"\r\n" || line == b"\n" {
            if lines == 0 {
                // An empty line before the start line: ignore it.
                head.clear();
                continue;
            }
            return Ok(Some(Ok(head)));
        }
        lines += 1;
        if lines > MAX_HEADERS + 1 {
            return Ok(Some(Err(HeadError::TooLarge)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{head_of as head, parse_request};
    use std::io::Cursor;

    #[test]
    fn reads_heads_exactly() {
        let text = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nBODY";
        let mut r = Cursor::new(text.as_bytes());
        let h = read_head(&mut r).expect("io").expect("some").expect("ok");
        assert_eq!(h, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        // The body stays in the reader.
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut r, &mut rest).expect("read");
        assert_eq!(rest, "BODY");
        // Bare LF line ends, leading empty lines skipped.
        assert_eq!(
            head("\r\n\nGET / HTTP/1.1\nA: b\n\n"),
            b"GET / HTTP/1.1\nA: b\n\n"
        );
    }

    #[test]
    fn head_ends_and_limits() {
        assert!(read_head(&mut Cursor::new(b"")).expect("io").is_none());
        let cut = read_head(&mut Cursor::new(b"GET / HTTP/1.1\r\nHost")).unwrap_err();
        assert_eq!(cut.kind(), io::ErrorKind::UnexpectedEof);
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(
            read_head(&mut Cursor::new(long.as_bytes())).expect("io"),
            Some(Err(HeadError::TooLarge))
        );
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "A: b\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(
            read_head(&mut Cursor::new(many.as_bytes())).expect("io"),
            Some(Err(HeadError::TooLarge))
        );
        // Exactly at the limits is fine.
        let most = format!("GET / HTTP/1.1\r\n{}\r\n", "A: b\r\n".repeat(MAX_HEADERS));
        let r = parse_request(&head(&most)).expect("parse");
        assert_eq!(r.headers.0.len(), MAX_HEADERS);
    }
}
