//! From a request to a response: routing, methods, preconditions, ranges, the listing.

use crate::archive::{Catalog, Served};
use crate::body::Body;
use crate::cond::{self, Outcome};
use crate::range::{self, Ranges};
use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::http::response::Builder;
use hyper::{HeaderMap, Method, Response, StatusCode};
use std::hash::{BuildHasher, Hasher};

/// The media type of archives (and of each part of a multipart answer).
const OCTET_STREAM: &str = "application/octet-stream";

/// What a request path names.
enum Target<'a> {
    Listing,
    File(&'a Served),
}

/// Answers one request. Never fails: problems become 4xx/5xx responses.
pub(crate) fn respond(
    catalog: &Catalog,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Response<Body> {
    let head = *method == Method::HEAD;
    let mut response = route(catalog, method, path, headers, head);
    if head {
        // Same headers as GET, Content-Length included, and no body.
        *response.body_mut() = Body::empty();
    }
    response
}

fn route(
    catalog: &Catalog,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    head: bool,
) -> Response<Body> {
    let target = if path == "/" {
        Some(Target::Listing)
    } else {
        path.strip_prefix('/')
            .and_then(percent_decode)
            .and_then(|name| catalog.get(&name))
            .map(Target::File)
    };
    let Some(target) = target else {
        return text(
            StatusCode::NOT_FOUND,
            "no such archive; GET / lists the archives served here\n",
        );
    };
    if !(head || *method == Method::GET) {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "read-only: only GET and HEAD are allowed\n",
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    match target {
        Target::Listing => listing(catalog),
        Target::File(served) => file(served, headers, head),
    }
}

/// A short plain-text response.
fn text(status: StatusCode, msg: &'static str) -> Response<Body> {
    finish(
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        Body::bytes(msg),
    )
}

/// Adds `Content-Length` and the body. The parts set by this module are always valid.
fn finish(builder: Builder, body: Body) -> Response<Body> {
    let len = body.len();
    let builder = builder.header(header::CONTENT_LENGTH, len);
    builder.body(body).unwrap_or_else(|e| {
        let mut r = Response::new(Body::bytes(format!("internal error: {e}\n")));
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

/// `GET /`: a JSON array of the served files.
fn listing(catalog: &Catalog) -> Response<Body> {
    let mut items = Vec::with_capacity(catalog.files.len());
    for served in &catalog.files {
        let mut item = serde_json::json!({
            "name": served.name,
            "path": format!("/{}", percent_encode(&served.name)),
        });
        match served.snapshot() {
            Ok(s) => {
                item["size"] = s.len.into();
                item["etag"] = s.validators.etag.into();
                item["last_modified"] = httpdate::fmt_http_date(s.validators.last_modified).into();
            }
            Err(e) => item["error"] = e.to_string().into(),
        }
        items.push(item);
    }
    let mut json = serde_json::Value::Array(items).to_string();
    json.push('\n');
    finish(
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CACHE_CONTROL, "no-cache"),
        Body::bytes(json),
    )
}

/// GET or HEAD of a served file.
fn file(served: &Served, headers: &HeaderMap, head: bool) -> Response<Body> {
    let snap = match served.snapshot() {
        Ok(s) => s,
        Err(_) => {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot stat the archive\n",
            )
        }
    };
    let (len, v) = (snap.len, &snap.validators);
    let builder = Response::builder()
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, v.etag.as_str())
        .header(
            header::LAST_MODIFIED,
            httpdate::fmt_http_date(v.last_modified),
        );
    match cond::evaluate(headers, v) {
        Outcome::Proceed => {}
        Outcome::NotModified => {
            // No Content-Length: a 304's would have to be the 200's, and it carries no body.
            return builder
                .status(StatusCode::NOT_MODIFIED)
                .body(Body::empty())
                .unwrap_or_else(|_| Response::new(Body::empty()));
        }
        Outcome::PreconditionFailed => {
            return finish(
                builder
                    .status(StatusCode::PRECONDITION_FAILED)
                    .header(header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                Body::bytes("precondition failed: the archive does not match\n"),
            );
        }
    }
    // Range applies to GET only (RFC 9110 §14.2); If-Range may veto it.
    let ranges = match headers.get(header::RANGE) {
        Some(r) if !head && cond::if_range_allows(headers, v) => match r.to_str() {
            Ok(r) => range::resolve(r, len),
            Err(_) => Ranges::Full,
        },
        _ => Ranges::Full,
    };
    let mut body = Body::file(served.source.clone());
    match ranges {
        Ranges::Full => {
            body.push_file(0, len);
            finish(
                builder
                    .status(StatusCode::OK)
                    .header(header::CONTENT_TYPE, OCTET_STREAM),
                body,
            )
        }
        Ranges::Unsatisfiable => finish(
            builder
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                .header(header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            Body::bytes("range not satisfiable\n"),
        ),
        Ranges::Parts(parts) if parts.len() == 1 => {
            let r = &parts[0];
            body.push_file(r.start, r.end - r.start);
            finish(
                builder
                    .status(StatusCode::PARTIAL_CONTENT)
                    .header(header::CONTENT_TYPE, OCTET_STREAM)
                    .header(
                        header::CONTENT_RANGE,
                        format!("bytes {}-{}/{len}", r.start, r.end - 1),
                    ),
                body,
            )
        }
        Ranges::Parts(parts) => {
            // multipart/byteranges (RFC 9110 §14.6), streamed part by part.
            let boundary = boundary();
            for r in &parts {
                body.push_bytes(Bytes::from(format!(
                    "\r\n--{boundary}\r\nContent-Type: {OCTET_STREAM}\r\n\
                     Content-Range: bytes {}-{}/{len}\r\n\r\n",
                    r.start,
                    r.end - 1
                )));
                body.push_file(r.start, r.end - r.start);
            }
            body.push_bytes(Bytes::from(format!("\r\n--{boundary}--\r\n")));
            finish(
                builder.status(StatusCode::PARTIAL_CONTENT).header(
                    header::CONTENT_TYPE,
                    format!("multipart/byteranges; boundary={boundary}"),
                ),
                body,
            )
        }
    }
}

/// A multipart boundary unlikely to occur in any archive: 128 random bits.
fn boundary() -> String {
    let word = || {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x6865_787a);
        h.finish()
    };
    format!("hexz-{:016x}{:016x}", word(), word())
}

/// Decodes `%XX` escapes; `None` for a malformed escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Escapes every byte but the unreserved characters of RFC 3986.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent() {
        assert_eq!(percent_decode("a%20b.hxz").as_deref(), Some("a b.hxz"));
        assert_eq!(percent_decode("%E2%82%AC").as_deref(), Some("€"));
        assert_eq!(percent_decode("a%2"), None);
        assert_eq!(percent_decode("a%zz"), None);
        assert_eq!(percent_decode("%ff"), None);
        assert_eq!(percent_decode("%+1"), None);
        for name in ["a b.hxz", "€uro#1?.hxz", "plain-name_1.hxz"] {
            assert_eq!(percent_decode(&percent_encode(name)).as_deref(), Some(name));
        }
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn boundaries_differ() {
        assert_ne!(boundary(), boundary());
        assert_eq!(boundary().len(), 5 + 32);
    }
}
