//! The accept loop (connection limit, per-connection timeouts and request cap, access log)
//! and the graceful shutdown that ends it.

use crate::archive::Catalog;
use crate::log::log;
use crate::{conn, respond, Options};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};

/// How long a shutdown waits for the responses in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Connections over the limit being answered `503` at once; more are closed without an answer.
const MAX_TURNED_AWAY: usize = 256;

/// The accept loop on `listener`, then the graceful shutdown. `stop` delivers stop requests (a
/// closed channel counts as one).
pub(crate) async fn serve(
    listener: TcpListener,
    catalog: Arc<Catalog>,
    options: Options,
    mut stop: mpsc::UnboundedReceiver<&'static str>,
) {
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
