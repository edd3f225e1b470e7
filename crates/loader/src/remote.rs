//! Opening archives named by URL (`s3://`, `http(s)://`, `file://`) through `hexz-store`.

use hexz_core::{Archive, Error, ReadOptions};
use hexz_store::S3Options;

/// The S3 keyword options of the Python API, as passed to `NativeArchive(...)`.
#[derive(Debug, Clone, Default)]
pub struct RemoteOptions {
    /// `endpoint=`: the S3 endpoint URL (else `AWS_ENDPOINT_URL`, else AWS).
    pub endpoint: Option<String>,
    /// `region=`: the S3 region (else `AWS_REGION` / `AWS_DEFAULT_REGION`, else `us-east-1`).
    pub region: Option<String>,
    /// `path_style=`: path-style (`True`) or virtual-hosted-style (`False`) requests.
    pub path_style: Option<bool>,
    /// `anonymous=`: unsigned requests (public buckets).
    pub anonymous: bool,
    /// `allow_http=`: allow a plain-`http://` endpoint that is not loopback.
    pub allow_http: bool,
}

impl RemoteOptions {
    /// The `hexz_store::S3Options` these options stand for (`#[non_exhaustive]`: built with
    /// its builder methods).
    fn s3(&self) -> S3Options {
        let mut o = S3Options::new()
            .anonymous(self.anonymous)
            .allow_http(self.allow_http);
        if let Some(e) = &self.endpoint {
            o = o.endpoint(e.as_str());
        }
        if let Some(r) = &self.region {
            o = o.region(r.as_str());
        }
        if let Some(p) = self.path_style {
            o = o.path_style(p);
        }
        o
    }
}

/// The local cache options of the Python API (`cache_dir=`, `cache_limit=`), for remote
/// archives only.
#[derive(Debug, Clone, Default)]
pub struct CacheOptions {
    /// `cache_dir=`: keep the chunks read in this directory (`hexz_cache`); `None` reads
    /// uncached.
    pub dir: Option<std::path::PathBuf>,
    /// `cache_limit=`: the directory's bound in bytes (else `hexz_cache::DEFAULT_LIMIT`).
    pub limit: Option<u64>,
}

impl CacheOptions {
    /// `store` behind the cache these options ask for, if any and if it can be cached.
    fn wrap(
        &self,
        store: std::sync::Arc<dyn hexz_core::ReadAt>,
    ) -> Result<std::sync::Arc<dyn hexz_core::ReadAt>, Error> {
        let Some(dir) = &self.dir else {
            return Ok(store);
        };
        let mut opts = hexz_cache::CacheOptions::new(dir);
        if let Some(limit) = self.limit {
            opts = opts.limit(limit);
        }
        hexz_cache::wrap(store, &opts).map_err(|e| Error::Io {
            context: format!("cannot use the cache directory {}", dir.display()),
            source: e.into(),
        })
    }
}

/// Whether `path` names a remote or `file://` archive rather than a local path.
pub fn is_url(path: &str) -> bool {
    hexz_store::is_url(path)
}

/// Opens the archive at `url` (see [`is_url`]), behind the local cache `cache` asks for (if
/// any; local paths and `file://` URLs are never cached). Blocks on the network: call it with
/// the GIL released.
///
/// Store errors keep their `io::ErrorKind` (NotFound for a 404, PermissionDenied for 401/403),
/// so `errors::to_py` raises `FileNotFoundError` / `PermissionError` with the URL in the
/// message. An `s3://` URL in a build without the `s3` feature is `Error::Unsupported`.
pub fn open(
    url: &str,
    opts: ReadOptions,
    remote: &RemoteOptions,
    cache: &CacheOptions,
) -> Result<Archive, Error> {
    Archive::open_store(cache.wrap(store(url, remote)?)?, opts)
}

/// The storage of a local path or URL, for reading bytes without opening the archive.
pub fn store(
    path: &str,
    remote: &RemoteOptions,
) -> Result<std::sync::Arc<dyn hexz_core::ReadAt>, Error> {
    if !cfg!(feature = "s3") && scheme(path).as_deref() == Some("s3") {
        return Err(Error::Unsupported(format!(
            "{path}: s3:// URLs need the `s3` feature, which this build of hexz was compiled \
             without (rebuild with `--features s3`)"
        )));
    }
    // Local paths too: hexz-store opens them as a `FileStore`.
    hexz_store::open_url_with(path, &remote.s3()).map_err(|source| Error::Io {
        context: match is_url(path) {
            true => "cannot open remote archive".into(),
            false => format!("cannot open {path}"),
        },
        source,
    })
}

/// The lowercase scheme of a URL (`None` for a path).
fn scheme(url: &str) -> Option<String> {
    is_url(url)
        .then(|| url.split_once("://").map(|(s, _)| s.to_ascii_lowercase()))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(scheme("S3://b/k").as_deref(), Some("s3"));
        assert_eq!(scheme("https://h/a.hxz").as_deref(), Some("https"));
        assert_eq!(scheme("/tmp/a.hxz"), None);
        assert_eq!(scheme("rel/a.hxz"), None);
    }

    #[test]
    fn options_map_to_s3_options() {
        let o = RemoteOptions {
            endpoint: Some("http://127.0.0.1:9000".into()),
            region: Some("eu-west-1".into()),
            path_style: Some(false),
            anonymous: true,
            allow_http: true,
        }
        .s3();
        assert_eq!(o.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(o.region.as_deref(), Some("eu-west-1"));
        assert_eq!(o.path_style, Some(false));
        assert!(o.anonymous && o.allow_http);
        let d = RemoteOptions::default().s3();
        assert!(d.endpoint.is_none() && d.region.is_none() && d.path_style.is_none());
        assert!(!d.anonymous && !d.allow_http);
    }

    #[cfg(not(feature = "s3"))]
    #[test]
    fn s3_without_the_feature_is_unsupported() {
        let err = open(
            "s3://bucket/a.hxz",
            ReadOptions::default(),
            &RemoteOptions::default(),
            &CacheOptions::default(),
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
            &RemoteOptions::default(),
            &CacheOptions::default(),
        )
        .err()
        .map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains("ftp://h/a.hxz")),
            "{err:?}"
        );
    }
}
