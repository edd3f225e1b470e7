//! The open options every native entry point takes as one `options=` dict: the dict that
//! `hexz.OpenOptions.native()` builds in Python (checked and normalized there), extracted here
//! in one place and turned into the engine's settings.

use crate::errors::IntoPy;
use crate::sign::{self, VerifyKey};
use hexz_core::{Action, Error, KeySource, Place};
use hexz_store::S3Options;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;
use std::sync::Arc;

/// `options=`: S3 settings, the key of an encrypted archive, the public key of a signed one
/// and the disk cache of a remote one. Every item is optional; a missing one is the default.
#[derive(Debug, Default, Clone)]
pub struct OpenArgs {
    /// The S3 endpoint URL (else `AWS_ENDPOINT_URL`, else AWS).
    pub endpoint: Option<String>,
    /// The S3 region (else `AWS_REGION` / `AWS_DEFAULT_REGION`, else `us-east-1`).
    pub region: Option<String>,
    /// Path-style (`True`) or virtual-hosted-style (`False`) requests.
    pub path_style: Option<bool>,
    /// Unsigned requests (public buckets).
    pub anonymous: bool,
    /// Allow a plain-`http://` endpoint that is not loopback.
    pub allow_http: bool,
    /// A raw 32-byte encryption key.
    pub key: Option<Vec<u8>>,
    /// A key file (`docs/keys.md`).
    pub key_file: Option<PathBuf>,
    /// The password of an encrypted archive.
    pub password: Option<String>,
    /// The signer's public key as text (PEM or 64 hex digits).
    pub verify_key: Option<String>,
    /// A public key file.
    pub verify_key_file: Option<PathBuf>,
    /// Keep the chunks read from a remote archive in this directory (`hexz_cache`).
    pub cache_dir: Option<PathBuf>,
    /// The cache directory's bound in bytes (else `hexz_cache::DEFAULT_LIMIT`).
    pub cache_limit: Option<u64>,
    /// Where the parents of a thin archive are, in order, over what it records.
    pub parent_path: Vec<String>,
}

/// Takes the dict item by item: an unknown key is a `TypeError` naming it, so a misspelt
/// option cannot be dropped on the way; a `None` value is the default.
impl<'a, 'py> FromPyObject<'a, 'py> for OpenArgs {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let dict = obj.cast::<PyDict>()?;
        let mut args = OpenArgs::default();
        for (name, value) in dict.iter() {
            let name: String = name.extract()?;
            if value.is_none() {
                continue;
            }
            match name.as_str() {
                "endpoint" => args.endpoint = Some(value.extract()?),
                "region" => args.region = Some(value.extract()?),
                "path_style" => args.path_style = Some(value.extract()?),
                "anonymous" => args.anonymous = value.extract()?,
                "allow_http" => args.allow_http = value.extract()?,
                "key" => args.key = Some(value.extract()?),
                "key_file" => args.key_file = Some(value.extract()?),
                "password" => args.password = Some(value.extract()?),
                "verify_key" => args.verify_key = Some(value.extract()?),
                "verify_key_file" => args.verify_key_file = Some(value.extract()?),
                "cache_dir" => args.cache_dir = Some(value.extract()?),
                "cache_limit" => args.cache_limit = Some(value.extract()?),
                "parent_path" => args.parent_path = value.extract()?,
                other => {
                    return Err(PyTypeError::new_err(format!(
                        "unknown open option {other:?}"
                    )))
                }
            }
        }
        Ok(args)
    }
}

impl OpenArgs {
    /// The `hexz_store::S3Options` these options stand for (`#[non_exhaustive]`: built with
    /// its builder methods).
    pub fn s3(&self) -> S3Options {
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

    /// Whether any S3 setting differs from its default.
    pub fn has_s3(&self) -> bool {
        self.endpoint.is_some()
            || self.region.is_some()
            || self.path_style.is_some()
            || self.anonymous
            || self.allow_http
    }

    /// The key of an encrypted archive: at most one of `key`, `key_file` and `password`.
    pub fn key_source(&self) -> PyResult<Option<KeySource>> {
        let source = match (&self.key, &self.key_file, &self.password) {
            (None, None, None) => None,
            (Some(k), None, None) => {
                let raw: [u8; 32] = k.as_slice().try_into().map_err(|_| {
                    PyValueError::new_err(format!("key must be 32 bytes, got {}", k.len()))
                })?;
                Some(KeySource::RawKey(raw))
            }
            (None, Some(f), None) => Some(KeySource::from_key_file(f).py()?),
            (None, None, Some(p)) if p.is_empty() => {
                return Err(PyValueError::new_err("password must not be empty"))
            }
            (None, None, Some(p)) => Some(KeySource::Passphrase(p.clone())),
            _ => {
                return Err(PyValueError::new_err(
                    "give one of key, key_file and password, not several",
                ))
            }
        };
        if source.is_some() && !cfg!(feature = "encryption") {
            // The engine may decrypt (the `hexz` command in the same build needs it), but the
            // Python API keeps to its own features, as the feature table promises.
            return Err(crate::errors::hexz_error(
                crate::errors::HexzClass::UnsupportedFeature,
                "key=, key_file= and password= need the `encryption` feature, which this build \
                 of hexz was compiled without (rebuild with `--features encryption`)"
                    .to_string(),
            ));
        }
        Ok(source)
    }

    /// The signer's public key, when one is given.
    pub fn verify_key(&self) -> PyResult<Option<VerifyKey>> {
        sign::verifying_key(self.verify_key.clone(), self.verify_key_file.clone())
    }

    /// Refuses the options that mean nothing for `what` (writing takes no public key and
    /// no read cache), so that a misplaced option is an error rather than ignored.
    pub fn refuse_read_only(&self, what: &str) -> PyResult<()> {
        let given = [
            (
                "verify_key",
                self.verify_key.is_some() || self.verify_key_file.is_some(),
            ),
            ("cache_dir", self.cache_dir.is_some()),
            ("cache_limit", self.cache_limit.is_some()),
            ("parent_path", !self.parent_path.is_empty()),
        ];
        match given.iter().find(|(_, set)| *set) {
            Some((name, _)) => Err(PyValueError::new_err(format!(
                "{name} does not apply to {what}"
            ))),
            None => Ok(()),
        }
    }

    /// `store` behind the disk cache `cache_dir` asks for, if any.
    pub fn cached(
        &self,
        store: Arc<dyn hexz_core::ReadAt>,
    ) -> Result<Arc<dyn hexz_core::ReadAt>, Error> {
        let Some(dir) = &self.cache_dir else {
            return Ok(store);
        };
        let mut opts = hexz_cache::CacheOptions::new(dir);
        if let Some(limit) = self.cache_limit {
            opts = opts.limit(limit);
        }
        hexz_cache::wrap(store, &opts).map_err(|e| {
            Error::io(
                Action::Cache,
                Place::whole(dir.display().to_string()),
                e.into(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_map_to_s3_options() {
        let o = OpenArgs {
            endpoint: Some("http://127.0.0.1:9000".into()),
            region: Some("eu-west-1".into()),
            path_style: Some(false),
            anonymous: true,
            allow_http: true,
            ..OpenArgs::default()
        }
        .s3();
        assert_eq!(o.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(o.region.as_deref(), Some("eu-west-1"));
        assert_eq!(o.path_style, Some(false));
        assert!(o.anonymous && o.allow_http);
        let d = OpenArgs::default().s3();
        assert!(d.endpoint.is_none() && d.region.is_none() && d.path_style.is_none());
        assert!(!d.anonymous && !d.allow_http);
    }

    #[test]
    fn several_keys_are_refused() {
        let both = OpenArgs {
            key: Some(vec![0; 32]),
            password: Some("p".into()),
            ..OpenArgs::default()
        };
        assert!(both.key_source().is_err());
        let short = OpenArgs {
            key: Some(vec![0; 31]),
            ..OpenArgs::default()
        };
        assert!(short.key_source().is_err());
    }
}
