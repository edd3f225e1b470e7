//! A bound server ([`Server`]): startup (options, archives, address), then serving in the
//! foreground until a signal or on a background thread; and what it serves ([`ArchiveInfo`]).

use crate::accept::serve;
use crate::archive::Catalog;
use crate::signals::Signals;
use crate::{Error, Options, Result, ServerHandle};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

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
    /// flight finish for up to [`SHUTDOWN_GRACE`](crate::SHUTDOWN_GRACE) (a second signal stops
    /// at once) and returns.
    pub fn run(self) -> Result<()> {
        let rt = runtime()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let result = rt.block_on(async {
            let signals = Signals::new().map_err(Error::Runtime)?;
            tokio::spawn(signals.forward(tx));
            serve(self.listener, self.catalog, self.options, rx).await;
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
                rt.block_on(serve(self.listener, self.catalog, self.options, rx));
                rt.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(Error::Runtime)?;
        Ok(ServerHandle::new(addr, tx, thread))
    }
}

/// The tokio runtime a server runs on: two workers, up to 64 threads for the blocking `pread`s.
fn runtime() -> Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(64)
        .thread_name("hexz-serve")
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}
