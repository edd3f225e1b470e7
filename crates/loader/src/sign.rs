//! Signatures (`docs/FORMAT.md` §10), behind `hexz.keygen`, `hexz.sign`, `verify_key=` and
//! `Writer(signing_key=)`. Everything here needs the `signing` feature; without it every entry
//! point raises `hexz.UnsupportedFeatureError`.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

/// The public key that `verify_key=` names, as `ReadOptions::verify_key` takes it.
#[cfg(feature = "signing")]
pub(crate) type VerifyKey = hexz_core::sign::VerifyingKey;
/// Without the `signing` feature no key can be given (the constructor raises).
#[cfg(not(feature = "signing"))]
pub(crate) type VerifyKey = std::convert::Infallible;

/// The private key that `signing_key=` names.
#[cfg(feature = "signing")]
pub(crate) type SignKey = std::sync::Arc<hexz_core::sign::SigningKey>;
/// Without the `signing` feature no key can be given (the constructor raises).
#[cfg(not(feature = "signing"))]
pub(crate) type SignKey = std::convert::Infallible;

/// `hexz.UnsupportedFeatureError` for `what` in a build without the `signing` feature.
#[cfg_attr(feature = "signing", allow(dead_code))]
pub(crate) fn unsupported(what: &str) -> PyErr {
    crate::errors::hexz_error(
        crate::errors::HexzClass::UnsupportedFeature,
        format!(
            "{what} needs the `signing` feature, which this build of hexz was compiled without \
             (rebuild with `--features signing`)"
        ),
    )
}

/// The public key of `verify_key=` from the keyword options of the native classes: `text` (SPKI
/// PEM or 64 hex digits) or `file` (a public key file); at most one.
pub(crate) fn verifying_key(
    text: Option<String>,
    file: Option<PathBuf>,
) -> PyResult<Option<VerifyKey>> {
    if text.is_some() && file.is_some() {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "give verify_key or verify_key_file, not both",
        ));
    }
    if text.is_none() && file.is_none() {
        return Ok(None);
    }
    #[cfg(feature = "signing")]
    {
        use crate::errors::IntoPy;
        use hexz_core::sign::VerifyingKey;
        let key = match (text, file) {
            (Some(t), _) => VerifyingKey::parse(&t),
            (_, Some(f)) => VerifyingKey::read_file(&f),
            (None, None) => unreachable!(),
        };
        Ok(Some(key.map_err(hexz_core::Error::from).py()?))
    }
    #[cfg(not(feature = "signing"))]
    {
        Err(unsupported("verify_key="))
    }
}

/// The private key of `signing_key=`: `pem` (PKCS#8 PEM text) or `file` (a private key file).
pub(crate) fn signing_key(pem: Option<String>, file: Option<PathBuf>) -> PyResult<Option<SignKey>> {
    if pem.is_some() && file.is_some() {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "give signing_key or signing_key_file, not both",
        ));
    }
    if pem.is_none() && file.is_none() {
        return Ok(None);
    }
    #[cfg(feature = "signing")]
    {
        use crate::errors::IntoPy;
        use hexz_core::sign::SigningKey;
        let key = match (pem, file) {
            (Some(p), _) => SigningKey::from_pem(&p),
            (_, Some(f)) => SigningKey::read_file(&f),
            (None, None) => unreachable!(),
        };
        Ok(Some(std::sync::Arc::new(
            key.map_err(hexz_core::Error::from).py()?,
        )))
    }
    #[cfg(not(feature = "signing"))]
    {
        Err(unsupported("signing_key="))
    }
}

/// Checks the signature of the archive at `path` (a path or URL) from its header, footer and
/// summary alone, without opening it: for an encrypted archive whose key the caller lacks.
/// Returns `None` when the archive is not signed; raises `SignatureError` when the signature
/// does not verify (against `verify_key` when given, else against the key it names).
#[pyfunction]
#[pyo3(signature = (path, *, options = None))]
pub fn check_signature<'py>(
    py: Python<'py>,
    path: String,
    options: Option<crate::options::OpenArgs>,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let args = options.unwrap_or_default();
    let expected = args.verify_key()?;
    #[cfg(feature = "signing")]
    {
        use crate::errors::IntoPy;
        let store = py.detach(|| crate::remote::store(&path, &args)).py()?;
        let sig = match py.detach(|| hexz_core::sign::verify_signature(&*store, expected.as_ref()))
        {
            Err(hexz_core::Error::NotSigned(_)) => return Ok(None),
            r => r.py()?,
        };
        let d = PyDict::new(py);
        d.set_item("ok", true)?;
        d.set_item("problems", Vec::<String>::new())?;
        d.set_item("signature", "valid")?;
        d.set_item("signed", true)?;
        d.set_item("signer", hex(&sig.public_key))?;
        d.set_item("root_hash", hex(&sig.root_hash))?;
        d.set_item("contents_checked", false)?;
        d.set_item("frames", 0)?;
        d.set_item("blocks", 0)?;
        d.set_item("bytes", 0)?;
        Ok(Some(d))
    }
    #[cfg(not(feature = "signing"))]
    {
        let _ = (py, path, args);
        match expected {
            Some(k) => match k {},
            None => Err(unsupported("checking a signature")),
        }
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Generates an Ed25519 key pair: writes `DIR/NAME.key` (PKCS#8 PEM, mode 0600) and
/// `DIR/NAME.pub` (SPKI PEM), never over an existing file. Returns their paths.
#[pyfunction]
pub fn keygen(py: Python<'_>, dir: PathBuf, name: String) -> PyResult<(String, String)> {
    #[cfg(feature = "signing")]
    {
        use crate::errors::IntoPy;
        let (_key, files) = py
            .detach(|| hexz_core::sign::keygen(&dir, &name))
            .map_err(hexz_core::Error::from)
            .py()?;
        Ok((
            files.private.to_string_lossy().into_owned(),
            files.public.to_string_lossy().into_owned(),
        ))
    }
    #[cfg(not(feature = "signing"))]
    {
        let _ = (py, dir, name);
        Err(unsupported("hexz.keygen"))
    }
}

/// Signs the local archive at `path` with the private key `signing_key` (PKCS#8 PEM text) or
/// in `signing_key_file`: with `output`, a signed copy is put there atomically (`output` may be
/// `path` itself); without it, `path` is signed in place. Returns `root_hash`, `public_key`
/// (hex), `replaced` and `file_size`.
#[pyfunction]
#[pyo3(signature = (path, *, output = None, signing_key = None, signing_key_file = None))]
pub fn sign_file<'py>(
    py: Python<'py>,
    path: PathBuf,
    output: Option<PathBuf>,
    signing_key: Option<String>,
    signing_key_file: Option<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let key = self::signing_key(signing_key, signing_key_file)?
        .ok_or_else(|| pyo3::exceptions::PyValueError::new_err("a signing key is required"))?;
    #[cfg(feature = "signing")]
    {
        use crate::errors::IntoPy;
        let r = py
            .detach(|| match &output {
                Some(out) => hexz_core::sign::sign_copy(&path, out, &key),
                None => hexz_core::sign::sign_file(&path, &key),
            })
            .py()?;
        let d = PyDict::new(py);
        d.set_item("root_hash", hex(&r.root_hash))?;
        d.set_item("public_key", key.verifying_key().to_hex())?;
        d.set_item("replaced", r.replaced)?;
        d.set_item("file_size", r.file_len)?;
        Ok(d)
    }
    #[cfg(not(feature = "signing"))]
    {
        let _ = (py, path, output);
        match key {}
    }
}
