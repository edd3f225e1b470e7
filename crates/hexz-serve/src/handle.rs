//! A server running on a background thread ([`ServerHandle`]), stopped when dropped.

use crate::{Error, Result};
use std::net::SocketAddr;
use tokio::sync::mpsc;

/// A server running on a background thread ([`Server::spawn`](crate::Server::spawn)). Dropping
/// it stops the server and waits for its thread.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Option<mpsc::UnboundedSender<&'static str>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerHandle {
    /// A handle on the server thread `thread`, which stops when `stop` delivers a request (or
    /// is closed).
    pub(crate) fn new(
        addr: SocketAddr,
        stop: mpsc::UnboundedSender<&'static str>,
        thread: std::thread::JoinHandle<()>,
    ) -> ServerHandle {
        ServerHandle {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/NAME`: the URL of the archive served as `name`.
    pub fn url(&self, name: &str) -> String {
        format!("http://{}/{name}", self.addr)
    }

    /// Stops accepting connections, waits for the responses in flight (up to
    /// [`SHUTDOWN_GRACE`](crate::SHUTDOWN_GRACE)) and for the server thread.
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
