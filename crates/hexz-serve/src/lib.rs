//! Serve `.hxz` archives over HTTP, read-only.
//!
//! A [`Server`] serves the bytes of each archive file at `/<file name>`, so that any HTTP client
//! with Range requests can read it, `hexz_store::HttpStore` and `curl` included. It follows RFC
//! 9110 for what such clients rely on:
//!
//! - `GET` and `HEAD` only (anything else is `405` with `Allow: GET, HEAD`); unknown paths are
//!   `404`; `GET /` lists the archives as JSON (name, path, size, ETag, Last-Modified).
//! - `Accept-Ranges: bytes`; single ranges `bytes=a-b`, `a-` and `-n` are answered with `206`
//!   and `Content-Range`, several with `multipart/byteranges` (overlapping or adjacent ranges
//!   are merged first; more than 32 parts or 100 specs get the whole file with `200`); a range
//!   set that overlaps nothing is `416` with `Content-Range: bytes */LEN`. `HEAD` ignores
//!   `Range`, as the RFC says, and answers the headers of a `200`.
//! - A strong `ETag` built from the file's inode, size and modification time (nanoseconds) and
//!   `Last-Modified`; `If-Match` / `If-Unmodified-Since` (`412`), `If-None-Match` /
//!   `If-Modified-Since` (`304`) and `If-Range` are evaluated in the order of RFC 9110 §13.2.2.
//!
//! Each file is opened once, at startup, and checked by opening it as an archive (header,
//! footer, summary and entries table; `hexz verify` checks every block). The server then keeps
//! serving that open file, whatever happens to its path: an archive replaced on disk (by
//! rename, as `hexz pack` does) goes on being served in its old version until the server is
//! restarted. The ETag and length are taken from `fstat` of the open file at each request, so
//! a change to the file in place shows as a new ETag, and `HttpStore`'s `If-Match` turns it
//! into a clear error rather than mixed bytes.
//!
//! Memory is bounded per connection: bodies are streamed in chunks of at most 256 KiB read with
//! `pread` on tokio's blocking pool, the next chunk only once hyper has room to send it, so a
//! connection holds about 1 MiB at most whatever the range.
//!
//! Time and connections are bounded, so that slow or idle clients cannot stop the service for
//! others ([`Options`] has the settings):
//!
//! - A connection has [`Options::header_timeout`] (10 s) to send a request's headers, counted
//!   from when it opens or from the end of the previous response: a client that sends slowly
//!   and a kept-alive connection left idle are both closed after it.
//! - A response write that finds no room for [`Options::send_timeout`] (30 s), because the
//!   client stopped reading, ends the connection.
//! - At most [`Options::max_connections`] (1024) connections are served at once. The accept
//!   loop never waits for a free slot: a connection over the limit is answered `503 Service
//!   Unavailable` with `Retry-After: 1` and closed within 2 s.
//! - A connection serves at most [`Options::max_requests_per_connection`] (1000) requests; the
//!   last answer carries `Connection: close`.
//! - No lock is shared between connections: each request reads the open file with `pread`.
//!
//! There is no authentication and no TLS: bind to a loopback address (the CLI's default), or
//! put a proxy in front.

#![forbid(unsafe_code)]

/// The accept loop, the connection limit and the graceful shutdown.
mod accept;
/// The served files: opened and checked once at startup, then read through the same handle.
mod archive;
/// The response body: in-memory pieces and file ranges, streamed in `pread` chunks.
mod body;
/// Conditional requests (RFC 9110 §13): entity tags, HTTP dates, order of evaluation.
mod cond;
/// What keeps one client from holding the server: the send timeout, the `503` over the limit.
mod conn;
/// The crate's error type.
mod error;
/// Entry points for the fuzz targets (`fuzz/fuzz_targets/serve_headers.rs`); not an API.
#[doc(hidden)]
pub mod fuzzing;
/// A server running on a background thread, stopped when dropped.
mod handle;
/// Lines on stderr: the access log and the notices, unless quiet.
mod log;
/// The server's settings, their defaults and their checks.
mod options;
/// The `Range` header (RFC 9110 §14.1–14.2): parsing, and resolving against a length.
mod range;
/// From a request to a response: routing, methods, preconditions, ranges, the listing.
mod respond;
/// A bound server: startup, and serving in the foreground or on a background thread.
mod server;
/// SIGINT and SIGTERM, which stop a server run in the foreground.
mod signals;

pub use accept::SHUTDOWN_GRACE;
pub use error::{Error, Result};
pub use handle::ServerHandle;
pub use options::{
    Options, DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_REQUESTS_PER_CONNECTION,
    DEFAULT_SEND_TIMEOUT,
};
pub use server::{ArchiveInfo, Server};
