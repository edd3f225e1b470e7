//! A fault-injecting HTTP/1.1 proxy for tests and benchmarks of remote stores.
//!
//! [`FaultProxy`] listens on a loopback port and forwards every request to one upstream server
//! (nginx, an S3-compatible server, ...), injecting the faults of a [`Faults`] mix on the way:
//!
//! - **latency**: a delay before each request is forwarded (or answered with an error);
//! - **stalls**: a fraction of requests held for a longer delay (a slow or congested server);
//! - **errors**: a fraction of requests answered by the proxy itself with an error status
//!   (503 with `Retry-After: 0` unless told otherwise), never reaching the upstream;
//! - **drops**: a fraction of responses cut off: the head and part of the body are relayed, then
//!   both connections are closed. A response without a body to cut (HEAD, 304, ...) or one
//!   delimited by the connection closing (where a cut is indistinguishable from the end) is cut
//!   inside its head instead, so a drop is always detectable by the client.
//!
//! Which requests get a fault is drawn from a PRNG seeded by [`Faults::seed`]: the sequence of
//! fates is reproducible; which request gets which fate depends on the order requests arrive.
//!
//! Everything else passes through unchanged: request heads are forwarded as the exact bytes
//! received (the `Host` field included, which S3 signatures cover), bodies are streamed in
//! both directions with their own framing (`Content-Length`, `chunked`, or until close) through
//! a bounded buffer. Client connections are kept alive across requests; each request gets a
//! fresh upstream connection.
//!
//! ```no_run
//! use hexz_faultproxy::{FaultProxy, Faults};
//! use std::time::Duration;
//!
//! let upstream = "127.0.0.1:8080".parse().unwrap();
//! let proxy = FaultProxy::start(
//!     upstream,
//!     Faults::none().latency(Duration::from_millis(20)).error_rate(0.1).drop_rate(0.05),
//! )?;
//! println!("point the client at {}", proxy.url());
//! // ... run the client ...
//! println!("{:?}", proxy.stats());
//! # Ok::<(), std::io::Error>(())
//! ```

#![forbid(unsafe_code)]

pub mod http;

/// One client connection: reading requests and deciding their fate, one after another.
mod connection;
/// The fault mix: rates, statuses, seed (what a caller configures).
mod faults;
/// Forwarding a request upstream and relaying, or cutting, its response.
mod forward;
/// Drawing each request's fate from the seeded PRNG (the fault plan).
mod policy;
/// The accept loop, the proxy's handle and the state its threads share.
mod proxy;
/// Counters of what the proxy did, and the byte-counting writer that feeds them.
mod stats;

pub use faults::Faults;
pub use proxy::FaultProxy;
pub use stats::Stats;
