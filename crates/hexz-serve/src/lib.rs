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

mod archive;
mod body;
mod cond;
mod conn;
mod range;
mod respond;

/// Entry points for the fuzz targets (`fuzz/fuzz_targets/serve_headers.rs`); not an API.
#[doc(hidden)]
pub mod fuzzing;

use archive::Catalog;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, Semaphore};

/// Default of [`Options::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default of [`Options::header_timeout`].
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of [`Options::send_timeout`].
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// Default of [`Options::max_requests_per_connection`].
pub const DEFAULT_MAX_REQUESTS_PER_CONNECTION: usize = 1000;
/// How long a shutdown waits for the responses in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Connections over the limit being answered `503` at once; more are closed without an answer.
const MAX_TURNED_AWAY: usize = 256;

/// What can go wrong when starting or running a server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No archive was given.
    #[error("no archives to serve")]
    NoArchives,
    /// A file could not be opened or inspected.
    #[error("cannot open {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The path names a directory or another non-regular file.
    #[error("{} is not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The path has no file name to serve it under (or one that is not UTF-8).
    #[error("cannot serve {}: {reason}", path.display())]
    BadName {
        /// The path.
        path: PathBuf,
        /// What is wrong with its name.
        reason: &'static str,
    },
    /// Two paths share a file name, and each is served at `/<file name>`.
    #[error(
        "two archives would be served as /{name}: {} and {}; rename one (each archive is \
         served under its file name)",
        first.display(),
        second.display()
    )]
    DuplicateName {
        /// The shared file name.
        name: String,
        /// The first path with it.
        first: PathBuf,
        /// The second path with it.
        second: PathBuf,
    },
    /// The file does not open as a `.hxz` archive (corrupt, truncated, or another kind of file).
    #[error("refusing to serve {}: not a valid archive: {source}", path.display())]
    InvalidArchive {
        /// The file.
        path: PathBuf,
        /// What the engine found wrong.
        #[source]
        source: hexz_core::Error,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The async runtime or the signal handlers could not be set up.
    #[error("cannot start the server: {0}")]
    Runtime(#[source] io::Error),
    /// A setting of [`Options`] is out of range.
    #[error("invalid server option {name}: {reason}")]
    InvalidOption {
        /// The option.
        name: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The server thread of a [`ServerHandle`] panicked.
    #[error("the server thread panicked")]
    Panicked,
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Settings of a [`Server`].
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
    fn check(&self) -> Result<()> {
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

/// One served archive, as it was at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveInfo {
    /// The URL path's last segment: the file name.
    pub name: String,
    /// The path it was opened from.
    pub path: PathBuf,
    /// Its size in bytes when the server started.
    pub len: u64,
}

/// A bound server, ready to [`run`](Server::run) or [`spawn`](Server::spawn).
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    catalog: Arc<Catalog>,
    options: Options,
}

impl Server {
    /// Checks `archives` and binds `addr` (port 0 picks a free port), with default options.
    pub fn bind(addr: SocketAddr, archives: &[PathBuf]) -> Result<Server> {
        Server::bind_with(addr, archives, &Options::default())
    }

    /// [`Server::bind`] with explicit options.
    pub fn bind_with(addr: SocketAddr, archives: &[PathBuf], options: &Options) -> Result<Server> {
        options.check()?;
        let catalog = Catalog::open(archives, options.check_archives)?;
        let bind_err = |source| Error::Bind { addr, source };
        let listener = TcpListener::bind(addr).map_err(bind_err)?;
        listener.set_nonblocking(true).map_err(bind_err)?;
        let addr = listener.local_addr().map_err(bind_err)?;
        Ok(Server {
            listener,
            addr,
            catalog: Arc::new(catalog),
            options: options.clone(),
        })
    }

    /// The address the server listens on (with the actual port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The served archives, in the order given.
    pub fn archives(&self) -> Vec<ArchiveInfo> {
        self.catalog
            .files
            .iter()
            .map(|f| ArchiveInfo {
                name: f.name.clone(),
                path: f.source.path.clone(),
                len: f.len_at_start,
            })
            .collect()
    }

    /// Serves until SIGINT (Ctrl-C) or SIGTERM, then stops accepting, lets the responses in
    /// flight finish for up to [`SHUTDOWN_GRACE`] (a second signal stops at once) and returns.
    pub fn run(self) -> Result<()> {
        let rt = runtime()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let result = rt.block_on(async {
            let signals = Signals::new().map_err(Error::Runtime)?;
            tokio::spawn(signals.forward(tx));
            serve(self, rx).await;
            Ok(())
        });
        rt.shutdown_timeout(Duration::from_secs(1));
        result
    }

    /// Serves on a background thread until the returned handle is stopped or dropped.
    pub fn spawn(self) -> Result<ServerHandle> {
        let rt = runtime()?;
        let addr = self.addr;
        let (tx, rx) = mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name("hexz-serve".into())
            .spawn(move || {
                rt.block_on(serve(self, rx));
                rt.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(Error::Runtime)?;
        Ok(ServerHandle {
            addr,
            stop: Some(tx),
            thread: Some(thread),
        })
    }
}

/// A server running on a background thread ([`Server::spawn`]). Dropping it stops the server
/// and waits for its thread.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Option<mpsc::UnboundedSender<&'static str>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/NAME`: the URL of the archive served as `name`.
    pub fn url(&self, name: &str) -> String {
        format!("http://{}/{name}", self.addr)
    }

    /// Stops accepting connections, waits for the responses in flight (up to
    /// [`SHUTDOWN_GRACE`]) and for the server thread.
    pub fn stop(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send("stop requested");
        }
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| Error::Panicked),
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

fn runtime() -> Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(64)
        .thread_name("hexz-serve")
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

/// SIGINT and SIGTERM (Ctrl-C only where there are no Unix signals).
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Sends the name of every signal that arrives.
    async fn forward(mut self, tx: mpsc::UnboundedSender<&'static str>) {
        loop {
            #[cfg(unix)]
            let name = tokio::select! {
                _ = self.int.recv() => "SIGINT",
                _ = self.term.recv() => "SIGTERM",
            };
            #[cfg(not(unix))]
            let name = match tokio::signal::ctrl_c().await {
                Ok(()) => "Ctrl-C",
                Err(_) => return,
            };
            if tx.send(name).is_err() {
                return;
            }
        }
    }
}

/// Writes one line to stderr unless quiet; a closed stderr is ignored.
fn log(quiet: bool, line: std::fmt::Arguments<'_>) {
    if !quiet {
        let _ = writeln!(io::stderr().lock(), "{line}");
    }
}

/// The accept loop, then the graceful shutdown. `stop` delivers stop requests (a closed channel
/// counts as one).
async fn serve(server: Server, mut stop: mpsc::UnboundedReceiver<&'static str>) {
    let Server {
        listener,
        catalog,
        options,
        ..
    } = server;
    let quiet = options.quiet;
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            log(false, format_args!("hexz serve: cannot listen: {e}"));
            return;
        }
    };
    let graceful = GracefulShutdown::new();
    let limit = Arc::new(Semaphore::new(options.max_connections));
    let turned_away = Arc::new(Semaphore::new(MAX_TURNED_AWAY));
    let mut warned_busy: Option<Instant> = None;
    let reason = loop {
        // Accept whatever the load: a connection left in the listen queue would wait for a
        // slot behind clients that may never let theirs go.
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    log(quiet, format_args!("accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            why = stop.recv() => break why.unwrap_or("stop requested"),
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            if warned_busy.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                warned_busy = Some(Instant::now());
                log(
                    quiet,
                    format_args!(
                        "connection limit ({}) reached: answering 503 to new connections",
                        options.max_connections
                    ),
                );
            }
            // Beyond what can be answered at once, closing is the answer.
            if let Ok(answering) = turned_away.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    conn::turn_away(stream).await;
                    drop(answering);
                });
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let catalog = catalog.clone();
        let served = AtomicUsize::new(0);
        let max_requests = options.max_requests_per_connection;
        let service = service_fn(move |req: Request<Incoming>| {
            let mut response =
                respond::respond(&catalog, req.method(), req.uri().path(), req.headers());
            // hyper closes the connection after an answer that says so.
            if served.fetch_add(1, Ordering::Relaxed) + 1 >= max_requests {
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            log(
                quiet,
                format_args!(
                    "[{}] {peer} \"{} {} {:?}\" {} {}",
                    httpdate::fmt_http_date(std::time::SystemTime::now()),
                    req.method(),
                    req.uri(),
                    req.version(),
                    response.status().as_u16(),
                    response.body().len()
                ),
            );
            std::future::ready(Ok::<_, Infallible>(response))
        });
        let io = TokioIo::new(conn::SendTimeout::new(stream, options.send_timeout));
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(options.header_timeout)
            .serve_connection(io, service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                if conn::is_send_timeout(&e) {
                    log(quiet, format_args!("{peer}: connection closed: {e}"));
                } else if !e.is_timeout() {
                    // The header timeout is how idle connections end: not worth a line.
                    log(quiet, format_args!("{peer}: connection error: {e}"));
                }
            }
            drop(permit);
        });
    };
    drop(listener);
    let open = graceful.count();
    log(
        quiet,
        format_args!(
            "shutting down ({reason}): waiting for {open} open connection{} (up to {} s)",
            if open == 1 { "" } else { "s" },
            SHUTDOWN_GRACE.as_secs()
        ),
    );
    // A second stop request (another Ctrl-C) ends the wait; a closed channel does not.
    let again = async {
        while stop.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => {
            log(quiet, format_args!("shutdown: responses still in flight after {} s are cut", SHUTDOWN_GRACE.as_secs()));
        }
        _ = again => log(quiet, format_args!("shutdown: stopping at once")),
    }
}
