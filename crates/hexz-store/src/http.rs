//! `http://` and `https://` objects read with Range requests.

use crate::client::{client_options, retry_config};
use crate::url::parse_url;
use crate::{Error, RemoteStore};
use hexz_core::Pin;
use object_store::http::HttpBuilder;
use object_store::path::Path as ObjectPath;
use std::sync::Arc;

/// Marks a [`RemoteStore`] opened from an `http://` or `https://` URL.
#[derive(Debug)]
pub enum Http {}

/// An object behind an `http://` or `https://` URL, read with ranged GETs
/// (`Range: bytes=a-b`, `If-Match` on the ETag seen at open).
///
/// Opening costs one suffix GET, which gives the length, the ETag and the archive's tail.
pub type HttpStore = RemoteStore<Http>;

impl RemoteStore<Http> {
    /// Opens `url` (`http://` or `https://`; no query string or fragment).
    pub fn open(url: &str) -> Result<HttpStore, Error> {
        HttpStore::open_pinned(url, None)
    }

    /// Opens `url` as [`HttpStore::open`] does or, given the pin of an earlier open of the same
    /// URL ([`hexz_core::ReadAt::pin`]), without a request.
    pub fn open_pinned(url: &str, pin: Option<&Pin>) -> Result<HttpStore, Error> {
        let parsed = parse_url(url)?;
        let invalid = |reason: &str| Error::InvalidUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid("not an http:// or https:// URL"));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(invalid("query strings and fragments are not supported"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(invalid("credentials in the URL are not supported"));
        }
        let host = parsed.host_str().ok_or_else(|| invalid("no host"))?;
        let path = ObjectPath::from_url_path(parsed.path())
            .map_err(|e| invalid(&format!("bad object path: {e}")))?;
        if path.as_ref().is_empty() {
            return Err(invalid("no object path"));
        }
        let base = match parsed.port() {
            Some(port) => format!("{}://{host}:{port}/", parsed.scheme()),
            None => format!("{}://{host}/", parsed.scheme()),
        };
        let store = HttpBuilder::new()
            .with_url(base)
            .with_client_options(client_options(true))
            .with_retry(retry_config())
            .build()
            .map_err(|e| Error::from_object_store(url, e))?;
        RemoteStore::pin(Arc::new(store), path, url, pin)
    }
}
