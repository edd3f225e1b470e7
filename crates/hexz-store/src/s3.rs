//! `s3://bucket/key` objects in S3 or an S3-compatible server.

use crate::client::{client_options, retry_config};
use crate::profile::{self, Profile};
use crate::url::parse_url;
use crate::{Error, RemoteStore, S3Options};
use hexz_core::Pin;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use std::sync::Arc;
use url::Url;

/// Marks a [`RemoteStore`] opened from an `s3://bucket/key` URL.
#[derive(Debug)]
pub enum S3 {}

/// An object in S3 or an S3-compatible server, read with ranged GETs (`If-Match` on the ETag
/// seen at open).
///
/// Credentials, region and endpoint come from the standard AWS environment variables
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
/// `AWS_ENDPOINT_URL`, ...) unless [`S3Options`] says otherwise. Opening costs one suffix GET, as for [`crate::HttpStore`].
pub type S3Store = RemoteStore<S3>;

impl RemoteStore<S3> {
    /// Opens `s3://bucket/key`, configured from the environment.
    pub fn open(url: &str) -> Result<S3Store, Error> {
        S3Store::open_with(url, &S3Options::default())
    }

    /// Opens `s3://bucket/key` with explicit `options` on top of the environment.
    pub fn open_with(url: &str, options: &S3Options) -> Result<S3Store, Error> {
        S3Store::open_pinned(url, options, None)
    }

    /// Opens `s3://bucket/key` as [`S3Store::open_with`] does or, given the pin of an earlier
    /// open of the same URL ([`hexz_core::ReadAt::pin`]), without a request.
    pub fn open_pinned(
        url: &str,
        options: &S3Options,
        pin: Option<&Pin>,
    ) -> Result<S3Store, Error> {
        let (bucket, key) = parse_s3_url(url)?;
        let store = builder(&bucket, options, url)?
            .build()
            .map_err(|e| Error::from_object_store(url, e))?;
        RemoteStore::pin(Arc::new(store), key, url, pin)
    }
}

/// Splits `s3://bucket/key` into the bucket and the object path.
pub(crate) fn parse_s3_url(url: &str) -> Result<(String, ObjectPath), Error> {
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

/// An S3 client builder for `bucket`. Each setting comes from the first of: `options`, the
/// `AWS_*` environment variables, the AWS profile (`AWS_PROFILE`, else `default`, from the
/// shared config and credentials files), the client's defaults.
pub(crate) fn builder(
    bucket: &str,
    options: &S3Options,
    url: &str,
) -> Result<AmazonS3Builder, Error> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut b = AmazonS3Builder::new()
        .with_client_options(client_options(false))
        .with_retry(retry_config());
    // What `AmazonS3Builder::from_env` does, over our defaults instead of the client's.
    for (key, value) in std::env::vars() {
        if key.starts_with("AWS_") {
            if let Ok(config_key) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                b = b.with_config(config_key, value);
            }
        }
    }
    b = b.with_bucket_name(bucket);
    let profile = if options.anonymous {
        Profile::default()
    } else {
        profile::from_env()?
    };
    if env("AWS_ACCESS_KEY_ID").is_none() {
        if let (Some(id), Some(secret)) = (&profile.access_key_id, &profile.secret_access_key) {
            b = b.with_access_key_id(id).with_secret_access_key(secret);
            if let Some(token) = &profile.session_token {
                b = b.with_token(token);
            }
        }
    }
    if env("AWS_REGION").is_none() {
        if let Some(region) = env("AWS_DEFAULT_REGION").or(profile.region.clone()) {
            b = b.with_region(region);
        }
    }
    let endpoint = options
        .endpoint
        .clone()
        .or_else(|| env("AWS_ENDPOINT_URL_S3"))
        .or_else(|| env("AWS_ENDPOINT_URL"))
        .or(profile.endpoint_url)
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
