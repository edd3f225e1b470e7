//! The one place where engine errors become Python exceptions.

use hexz_core::Error;
#[cfg(target_os = "linux")]
use pyo3::exceptions::PyOSError;
use pyo3::exceptions::{
    PyFileExistsError, PyFileNotFoundError, PyIndexError, PyPermissionError, PyRuntimeError,
    PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::PyType;
use std::io::ErrorKind;

/// Maps an engine error to the matching `hexz.errors` class, or a builtin where one fits.
pub fn to_py(err: Error) -> PyErr {
    let msg = err.to_string();
    let io_kind = match &err {
        Error::Io { source, .. } | Error::Source { source, .. } => Some(source.kind()),
        _ => None,
    };
    match io_kind {
        Some(ErrorKind::NotFound) => return PyFileNotFoundError::new_err(msg),
        Some(ErrorKind::PermissionDenied) => return PyPermissionError::new_err(msg),
        Some(ErrorKind::AlreadyExists) => return PyFileExistsError::new_err(msg),
        _ => {}
    }
    let class = match &err {
        Error::Format { source, .. } => match source {
            hexz_core::FormatError::UnsupportedVersion { .. }
            | hexz_core::FormatError::UnknownFeature { .. } => "UnsupportedVersionError",
            _ => "FormatError",
        },
        Error::Integrity { .. } => "IntegrityError",
        Error::WrongKey(_) | Error::KeyRequired(_) => "DecryptionError",
        Error::NotEncrypted(_) => return PyValueError::new_err(msg),
        Error::NotSigned(_) | Error::BadSignature(_) => "SignatureError",
        Error::Unsupported(_) => "UnsupportedFeatureError",
        Error::Io { .. } | Error::Source { .. } => "StoreError",
        Error::EntryNotFound(_) => return PyFileNotFoundError::new_err(msg),
        Error::OutOfRange(_) => return PyIndexError::new_err(msg),
        Error::InvalidInput(_) | Error::DuplicateEntry(_) => return PyValueError::new_err(msg),
        _ => "HexzError",
    };
    hexz_error(class, msg)
}

/// An exception of class `name` of `hexz.errors` with message `msg`.
pub fn hexz_error(name: &str, msg: String) -> PyErr {
    Python::attach(|py| match error_class(py, name) {
        Ok(cls) => PyErr::from_type(cls, msg),
        Err(e) => PyRuntimeError::new_err(format!("{msg} (and hexz.errors failed to import: {e})")),
    })
}

/// Maps a mount error of `hexz-fuse` to a Python exception: archive errors as [`to_py`] does,
/// the rest as `OSError(errno, message)`, which Python turns into the subclass of the errno
/// (`FileNotFoundError` for a missing mountpoint or `/dev/fuse`, `NotADirectoryError`,
/// `PermissionError`, `TimeoutError`; a non-empty mountpoint is a plain `OSError` with
/// `errno.ENOTEMPTY`).
#[cfg(target_os = "linux")]
pub fn fuse_to_py(err: hexz_fuse::Error) -> PyErr {
    use hexz_fuse::Error as F;
    let errno = match &err {
        F::Archive(_) => None,
        F::MountpointMissing(_) => Some(libc::ENOENT),
        F::NotADirectory(_) => Some(libc::ENOTDIR),
        F::NotEmpty(_) => Some(libc::ENOTEMPTY),
        F::NotReady { .. } => Some(libc::ETIMEDOUT),
        F::Busy(_) => Some(libc::EBUSY),
        F::NotMounted(_) | F::NotHexz { .. } => Some(libc::EINVAL),
        F::NoFuseDevice(source)
        | F::Mount { source, .. }
        | F::Unmount { source, .. }
        | F::Io { source, .. } => Some(source.raw_os_error().unwrap_or(libc::EIO)),
        _ => Some(libc::EIO),
    };
    let Some(errno) = errno else {
        let F::Archive(e) = err else { unreachable!() };
        return to_py(e);
    };
    let msg = err.to_string();
    Python::attach(
        |py| match py.get_type::<PyOSError>().call1((errno, msg.as_str())) {
            Ok(exc) => PyErr::from_value(exc),
            Err(e) => e,
        },
    )
}

fn error_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    Ok(py
        .import("hexz.errors")?
        .getattr(name)?
        .cast_into::<PyType>()?)
}

/// `?`-friendly conversion for engine results.
pub trait IntoPy<T> {
    /// Converts the error side to a Python exception.
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, Error> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
