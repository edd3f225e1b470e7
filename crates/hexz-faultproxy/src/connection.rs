//! One client connection: requests read one after another (kept alive between them), each
//! answered by the proxy itself (a bad head, an injected error) or [forwarded](crate::forward).

use crate::forward::forward;
use crate::http::{self, copy_body, parse_request, read_head, simple_response};
use crate::policy::Fate;
use crate::proxy::{lock, Shared};
use crate::stats::{bump, Counted};
use std::io::{self, BufReader, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// Buffer size for relaying bodies, per direction and connection.
pub(crate) const BUF: usize = 64 * 1024;
/// How long a closing client connection is drained...
const LINGER: Duration = Duration::from_millis(500);
/// ...and how much of it at most.
const LINGER_BYTES: u64 = 4 << 20;

/// After an exchange: keep the client connection for another request, or close it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    KeepAlive,
    Close,
}

/// The client side of a connection: what is written to it counts as `bytes_down`.
pub(crate) type Client<'a> = Counted<'a, TcpStream>;

/// Serves one client connection, one request after another.
pub(crate) fn serve(shared: &Shared, stream: TcpStream) {
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
pub(crate) fn refuse(client: &mut Client<'_>, status: u16, message: &str) -> io::Result<Next> {
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
