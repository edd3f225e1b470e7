//! Copying a message body from one connection to another by its [`Framing`], byte for byte and
//! through the reader's bounded buffer.

use super::MAX_HEADERS;
use std::io::{self, BufRead, Write};

/// The longest chunk-size line or trailer line accepted in a chunked body.
const MAX_CHUNK_LINE: usize = 4096;

/// How a message's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the sender closes the connection (responses only).
    UntilClose,
}

/// Copies a body with `framing` from `r` to `w`, byte for byte (a chunked body keeps its chunk
/// framing and trailers). Returns the bytes written. A body cut short by the end of `r` is an
/// `UnexpectedEof` error.
pub fn copy_body<R: BufRead, W: Write>(r: &mut R, w: &mut W, framing: Framing) -> io::Result<u64> {
    match framing {
        Framing::Empty => Ok(0),
        Framing::Length(n) => copy_exact(r, w, n),
        Framing::Chunked => copy_chunked(r, w),
        Framing::UntilClose => copy_until_close(r, w),
    }
}

fn eof(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("connection closed inside {what}"),
    )
}

/// Copies exactly `n` bytes, straight out of the reader's buffer.
fn copy_exact<R: BufRead, W: Write>(r: &mut R, w: &mut W, n: u64) -> io::Result<u64> {
    let mut left = n;
    while left > 0 {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Err(eof("a body"));
        }
        let k = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        w.write_all(&buf[..k])?;
        r.consume(k);
        left -= k as u64;
    }
    Ok(n)
}

fn copy_until_close<R: BufRead, W: Write>(r: &mut R, w: &mut W) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(total);
        }
        let k = buf.len();
        w.write_all(buf)?;
        r.consume(k);
        total += k as u64;
    }
}

/// Reads one line of a chunked body (at most [`MAX_CHUNK_LINE`] bytes) into `line`.
fn chunk_line<R: BufRead>(r: &mut R, line: &mut Vec<u8>) -> io::Result<()> {
    line.clear();
    io::Read::take(&mut *r, MAX_CHUNK_LINE as u64).read_until(b'\n', line)?;
    if !line.ends_with(b"\n") {
        if line.len() >= MAX_CHUNK_LINE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "chunk-size or trailer line too long",
            ));
        }
        return Err(eof("a chunked body"));
    }
    Ok(())
}

/// The size of a chunk from its chunk-size line (`1a3f;ext=x\r\n`).
pub fn parse_chunk_size(line: &[u8]) -> io::Result<u64> {
    let invalid = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad chunk-size line {:?}", String::from_utf8_lossy(line)),
        )
    };
    let text = std::str::from_utf8(line).map_err(|_| invalid())?;
    let text = text.trim_end_matches(['\r', '\n']);
    let size = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim_end_matches([' ', '\t']);
    if size.is_empty() || size.len() > 16 || !size.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid());
    }
    u64::from_str_radix(size, 16).map_err(|_| invalid())
}

fn copy_chunked<R: BufRead, W: Write>(r: &mut R, w: &mut W) -> io::Result<u64> {
    let mut line = Vec::with_capacity(64);
    let mut total = 0u64;
    loop {
        chunk_line(r, &mut line)?;
        let size = parse_chunk_size(&line)?;
        w.write_all(&line)?;
        total += line.len() as u64;
        if size == 0 {
            break;
        }
        total += copy_exact(r, w, size)?;
        chunk_line(r, &mut line)?;
        if line != b"\r\n" && line != b"\n" {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "chunk data not followed by CRLF",
            ));
        }
        w.write_all(&line)?;
        total += line.len() as u64;
    }
    // Trailer fields, then the empty line.
    for _ in 0..=MAX_HEADERS {
        chunk_line(r, &mut line)?;
        w.write_all(&line)?;
        total += line.len() as u64;
        if line == b"\r\n" || line == b"\n" {
            return Ok(total);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "too many trailer fields",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Cursor};

    #[test]
    fn copies_bodies_verbatim() {
        let chunked =
            "4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        let mut r = BufReader::with_capacity(3, Cursor::new(chunked.as_bytes()));
        let mut out = Vec::new();
        let n = copy_body(&mut r, &mut out, Framing::Chunked).expect("copy");
        assert_eq!(out, &chunked.as_bytes()[..chunked.len() - 4]);
        assert_eq!(n, out.len() as u64);
        let mut rest = Vec::new();
        std::io::Read::read_to_end(&mut r, &mut rest).expect("rest");
        assert_eq!(rest, b"NEXT", "the next message stays in the reader");

        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut r = BufReader::with_capacity(4096, Cursor::new(&data));
        let mut out = Vec::new();
        assert_eq!(
            copy_body(&mut r, &mut out, Framing::Length(70_000)).expect("copy"),
            70_000
        );
        assert_eq!(out, &data[..70_000]);
        out.clear();
        copy_body(&mut r, &mut out, Framing::UntilClose).expect("copy");
        assert_eq!(out, &data[70_000..]);
        assert_eq!(
            copy_body(&mut r, &mut out, Framing::Empty).expect("copy"),
            0
        );
    }

    #[test]
    fn short_or_bad_bodies_are_errors() {
        let mut out = Vec::new();
        let e = copy_body(&mut Cursor::new(b"abc"), &mut out, Framing::Length(4)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        for (text, kind) in [
            ("5\r\nabc", io::ErrorKind::UnexpectedEof),
            ("5\r\nabcde\r\n", io::ErrorKind::UnexpectedEof),
            ("5\r\nabcdeXX0\r\n\r\n", io::ErrorKind::InvalidData),
            ("zz\r\n", io::ErrorKind::InvalidData),
            ("\r\n", io::ErrorKind::InvalidData),
            ("-1\r\n", io::ErrorKind::InvalidData),
            ("11111111111111111\r\n", io::ErrorKind::InvalidData),
            ("0\r\nX: y\r\n", io::ErrorKind::UnexpectedEof),
        ] {
            let e = copy_body(
                &mut Cursor::new(text.as_bytes()),
                &mut out,
                Framing::Chunked,
            )
            .unwrap_err();
            assert_eq!(e.kind(), kind, "{text:?}: {e}");
        }
        let long = format!("{}\r\n", "0".repeat(MAX_CHUNK_LINE + 10));
        let e = copy_body(
            &mut Cursor::new(long.as_bytes()),
            &mut out,
            Framing::Chunked,
        )
        .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(parse_chunk_size(b"1A;x=y\r\n").expect("size"), 26);
        assert_eq!(parse_chunk_size(b"ff \r\n").expect("size"), 255);
    }
}
