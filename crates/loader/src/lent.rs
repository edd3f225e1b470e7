//! Python buffers lent to Rust for one call, through the buffer protocol (`PyBuffer`, in the
//! stable ABI since Python 3.11): Python hands over the object (a `bytearray`, `memoryview`,
//! NumPy array...), never a memory address, and the export keeps that memory in place (a
//! `bytearray` with an export cannot be resized) until the call returns and `Lent` is dropped.

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A C-contiguous buffer of bytes exported by Python for the duration of one call. The GIL
/// may be released while its bytes are used: the export outlives every borrow of them.
pub(crate) struct Lent {
    buf: PyBuffer<u8>,
}

impl Lent {
    /// A buffer to read from.
    pub(crate) fn readable(buf: PyBuffer<u8>) -> PyResult<Lent> {
        if !buf.is_c_contiguous() {
            return Err(PyValueError::new_err("the buffer must be C-contiguous"));
        }
        Ok(Lent { buf })
    }

    /// The bytes of a bytes-like object, read in place: its own buffer when it exports one of
    /// bytes, C-contiguous; else (another item type, strided) a copy made by `bytes(obj)`.
    pub(crate) fn bytes_of(obj: &Bound<'_, PyAny>) -> PyResult<Lent> {
        match PyBuffer::<u8>::get(obj) {
            Ok(buf) if buf.is_c_contiguous() => Ok(Lent { buf }),
            _ => {
                let copy = obj.py().get_type::<PyBytes>().call1((obj,))?;
                Lent::readable(PyBuffer::get(&copy)?)
            }
        }
    }

    /// A buffer to write into.
    pub(crate) fn writable(buf: PyBuffer<u8>) -> PyResult<Lent> {
        if buf.readonly() {
            return Err(PyTypeError::new_err("the buffer is read-only"));
        }
        Lent::readable(buf)
    }

    /// The buffer's bytes. The caller (Python) must not change them during the call.
    pub(crate) fn bytes(&self) -> &[u8] {
        let len = self.buf.len_bytes();
        if len == 0 {
            return &[];
        }
        // SAFETY: the export (`self.buf`) guarantees `len` bytes at `buf_ptr`, C-contiguous,
        // valid until it is released when `self` is dropped, which outlives this borrow.
        unsafe { std::slice::from_raw_parts(self.buf.buf_ptr().cast::<u8>(), len) }
    }

    /// The buffer's bytes, to fill (checked writable in [`Lent::writable`]).
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        let len = self.buf.len_bytes();
        if len == 0 {
            return &mut [];
        }
        // SAFETY: as in `bytes`, and the export is writable; `&mut self` makes this the only
        // borrow of them in Rust.
        unsafe { std::slice::from_raw_parts_mut(self.buf.buf_ptr().cast::<u8>(), len) }
    }
}
