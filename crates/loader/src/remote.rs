//! Opening archives named by URL (`s3://`, `http(s)://`, `file://`) through `hexz-store`.

use crate::options::OpenArgs;
use hexz_core::{Action, Archive, Error, Pin, Place, ReadAt, ReadOptions};
use pyo3::prelude::*;
use std::sync::Arc;

/// `_native.url_scheme`: the lowercase scheme of `path` when it is a URL (`s3`, `https`,
/// `file`, ...), else `None`; the package's one URL test, the same as the engine's.
#[pyfunction]
pub fn url_scheme(path: &str) -> Option<String> {
    hexz_store::url_scheme(path)
}

/// Whether `path` names a remote or `file://` archive rather than a local path.
pub fn is_url(path: &str) -> bool {
    hexz_store::is_url(path)
}

/// Opens the archive at `url` (see [`is_url`]), behind the local cache `args` asks for (if
/// any; local paths and `file://` URLs are never cached). Blocks on the network: call it with
/// the GIL released.
///
/// Store errors keep their `io::ErrorKind` (NotFound for a 404, PermissionDenied for 401/403),
/// so `errors::to_py` raises `FileNotFoundError` / `PermissionError` with the URL in the
/// message. An `s3://` URL in a build without the `s3` feature is `Error::Unsupported`.
/// Given the `pin` of an earlier open of `url` ([`hexz_core::ReadAt::pin`]), the store opens
/// with no request.
pub fn open(
    url: &str,
    opts: ReadOptions,
    args: &OpenArgs,
    pin: Option<&Pin>,
) -> Result<Archive, Error> {
    Archive::open_store(args.cached(pinned_store(url, args, pin)?)?, opts)
}

/// Opens the parents of thin archives as the archive itself was opened: URLs with the same
/// S3 settings and cache (pinned to the object another process opened, when reopened),
/// local paths as files.
pub fn parent_opener(args: &OpenArgs) -> hexz_core::ParentOpener {
    let args = args.clone();
    hexz_core::ParentOpener(Arc::new(move |location: &str, opts: ReadOptions, pin| {
        if is_url(location) {
            open(location, opts, &args, pin)
        } else {
            Archive::open_with_options(location, opts)
        }
    }))
}

/// The storage of a local path or URL, for reading bytes without opening the archive.
#[cfg_attr(not(feature = "signing"), allow(dead_code))]
pub fn store(path: &str, args: &OpenArgs) -> Result<Arc<dyn ReadAt>, Error> {
    pinned_store(path, args, None)
}

fn pinned_store(path: &str, args: &OpenArgs, pin: Option<&Pin>) -> Result<Arc<dyn ReadAt>, Error> {
    if !cfg!(feature = "s3") && hexz_store::url_scheme(path).as_deref() == Some("s3") {
        return Err(s3_unsupported(path));
    }
    // Local paths too: hexz-store opens them as a `FileStore`.
    hexz_store::open_url_pinned(path, &args.s3(), pin)
        .map_err(|source| Error::io(Action::Open, Place::whole(path), source))
}

/// The error for an `s3://` URL in a build without the `s3` feature.
pub fn s3_unsupported(url: &str) -> Error {
    Error::Unsupported(format!(
        "{url}: s3:// URLs need the `s3` feature, which this build of hexz was compiled \
         without (rebuild with `--features s3`)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(feature = "s3"))]
    #[test]
    fn s3_without_the_feature_is_unsupported() {
        let err = open(
            "s3://bucket/a.hxz",
            ReadOptions::default(),
            &OpenArgs::default(),
            None,
        )
        .err();
        match err {
            Some(Error::Unsupported(msg)) => {
                assert!(msg.contains("`s3` feature") && msg.contains("s3://bucket/a.hxz"));
            }
            other => panic!("expected Error::Unsupported, got {other:?}"),
        }
    }

    #[test]
    fn unknown_scheme_is_invalid_input() {
        let err = open(
            "ftp://h/a.hxz",
            ReadOptions::default(),
            &OpenArgs::default(),
            None,
        )
        .err()
        .map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains("ftp://h/a.hxz")),
            "{err:?}"
        );
    }
}
