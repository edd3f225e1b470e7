//! The signals that stop [`Server::run`](crate::Server::run): SIGINT and SIGTERM.

use std::io;
use tokio::sync::mpsc;

/// SIGINT and SIGTERM (Ctrl-C only where there are no Unix signals).
pub(crate) struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    pub(crate) fn new() -> io::Result<Signals> {
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
    pub(crate) async fn forward(mut self, tx: mpsc::UnboundedSender<&'static str>) {
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
