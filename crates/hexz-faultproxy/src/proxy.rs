//! [`FaultProxy`]: the listener, its accept loop, and the state every connection thread shares
//! (the fault plan, the live sockets that stopping shuts down, the counters).

use crate::connection::serve;
use crate::policy::Policy;
use crate::stats::{bump, Counters};
use crate::{Faults, Stats};
use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Sockets in use, so that stopping the proxy can unblock every thread.
#[derive(Default)]
struct Live {
    stopped: bool,
    next_id: u64,
    sockets: HashMap<u64, TcpStream>,
}

/// What the accept loop and every connection thread share.
pub(crate) struct Shared {
    pub(crate) upstream: SocketAddr,
    pub(crate) policy: Mutex<Policy>,
    live: Mutex<Live>,
    /// Signalled when the proxy stops, waking sleepers.
    stop: Condvar,
    workers: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) counters: Counters,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Removes a socket from [`Live`] when dropped.
pub(crate) struct Tracked<'a> {
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
    pub(crate) fn track(&self, s: &TcpStream) -> Option<Tracked<'_>> {
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
    pub(crate) fn sleep(&self, d: Duration) -> bool {
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
        self.shared.counters.snapshot()
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
