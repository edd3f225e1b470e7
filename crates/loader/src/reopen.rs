//! Reopening an archive in another process (a DataLoader worker) with no request to its
//! store: the state of [`Archive::reopen_state`] crosses pickles and forks as plain Python
//! values, `((length, etag) or None, [(offset, bytes), ...], [parent's state, ...])`.

use hexz_core::{Archive, HeldMetadata, Pin, Reopen};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;
use std::sync::Arc;

/// The Python form of a remote object's pin: `(length, etag)`.
type PinTuple = (u64, Option<String>);

/// [`Reopen`] as it comes back from Python.
#[derive(FromPyObject)]
pub struct ReopenArg(Option<PinTuple>, Vec<(u64, PyBackedBytes)>, Vec<ReopenArg>);

impl ReopenArg {
    pub fn into_reopen(self) -> Reopen {
        let ReopenArg(pin, held, parents) = self;
        let pin = pin.map(|(len, etag)| Pin { len, etag });
        let held = held
            .into_iter()
            .map(|(offset, bytes)| (offset, Arc::<[u8]>::from(&*bytes)))
            .collect();
        Reopen {
            pin,
            held: HeldMetadata(held),
            parents: parents.into_iter().map(ReopenArg::into_reopen).collect(),
        }
    }
}

/// `archive`'s reopen state as Python values (see the module's documentation).
pub fn reopen_state<'py>(py: Python<'py>, archive: &Archive) -> PyResult<Bound<'py, PyAny>> {
    to_python(py, archive.reopen_state())
}

fn to_python(py: Python<'_>, state: Reopen) -> PyResult<Bound<'_, PyAny>> {
    let Reopen { pin, held, parents } = state;
    let pin = pin.map(|p| (p.len, p.etag));
    let held: Vec<(u64, Bound<'_, PyBytes>)> = held
        .0
        .iter()
        .map(|(offset, bytes)| (*offset, PyBytes::new(py, bytes)))
        .collect();
    let parents = parents
        .into_iter()
        .map(|p| to_python(py, p))
        .collect::<PyResult<Vec<_>>>()?;
    (pin, held, parents).into_pyobject(py).map(Bound::into_any)
}
