//! The one response body type: a queue of in-memory pieces (headers of multipart parts, small
//! texts) and ranges of a file, streamed in chunks of at most [`CHUNK`](crate::body::CHUNK)
//! bytes read with `pread` on the blocking thread pool. hyper polls for the next chunk only
//! when it has room to send it, so a response holds at most one chunk being read plus what
//! hyper buffers, whatever the range's size.

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use std::collections::VecDeque;
use std::fs::File;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::task::JoinHandle;

/// Largest piece of a file read at once.
pub(crate) const CHUNK: u64 = 256 * 1024;

/// A file shared by every response that streams from it.
#[derive(Debug)]
pub(crate) struct Source {
    pub file: File,
    pub path: PathBuf,
}

enum Piece {
    Bytes(Bytes),
    File { offset: u64, len: u64 },
}

/// A response body: pieces of memory and file ranges, in order.
pub(crate) struct Body {
    source: Option<Arc<Source>>,
    pieces: VecDeque<Piece>,
    reading: Option<JoinHandle<io::Result<Bytes>>>,
    remaining: u64,
}

impl Body {
    /// No body.
    pub fn empty() -> Body {
        Body {
            source: None,
            pieces: VecDeque::new(),
            reading: None,
            remaining: 0,
        }
    }

    /// A body held in memory.
    pub fn bytes(b: impl Into<Bytes>) -> Body {
        let mut body = Body::empty();
        body.push_bytes(b.into());
        body
    }

    /// A body streamed from `source` (add ranges with [`Body::push_file`]).
    pub fn file(source: Arc<Source>) -> Body {
        Body {
            source: Some(source),
            ..Body::empty()
        }
    }

    /// Appends bytes held in memory.
    pub fn push_bytes(&mut self, b: Bytes) {
        self.remaining += b.len() as u64;
        self.pieces.push_back(Piece::Bytes(b));
    }

    /// Appends `len` bytes of the file at `offset`.
    pub fn push_file(&mut self, offset: u64, len: u64) {
        self.remaining += len;
        self.pieces.push_back(Piece::File { offset, len });
    }

    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        self.remaining
    }
}

/// Reads `len` bytes at `offset`; a file that shrank under us is an error, not a short body.
fn read_chunk(source: &Source, offset: u64, len: u64) -> io::Result<Bytes> {
    let mut buf = vec![0u8; len as usize];
    pread_exact(&source.file, offset, &mut buf).map_err(|e| {
        let what = if e.kind() == io::ErrorKind::UnexpectedEof {
            "the file shrank while being served".to_string()
        } else {
            e.to_string()
        };
        io::Error::new(
            e.kind(),
            format!(
                "{}: reading {len} bytes at {offset}: {what}",
                source.path.display()
            ),
        )
    })?;
    Ok(Bytes::from(buf))
}

#[cfg(unix)]
pub(crate) fn pread_exact(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
pub(crate) fn pread_exact(file: &File, mut offset: u64, mut buf: &mut [u8]) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short read")),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        loop {
            if let Some(reading) = &mut this.reading {
                let done = std::task::ready!(Pin::new(reading).poll(cx));
                this.reading = None;
                let chunk = match done {
                    Ok(Ok(chunk)) => chunk,
                    Ok(Err(e)) => return Poll::Ready(Some(Err(e))),
                    Err(e) => return Poll::Ready(Some(Err(io::Error::other(e)))),
                };
                this.remaining -= chunk.len() as u64;
                return Poll::Ready(Some(Ok(Frame::data(chunk))));
            }
            match this.pieces.pop_front() {
                None => return Poll::Ready(None),
                Some(Piece::Bytes(b)) => {
                    this.remaining -= b.len() as u64;
                    if !b.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(b))));
                    }
                }
                Some(Piece::File { offset, len }) => {
                    if len == 0 {
                        continue;
                    }
                    let n = len.min(CHUNK);
                    if len > n {
                        this.pieces.push_front(Piece::File {
                            offset: offset + n,
                            len: len - n,
                        });
                    }
                    let Some(source) = this.source.clone() else {
                        return Poll::Ready(Some(Err(io::Error::other(
                            "a file range in a body without a file",
                        ))));
                    };
                    this.reading = Some(tokio::task::spawn_blocking(move || {
                        read_chunk(&source, offset, n)
                    }));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.reading.is_none() && self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}
