//! What keeps one client from holding the server: a send timeout on the socket, and the answer
//! given to connections over the limit.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// A socket whose writes fail with `TimedOut` once one has waited `timeout` for room without
/// any byte going out: a client that stops reading ends its connection instead of holding it
/// (and its slot) for ever. Reads pass through; hyper's header timeout bounds them.
pub(crate) struct SendTimeout {
    inner: TcpStream,
    timeout: Duration,
    /// Armed by the first write that finds no room, disarmed by any write that makes progress.
    stall: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

impl SendTimeout {
    pub fn new(inner: TcpStream, timeout: Duration) -> Self {
        SendTimeout {
            inner,
            timeout,
            stall: None,
            armed: false,
        }
    }

    /// Passes a ready write through (progress), or starts and checks the stall timer.
    fn check<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.armed = false;
            return polled;
        }
        let deadline = Instant::now() + self.timeout;
        let stall = match &mut self.stall {
            Some(s) => {
                if !self.armed {
                    s.as_mut().reset(deadline);
                }
                s
            }
            None => self
                .stall
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        self.armed = true;
        if stall.as_mut().poll(cx).is_ready() {
            // Close with a reset: a plain close would leave the unsent bytes (megabytes) queued
            // in the kernel for minutes, for a client that does not read them.
            let _ = self.inner.set_zero_linger();
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the client read nothing for {} s (send timeout)",
                    self.timeout.as_secs_f64()
                ),
            )));
        }
        Poll::Pending
    }
}

impl AsyncRead for SendTimeout {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for SendTimeout {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.check(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.check(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    // Neither waits for the client on a TCP socket, and neither is progress: passed through.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Whether `err` (or one of its causes) is the send timeout of [`SendTimeout`].
pub(crate) fn is_send_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::TimedOut {
                return true;
            }
        }
        cause = e.source();
    }
    false
}

/// The whole answer to a connection over the limit.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Retry-After: 1\r\n\
Connection: close\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 53\r\n\
\r\n\
too many connections open at once; retry in a second\n";

/// How long a connection over the limit is kept at most.
pub(crate) const BUSY_LINGER: Duration = Duration::from_secs(2);

/// Answers `503` with `Retry-After` and closes. What the client sent is read and dropped
/// first (up to 64 KiB, for [`BUSY_LINGER`] at most), because closing a socket with unread
/// input sends a reset, which can make the client lose the answer before reading it.
pub(crate) async fn turn_away(mut stream: TcpStream) {
    let _ = tokio::time::timeout(BUSY_LINGER, async {
        stream.write_all(BUSY).await?;
        stream.shutdown().await?;
        let mut buf = [0u8; 4096];
        let mut read = 0;
        while read < 64 * 1024 {
            match stream.read(&mut buf).await? {
                0 => break,
                n => read += n,
            }
        }
        Ok::<_, io::Error>(())
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busy_answer_has_the_length_it_says() {
        let text = std::str::from_utf8(BUSY).unwrap_or_default();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or_default();
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
        assert!(head.starts_with("HTTP/1.1 503 "));
    }

    #[test]
    fn a_send_timeout_is_recognised_through_its_causes() {
        #[derive(Debug)]
        struct Wrap(io::Error);
        impl std::fmt::Display for Wrap {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("wrapped")
            }
        }
        impl std::error::Error for Wrap {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        assert!(is_send_timeout(&Wrap(io::Error::from(
            io::ErrorKind::TimedOut
        ))));
        assert!(!is_send_timeout(&Wrap(io::Error::from(
            io::ErrorKind::BrokenPipe
        ))));
    }
}
