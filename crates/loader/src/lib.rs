//! `hexz._native`: the Rust half of the `hexz` Python package.
//!
//! The pure-Python package in `python/hexz` is the public API; this module holds the engine
//! objects it wraps: [`reader::NativeArchive`], [`writer::NativeWriter`], [`chunk::Chunk`],
//! [`reader::PendingRead`] (a batch read in the background, [`batch`]),
//! [`order::NativeShare`] (a rank's part of an epoch's sample order) and
//! [`mount::NativeMount`].

/// Batches of samples read in one call into one buffer, in the foreground or on a thread.
mod batch;
/// Recycled batch buffers.
mod buffers;
/// `Chunk`: bytes owned by Rust, lent to NumPy without a copy.
mod chunk;
/// The `hexz` command (`cli` feature).
#[cfg(feature = "cli")]
mod cli;
/// Engine errors as the exceptions of `hexz.errors`, bound at import.
mod errors;
/// Memory Python lends to Rust through the buffer protocol.
mod lent;
/// Handing freed memory back to the system.
mod memory;
/// `NativeMount`: FUSE mounts served from this process.
mod mount;
/// `OpenArgs`: the one `options=` dict every opener takes.
mod options;
/// `NativeShare`: a rank's part of an epoch's sample order.
mod order;
/// `NativeArchive`: reading an archive.
mod reader;
/// Opening archives by URL, and the URL test.
mod remote;
/// Reopening an archive in another process with no request to its store.
mod reopen;
/// Keys and signatures.
mod sign;
/// `NativeWriter`: writing an archive.
mod writer;

use pyo3::prelude::*;

/// The private native module of the `hexz` package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::bind(m.py())?;
    m.add_class::<reader::NativeArchive>()?;
    m.add_class::<writer::NativeWriter>()?;
    m.add_class::<chunk::Chunk>()?;
    m.add_class::<reader::PendingRead>()?;
    m.add_class::<mount::NativeMount>()?;
    m.add_class::<order::NativeShare>()?;
    m.add_function(wrap_pyfunction!(sign::keygen, m)?)?;
    m.add_function(wrap_pyfunction!(sign::sign_file, m)?)?;
    m.add_function(wrap_pyfunction!(sign::check_signature, m)?)?;
    m.add_function(wrap_pyfunction!(remote::url_scheme, m)?)?;
    #[cfg(feature = "cli")]
    m.add_function(wrap_pyfunction!(cli::cli_main, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("FORMAT_VERSION", hexz_core::FORMAT_VERSION)?;
    m.add("HAS_ZSTD", cfg!(feature = "compression-zstd"))?;
    m.add("HAS_S3", cfg!(feature = "s3"))?;
    m.add("HAS_ENCRYPTION", cfg!(feature = "encryption"))?;
    m.add("HAS_SIGNING", cfg!(feature = "signing"))?;
    m.add("HAS_MOUNT", cfg!(target_os = "linux"))?;
    m.add("HAS_CLI", cfg!(feature = "cli"))?;
    Ok(())
}
