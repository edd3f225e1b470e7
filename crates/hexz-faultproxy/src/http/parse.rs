//! Parsing request and response heads with `httparse`, and what their header fields say about
//! the body's framing and the connection's end.

use super::head::bad;
use super::{Framing, HeadError, MAX_HEADERS};

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

/// Why `httparse` refused a head: too many fields is 431, anything else is malformed (400).
fn refused(what: &str, e: httparse::Error) -> HeadError {
    match e {
        httparse::Error::TooManyHeaders => HeadError::TooLarge,
        e => bad(format!("bad {what} head: {e}")),
    }
}

/// The header fields as received, values trimmed; a value must be UTF-8 (names are tokens,
/// which `httparse` has checked).
fn headers_of(fields: &[httparse::Header<'_>]) -> Result<Headers, HeadError> {
    fields
        .iter()
        .map(|h| {
            let value = std::str::from_utf8(h.value)
                .map_err(|_| bad(format!("the value of {} is not UTF-8", h.name)))?;
            Ok((
                h.name.to_string(),
                value.trim_matches([' ', '\t']).to_string(),
            ))
        })
        .collect::<Result<_, _>>()
        .map(Headers)
}

/// Parses a request head as returned by [`read_head`](super::read_head).
pub fn parse_request(raw: &[u8]) -> Result<Request, HeadError> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut fields);
    match req.parse(raw) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(bad("incomplete request head")),
        Err(e) => return Err(refused("request", e)),
    }
    // A complete parse sets all three.
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Err(bad("incomplete request line"));
    };
    Ok(Request {
        method: method.to_string(),
        target: target.to_string(),
        version: Version(version),
        headers: headers_of(req.headers)?,
    })
}

/// Parses a response head as returned by [`read_head`](super::read_head).
pub fn parse_response(raw: &[u8]) -> Result<Response, HeadError> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut fields);
    match resp.parse(raw) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(bad("incomplete response head")),
        Err(e) => return Err(refused("response", e)),
    }
    let (Some(version), Some(status)) = (resp.version, resp.code) else {
        return Err(bad("incomplete status line"));
    };
    // httparse takes any three digits; 0xx is no status.
    if status < 100 {
        return Err(bad(format!("bad status code {status:03}")));
    }
    Ok(Response {
        version: Version(version),
        status,
        headers: headers_of(resp.headers)?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head_of as head;

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
}
