//! The reader behind both remote stores: one object, pinned at open by its length and ETag,
//! read with conditional ranged GETs. [`RemoteStore`] is the public face; the HTTP and S3
//! stores are instances of it that differ only in how they are opened.

use crate::error::{is_range_refusal, unwrap_generic};
use crate::runtime::block_on;
use crate::Error;
use hexz_core::{Pin, ReadAt};
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use std::io;
use std::marker::PhantomData;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Ranges closer than this are fetched with one request by [`ReadAt::read_ranges`].
const COALESCE_BYTES: u64 = 1 << 20;

/// Bytes fetched from the end of the object when it is opened. One suffix GET gives the
/// object's length and ETag and, for all but huge archives, the footer, the index summary and
/// often the entries table, so opening costs this request plus one for the header.
const TAIL_BYTES: u64 = 256 * 1024;

/// A remote object read through [`ReadAt`]: the store behind [`crate::HttpStore`] and
/// `S3Store`, which name it with the protocol that opened it (`P`, a marker type).
///
/// The object's length and ETag are pinned at open and every ranged GET carries `If-Match`
/// on that ETag, so an object replaced after open is [`Error::Changed`], never a mix of old and
/// new bytes. Reads inside the tail fetched at open cost no request.
pub struct RemoteStore<P> {
    remote: Remote,
    protocol: PhantomData<fn() -> P>,
}

impl<P> RemoteStore<P> {
    /// Opens the object at `path` in `store`, pinning it (see [`Remote::open`]), or, given
    /// the `known` pin of an earlier open, with no request at all.
    pub(crate) fn pin(
        store: Arc<dyn ObjectStore>,
        path: ObjectPath,
        url: &str,
        known: Option<&Pin>,
    ) -> Result<RemoteStore<P>, Error> {
        let remote = match known {
            Some(pin) => Remote::pinned(store, path, url.to_string(), pin),
            None => Remote::open(store, path, url.to_string())?,
        };
        Ok(RemoteStore {
            remote,
            protocol: PhantomData,
        })
    }

    /// The object's URL.
    pub fn url(&self) -> &str {
        &self.remote.url
    }

    /// The ETag pinned when the store was opened, if the server sent one.
    pub fn etag(&self) -> Option<&str> {
        self.remote.etag.as_deref()
    }

    /// The object's length, pinned at open.
    pub fn object_len(&self) -> u64 {
        self.remote.len
    }

    /// How many requests this store has sent, the one at open included. A request the
    /// client retried counts once.
    pub fn requests(&self) -> u64 {
        self.remote.requests.load(Ordering::Relaxed)
    }
}

impl<P> ReadAt for RemoteStore<P> {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        Ok(self.remote.read_exact_at(offset, buf)?)
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.remote.len)
    }

    fn read_ranges(&self, ranges: &[(u64, usize)]) -> io::Result<Vec<Vec<u8>>> {
        Ok(self.remote.read_ranges(ranges, COALESCE_BYTES)?)
    }

    fn read_sparse(&self, ranges: &[(u64, usize)]) -> io::Result<Vec<Vec<u8>>> {
        Ok(self.remote.read_ranges(ranges, 0)?)
    }

    fn describe(&self) -> String {
        self.remote.url.clone()
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn identity(&self) -> Option<String> {
        self.remote.identity()
    }

    fn pin(&self) -> Option<Pin> {
        Some(Pin {
            len: self.remote.len,
            etag: self.remote.etag.clone(),
        })
    }
}

impl<P> std::fmt::Debug for RemoteStore<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteStore")
            .field("remote", &self.remote)
            .finish()
    }
}

/// One remote object, pinned at open: its length, its ETag and its last [`TAIL_BYTES`].
/// Shared by the HTTP and S3 stores.
struct Remote {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    url: String,
    len: u64,
    etag: Option<String>,
    /// The object's last bytes, from `tail_start` to the end; reads inside cost no request.
    tail: bytes::Bytes,
    tail_start: u64,
    /// Requests this store has made (a retry inside the client counts once).
    requests: AtomicU64,
}

impl Remote {
    /// Pins the object with one suffix GET: its length (from `Content-Range`), its ETag and
    /// its tail. A server that refuses suffix ranges gets a HEAD instead.
    fn open(store: Arc<dyn ObjectStore>, path: ObjectPath, url: String) -> Result<Remote, Error> {
        let mut remote = Remote {
            store,
            path,
            url,
            len: 0,
            etag: None,
            tail: bytes::Bytes::new(),
            tail_start: 0,
            requests: AtomicU64::new(1),
        };
        let opts = GetOptions {
            range: Some(GetRange::Suffix(TAIL_BYTES)),
            ..GetOptions::default()
        };
        let got = block_on(async {
            let res = remote.store.get_opts(&remote.path, opts).await?;
            let (meta, range) = (res.meta.clone(), res.range.clone());
            Ok::<_, object_store::Error>((meta, range, res.bytes().await?))
        });
        match got.map_err(unwrap_generic) {
            Ok((meta, range, tail)) => {
                if range.end != meta.size || tail.len() as u64 != range.end - range.start {
                    return Err(Error::BadResponse {
                        url: remote.url,
                        message: format!(
                            "asked for the last {TAIL_BYTES} bytes, got bytes {range:?} \
                             ({} of them) of {}",
                            tail.len(),
                            meta.size
                        ),
                    });
                }
                remote.len = meta.size;
                remote.etag = meta.e_tag;
                remote.tail = tail;
                remote.tail_start = range.start;
            }
            Err(e) if !is_range_refusal(&e) => {
                return Err(Error::from_object_store(&remote.url, e));
            }
            Err(_) => {
                // An empty object (no satisfiable range) or a server without suffix ranges.
                remote.requests.fetch_add(1, Ordering::Relaxed);
                let meta = block_on(remote.store.head(&remote.path))
                    .map_err(|e| Error::from_object_store(&remote.url, e))?;
                remote.len = meta.size;
                remote.etag = meta.e_tag;
                remote.tail_start = meta.size;
            }
        }
        Ok(remote)
    }

    /// The object as an earlier open pinned it: no request now, and no tail held.
    fn pinned(store: Arc<dyn ObjectStore>, path: ObjectPath, url: String, pin: &Pin) -> Remote {
        Remote {
            store,
            path,
            url,
            len: pin.len,
            etag: pin.etag.clone(),
            tail: bytes::Bytes::new(),
            tail_start: pin.len,
            requests: AtomicU64::new(0),
        }
    }

    /// The URL, the strong ETag pinned at open and the length: every ranged GET is
    /// conditional on that ETag, so bytes read under this identity are the object's. `None`
    /// without an ETag, or with a weak one (`W/"..."`, which promises no byte equality).
    fn identity(&self) -> Option<String> {
        let etag = self.etag.as_deref().filter(|e| !e.starts_with("W/"))?;
        Some(format!("{} etag={etag} len={}", self.url, self.len))
    }

    /// The bytes at `offset..offset + len` when the tail fetched at open holds them.
    fn in_tail(&self, offset: u64, len: usize) -> Option<&[u8]> {
        let start = offset.checked_sub(self.tail_start)? as usize;
        self.tail.get(start..start.checked_add(len)?)
    }

    fn check_bounds(&self, offset: u64, len: u64) -> Result<(), Error> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(Error::PastEnd {
                url: self.url.clone(),
                offset,
                len,
                size: self.len,
            }),
        }
    }
    /// One ranged GET with `If-Match` on the pinned ETag; checks what came back.
    async fn fetch(&self, range: Range<u64>) -> Result<bytes::Bytes, Error> {
        let want = range.end - range.start;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let opts = GetOptions {
            if_match: self.etag.clone(),
            range: Some(GetRange::Bounded(range.clone())),
            ..GetOptions::default()
        };
        let res = self
            .store
            .get_opts(&self.path, opts)
            .await
            .map_err(|e| Error::from_object_store(&self.url, e))?;
        if res.meta.e_tag != self.etag {
            return Err(Error::Changed {
                url: self.url.clone(),
                detail: format!(
                    "ETag {} at open, {} now",
                    self.etag.as_deref().unwrap_or("(none)"),
                    res.meta.e_tag.as_deref().unwrap_or("(none)")
                ),
            });
        }
        if res.meta.size != self.len {
            return Err(Error::Changed {
                url: self.url.clone(),
                detail: format!("{} bytes at open, {} now", self.len, res.meta.size),
            });
        }
        if res.range != range {
            return Err(Error::BadResponse {
                url: self.url.clone(),
                message: format!("asked for bytes {range:?}, got {:?}", res.range),
            });
        }
        let bytes = res
            .bytes()
            .await
            .map_err(|e| Error::from_object_store(&self.url, e))?;
        if bytes.len() as u64 != want {
            return Err(Error::BadResponse {
                url: self.url.clone(),
                message: format!(
                    "asked for {want} bytes at {}, got {}",
                    range.start,
                    bytes.len()
                ),
            });
        }
        Ok(bytes)
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        self.check_bounds(offset, buf.len() as u64)?;
        if buf.is_empty() {
            return Ok(());
        }
        if let Some(held) = self.in_tail(offset, buf.len()) {
            buf.copy_from_slice(held);
            return Ok(());
        }
        let bytes = block_on(self.fetch(offset..offset + buf.len() as u64))?;
        buf.copy_from_slice(&bytes);
        Ok(())
    }

    /// Fetches `ranges` concurrently, merging those less than `merge_gap` bytes apart.
    fn read_ranges(&self, ranges: &[(u64, usize)], merge_gap: u64) -> Result<Vec<Vec<u8>>, Error> {
        let mut wanted = Vec::with_capacity(ranges.len());
        for &(off, len) in ranges {
            self.check_bounds(off, len as u64)?;
            if len > 0 && self.in_tail(off, len).is_none() {
                wanted.push(off..off + len as u64);
            }
        }
        let fetched = if wanted.is_empty() {
            Vec::new()
        } else {
            block_on(object_store::coalesce_ranges(
                &wanted,
                |r| self.fetch(r),
                merge_gap,
            ))?
        };
        let mut fetched = fetched.into_iter();
        let mut out = Vec::with_capacity(ranges.len());
        for &(off, len) in ranges {
            if len == 0 {
                out.push(Vec::new());
            } else if let Some(held) = self.in_tail(off, len) {
                out.push(held.to_vec());
            } else {
                let bytes = fetched.next().ok_or_else(|| Error::BadResponse {
                    url: self.url.clone(),
                    message: "fewer ranges came back than were asked for".into(),
                })?;
                out.push(bytes.to_vec());
            }
        }
        Ok(out)
    }
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("url", &self.url)
            .field("len", &self.len)
            .field("etag", &self.etag)
            .finish()
    }
}
