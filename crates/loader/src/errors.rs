//! The one place where engine errors become Python exceptions.

use hexz_core::{Error, Part, Place};
use pyo3::exceptions::PyBaseException;
#[cfg(target_os = "linux")]
use pyo3::exceptions::PyOSError;
use pyo3::exceptions::{
    PyFileExistsError, PyFileNotFoundError, PyIndexError, PyPermissionError, PyRuntimeError,
    PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use std::io::ErrorKind;

/// The classes of `hexz.errors` that native code raises. A name is a variant, so a misspelt
/// class is a compile error, and [`bind`] looks every one up when `hexz._native` is imported,
/// so a class missing from `hexz.errors` fails that import instead of a later raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HexzClass {
    /// `HexzError`, the base class.
    Hexz,
    /// `FormatError`.
    Format,
    /// `UnsupportedVersionError`.
    UnsupportedVersion,
    /// `IntegrityError`.
    Integrity,
    /// `SignatureError`.
    Signature,
    /// `DecryptionError`.
    Decryption,
    /// `UnsupportedFeatureError`.
    UnsupportedFeature,
    /// `StoreError`.
    Store,
}

impl HexzClass {
    const ALL: [HexzClass; 8] = [
        HexzClass::Hexz,
        HexzClass::Format,
        HexzClass::UnsupportedVersion,
        HexzClass::Integrity,
        HexzClass::Signature,
        HexzClass::Decryption,
        HexzClass::UnsupportedFeature,
        HexzClass::Store,
    ];

    /// The class's name in `hexz.errors`.
    fn name(self) -> &'static str {
        match self {
            HexzClass::Hexz => "HexzError",
            HexzClass::Format => "FormatError",
            HexzClass::UnsupportedVersion => "UnsupportedVersionError",
            HexzClass::Integrity => "IntegrityError",
            HexzClass::Signature => "SignatureError",
            HexzClass::Decryption => "DecryptionError",
            HexzClass::UnsupportedFeature => "UnsupportedFeatureError",
            HexzClass::Store => "StoreError",
        }
    }
}

/// The classes, in [`HexzClass::ALL`]'s order, bound by [`bind`].
static CLASSES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

/// Imports `hexz.errors` and binds every [`HexzClass`]; called when `hexz._native` is
/// imported. Fails (and so fails the import) when a class is missing or not a subclass of
/// `HexzError`.
pub fn bind(py: Python<'_>) -> PyResult<()> {
    let module = py.import("hexz.errors")?;
    let mut classes = Vec::with_capacity(HexzClass::ALL.len());
    for class in HexzClass::ALL {
        let found = module.getattr(class.name())?.cast_into::<PyType>()?;
        classes.push(found.unbind());
    }
    let base = classes[0].bind(py);
    for (class, found) in HexzClass::ALL.iter().zip(&classes) {
        if !found.bind(py).is_subclass(base)? {
            return Err(PyTypeError::new_err(format!(
                "hexz.errors.{} is not a subclass of HexzError",
                class.name()
            )));
        }
    }
    let _ = CLASSES.set(py, classes);
    Ok(())
}

/// An exception of `class` with message `msg`.
pub fn hexz_error(class: HexzClass, msg: String) -> PyErr {
    Python::attach(|py| match CLASSES.get(py) {
        Some(classes) => PyErr::from_type(classes[class as usize].bind(py).clone(), msg),
        // Unreachable once the module is imported: `bind` runs first.
        None => PyRuntimeError::new_err(format!("{msg} (hexz.errors is not bound)")),
    })
}

/// Maps an engine error to the matching `hexz.errors` class, or a builtin where one fits.
/// A `FormatError`, `IntegrityError` or `StoreError` carries where it happened as attributes
/// (see [`set_place`]).
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
        Error::Format { place, source } => {
            let class = match source {
                hexz_core::FormatError::UnsupportedVersion { .. }
                | hexz_core::FormatError::UnknownFeature { .. } => HexzClass::UnsupportedVersion,
                _ => HexzClass::Format,
            };
            let detail = source.to_string();
            return placed_error(class, msg, place, &[("detail", Some(detail.as_str()))]);
        }
        Error::Integrity { place, detail } => {
            return placed_error(
                HexzClass::Integrity,
                msg,
                place,
                &[("detail", Some(detail))],
            )
        }
        Error::Io { action, place, .. } => {
            let action = action.to_string();
            return placed_error(HexzClass::Store, msg, place, &[("action", Some(&action))]);
        }
        Error::WrongKey(_) | Error::KeyRequired(_) => HexzClass::Decryption,
        Error::NotEncrypted(_) => return PyValueError::new_err(msg),
        Error::NotSigned(_) | Error::BadSignature(_) => HexzClass::Signature,
        Error::Unsupported(_) => HexzClass::UnsupportedFeature,
        // A thin archive's parent not found is a store problem; one that does not match is
        // the wrong data.
        Error::ParentMissing(_) => HexzClass::Store,
        Error::ParentMismatch(_) => HexzClass::Integrity,
        Error::Source { .. } => HexzClass::Store,
        Error::EntryNotFound(_) => return PyFileNotFoundError::new_err(msg),
        Error::OutOfRange(_) => return PyIndexError::new_err(msg),
        Error::InvalidInput(_) | Error::DuplicateEntry(_) => return PyValueError::new_err(msg),
        _ => HexzClass::Hexz,
    };
    hexz_error(class, msg)
}

/// Sets the attributes that say where an error happened: `archive` (path or URL), `part`
/// (one of `"file"`, `"header"`, `"footer"`, `"signature"`, `"block"`, `"blocks"`,
/// `"frame"`, `"index page"`, `"record page"`, `"pages"`), `block` (the block's or page's
/// number), `offset` (a block's logical offset, or a frame's file offset) and `frame` (what
/// the frame holds); the ones that do not apply are `None`.
fn set_place(value: &Bound<'_, PyBaseException>, place: &Place) -> PyResult<()> {
    let (part, block, offset, frame) = match place.part {
        Part::Block {
            index,
            logical_offset,
        } => ("block", Some(index), Some(logical_offset), None),
        Part::Blocks { logical_offset } => ("blocks", None, Some(logical_offset), None),
        Part::Frame { kind, offset } => ("frame", None, Some(offset), Some(kind)),
        Part::IndexPage { index } => ("index page", Some(u64::from(index)), None, None),
        Part::RecordPage { index } => ("record page", Some(u64::from(index)), None, None),
        Part::Pages => ("pages", None, None, None),
        Part::Header => ("header", None, None, None),
        Part::Footer => ("footer", None, None, None),
        Part::Signature => ("signature", None, None, None),
        _ => ("file", None, None, None),
    };
    value.setattr("archive", place.archive.as_str())?;
    value.setattr("part", part)?;
    value.setattr("block", block)?;
    value.setattr("offset", offset)?;
    value.setattr("frame", frame)
}

/// An exception of `class` with the place attributes and `extra` ones set.
fn placed_error(
    class: HexzClass,
    msg: String,
    place: &Place,
    extra: &[(&'static str, Option<&str>)],
) -> PyErr {
    let err = hexz_error(class, msg);
    Python::attach(|py| {
        let value = err.value(py);
        let set = || -> PyResult<()> {
            set_place(value, place)?;
            for (name, v) in extra {
                value.setattr(*name, *v)?;
            }
            Ok(())
        };
        match set() {
            Ok(()) => err.clone_ref(py),
            Err(e) => e,
        }
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
