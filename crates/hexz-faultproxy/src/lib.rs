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

use http::{copy_body, parse_request, parse_response, read_head, simple_response, Framing};
use std::collections::HashMap;
use std::io::{self, BufReader, Write};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Buffer size for relaying bodies, per direction and connection.
const BUF: usize = 64 * 1024;
/// A connection to the upstream that takes longer than this fails (502).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The upstream going silent for this long ends the exchange (504, or a closed connection
/// mid-body).
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);
/// A chunked or close-delimited response of unknown length is cut within this many bytes.
const UNKNOWN_LENGTH_CUT: u64 = 64 * 1024;
/// How long a closing client connection is drained...
const LINGER: Duration = Duration::from_millis(500);
/// ...and how much of it at most.
const LINGER_BYTES: u64 = 4 << 20;
/// At most this many requests are remembered for [`Faults::max_in_a_row`].
const MAX_STREAKS: usize = 65_536;

/// The faults a [`FaultProxy`] injects. [`Faults::none`] (the default) forwards everything
/// untouched.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Delay before each request is forwarded or answered: an added round trip.
    pub latency: Duration,
    /// Fraction of requests (0 to 1) answered with one of [`Faults::error_statuses`].
    pub error_rate: f64,
    /// The statuses an injected error uses, picked uniformly (4xx or 5xx; 429 and 503 come with
    /// `Retry-After: 0`). Default: 503.
    pub error_statuses: Vec<u16>,
    /// Fraction of requests (0 to 1) whose response is cut off. Errors are drawn first: a
    /// request gets an error with probability `error_rate`, a drop with probability
    /// `drop_rate` (at most `1 - error_rate`), else passes.
    pub drop_rate: f64,
    /// When set, at most this many faults in a row hit the same request, so a client that
    /// retries more often always gets through. A request is its method, target and the end of
    /// its `Range`; a retry that resumes a cut-off body (same end, later start) counts with
    /// the request it resumes.
    pub max_in_a_row: Option<u32>,
    /// Seed of the PRNG that draws each request's fate.
    pub seed: u64,
    /// Fraction of requests (0 to 1) held for [`Faults::stall`] before they go on (drawn
    /// apart from errors and drops, which a stalled request may get too).
    pub stall_rate: f64,
    /// How long a stalled request is held.
    pub stall: Duration,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults::none()
    }
}

impl Faults {
    /// No faults: a transparent proxy.
    pub fn none() -> Faults {
        Faults {
            latency: Duration::ZERO,
            error_rate: 0.0,
            error_statuses: vec![503],
            drop_rate: 0.0,
            max_in_a_row: None,
            seed: 0,
            stall_rate: 0.0,
            stall: Duration::ZERO,
        }
    }

    /// Sets [`Faults::stall_rate`] and [`Faults::stall`].
    pub fn stalls(mut self, rate: f64, stall: Duration) -> Faults {
        self.stall_rate = rate;
        self.stall = stall;
        self
    }

    /// Sets [`Faults::latency`].
    pub fn latency(mut self, latency: Duration) -> Faults {
        self.latency = latency;
        self
    }

    /// Sets [`Faults::error_rate`].
    pub fn error_rate(mut self, rate: f64) -> Faults {
        self.error_rate = rate;
        self
    }

    /// Sets [`Faults::error_statuses`].
    pub fn error_statuses(mut self, statuses: impl Into<Vec<u16>>) -> Faults {
        self.error_statuses = statuses.into();
        self
    }

    /// Sets [`Faults::drop_rate`].
    pub fn drop_rate(mut self, rate: f64) -> Faults {
        self.drop_rate = rate;
        self
    }

    /// Sets [`Faults::max_in_a_row`].
    pub fn max_in_a_row(mut self, n: u32) -> Faults {
        self.max_in_a_row = Some(n);
        self
    }

    /// Sets [`Faults::seed`].
    pub fn seed(mut self, seed: u64) -> Faults {
        self.seed = seed;
        self
    }

    /// Checks the rates are within 0 to 1 and the statuses are errors.
    pub fn validate(&self) -> io::Result<()> {
        let invalid = |m: String| Err(io::Error::new(io::ErrorKind::InvalidInput, m));
        for (name, rate) in [
            ("error", self.error_rate),
            ("drop", self.drop_rate),
            ("stall", self.stall_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return invalid(format!("{name} rate {rate} is not between 0 and 1"));
            }
        }
        if self.error_statuses.is_empty() {
            return invalid("no error statuses to inject".into());
        }
        if let Some(s) = self
            .error_statuses
            .iter()
            .find(|s| !(400..=599).contains(*s))
        {
            return invalid(format!("{s} is not an error status (400 to 599)"));
        }
        Ok(())
    }
}

/// What a [`FaultProxy`] has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Client connections accepted.
    pub connections: u64,
    /// Request heads received (each one once, whatever its fate).
    pub requests: u64,
    /// Requests answered with an injected error status.
    pub errors: u64,
    /// Responses cut off on purpose.
    pub drops: u64,
    /// Requests held for the stall delay.
    pub stalls: u64,
    /// Requests forwarded to the upstream (dropped ones included).
    pub forwarded: u64,
    /// Requests answered 502 or 504 because the upstream could not be reached or failed.
    pub upstream_failures: u64,
    /// Bytes sent to the upstream (request heads and bodies).
    pub bytes_up: u64,
    /// Bytes sent to clients (response heads and bodies, made-up responses included).
    pub bytes_down: u64,
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    requests: AtomicU64,
    errors: AtomicU64,
    drops: AtomicU64,
    stalls: AtomicU64,
    forwarded: AtomicU64,
    upstream_failures: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// SplitMix64: small, fast, and the same sequence everywhere for a seed.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// A request's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Pass,
    /// Answer with this status.
    Error(u16),
    /// Cut the response; the number picks where.
    Drop(u64),
}

struct Policy {
    faults: Faults,
    rng: Rng,
    /// Faults in a row per request key, for [`Faults::max_in_a_row`].
    streaks: HashMap<String, u32>,
}

impl Policy {
    fn new(faults: Faults) -> Policy {
        Policy {
            rng: Rng(faults.seed),
            faults,
            streaks: HashMap::new(),
        }
    }

    /// How long to hold this request before it goes on: [`Faults::stall`] for a
    /// `stall_rate` fraction of requests, else nothing.
    fn stall(&mut self) -> Option<Duration> {
        let f = &self.faults;
        if f.stall_rate <= 0.0 || f.stall.is_zero() {
            return None;
        }
        let stall = f.stall;
        (self.rng.next_f64() < f.stall_rate).then_some(stall)
    }

    fn decide(&mut self, req: &http::Request) -> Fate {
        let f = &self.faults;
        if f.error_rate <= 0.0 && f.drop_rate <= 0.0 {
            return Fate::Pass;
        }
        let u = self.rng.next_f64();
        let mut fate = if u < f.error_rate {
            let i = self.rng.next_u64() % f.error_statuses.len() as u64;
            Fate::Error(f.error_statuses[i as usize])
        } else if u < f.error_rate + f.drop_rate {
            Fate::Drop(self.rng.next_u64())
        } else {
            Fate::Pass
        };
        if let Some(max) = f.max_in_a_row {
            let key = format!("{} {} {}", req.method, req.target, req.range_end());
            let streak = self.streaks.get(&key).copied().unwrap_or(0);
            if streak >= max {
                fate = Fate::Pass;
            }
            if fate == Fate::Pass {
                self.streaks.remove(&key);
            } else {
                if self.streaks.len() >= MAX_STREAKS {
                    self.streaks.clear();
                }
                self.streaks.insert(key, streak + 1);
            }
        }
        fate
    }
}

/// Sockets in use, so that stopping the proxy can unblock every thread.
#[derive(Default)]
struct Live {
    stopped: bool,
    next_id: u64,
    sockets: HashMap<u64, TcpStream>,
}

struct Shared {
    upstream: SocketAddr,
    policy: Mutex<Policy>,
    live: Mutex<Live>,
    /// Signalled when the proxy stops, waking sleepers.
    stop: Condvar,
    workers: Mutex<Vec<JoinHandle<()>>>,
    counters: Counters,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Removes a socket from [`Live`] when dropped.
struct Tracked<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        lock(&self.shared.live).sockets.remove(&self.id);
    }
}

impl Shared {
    /// Registers `s` to be shut down when the proxy stops; `None` (and `s` shut down) when it
    /// already has.
    fn track(&self, s: &TcpStream) -> Option<Tracked<'_>> {
        let clone = s.try_clone().ok()?;
        let mut live = lock(&self.live);
        if live.stopped {
            let _ = s.shutdown(Shutdown::Both);
            return None;
        }
        let id = live.next_id;
        live.next_id += 1;
        live.sockets.insert(id, clone);
        Some(Tracked { shared: self, id })
    }

    fn stopped(&self) -> bool {
        lock(&self.live).stopped
    }

    fn stop(&self) {
        let mut live = lock(&self.live);
        live.stopped = true;
        for s in live.sockets.values() {
            let _ = s.shutdown(Shutdown::Both);
        }
        self.stop.notify_all();
    }

    /// Sleeps for `d`, or less if the proxy stops; false when it has stopped.
    fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let mut live = lock(&self.live);
        loop {
            if live.stopped {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            live = self
                .stop
                .wait_timeout(live, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// A running proxy. Dropping it stops it: the listener is closed, open connections are shut
/// down and every thread is joined.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    listener: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.shared.upstream)
            .field("faults", &lock(&self.shared.policy).faults)
            .finish()
    }
}

impl FaultProxy {
    /// Starts a proxy for `upstream` on a free port of 127.0.0.1.
    pub fn start(upstream: SocketAddr, faults: Faults) -> io::Result<FaultProxy> {
        FaultProxy::start_on((Ipv4Addr::LOCALHOST, 0).into(), upstream, faults)
    }

    /// Starts a proxy for `upstream` listening on `listen` (port 0: a free one).
    pub fn start_on(
        listen: SocketAddr,
        upstream: SocketAddr,
        faults: Faults,
    ) -> io::Result<FaultProxy> {
        faults.validate()?;
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            policy: Mutex::new(Policy::new(faults)),
            live: Mutex::new(Live::default()),
            stop: Condvar::new(),
            workers: Mutex::new(Vec::new()),
            counters: Counters::default(),
        });
        let sh = shared.clone();
        let handle = std::thread::Builder::new()
            .name("hexz-faultproxy".into())
            .spawn(move || accept_loop(&sh, listener))?;
        Ok(FaultProxy {
            addr,
            shared,
            listener: Some(handle),
        })
    }

    /// The address the proxy listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`: the base URL to give clients instead of the upstream's.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The upstream server requests go to.
    pub fn upstream(&self) -> SocketAddr {
        self.shared.upstream
    }

    /// The fault mix now in force.
    pub fn faults(&self) -> Faults {
        lock(&self.shared.policy).faults.clone()
    }

    /// Replaces the fault mix for the requests that arrive from now on (and those waiting out
    /// their latency), reseeding the PRNG and forgetting [`Faults::max_in_a_row`] streaks.
    pub fn set_faults(&self, faults: Faults) -> io::Result<()> {
        faults.validate()?;
        *lock(&self.shared.policy) = Policy::new(faults);
        Ok(())
    }

    /// What the proxy has done so far.
    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            connections: get(&c.connections),
            requests: get(&c.requests),
            errors: get(&c.errors),
            drops: get(&c.drops),
            stalls: get(&c.stalls),
            forwarded: get(&c.forwarded),
            upstream_failures: get(&c.upstream_failures),
            bytes_up: get(&c.bytes_up),
            bytes_down: get(&c.bytes_down),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop();
        // Wake the blocked `accept` with a connection of our own.
        let wake = match self.addr {
            SocketAddr::V4(a) if a.ip().is_unspecified() => (Ipv4Addr::LOCALHOST, a.port()).into(),
            SocketAddr::V6(a) if a.ip().is_unspecified() => (Ipv6Addr::LOCALHOST, a.port()).into(),
            a => a,
        };
        let woke = TcpStream::connect_timeout(&wake, Duration::from_secs(2)).is_ok();
        if let Some(h) = self.listener.take() {
            if woke {
                let _ = h.join();
            }
        }
        let workers = std::mem::take(&mut *lock(&self.shared.workers));
        for w in workers {
            let _ = w.join();
        }
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: TcpListener) {
    for conn in listener.incoming() {
        if shared.stopped() {
            return;
        }
        let stream = match conn {
            Ok(s) => s,
            Err(_) => {
                // Out of file descriptors or a connection reset before accept: back off
                // briefly instead of spinning.
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        bump(&shared.counters.connections);
        let sh = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("hexz-faultproxy-conn".into())
            .spawn(move || serve(&sh, stream));
        if let Ok(h) = spawned {
            let mut workers = lock(&shared.workers);
            workers.retain(|w| !w.is_finished());
            workers.push(h);
        }
    }
}

/// A writer that counts the bytes it passes on.
struct Counted<'a, W> {
    inner: W,
    n: &'a AtomicU64,
}

impl<W: Write> Write for Counted<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.n.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A writer that passes on `left` bytes, then fails (and remembers that it did).
struct Limited<W> {
    inner: W,
    left: u64,
    hit: bool,
}

impl<W: Write> Write for Limited<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            self.hit = true;
            return Err(io::Error::other("hexz-faultproxy: response cut on purpose"));
        }
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let k = self.inner.write(&buf[..n])?;
        self.left -= k as u64;
        Ok(k)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// After an exchange: keep the client connection for another request, or close it.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    KeepAlive,
    Close,
}

type Client<'a> = Counted<'a, TcpStream>;

/// Serves one client connection, one request after another.
fn serve(shared: &Shared, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Some(_tracked) = shared.track(&stream) else {
        return;
    };
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::with_capacity(BUF, read_half);
    let mut client = Counted {
        inner: stream,
        n: &shared.counters.bytes_down,
    };
    while let Ok(Next::KeepAlive) = exchange(shared, &mut reader, &mut client) {}
    // A lingering close: stop sending, then read what the client may still be sending for a
    // moment, so that closing with unread bytes (a reset) does not destroy the last response
    // before the client has read it.
    let _ = client.inner.shutdown(Shutdown::Write);
    let _ = reader.get_ref().set_read_timeout(Some(LINGER));
    let _ = io::copy(
        &mut io::Read::take(&mut reader, LINGER_BYTES),
        &mut io::sink(),
    );
    let _ = client.inner.shutdown(Shutdown::Both);
}

/// Answers a request the proxy cannot or will not forward, with `Connection: close`.
fn refuse(client: &mut Client<'_>, status: u16, message: &str) -> io::Result<Next> {
    let msg = format!("hexz-faultproxy: {message}");
    client.write_all(&simple_response(status, &msg, true, false))?;
    Ok(Next::Close)
}

/// Reads one request from the client and answers it.
fn exchange(
    shared: &Shared,
    reader: &mut BufReader<TcpStream>,
    client: &mut Client<'_>,
) -> io::Result<Next> {
    let raw = match read_head(reader)? {
        None => return Ok(Next::Close),
        Some(Ok(raw)) => raw,
        Some(Err(e)) => {
            bump(&shared.counters.requests);
            return refuse(client, status_for(&e), &e.to_string());
        }
    };
    bump(&shared.counters.requests);
    let (req, framing) = match parse_request(&raw).and_then(|r| r.framing().map(|f| (r, f))) {
        Ok(x) => x,
        Err(e) => return refuse(client, status_for(&e), &e.to_string()),
    };
    let head_only = req.method.eq_ignore_ascii_case("HEAD");
    let close = req.wants_close();
    let latency = lock(&shared.policy).faults.latency;
    if !shared.sleep(latency) {
        return Ok(Next::Close);
    }
    let stall = lock(&shared.policy).stall();
    if let Some(stall) = stall {
        bump(&shared.counters.stalls);
        if !shared.sleep(stall) {
            return Ok(Next::Close);
        }
    }
    let fate = lock(&shared.policy).decide(&req);
    if let Fate::Error(status) = fate {
        bump(&shared.counters.errors);
        let msg = format!(
            "hexz-faultproxy: injected {status} {}",
            http::reason(status)
        );
        if req.expects_continue() {
            // The client may hold its body back for a 100 Continue that will not come.
            client.write_all(&simple_response(status, &msg, true, head_only))?;
            return Ok(Next::Close);
        }
        copy_body(reader, &mut io::sink(), framing)?;
        client.write_all(&simple_response(status, &msg, close, head_only))?;
        return Ok(if close { Next::Close } else { Next::KeepAlive });
    }
    forward(shared, reader, client, &raw, &req, framing, fate)
}

fn status_for(e: &http::HeadError) -> u16 {
    match e {
        http::HeadError::Bad(_) => 400,
        http::HeadError::TooLarge => 431,
        http::HeadError::NotImplemented(_) => 501,
    }
}

/// Forwards one request to the upstream and relays (or cuts) its response.
fn forward(
    shared: &Shared,
    reader: &mut BufReader<TcpStream>,
    client: &mut Client<'_>,
    raw: &[u8],
    req: &http::Request,
    framing: Framing,
    fate: Fate,
) -> io::Result<Next> {
    let head_only = req.method.eq_ignore_ascii_case("HEAD");
    let expect = req.expects_continue();
    let up = match TcpStream::connect_timeout(&shared.upstream, CONNECT_TIMEOUT) {
        Ok(s) => s,
        Err(e) => {
            bump(&shared.counters.upstream_failures);
            let msg = format!(
                "hexz-faultproxy: cannot connect to the upstream {}: {e}",
                shared.upstream
            );
            let close = req.wants_close() || expect;
            if !expect {
                copy_body(reader, &mut io::sink(), framing)?;
            }
            client.write_all(&simple_response(502, &msg, close, head_only))?;
            return Ok(if close { Next::Close } else { Next::KeepAlive });
        }
    };
    let _ = up.set_nodelay(true);
    up.set_read_timeout(Some(UPSTREAM_TIMEOUT))?;
    up.set_write_timeout(Some(UPSTREAM_TIMEOUT))?;
    let Some(_tracked) = shared.track(&up) else {
        return Ok(Next::Close);
    };
    bump(&shared.counters.forwarded);
    let mut up_w = Counted {
        inner: up.try_clone()?,
        n: &shared.counters.bytes_up,
    };
    let mut up_r = BufReader::with_capacity(BUF, up);
    if expect {
        client.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    // A request that could not be sent whole leaves the client connection in an unknown
    // state: whatever the upstream answers, close it afterwards.
    let sent = up_w
        .write_all(raw)
        .and_then(|()| copy_body(reader, &mut up_w, framing))
        .is_ok();
    let close = req.wants_close() || !sent;
    let upstream_failed = |client: &mut Client<'_>, status: u16, what: String| {
        bump(&shared.counters.upstream_failures);
        refuse(
            client,
            status,
            &format!("upstream {}: {what}", shared.upstream),
        )
    };
    let (resp_raw, resp) = loop {
        let raw = match read_head(&mut up_r) {
            Ok(Some(Ok(raw))) => raw,
            Ok(Some(Err(e))) => return upstream_failed(client, 502, e.to_string()),
            Ok(None) => {
                return upstream_failed(
                    client,
                    502,
                    "closed the connection without a response".into(),
                )
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return upstream_failed(
                    client,
                    504,
                    format!("no response within {UPSTREAM_TIMEOUT:?}"),
                )
            }
            Err(e) => return upstream_failed(client, 502, e.to_string()),
        };
        let resp = match parse_response(&raw) {
            Ok(r) => r,
            Err(e) => return upstream_failed(client, 502, e.to_string()),
        };
        if resp.status == 101 {
            return upstream_failed(client, 502, "switching protocols is not supported".into());
        }
        if (100..200).contains(&resp.status) {
            // Interim responses pass through, except the 100 Continue already sent.
            if !(expect && resp.status == 100) {
                client.write_all(&raw)?;
            }
            continue;
        }
        break (raw, resp);
    };
    let rframing = match resp.framing(&req.method) {
        Ok(f) => f,
        Err(e) => return upstream_failed(client, 502, e.to_string()),
    };
    if let Fate::Drop(r) = fate {
        if cut_response(client, &mut up_r, &resp_raw, rframing, r)? {
            bump(&shared.counters.drops);
        }
        return Ok(Next::Close);
    }
    client.write_all(&resp_raw)?;
    copy_body(&mut up_r, client, rframing)?;
    let keep = !close && !resp.wants_close() && rframing != Framing::UntilClose;
    Ok(if keep { Next::KeepAlive } else { Next::Close })
}

/// Relays the start of a response and stops: part of the body (somewhere before its end) when
/// its length is known, else part of the head. The caller closes both connections. False when
/// a chunked body turned out shorter than the cut point and went through whole.
fn cut_response(
    client: &mut Client<'_>,
    up_r: &mut BufReader<TcpStream>,
    head: &[u8],
    framing: Framing,
    r: u64,
) -> io::Result<bool> {
    let body_cut = match framing {
        Framing::Length(n) => r % n,
        Framing::Chunked => r % UNKNOWN_LENGTH_CUT,
        Framing::Empty | Framing::UntilClose => {
            let cut = (r % head.len() as u64) as usize;
            client.write_all(&head[..cut])?;
            client.flush()?;
            return Ok(true);
        }
    };
    client.write_all(head)?;
    let mut limited = Limited {
        inner: &mut *client,
        left: body_cut,
        hit: false,
    };
    match copy_body(up_r, &mut limited, framing) {
        Ok(_) => Ok(false),
        Err(_) if limited.hit => Ok(true),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_uniform() {
        let mut a = Rng(42);
        let mut b = Rng(42);
        let xs: Vec<u64> = (0..100).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..100).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(Rng(43).next_u64(), xs[0]);
        let mut r = Rng(1);
        let n = 100_000;
        let below = (0..n).filter(|_| r.next_f64() < 0.3).count();
        assert!((29_000..31_000).contains(&below), "{below}");
        assert!((0..n).all(|_| (0.0..1.0).contains(&r.next_f64())));
    }

    fn get(target: &str, range: &str) -> http::Request {
        let head = format!("GET {target} HTTP/1.1\r\nRange: bytes={range}\r\n\r\n");
        http::parse_request(head.as_bytes()).expect("parse")
    }

    #[test]
    fn fates_follow_the_rates() {
        let mut p = Policy::new(Faults::none().error_rate(0.3).drop_rate(0.2).seed(9));
        let req = get("/a", "0-9");
        let fates: Vec<Fate> = (0..10_000).map(|_| p.decide(&req)).collect();
        let errors = fates
            .iter()
            .filter(|f| matches!(f, Fate::Error(503)))
            .count();
        let drops = fates.iter().filter(|f| matches!(f, Fate::Drop(_))).count();
        assert!((2_800..3_200).contains(&errors), "{errors}");
        assert!((1_800..2_200).contains(&drops), "{drops}");
        // Same seed, same fates.
        let mut q = Policy::new(Faults::none().error_rate(0.3).drop_rate(0.2).seed(9));
        let again: Vec<Fate> = (0..10_000).map(|_| q.decide(&req)).collect();
        assert_eq!(fates, again);
        // Always, never.
        let mut p = Policy::new(Faults::none().error_rate(1.0).error_statuses([500, 502]));
        assert!((0..100).all(|_| matches!(p.decide(&req), Fate::Error(500 | 502))));
        let mut p = Policy::new(Faults::none().drop_rate(1.0));
        assert!((0..100).all(|_| matches!(p.decide(&req), Fate::Drop(_))));
        let mut p = Policy::new(Faults::none());
        assert!((0..100).all(|_| p.decide(&req) == Fate::Pass));
    }

    #[test]
    fn stalls_follow_their_rate() {
        let stall = Duration::from_millis(200);
        let mut p = Policy::new(Faults::none().stalls(0.1, stall).seed(3));
        let held = (0..10_000).filter(|_| p.stall() == Some(stall)).count();
        assert!((800..1_200).contains(&held), "{held}");
        let mut p = Policy::new(Faults::none());
        assert!((0..100).all(|_| p.stall().is_none()));
        assert!(Faults::none().stalls(1.5, stall).validate().is_err());
    }

    #[test]
    fn streaks_are_bounded_per_request() {
        let mut p = Policy::new(
            Faults::none()
                .error_rate(0.6)
                .drop_rate(0.4)
                .max_in_a_row(2),
        );
        let a = get("/a", "100-199");
        let resumed = get("/a", "150-199");
        let b = get("/a", "200-299");
        let fates: Vec<Fate> = (0..9).map(|_| p.decide(&a)).collect();
        assert_eq!(fates[2], Fate::Pass);
        assert_eq!(fates[5], Fate::Pass);
        assert_eq!(fates[8], Fate::Pass);
        assert!(fates.iter().filter(|f| **f == Fate::Pass).count() == 3);
        // A resumed range counts with the request it resumes; another range does not.
        assert_ne!(p.decide(&a), Fate::Pass);
        assert_ne!(p.decide(&resumed), Fate::Pass);
        assert_eq!(p.decide(&a), Fate::Pass);
        assert_ne!(p.decide(&b), Fate::Pass);
    }

    #[test]
    fn faults_are_validated() {
        assert!(Faults::none().validate().is_ok());
        assert!(Faults::none().error_rate(1.5).validate().is_err());
        assert!(Faults::none().drop_rate(-0.1).validate().is_err());
        assert!(Faults::none().drop_rate(f64::NAN).validate().is_err());
        assert!(Faults::none().error_statuses([200]).validate().is_err());
        assert!(Faults::none().error_statuses([]).validate().is_err());
        assert!(Faults::none().error_statuses([429, 500]).validate().is_ok());
    }

    #[test]
    fn limited_writer_cuts() {
        let mut out = Vec::new();
        let mut l = Limited {
            inner: &mut out,
            left: 5,
            hit: false,
        };
        assert!(l.write_all(b"abc").is_ok());
        assert!(l.write_all(b"defg").is_err());
        assert!(l.hit);
        assert_eq!(out, b"abcde");
    }
}
