//! The server's settings ([`Options`]), their defaults and their checks.

use crate::{Error, Result};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Default of [`Options::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default of [`Options::header_timeout`].
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of [`Options::send_timeout`].
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// Default of [`Options::max_requests_per_connection`].
pub const DEFAULT_MAX_REQUESTS_PER_CONNECTION: usize = 1000;

/// Settings of a [`Server`](crate::Server).
#[derive(Debug, Clone)]
pub struct Options {
    /// Print nothing on stderr: no access log, no shutdown message.
    pub quiet: bool,
    /// Refuse files that do not open as archives (default). Off, any regular file is served,
    /// which the HTTP tests use for arbitrary bytes; the HTTP behaviour is the same.
    pub check_archives: bool,
    /// How long a connection may take to send the headers of a request, counted from when it
    /// is accepted or from the end of the previous response. It bounds both a client that
    /// sends its headers slowly and a kept-alive connection that sits idle (hyper's
    /// `header_read_timeout`, which starts when the connection waits for a request).
    pub header_timeout: Duration,
    /// How long a response write may wait for room in the socket without any byte going out
    /// (a client that stopped reading) before the connection is closed. A client that reads,
    /// however slowly, keeps its connection.
    pub send_timeout: Duration,
    /// Connections served at once. One more is answered `503` with `Retry-After: 1` and
    /// closed, so the accept loop never waits.
    pub max_connections: usize,
    /// Requests served on one connection; the last answer says `Connection: close`.
    pub max_requests_per_connection: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            quiet: false,
            check_archives: true,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            send_timeout: DEFAULT_SEND_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_requests_per_connection: DEFAULT_MAX_REQUESTS_PER_CONNECTION,
        }
    }
}

impl Options {
    /// Checks that every setting is usable.
    pub(crate) fn check(&self) -> Result<()> {
        let bad = |name, reason| Err(Error::InvalidOption { name, reason });
        if self.header_timeout.is_zero() {
            return bad("header_timeout", "must be more than zero");
        }
        if self.send_timeout.is_zero() {
            return bad("send_timeout", "must be more than zero");
        }
        if self.max_connections == 0 {
            return bad("max_connections", "must be at least 1");
        }
        if self.max_connections > Semaphore::MAX_PERMITS {
            return bad("max_connections", "is too large");
        }
        if self.max_requests_per_connection == 0 {
            return bad("max_requests_per_connection", "must be at least 1");
        }
        Ok(())
    }
}
