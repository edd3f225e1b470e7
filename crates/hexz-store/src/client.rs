//! The HTTP client settings and retry policy every store is built with.

use object_store::{BackoffConfig, ClientOptions, RetryConfig};
use std::time::Duration;

/// Retries on 5xx, 429, timeouts and dropped connections (also mid-body, resuming where the
/// body broke off): at most this many, with exponential backoff and jitter...
const MAX_RETRIES: usize = 5;
/// ...and never past this long after the first attempt.
const RETRY_TIMEOUT: Duration = Duration::from_secs(30);
/// A connection attempt that takes longer than this fails (and is retried).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A request whose response has not fully arrived after this long fails (and is retried).
/// Requests are at most a few MiB, so this is generous even on slow links.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Client settings shared by every store: timeouts and plain HTTP allowed (the S3 builder
/// narrows that to loopback unless asked).
pub(crate) fn client_options(allow_http: bool) -> ClientOptions {
    ClientOptions::new()
        .with_allow_http(allow_http)
        .with_connect_timeout(CONNECT_TIMEOUT)
        .with_timeout(REQUEST_TIMEOUT)
}

/// The retry policy of every store (see [`MAX_RETRIES`]).
pub(crate) fn retry_config() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            base: 2.0,
        },
        max_retries: MAX_RETRIES,
        retry_timeout: RETRY_TIMEOUT,
    }
}
