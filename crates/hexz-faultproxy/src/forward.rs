//! Forwarding one request to the upstream on a fresh connection, and relaying its response to
//! the client: whole, or cut short on purpose for a [`Fate::Drop`].

use crate::connection::{refuse, Client, Next, BUF};
use crate::http::{self, copy_body, parse_response, read_head, simple_response, Framing};
use crate::policy::Fate;
use crate::proxy::Shared;
use crate::stats::{bump, Counted};
use std::io::{self, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A connection to the upstream that takes longer than this fails (502).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The upstream going silent for this long ends the exchange (504, or a closed connection
/// mid-body).
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);
/// A chunked or close-delimited response of unknown length is cut within this many bytes.
const UNKNOWN_LENGTH_CUT: u64 = 64 * 1024;

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

/// Forwards one request to the upstream and relays (or cuts) its response.
pub(crate) fn forward(
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
