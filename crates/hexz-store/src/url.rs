//! URL dispatch: which store a URL or path opens, and the URL parsing the stores share.

#[cfg(feature = "s3")]
use crate::S3Store;
use crate::{Error, HttpStore, S3Options};
use hexz_core::{FileStore, Pin, ReadAt};
use std::io;
use std::sync::Arc;
use url::Url;

/// Opens `url` as a [`ReadAt`]: `http://` and `https://` as an [`HttpStore`], `s3://` as an
/// `S3Store` (configured from the environment; feature `s3`), `file://` URLs and plain paths as a
/// local [`FileStore`].
pub fn open_url(url: &str) -> io::Result<Arc<dyn ReadAt>> {
    open_url_with(url, &S3Options::default())
}

/// [`open_url`] with explicit S3 settings (used for `s3://` URLs only; they override the
/// environment).
pub fn open_url_with(url: &str, s3: &S3Options) -> io::Result<Arc<dyn ReadAt>> {
    open_url_pinned(url, s3, None)
}

/// [`open_url_with`] that, given the pin of an earlier open of the same remote URL
/// ([`ReadAt::pin`]: its length and ETag), opens it without a request; another process (a
/// DataLoader worker) reopens an archive this way for free. Local paths ignore `pin`.
pub fn open_url_pinned(
    url: &str,
    s3: &S3Options,
    pin: Option<&Pin>,
) -> io::Result<Arc<dyn ReadAt>> {
    #[cfg(not(feature = "s3"))]
    let _ = s3;
    match url_scheme(url) {
        None => Ok(Arc::new(FileStore::open(url)?)),
        Some(scheme) => match scheme.as_str() {
            "http" | "https" => Ok(Arc::new(HttpStore::open_pinned(url, pin)?)),
            #[cfg(feature = "s3")]
            "s3" => Ok(Arc::new(S3Store::open_pinned(url, s3, pin)?)),
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
    url_scheme(s).is_some()
}

/// The lowercase scheme of `s` when it looks like a URL (`scheme://...`), else `None`.
pub fn url_scheme(s: &str) -> Option<String> {
    let (scheme, _) = s.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then(|| scheme.to_ascii_lowercase())
}

/// Parses `url`, as [`Error::InvalidUrl`] when it cannot be.
pub(crate) fn parse_url(url: &str) -> Result<Url, Error> {
    Url::parse(url).map_err(|e| Error::InvalidUrl {
        url: url.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(url_scheme("s3://b/k").as_deref(), Some("s3"));
        assert_eq!(url_scheme("HTTP://h/x").as_deref(), Some("http"));
        assert_eq!(url_scheme("/tmp/a.hxz"), None);
        assert_eq!(url_scheme("dir/a://b"), None);
        let err = open_url("ftp://h/x").err().map(|e| e.kind());
        assert_eq!(err, Some(io::ErrorKind::InvalidInput));
    }
}
