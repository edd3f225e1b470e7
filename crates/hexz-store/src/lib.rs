//! Remote storage for Hexz archives.
//!
//! This crate implements [`hexz_core::ReadAt`] for objects behind `http://` / `https://` URLs
//! (HTTP Range requests) and, with the default `s3` feature, for `s3://bucket/key` objects in
//! S3 or any S3-compatible server. The core stays synchronous: each store owns no threads of its
//! own but shares one small tokio runtime, private to this crate, and its `ReadAt` methods block
//! on it.
//!
//! Every store pins the object's ETag when it is opened and sends it as `If-Match` on every
//! ranged GET, so an object replaced after open is a clear error ([`Error::Changed`]), never a
//! mix of old and new bytes.
//!
//! [`open_url`] picks the store from a URL's scheme; plain paths open a local
//! [`hexz_core::FileStore`].

use hexz_core::{FileStore, ReadAt};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, RetryConfig,
};
use std::future::Future;
use std::io;
use std::ops::Range;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;
use url::Url;

#[cfg(feature = "s3")]
mod profile;
#[cfg(feature = "s3")]
mod s3;
#[cfg(feature = "s3")]
pub use s3::S3Store;

mod options;
pub use options::S3Options;

mod http;
pub use http::HttpStore;

mod upload;
pub use upload::create_sink;
#[cfg(feature = "s3")]
pub use upload::{S3Sink, UploadConfig};

/// Ranges closer than this are fetched with one request by [`ReadAt::read_ranges`].
const COALESCE_BYTES: u64 = 1 << 20;

/// Errors of this crate's own API. Converted to [`std::io::Error`] at the [`ReadAt`] boundary,
/// keeping the kind ([`io::ErrorKind::NotFound`] for a missing object,
/// [`io::ErrorKind::PermissionDenied`] for 401/403) and a message naming the URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL could not be parsed or lacks a part the store needs.
    #[error("invalid URL {url}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The URL's scheme names no store this build supports.
    #[error("unsupported URL scheme {scheme:?} in {url} (supported: {supported})")]
    UnsupportedScheme {
        /// The scheme.
        scheme: String,
        /// The URL as given.
        url: String,
        /// The schemes this build supports.
        supported: &'static str,
    },
    /// The bucket a write names does not exist.
    #[error("{url}: bucket {bucket:?} does not exist")]
    BucketNotFound {
        /// The object's URL.
        url: String,
        /// The bucket.
        bucket: String,
    },
    /// The object does not exist (HTTP 404).
    #[error("{url}: not found")]
    NotFound {
        /// The object's URL.
        url: String,
    },
    /// Access was refused (HTTP 401/403, bad or missing credentials).
    #[error("{url}: permission denied: {message}")]
    PermissionDenied {
        /// The object's URL.
        url: String,
        /// The server's or client's explanation.
        message: String,
    },
    /// The object was replaced or changed after it was opened.
    #[error("{url}: the object changed after it was opened ({detail}); reopen it to read the new version")]
    Changed {
        /// The object's URL.
        url: String,
        /// What differed (ETag, length, or a failed `If-Match`).
        detail: String,
    },
    /// A read past the end of the object.
    #[error("{url}: read of {len} bytes at offset {offset} is past the end ({size} bytes)")]
    PastEnd {
        /// The object's URL.
        url: String,
        /// The requested offset.
        offset: u64,
        /// The requested length.
        len: u64,
        /// The object's length.
        size: u64,
    },
    /// The server answered, but not as HTTP or S3 say it should.
    #[error("{url}: bad response: {message}")]
    BadResponse {
        /// The object's URL.
        url: String,
        /// What was wrong.
        message: String,
    },
    /// A configuration problem outside any one URL (an AWS profile that does not exist, an
    /// unreadable AWS config file).
    #[error("{0}")]
    Config(String),
    /// Any other failure of the underlying client (network, configuration, server error).
    #[error("{url}: {source}")]
    Remote {
        /// The object's URL.
        url: String,
        /// The underlying error.
        #[source]
        source: object_store::Error,
    },
}

impl Error {
    /// The [`io::ErrorKind`] this error maps to.
    pub fn io_kind(&self) -> io::ErrorKind {
        match self {
            Error::InvalidUrl { .. } | Error::UnsupportedScheme { .. } | Error::Config(_) => {
                io::ErrorKind::InvalidInput
            }
            Error::NotFound { .. } | Error::BucketNotFound { .. } => io::ErrorKind::NotFound,
            Error::PermissionDenied { .. } => io::ErrorKind::PermissionDenied,
            Error::PastEnd { .. } => io::ErrorKind::UnexpectedEof,
            Error::BadResponse { .. } => io::ErrorKind::InvalidData,
            Error::Changed { .. } | Error::Remote { .. } => io::ErrorKind::Other,
        }
    }

    /// Classifies an `object_store` error for `url`.
    fn from_object_store(url: &str, e: object_store::Error) -> Error {
        let url = url.to_string();
        match unwrap_generic(e) {
            object_store::Error::NotFound { .. } => Error::NotFound { url },
            object_store::Error::PermissionDenied { source, .. }
            | object_store::Error::Unauthenticated { source, .. } => Error::PermissionDenied {
                url,
                message: source.to_string(),
            },
            object_store::Error::Precondition { .. } => Error::Changed {
                url,
                detail: "If-Match on the ETag seen at open failed (412)".into(),
            },
            // S3 answers some credential problems with 400 rather than 403.
            source if is_credential_error(&source) => Error::PermissionDenied {
                url,
                message: source.to_string(),
            },
            source => Error::Remote { url, source },
        }
    }
}

/// S3 error codes that mean "these credentials will not do", whatever the HTTP status.
fn is_credential_error(e: &object_store::Error) -> bool {
    let msg = e.to_string();
    [
        "InvalidToken",
        "ExpiredToken",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
    ]
    .iter()
    .any(|code| msg.contains(code))
}

/// object_store reports some errors met while resuming a cut-off body (a 412 because the
/// object was replaced, a 404 because it was deleted) as `Generic` around the real error:
/// unwrap it so it is classified like the same error on a first request.
fn unwrap_generic(e: object_store::Error) -> object_store::Error {
    match e {
        object_store::Error::Generic { store, source } => {
            match source.downcast::<object_store::Error>() {
                Ok(inner) => unwrap_generic(*inner),
                Err(source) => object_store::Error::Generic { store, source },
            }
        }
        e => e,
    }
}

/// Whether `e` says the server cannot serve a suffix range (416 or "range not supported" for
/// an empty object, a server without Range support answering 200), as opposed to failing
/// outright. object_store has no variant for most of these, so this reads its message.
fn is_range_refusal(e: &object_store::Error) -> bool {
    if matches!(e, object_store::Error::NotSupported { .. }) {
        return true; // The HTTP client's "range not supported" (e.g. an empty object).
    }
    let msg = e.to_string();
    ["416", "non-partial", "Content-Range", "Requested "]
        .iter()
        .any(|m| msg.contains(m))
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        io::Error::new(e.io_kind(), e)
    }
}

/// Opens `url` as a [`ReadAt`]: `http://` and `https://` as an [`HttpStore`], `s3://` as an
/// `S3Store` (configured from the environment; feature `s3`), `file://` URLs and plain paths as a
/// local [`FileStore`].
pub fn open_url(url: &str) -> io::Result<Arc<dyn ReadAt>> {
    open_url_with(url, &S3Options::default())
}

/// [`open_url`] with explicit S3 settings (used for `s3://` URLs only; they override the
/// environment).
pub fn open_url_with(url: &str, s3: &S3Options) -> io::Result<Arc<dyn ReadAt>> {
    #[cfg(not(feature = "s3"))]
    let _ = s3;
    match scheme_of(url) {
        None => Ok(Arc::new(FileStore::open(url)?)),
        Some(scheme) => match scheme.as_str() {
            "http" | "https" => Ok(Arc::new(HttpStore::open(url)?)),
            #[cfg(feature = "s3")]
            "s3" => Ok(Arc::new(S3Store::open_with(url, s3)?)),
            "file" => {
                let parsed = parse_url(url)?;
                let path = parsed.to_file_path().map_err(|()| Error::InvalidUrl {
                    url: url.to_string(),
                    reason: "not a local file path".into(),
                })?;
                Ok(Arc::new(FileStore::open(path)?))
            }
            _ => Err(Error::UnsupportedScheme {
                scheme,
                url: url.to_string(),
                supported: SUPPORTED,
            }
            .into()),
        },
    }
}

#[cfg(feature = "s3")]
const SUPPORTED: &str = "http, https, s3, file";
#[cfg(not(feature = "s3"))]
const SUPPORTED: &str = "http, https, file (s3 needs the `s3` feature)";

/// Whether `s` is a URL (`scheme://...`) rather than a local path. `file://` URLs count.
pub fn is_url(s: &str) -> bool {
    scheme_of(s).is_some()
}

/// The lowercase scheme of `s` when it looks like a URL (`scheme://...`), else `None`.
fn scheme_of(s: &str) -> Option<String> {
    let (scheme, _) = s.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then(|| scheme.to_ascii_lowercase())
}

fn parse_url(url: &str) -> Result<Url, Error> {
    Url::parse(url).map_err(|e| Error::InvalidUrl {
        url: url.to_string(),
        reason: e.to_string(),
    })
}

/// The crate's shared runtime: two worker threads, started on first use.
fn runtime() -> &'static Runtime {
    // (pid, runtime). A forked child (a DataLoader worker) must not use its parent's runtime:
    // the worker threads do not exist in the child, and the epoll instance and wake-up eventfd
    // are shared with the parent, so using them hangs the child and can hang the parent. The
    // child builds its own; the parent's is leaked there, never dropped or touched.
    static RT: AtomicPtr<(u32, Runtime)> = AtomicPtr::new(std::ptr::null_mut());
    let pid = std::process::id();
    loop {
        let cur = RT.load(Ordering::Acquire);
        if !cur.is_null() {
            // SAFETY: a published pointer is never freed.
            let (p, rt) = unsafe { &*cur };
            if *p == pid {
                return rt;
            }
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hexz-store")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("hexz-store: cannot start the tokio runtime: {e}"));
        let new = Box::into_raw(Box::new((pid, rt)));
        match RT.compare_exchange(cur, new, Ordering::AcqRel, Ordering::Acquire) {
            // SAFETY: just published; never freed.
            Ok(_) => return unsafe { &(*new).1 },
            // SAFETY: `new` was never published.
            Err(_) => drop(unsafe { Box::from_raw(new) }),
        }
    }
}

/// Runs `fut` to completion on the crate's runtime, from sync code. Called from inside another
/// tokio runtime, it blocks a helper thread instead so that runtime does not panic.
fn block_on<F>(fut: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| {
            s.spawn(|| runtime().block_on(fut))
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    } else {
        runtime().block_on(fut)
    }
}

/// Bytes fetched from the end of the object when it is opened. One suffix GET gives the
/// object's length and ETag and, for all but huge archives, the footer, the index summary and
/// often the entries table, so opening costs this request plus one for the header.
const TAIL_BYTES: u64 = 256 * 1024;

/// Retries on 5xx, 429, timeouts and dropped connections (also mid-body, resuming where the
/// body broke off): at most this many, with exponential backoff and jitter...
const MAX_RETRIES: usize = 5;
/// ...and never past this long after the first attempt.
const RETRY_TIMEOUT: Duration = Duration::from_secs(30);
/// A connection attempt that takes longer than this fails (and is retried).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A request whose response has not fully arrived after this long fails (and is retried).
/// Requests are at most a few MiB, so this is generous even on slow links.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Client settings shared by every store: timeouts and plain HTTP allowed (the S3 builder
/// narrows that to loopback unless asked).
fn client_options(allow_http: bool) -> ClientOptions {
    ClientOptions::new()
        .with_allow_http(allow_http)
        .with_connect_timeout(CONNECT_TIMEOUT)
        .with_timeout(REQUEST_TIMEOUT)
}

/// The retry policy of every store (see [`MAX_RETRIES`]).
fn retry_config() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            base: 2.0,
        },
        max_retries: MAX_RETRIES,
        retry_timeout: RETRY_TIMEOUT,
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
        match got {
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

    /// Fetches `ranges` concurrently, merging those less than [`COALESCE_BYTES`] apart.
    fn read_ranges(&self, ranges: &[(u64, usize)]) -> Result<Vec<Vec<u8>>, Error> {
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
                COALESCE_BYTES,
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

/// Implements [`ReadAt`] for a newtype over [`Remote`] (field `remote`).
macro_rules! impl_read_at {
    ($t:ty) => {
        impl hexz_core::ReadAt for $t {
            fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
                Ok(self.remote.read_exact_at(offset, buf)?)
            }

            fn len(&self) -> std::io::Result<u64> {
                Ok(self.remote.len)
            }

            fn read_ranges(&self, ranges: &[(u64, usize)]) -> std::io::Result<Vec<Vec<u8>>> {
                Ok(self.remote.read_ranges(ranges)?)
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
        }

        impl $t {
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

            /// How many requests this store has sent, the one at open included. A request
            /// the client retried counts once.
            pub fn requests(&self) -> u64 {
                self.remote
                    .requests
                    .load(std::sync::atomic::Ordering::Relaxed)
            }
        }
    };
}
use impl_read_at;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(scheme_of("s3://b/k").as_deref(), Some("s3"));
        assert_eq!(scheme_of("HTTP://h/x").as_deref(), Some("http"));
        assert_eq!(scheme_of("/tmp/a.hxz"), None);
        assert_eq!(scheme_of("dir/a://b"), None);
        let err = open_url("ftp://h/x").err().map(|e| e.kind());
        assert_eq!(err, Some(io::ErrorKind::InvalidInput));
    }
}
