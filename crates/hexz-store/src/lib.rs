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

/// Client settings and retry policy shared by every store.
mod client;
/// The crate's error type and how `object_store` errors map onto it.
mod error;
/// `http://` and `https://` objects ([`HttpStore`]).
mod http;
/// Explicit S3 settings ([`S3Options`]), whatever features are built.
mod options;
/// The AWS shared config and credentials files.
#[cfg(feature = "s3")]
mod profile;
/// The pinned remote object behind every store ([`RemoteStore`]).
mod remote;
/// The per-process tokio runtime the synchronous API blocks on.
mod runtime;
/// `s3://bucket/key` objects (`S3Store`).
#[cfg(feature = "s3")]
mod s3;
/// Writing archives to a path or an `s3://` URL ([`create_sink`]).
mod upload;
/// Which store a URL or path opens ([`open_url`]), and URL parsing.
mod url;

pub use self::url::{is_url, open_url, open_url_pinned, open_url_with, url_scheme};
pub use error::Error;
pub use http::{Http, HttpStore};
pub use options::S3Options;
pub use remote::RemoteStore;
#[cfg(feature = "s3")]
pub use s3::{S3Store, S3};
pub use upload::create_sink;
#[cfg(feature = "s3")]
pub use upload::{S3Sink, UploadConfig};
