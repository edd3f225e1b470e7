//! Reopening an archive in another process (a DataLoader worker) with no request to its
//! store: the state of [`Archive::reopen_state`] crosses pickles and forks as plain Python
//! values, `((length, etag) or None, [(offset, bytes), ...])`.

use hexz_core::{Archive, HeldMetadata, Pin, Reopen};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;
use std::sync::Arc;

/// The Python form of a remote object's pin: `(length, etag)`.
type PinTuple = (u64, Option<String>);

/// [`Reopen`] as it comes back from Python.
#[derive(FromPyObject)]
pub struct ReopenArg(Option<PinTuple>, Vec<(u64, PyBackedBytes)>);

impl ReopenArg {
    pub fn into_parts(self) -> (Option<Pin>, HeldMetadata) {
        let ReopenArg(pin, held) = self;
        let pin = pin.map(|(len, etag)| Pin { len, etag });
        let held = held
            .into_iter()
            .map(|(offset, bytes)| (offset, Arc::<[u8]>::from(&*bytes)))
            .collect();
        (pin, HeldMetadata(held))
    }
}

/// `archive`'s reopen state as Python values (see the module's documentation).
pub fn reopen_state<'py>(py: Python<'py>, archive: &Archive) -> PyResult<Bound<'py, PyAny>> {
    let Reopen { pin, held } = archive.reopen_state();
    let pin = pin.map(|p| (p.len, p.etag));
    let held: Vec<(u64, Bound<'py, PyBytes>)> = held
        .0
        .iter()
        .map(|(offset, bytes)| (*offset, PyBytes::new(py, bytes)))
        .collect();
    (pin, held).into_pyobject(py).map(Bound::into_any)
}
