//! [`Chunk`]: bytes owned by Rust and exposed to NumPy without a copy.

use hexz_core::Archive;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::sync::Arc;

enum Owner {
    /// A decoded block shared with the cache: read-only.
    Shared(Arc<[u8]>),
    /// A buffer filled for this read alone: writable from Python.
    Owned(Vec<u8>),
    /// The memory map of an archive opened with `mmap`: read-only, alive as long as the
    /// archive is.
    Mapped(Arc<Archive>),
}

/// A byte range owned by Rust. `numpy.asarray(chunk)` views it in place through
/// `__array_interface__` (the array keeps the chunk alive); `bytes(chunk)` copies.
#[pyclass(frozen, module = "hexz._native")]
pub struct Chunk {
    owner: Owner,
    start: usize,
    len: usize,
}

impl Chunk {
    /// A view of `len` bytes at `start` of a cached block.
    pub fn shared(block: Arc<[u8]>, start: usize, len: usize) -> Chunk {
        Chunk {
            owner: Owner::Shared(block),
            start,
            len,
        }
    }

    /// Takes ownership of a freshly filled buffer.
    pub fn owned(buf: Vec<u8>) -> Chunk {
        let len = buf.len();
        Chunk {
            owner: Owner::Owned(buf),
            start: 0,
            len,
        }
    }

    /// The whole memory map of `archive`, when its store is mapped.
    pub fn mapped(archive: Arc<Archive>) -> Option<Chunk> {
        let len = archive.store().mapped()?.len();
        Some(Chunk {
            owner: Owner::Mapped(archive),
            start: 0,
            len,
        })
    }

    fn ptr(&self) -> *const u8 {
        let base = match &self.owner {
            Owner::Shared(a) => a.as_ptr(),
            Owner::Owned(v) => v.as_ptr(),
            Owner::Mapped(a) => a.store().mapped().map_or(std::ptr::null(), <[u8]>::as_ptr),
        };
        // `start + len` is within the owner by construction.
        base.wrapping_add(self.start)
    }

    fn bytes(&self) -> &[u8] {
        let all: &[u8] = match &self.owner {
            Owner::Shared(a) => a,
            Owner::Owned(v) => v,
            Owner::Mapped(a) => a.store().mapped().unwrap_or_default(),
        };
        &all[self.start..self.start + self.len]
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        if let Owner::Owned(buf) = &mut self.owner {
            crate::buffers::give(std::mem::take(buf));
        }
    }
}

#[pymethods]
impl Chunk {
    fn __len__(&self) -> usize {
        self.len
    }

    /// NumPy's array interface: a 1-D `uint8` view of the bytes, read-only when the bytes are
    /// shared with the block cache.
    #[getter]
    fn __array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("version", 3)?;
        d.set_item("shape", (self.len,))?;
        d.set_item("typestr", "|u1")?;
        d.set_item("data", (self.ptr() as usize, self.readonly()))?;
        Ok(d)
    }

    /// Whether writes through NumPy are refused (bytes shared with the cache).
    #[getter]
    fn readonly(&self) -> bool {
        !matches!(self.owner, Owner::Owned(_))
    }

    /// Address of the first byte (for zero-copy checks).
    #[getter]
    fn address(&self) -> usize {
        self.ptr() as usize
    }

    fn __bytes__<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.bytes())
    }

    fn __repr__(&self) -> String {
        format!("<hexz Chunk of {} bytes>", self.len)
    }
}
