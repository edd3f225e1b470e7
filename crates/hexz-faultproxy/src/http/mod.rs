//! Just enough HTTP/1.1 (RFC 9112) to relay messages unchanged: reading a message head, parsing
//! its start line and headers, finding where its body ends, and copying a body by its framing.
//!
//! Heads are kept as the exact bytes received and forwarded verbatim; parsing (by `httparse`)
//! only decides the framing. Bodies are streamed through a bounded buffer, never held whole.

/// Copying a body by its framing (`Content-Length`, `chunked`, until close).
mod body;
/// Reading a message head off the wire, and why a head is refused.
mod head;
/// Parsing request and response heads, and what their fields mean for the framing.
mod parse;
/// The responses the proxy makes up itself.
mod response;

pub use body::{copy_body, parse_chunk_size, Framing};
pub use head::{read_head, HeadError, MAX_HEAD, MAX_HEADERS};
pub use parse::{parse_request, parse_response, Headers, Request, Response, Version};
pub use response::{reason, simple_response};

/// The head read from the start of `s`, for the tests of reading and parsing heads.
#[cfg(test)]
pub(crate) fn head_of(s: &str) -> Vec<u8> {
    read_head(&mut std::io::Cursor::new(s.as_bytes()))
        .expect("io")
        .expect("some")
        .expect("ok")
}
