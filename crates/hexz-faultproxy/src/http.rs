//! Just enough HTTP/1.1 (RFC 9112) to relay messages unchanged: reading a message head, parsing
//! its start line and headers, finding where its body ends, and copying a body by its framing.
//!
//! Heads are kept as the exact bytes received and forwarded verbatim; parsing only decides the
//! framing. Bodies are streamed through a bounded buffer, never held whole.

use std::io::{self, BufRead, Write};

/// The longest message head accepted (start line and headers).
pub const MAX_HEAD: usize = 64 * 1024;
/// The most header fields accepted in one head.
pub const MAX_HEADERS: usize = 128;
/// The longest chunk-size line or trailer line accepted in a chunked body.
const MAX_CHUNK_LINE: usize = 4096;

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

fn bad(m: impl Into<String>) -> HeadError {
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

/// The `1.x` of an `HTTP/1.x` version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version(pub u8);

/// Header fields with their names as received (compared case-insensitively).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    /// Every value of the field `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`.
    pub fn get<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.all(name).next()
    }

    /// The comma-separated elements of every value of `name`, trimmed, empty ones skipped.
    pub fn tokens<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.all(name)
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    /// Whether the list field `name` contains `token` (case-insensitive).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.tokens(name).any(|t| t.eq_ignore_ascii_case(token))
    }
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The request target as sent (origin form `/a/b?x`, or absolute form).
    pub target: String,
    /// The protocol version.
    pub version: Version,
    /// The header fields.
    pub headers: Headers,
}

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The protocol version.
    pub version: Version,
    /// The status code.
    pub status: u16,
    /// The header fields.
    pub headers: Headers,
}

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

fn split_lines(raw: &[u8]) -> Result<Vec<&str>, HeadError> {
    let text = std::str::from_utf8(raw).map_err(|_| bad("head is not UTF-8"))?;
    let mut lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    // The head ends with an empty line, which splits into two empty strings.
    while lines.last() == Some(&"") {
        lines.pop();
    }
    if lines.is_empty() {
        return Err(bad("empty head"));
    }
    Ok(lines)
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b) // RFC 9110 tchar
        })
}

fn parse_version(v: &str) -> Result<Version, HeadError> {
    match v {
        "HTTP/1.1" => Ok(Version(1)),
        "HTTP/1.0" => Ok(Version(0)),
        _ => Err(bad(format!("unsupported protocol version {v:?}"))),
    }
}

fn parse_headers(lines: &[&str]) -> Result<Headers, HeadError> {
    if lines.len() > MAX_HEADERS {
        return Err(HeadError::TooLarge);
    }
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        if line.starts_with([' ', '\t']) {
            return Err(bad("obsolete line folding in a header field"));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| bad(format!("header line without a colon: {line:?}")))?;
        if !is_token(name) {
            return Err(bad(format!("bad header name {name:?}")));
        }
        out.push((
            name.to_string(),
            value.trim_matches([' ', '\t']).to_string(),
        ));
    }
    Ok(Headers(out))
}

/// Parses a request head as returned by [`read_head`].
pub fn parse_request(raw: &[u8]) -> Result<Request, HeadError> {
    let lines = split_lines(raw)?;
    let mut parts = lines[0].split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad(format!("bad request line {:?}", lines[0])));
    };
    if !is_token(method) {
        return Err(bad(format!("bad method {method:?}")));
    }
    if target.is_empty() || target.bytes().any(|b| b.is_ascii_control()) {
        return Err(bad(format!("bad request target {target:?}")));
    }
    Ok(Request {
        method: method.to_string(),
        target: target.to_string(),
        version: parse_version(version)?,
        headers: parse_headers(&lines[1..])?,
    })
}

/// Parses a response head as returned by [`read_head`].
pub fn parse_response(raw: &[u8]) -> Result<Response, HeadError> {
    let lines = split_lines(raw)?;
    let mut parts = lines[0].splitn(3, ' ');
    let (Some(version), Some(status)) = (parts.next(), parts.next()) else {
        return Err(bad(format!("bad status line {:?}", lines[0])));
    };
    let status = match status.parse::<u16>() {
        Ok(s) if status.len() == 3 && (100..=999).contains(&s) => s,
        _ => return Err(bad(format!("bad status code {status:?}"))),
    };
    Ok(Response {
        version: parse_version(version)?,
        status,
        headers: parse_headers(&lines[1..])?,
    })
}

/// The body length given by `Content-Length` fields, if any. Several fields or a list must all
/// agree (RFC 9110 §8.6); anything but digits is an error.
fn content_length(headers: &Headers) -> Result<Option<u64>, HeadError> {
    let mut found = None;
    for v in headers.all("content-length").flat_map(|v| v.split(',')) {
        let v = v.trim();
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(format!("bad Content-Length {v:?}")));
        }
        let n: u64 = v
            .parse()
            .map_err(|_| bad(format!("Content-Length {v} is too large")))?;
        if found.is_some_and(|f| f != n) {
            return Err(bad("conflicting Content-Length values"));
        }
        found = Some(n);
    }
    Ok(found)
}

/// Whether the last transfer coding is `chunked`; `None` without `Transfer-Encoding`.
fn chunked(headers: &Headers) -> Option<bool> {
    let last = headers.tokens("transfer-encoding").last()?;
    Some(last.eq_ignore_ascii_case("chunked"))
}

impl Request {
    /// How this request's body is delimited (RFC 9112 §6.3): `chunked` or a `Content-Length`,
    /// else no body. Both at once is refused (request smuggling), and so is a transfer coding
    /// other than `chunked` last (501).
    pub fn framing(&self) -> Result<Framing, HeadError> {
        let length = content_length(&self.headers)?;
        match chunked(&self.headers) {
            Some(true) if length.is_some() => Err(bad("both Transfer-Encoding and Content-Length")),
            Some(true) => Ok(Framing::Chunked),
            Some(false) => Err(HeadError::NotImplemented(format!(
                "request bodies with Transfer-Encoding {:?} (only chunked is supported)",
                self.headers.get("transfer-encoding").unwrap_or_default()
            ))),
            None => Ok(match length {
                None | Some(0) => Framing::Empty,
                Some(n) => Framing::Length(n),
            }),
        }
    }

    /// Whether the client asked to close the connection after this exchange.
    pub fn wants_close(&self) -> bool {
        wants_close(self.version, &self.headers)
    }

    /// Whether the client waits for `100 Continue` before sending the body.
    pub fn expects_continue(&self) -> bool {
        self.headers
            .get("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    }

    /// The last position of the `Range` field (`bytes=a-b` gives `b`, `bytes=-n` gives `-n`,
    /// `bytes=a-` gives `a-`), or `""` without one. A client resuming a cut-off body asks for
    /// the same end from a later start.
    pub fn range_end(&self) -> &str {
        let Some(range) = self.headers.get("range") else {
            return "";
        };
        let spec = range.rsplit(',').next().unwrap_or(range).trim();
        let spec = spec.strip_prefix("bytes=").unwrap_or(spec);
        match spec.split_once('-') {
            Some(("", _)) => spec,
            Some((_, "")) => spec,
            Some((_, end)) => end,
            None => spec,
        }
    }
}

impl Response {
    /// How this response's body is delimited, for a request with `method` (RFC 9112 §6.3).
    pub fn framing(&self, method: &str) -> Result<Framing, HeadError> {
        if method.eq_ignore_ascii_case("HEAD")
            || (100..200).contains(&self.status)
            || self.status == 204
            || self.status == 304
        {
            return Ok(Framing::Empty);
        }
        match chunked(&self.headers) {
            Some(true) => return Ok(Framing::Chunked),
            Some(false) => return Ok(Framing::UntilClose),
            None => {}
        }
        Ok(match content_length(&self.headers)? {
            Some(0) => Framing::Empty,
            Some(n) => Framing::Length(n),
            None => Framing::UntilClose,
        })
    }

    /// Whether the server will close the connection after this response.
    pub fn wants_close(&self) -> bool {
        wants_close(self.version, &self.headers)
    }
}

fn wants_close(version: Version, headers: &Headers) -> bool {
    headers.has_token("connection", "close")
        || (version == Version(0) && !headers.has_token("connection", "keep-alive"))
}

/// The reason phrase sent with the status codes this proxy makes up.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        400 => "Bad Request",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

/// A complete `text/plain` response with `status` and `message` as its body (the body is left
/// out, not its length, when `head_only`, as for HEAD).
pub fn simple_response(status: u16, message: &str, close: bool, head_only: bool) -> Vec<u8> {
    let body = format!("{message}\n");
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n",
        reason(status),
        body.len()
    );
    if matches!(status, 429 | 503) {
        out.push_str("Retry-After: 0\r\n");
    }
    if close {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    if !head_only {
        out.push_str(&body);
    }
    out.into_bytes()
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

    fn head(s: &str) -> Vec<u8> {
        read_head(&mut Cursor::new(s.as_bytes()))
            .expect("io")
            .expect("some")
            .expect("ok")
    }

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

    #[test]
    fn parses_requests() {
        let r = parse_request(&head(
            "PUT /bucket/key%20x?uploads HTTP/1.1\r\nHost: 127.0.0.1:9\r\nX-Amz-Date:  2024 \r\n\
             Content-Length: 10\r\nconnection: Keep-Alive, close\r\nRange: bytes=5-99\r\n\r\n",
        ))
        .expect("parse");
        assert_eq!(r.method, "PUT");
        assert_eq!(r.target, "/bucket/key%20x?uploads");
        assert_eq!(r.version, Version(1));
        assert_eq!(r.headers.get("HOST"), Some("127.0.0.1:9"));
        assert_eq!(r.headers.get("x-amz-date"), Some("2024"));
        assert_eq!(r.framing(), Ok(Framing::Length(10)));
        assert!(r.wants_close());
        assert_eq!(r.range_end(), "99");
        assert!(!r.expects_continue());

        let r = parse_request(&head("GET / HTTP/1.0\r\n\r\n")).expect("parse");
        assert!(r.wants_close(), "HTTP/1.0 closes by default");
        assert_eq!(r.framing(), Ok(Framing::Empty));
        assert_eq!(r.range_end(), "");
        let r = parse_request(&head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
            .expect("parse");
        assert!(!r.wants_close());
        let r = parse_request(&head("GET / HTTP/1.1\r\nRange: bytes=-4096\r\n\r\n")).expect("p");
        assert_eq!(r.range_end(), "-4096");
        assert!(!r.wants_close(), "HTTP/1.1 keeps the connection by default");
        let r = parse_request(&head("GET / HTTP/1.1\r\nRange: bytes=7-\r\n\r\n")).expect("p");
        assert_eq!(r.range_end(), "7-");
        let r = parse_request(&head("PUT / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n")).expect("p");
        assert!(r.expects_continue());
    }

    #[test]
    fn rejects_bad_requests() {
        for text in [
            "GET /\r\n\r\n",
            "GET  / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1 x\r\n\r\n",
            "GET / HTTP/2.0\r\n\r\n",
            "G(T / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
            "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
        ] {
            let e = parse_request(&head(text)).unwrap_err();
            assert!(matches!(e, HeadError::Bad(_)), "{text:?}: {e:?}");
        }
        assert!(parse_request(&[0xff, b'\n', b'\n']).is_err());
    }

    #[test]
    fn request_framing() {
        let framing = |h: &str| {
            parse_request(&head(&format!("POST / HTTP/1.1\r\n{h}\r\n")))
                .expect("parse")
                .framing()
        };
        assert_eq!(framing("Content-Length: 0\r\n"), Ok(Framing::Empty));
        assert_eq!(framing("Content-Length: 5, 5\r\n"), Ok(Framing::Length(5)));
        assert_eq!(
            framing("Content-Length: 5\r\ncontent-length: 5\r\n"),
            Ok(Framing::Length(5))
        );
        assert_eq!(
            framing("Transfer-Encoding: chunked\r\n"),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            framing("Transfer-Encoding: gzip, Chunked\r\n"),
            Ok(Framing::Chunked)
        );
        for h in [
            "Content-Length: 5, 6\r\n",
            "Content-Length: -1\r\n",
            "Content-Length: +5\r\n",
            "Content-Length: 99999999999999999999999\r\n",
            "Content-Length:\r\n",
            "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        ] {
            assert!(matches!(framing(h), Err(HeadError::Bad(_))), "{h:?}");
        }
        assert!(matches!(
            framing("Transfer-Encoding: chunked, gzip\r\n"),
            Err(HeadError::NotImplemented(_))
        ));
    }

    #[test]
    fn response_framing() {
        let resp = |s: &str| parse_response(&head(s)).expect("parse");
        let r = resp("HTTP/1.1 206 Partial Content\r\nContent-Length: 100\r\nETag: \"x\"\r\n\r\n");
        assert_eq!(r.status, 206);
        assert_eq!(r.framing("GET"), Ok(Framing::Length(100)));
        assert_eq!(r.framing("HEAD"), Ok(Framing::Empty));
        assert!(!r.wants_close());
        let r = resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(r.framing("GET"), Ok(Framing::Chunked));
        let r = resp("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        assert_eq!(r.framing("GET"), Ok(Framing::UntilClose));
        assert!(r.wants_close());
        let r = resp("HTTP/1.0 200\r\n\r\n");
        assert_eq!(r.status, 200);
        assert!(r.wants_close());
        for s in [204, 304, 100] {
            let r = resp(&format!("HTTP/1.1 {s} X\r\nContent-Length: 9\r\n\r\n"));
            assert_eq!(r.framing("GET"), Ok(Framing::Empty), "{s}");
        }
        for bad in [
            "HTTP/1.1 20 OK\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "HTTP/1.1 abc OK\r\n\r\n",
            "ICY 200 OK\r\n\r\n",
        ] {
            assert!(parse_response(&head(bad)).is_err(), "{bad:?}");
        }
    }

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

    #[test]
    fn made_up_responses() {
        let r = simple_response(503, "injected", false, false);
        let text = String::from_utf8(r).expect("utf8");
        assert!(
            text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{text}"
        );
        assert!(text.contains("Retry-After: 0\r\n"));
        assert!(text.ends_with("\r\n\r\ninjected\n"), "{text}");
        let head_end = text.find("\r\n\r\n").expect("head") + 4;
        let parsed = parse_response(&text.as_bytes()[..head_end]).expect("parse");
        assert_eq!(parsed.framing("GET"), Ok(Framing::Length(9)));
        let head_only = simple_response(500, "x", true, true);
        let text = String::from_utf8(head_only).expect("utf8");
        assert!(text.ends_with("Connection: close\r\n\r\n"), "{text}");
        assert!(text.contains("Content-Length: 2\r\n"));
        assert!(!text.contains("Retry-After"));
    }
}
