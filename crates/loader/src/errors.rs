//! The one place where engine errors become Python exceptions.

use hexz_core::Error;
use pyo3::exceptions::{
    PyFileNotFoundError, PyIndexError, PyPermissionError, PyRuntimeError, PyValueError,
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
        _ => {}
    }
    let class = match &err {
        Error::Format { source, .. } => match source {
            hexz_core::FormatError::UnsupportedVersion { .. }
            | hexz_core::FormatError::UnknownFeature { .. } => "UnsupportedVersionError",
            _ => "FormatError",
        },
        Error::Integrity { .. } => "IntegrityError",
        Error::Unsupported(_) => "UnsupportedFeatureError",
        Error::Io { .. } | Error::Source { .. } => "StoreError",
        Error::EntryNotFound(_) => return PyFileNotFoundError::new_err(msg),
        Error::OutOfRange(_) => return PyIndexError::new_err(msg),
        Error::InvalidInput(_) | Error::DuplicateEntry(_) => return PyValueError::new_err(msg),
        _ => "HexzError",
    };
    Python::attach(|py| match error_class(py, class) {
        Ok(cls) => PyErr::from_type(cls, msg),
        Err(e) => PyRuntimeError::new_err(format!("{msg} (and hexz.errors failed to import: {e})")),
    })
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
