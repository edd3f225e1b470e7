//! Writing archives: [`create_sink`] picks a [`Sink`] for a path or URL, and [`S3Sink`]
//! (feature `s3`) uploads to `s3://bucket/key` with a multipart upload as the archive is
//! written.
//!
//! The archive format is append-only, so a sink never seeks: the S3 sink cuts the byte stream
//! into parts, uploads a bounded number of them at a time on the crate's runtime while the
//! writer keeps compressing, and completes the upload on [`Sink::commit`]. Until then no
//! object exists at the key (an existing one stays as it was); dropping the sink uncommitted,
//! or any error, aborts the upload so that no parts are left behind either.

use crate::{Error, S3Options};
use hexz_core::{FileSink, Sink};
use std::io;

#[cfg(feature = "s3")]
pub use self::s3::{S3Sink, UploadConfig};

/// Opens the [`Sink`] an archive writer writes `url_or_path` through: a [`FileSink`] (a
/// temporary file renamed into place on commit) for a local path or a `file://` URL, an
/// [`S3Sink`] for `s3://bucket/key` (feature `s3`; `s3` settings override the environment).
/// HTTP(S) URLs are refused: HTTP servers are read-only here.
pub fn create_sink(url_or_path: &str, s3: &S3Options) -> io::Result<Box<dyn Sink>> {
    #[cfg(not(feature = "s3"))]
    let _ = s3;
    let local = |path: &std::path::Path| -> io::Result<Box<dyn Sink>> {
        match FileSink::create(path) {
            Ok(sink) => Ok(Box::new(sink)),
            Err(e) => Err(io::Error::new(
                e.kind(),
                format!("cannot create {}: {e}", path.display()),
            )),
        }
    };
    let Some(scheme) = crate::url::url_scheme(url_or_path) else {
        return local(std::path::Path::new(url_or_path));
    };
    let url = url_or_path.to_string();
    match scheme.as_str() {
        #[cfg(feature = "s3")]
        "s3" => Ok(Box::new(S3Sink::create(url_or_path, s3)?)),
        "http" | "https" => Err(Error::InvalidUrl {
            url,
            reason: "HTTP servers are read-only; write to a local path or s3://".into(),
        }
        .into()),
        "file" => {
            let parsed = crate::url::parse_url(url_or_path)?;
            let path = parsed.to_file_path().map_err(|()| Error::InvalidUrl {
                url,
                reason: "not a local file path".into(),
            })?;
            local(&path)
        }
        _ => Err(Error::UnsupportedScheme {
            scheme,
            url,
            supported: WRITABLE,
        }
        .into()),
    }
}

#[cfg(feature = "s3")]
const WRITABLE: &str = "s3, file, or a local path";
#[cfg(not(feature = "s3"))]
const WRITABLE: &str = "file, or a local path (s3 needs the `s3` feature)";

#[cfg(feature = "s3")]
mod s3 {
    use crate::error::{chain_text, server_message, unwrap_generic};
    use crate::runtime::{block_on, runtime};
    use crate::{Error, S3Options};
    use hexz_core::Sink;
    use object_store::aws::AmazonS3ConfigKey;
    use object_store::{
        BackoffConfig, ClientConfigKey, MultipartUpload, ObjectStore, PutMultipartOptions,
        PutPayload, RetryConfig,
    };
    use std::collections::VecDeque;
    use std::io::{self, Write};
    use std::time::Duration;
    use tokio::task::JoinHandle;

    /// S3's smallest part (all but the last part must be at least this long).
    const MIN_PART_SIZE: usize = 5 << 20;
    /// S3's largest part.
    const MAX_PART_SIZE: usize = 5 << 30;
    /// S3's most parts in one upload.
    const MAX_PARTS: usize = 10_000;
    /// The part size doubles after every this many parts, so that 10,000 parts reach S3's
    /// largest object (5 TiB) while archives below `1000 × part_size` keep the small parts.
    const PARTS_PER_SIZE: usize = 1000;
    /// How long one request (a whole part upload included) may take.
    const REQUEST_TIMEOUT: &str = "600s";

    /// Part size and upload concurrency of an [`S3Sink`]. Memory stays below
    /// `(max_in_flight + 1) × part_size` (40 MiB by default) for archives up to
    /// `1000 × part_size`; beyond that the part size doubles every 1000 parts, as S3 allows at
    /// most 10,000 parts.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct UploadConfig {
        /// Bytes per part (default 8 MiB); at least 5 MiB, S3's smallest part.
        pub part_size: usize,
        /// Parts uploading at once (default 4); the writer waits when that many are in flight.
        pub max_in_flight: usize,
    }

    impl Default for UploadConfig {
        fn default() -> UploadConfig {
            UploadConfig {
                part_size: 8 << 20,
                max_in_flight: 4,
            }
        }
    }

    impl UploadConfig {
        /// The defaults: 8 MiB parts, 4 in flight.
        pub fn new() -> UploadConfig {
            UploadConfig::default()
        }

        /// Sets [`UploadConfig::part_size`] (raised to 5 MiB when smaller).
        pub fn part_size(mut self, bytes: usize) -> UploadConfig {
            self.part_size = bytes;
            self
        }

        /// Sets [`UploadConfig::max_in_flight`] (at least 1).
        pub fn max_in_flight(mut self, parts: usize) -> UploadConfig {
            self.max_in_flight = parts;
            self
        }

        /// The size of part number `index` (from 0).
        pub(crate) fn size_of_part(&self, index: usize) -> usize {
            let base = self.part_size.clamp(MIN_PART_SIZE, MAX_PART_SIZE);
            let doublings = (index / PARTS_PER_SIZE).min(20) as u32;
            base.saturating_mul(1 << doublings).min(MAX_PART_SIZE)
        }
    }

    /// Uploads an archive to `s3://bucket/key` with an S3 multipart upload as it is written.
    ///
    /// Creating the sink starts the upload (so a missing bucket or refused credentials fail
    /// before any work is done). Written bytes fill a part buffer; each full part is uploaded
    /// on the crate's runtime while writing goes on, with at most
    /// [`UploadConfig::max_in_flight`] parts in flight, so memory stays bounded and uploading
    /// overlaps compression. [`Sink::commit`] uploads the last part and completes the upload,
    /// which makes the object appear (replacing an existing one) in one step. Dropping the sink
    /// uncommitted, or any failed part or completion, aborts the upload: no object appears, an
    /// existing object is untouched, and no uploaded parts are left behind. (A process killed
    /// outright cannot abort; a bucket lifecycle rule `AbortIncompleteMultipartUpload` cleans
    /// those up.)
    pub struct S3Sink {
        url: String,
        config: UploadConfig,
        /// `None` once completed or aborted.
        upload: Option<Box<dyn MultipartUpload>>,
        /// The part being filled; its capacity is the part's size.
        buf: Vec<u8>,
        part_size: usize,
        /// Parts handed to the runtime so far.
        parts: usize,
        in_flight: VecDeque<JoinHandle<object_store::Result<()>>>,
        /// The first failure; every later call repeats it.
        failed: Option<(io::ErrorKind, String)>,
        written: u64,
    }

    impl std::fmt::Debug for S3Sink {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("S3Sink")
                .field("url", &self.url)
                .field("config", &self.config)
                .field("parts", &self.parts)
                .field("in_flight", &self.in_flight.len())
                .field("written", &self.written)
                .finish()
        }
    }

    impl S3Sink {
        /// Starts a multipart upload to `s3://bucket/key`, configured from the environment and
        /// `options` (as [`crate::S3Store`] is), with the default [`UploadConfig`].
        pub fn create(url: &str, options: &S3Options) -> Result<S3Sink, Error> {
            S3Sink::create_with(url, options, UploadConfig::default())
        }

        /// [`S3Sink::create`] with an explicit part size and concurrency.
        pub fn create_with(
            url: &str,
            options: &S3Options,
            config: UploadConfig,
        ) -> Result<S3Sink, Error> {
            let (bucket, key) = crate::s3::parse_s3_url(url)?;
            let store = crate::s3::builder(&bucket, options, url)?
                // A request carries a whole part, so it gets longer than a ranged read, and
                // retries of a slow part may go on for as long.
                .with_config(
                    AmazonS3ConfigKey::Client(ClientConfigKey::Timeout),
                    REQUEST_TIMEOUT,
                )
                .with_retry(RetryConfig {
                    backoff: BackoffConfig::default(),
                    max_retries: 5,
                    retry_timeout: Duration::from_secs(1800),
                })
                .build()
                .map_err(|e| classify_create(url, &bucket, e))?;
            let upload = block_on(store.put_multipart_opts(&key, PutMultipartOptions::default()))
                .map_err(|e| classify_create(url, &bucket, e))?;
            let part_size = config.size_of_part(0);
            Ok(S3Sink {
                url: url.to_string(),
                config,
                upload: Some(upload),
                buf: Vec::with_capacity(part_size),
                part_size,
                parts: 0,
                in_flight: VecDeque::new(),
                failed: None,
                written: 0,
            })
        }

        /// The object's URL.
        pub fn url(&self) -> &str {
            &self.url
        }

        /// Bytes written so far.
        pub fn written(&self) -> u64 {
            self.written
        }

        /// Parts handed to the upload so far (uploaded or in flight).
        pub fn parts(&self) -> usize {
            self.parts
        }

        /// Aborts the upload now and reports whether the server accepted the abort (dropping
        /// the sink does the same, silently).
        pub fn abort(mut self) -> io::Result<()> {
            match self.upload.take() {
                Some(upload) => {
                    let in_flight = std::mem::take(&mut self.in_flight);
                    abort_upload(upload, in_flight).map_err(|e| self.fail(classify(&self.url, e)))
                }
                None => Ok(()),
            }
        }

        /// Records the first failure and returns it as an [`io::Error`].
        fn fail(&mut self, e: Error) -> io::Error {
            let err = io::Error::from(e);
            if self.failed.is_none() {
                self.failed = Some((err.kind(), err.to_string()));
            }
            err
        }

        fn check(&self) -> io::Result<()> {
            match &self.failed {
                Some((kind, msg)) => Err(io::Error::new(*kind, msg.clone())),
                None if self.upload.is_none() => Err(io::Error::other(format!(
                    "{}: the upload is already finished",
                    self.url
                ))),
                None => Ok(()),
            }
        }

        /// Waits for one part upload and checks its outcome.
        fn join(&mut self, part: JoinHandle<object_store::Result<()>>) -> io::Result<()> {
            match block_on(part) {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(self.fail(classify(&self.url, e))),
                Err(e) => Err(self.fail(Error::BadResponse {
                    url: self.url.clone(),
                    message: format!("a part upload did not finish: {e}"),
                })),
            }
        }

        /// Collects the parts that finished, failing on the first that failed.
        fn reap(&mut self) -> io::Result<()> {
            while self.in_flight.front().is_some_and(|h| h.is_finished()) {
                if let Some(h) = self.in_flight.pop_front() {
                    self.join(h)?;
                }
            }
            Ok(())
        }

        /// Hands the buffered part to the runtime, first waiting until fewer than
        /// `max_in_flight` parts are uploading.
        fn send_part(&mut self) -> io::Result<()> {
            self.reap()?;
            while self.in_flight.len() >= self.config.max_in_flight.max(1) {
                if let Some(h) = self.in_flight.pop_front() {
                    self.join(h)?;
                }
            }
            if self.parts >= MAX_PARTS {
                return Err(self.fail(Error::BadResponse {
                    url: self.url.clone(),
                    message: format!(
                        "the archive needs more than S3's {MAX_PARTS} parts; use a larger part size"
                    ),
                }));
            }
            let next = self.config.size_of_part(self.parts + 1);
            let data = std::mem::replace(&mut self.buf, Vec::with_capacity(next));
            let Some(upload) = self.upload.as_mut() else {
                return self.check();
            };
            let part = upload.put_part(PutPayload::from(bytes::Bytes::from(data)));
            self.in_flight.push_back(runtime().spawn(part));
            self.parts += 1;
            self.part_size = next;
            Ok(())
        }
    }

    impl Write for S3Sink {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.check()?;
            if data.is_empty() {
                return Ok(0);
            }
            let n = data.len().min(self.part_size - self.buf.len());
            self.buf.extend_from_slice(&data[..n]);
            self.written += n as u64;
            if self.buf.len() == self.part_size {
                self.send_part()?;
            }
            Ok(n)
        }

        /// Parts are uploaded once full (S3 needs 5 MiB parts), so this only reports a failure
        /// that already happened.
        fn flush(&mut self) -> io::Result<()> {
            self.check()
        }
    }

    impl Sink for S3Sink {
        fn commit(mut self: Box<Self>) -> io::Result<()> {
            self.check()?;
            if !self.buf.is_empty() || self.parts == 0 {
                self.send_part()?;
            }
            while let Some(h) = self.in_flight.pop_front() {
                self.join(h)?;
            }
            let Some(mut upload) = self.upload.take() else {
                return self.check();
            };
            match block_on(upload.complete()) {
                Ok(_) => Ok(()),
                Err(e) => {
                    let err = classify(&self.url, e);
                    let _ = abort_upload(upload, VecDeque::new());
                    Err(self.fail(err))
                }
            }
        }

        fn describe(&self) -> String {
            self.url.clone()
        }
    }

    impl Drop for S3Sink {
        fn drop(&mut self) {
            if let Some(upload) = self.upload.take() {
                let _ = abort_upload(upload, std::mem::take(&mut self.in_flight));
            }
        }
    }

    /// Cancels the part uploads still running, waits for them to stop, then aborts the upload,
    /// which deletes the parts already stored.
    fn abort_upload(
        mut upload: Box<dyn MultipartUpload>,
        in_flight: VecDeque<JoinHandle<object_store::Result<()>>>,
    ) -> object_store::Result<()> {
        for h in &in_flight {
            h.abort();
        }
        block_on(async move {
            for h in in_flight {
                let _ = h.await;
            }
            upload.abort().await
        })
    }

    /// Classifies an error of starting the upload to `url`: the key need not exist, so a 404
    /// there (S3's `NoSuchBucket`) means the bucket does not.
    fn classify_create(url: &str, bucket: &str, e: object_store::Error) -> Error {
        match unwrap_generic(e) {
            object_store::Error::NotFound { .. } => Error::BucketNotFound {
                url: url.to_string(),
                bucket: bucket.to_string(),
            },
            e => classify(url, e),
        }
    }

    /// Classifies an error of the upload requests for `url`. A refusal says why in S3's own
    /// words (its error body's code and message).
    fn classify(url: &str, e: object_store::Error) -> Error {
        match unwrap_generic(e) {
            e @ (object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. }) => Error::PermissionDenied {
                url: url.to_string(),
                message: server_message(&chain_text(&e)),
            },
            e => Error::from_object_store(url, e),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn part_sizes() {
            let c = UploadConfig::default();
            assert_eq!(c.size_of_part(0), 8 << 20);
            assert_eq!(c.size_of_part(999), 8 << 20);
            assert_eq!(c.size_of_part(1000), 16 << 20);
            assert_eq!(c.size_of_part(9999), (8 << 20) << 9);
            let total: u64 = (0..MAX_PARTS).map(|i| c.size_of_part(i) as u64).sum();
            assert!(total >= 5 << 40, "10,000 parts hold {total} bytes");
            assert_eq!(
                UploadConfig::new().part_size(1).size_of_part(0),
                MIN_PART_SIZE
            );
            assert_eq!(
                UploadConfig::new().part_size(usize::MAX).size_of_part(0),
                MAX_PART_SIZE
            );
        }
    }
}
