//! `s3://bucket/key` objects in S3 or an S3-compatible server.

use crate::{impl_read_at, parse_url, Error, Remote, S3Options};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use std::sync::Arc;
use url::Url;

/// An object in S3 or an S3-compatible server, read with ranged GETs (`If-Match` on the ETag
/// seen at open).
///
/// Credentials, region and endpoint come from the standard AWS environment variables
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
/// `AWS_ENDPOINT_URL`, ...) unless [`S3Options`] says otherwise. Opening costs one HEAD.
#[derive(Debug)]
pub struct S3Store {
    remote: Remote,
}

impl S3Store {
    /// Opens `s3://bucket/key`, configured from the environment.
    pub fn open(url: &str) -> Result<S3Store, Error> {
        S3Store::open_with(url, &S3Options::default())
    }

    /// Opens `s3://bucket/key` with explicit `options` on top of the environment.
    pub fn open_with(url: &str, options: &S3Options) -> Result<S3Store, Error> {
        let (bucket, key) = parse_s3_url(url)?;
        let store = builder(&bucket, options, url)?
            .build()
            .map_err(|e| Error::from_object_store(url, e))?;
        Ok(S3Store {
            remote: Remote::open(Arc::new(store), key, url.to_string())?,
        })
    }
}

impl_read_at!(S3Store);

/// Splits `s3://bucket/key` into the bucket and the object path.
fn parse_s3_url(url: &str) -> Result<(String, ObjectPath), Error> {
    let invalid = |reason: String| Error::InvalidUrl {
        url: url.to_string(),
        reason,
    };
    let parsed = parse_url(url)?;
    if parsed.scheme() != "s3" {
        return Err(invalid("not an s3:// URL".into()));
    }
    let bucket = parsed
        .host_str()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| invalid("no bucket".into()))?;
    let key = ObjectPath::from_url_path(parsed.path())
        .map_err(|e| invalid(format!("bad object key: {e}")))?;
    if key.as_ref().is_empty() {
        return Err(invalid("no object key".into()));
    }
    Ok((bucket.to_string(), key))
}

/// An S3 client builder for `bucket`: environment first, then `options`.
fn builder(bucket: &str, options: &S3Options, url: &str) -> Result<AmazonS3Builder, Error> {
    let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
    if std::env::var_os("AWS_REGION").is_none() {
        if let Some(region) = std::env::var("AWS_DEFAULT_REGION")
            .ok()
            .filter(|r| !r.is_empty())
        {
            b = b.with_region(region);
        }
    }
    let endpoint = options
        .endpoint
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_S3").ok())
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .filter(|e| !e.is_empty());
    if let Some(endpoint) = &endpoint {
        let parsed = parse_url(endpoint).map_err(|_| Error::InvalidUrl {
            url: url.to_string(),
            reason: format!("bad S3 endpoint {endpoint:?}"),
        })?;
        if parsed.scheme() == "http" && (options.allow_http || is_loopback(&parsed)) {
            b = b.with_allow_http(true);
        }
        b = b.with_endpoint(endpoint.trim_end_matches('/'));
    }
    if let Some(region) = &options.region {
        b = b.with_region(region);
    }
    if let Some(path_style) = options.path_style {
        b = b.with_virtual_hosted_style_request(!path_style);
    }
    if options.anonymous {
        b = b.with_skip_signature(true);
    }
    Ok(b)
}

/// Whether `url`'s host is a loopback address or `localhost`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls() {
        let (b, k) = parse_s3_url("s3://bucket/a/b.hxz").expect("parse");
        assert_eq!((b.as_str(), k.as_ref()), ("bucket", "a/b.hxz"));
        assert!(parse_s3_url("s3://bucket/").is_err());
        assert!(parse_s3_url("s3:///key").is_err());
    }
}
