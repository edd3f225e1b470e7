//! `NativeWriter`: the writer behind `hexz.Writer`.

use crate::errors::IntoPy;
use crate::lent::Lent;
use crate::options::OpenArgs;
use hexz_core::{
    ArchiveWriter, CdcSizes, Chunking, Compression, DType, Encryption, EntryMeta, KdfParams,
    WriteOptions,
};
use hexz_store::S3Options;
use parking_lot::Mutex;
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Builds an archive; compression runs on Rust threads and every call releases the GIL.
#[pyclass(frozen, module = "hexz._native")]
pub struct NativeWriter {
    inner: Mutex<Option<ArchiveWriter>>,
}

impl NativeWriter {
    fn with<T>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut ArchiveWriter) -> hexz_core::Result<T> + Send,
    ) -> PyResult<T>
    where
        T: Send,
    {
        py.detach(|| {
            let mut guard = self.inner.lock();
            let w = guard
                .as_mut()
                .ok_or_else(|| hexz_core::Error::InvalidInput("the writer is closed".into()))?;
            f(w)
        })
        .py()
    }
}

/// The writer for `target`: a local path (a temporary file renamed into place on commit), or a
/// URL through `hexz_store::create_sink` (`s3://bucket/key`: a multipart upload as the archive
/// is written, aborted when the writer is dropped unfinished). Blocks on the network: call it
/// with the GIL released.
fn create(target: &Path, opts: WriteOptions, s3: Option<&S3Options>) -> PyResult<ArchiveWriter> {
    let url = target.to_str().filter(|s| hexz_store::is_url(s));
    let Some(url) = url else {
        if s3.is_some() {
            return Err(PyValueError::new_err(
                "endpoint=, region=, path_style=, anonymous= and allow_http= apply to s3:// \
                 URLs only",
            ));
        }
        return ArchiveWriter::create(target, opts).py();
    };
    let scheme = hexz_store::url_scheme(url).unwrap_or_default();
    if scheme == "s3" && !cfg!(feature = "s3") {
        return Err(crate::remote::s3_unsupported(url)).py();
    }
    if s3.is_some() && scheme != "s3" {
        return Err(PyValueError::new_err(format!(
            "{url}: endpoint=, region=, path_style=, anonymous= and allow_http= apply to s3:// \
             URLs only"
        )));
    }
    let sink = match hexz_store::create_sink(url, s3.unwrap_or(&S3Options::default())) {
        Ok(sink) => sink,
        // A URL this writer cannot write (http://, an unknown scheme, a malformed URL).
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
            return Err(PyValueError::new_err(e.to_string()))
        }
        Err(source) => {
            let place = hexz_core::Place::whole(url);
            return Err(hexz_core::Error::io(
                hexz_core::Action::Create,
                place,
                source,
            ))
            .py();
        }
    };
    ArchiveWriter::with_sink(sink, opts).py()
}

/// The S3 keyword options, `None` when none was given.
fn now_meta() -> EntryMeta {
    let ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    EntryMeta {
        mode: 0o644,
        mtime_ns: ns,
    }
}

/// `chunking=` and the chunk sizes (`None`: around `block_size`), checked.
fn chunking_of(name: &str, block_size: u32, sizes: [Option<u32>; 3]) -> PyResult<Chunking> {
    let [min, avg, max] = sizes;
    match name {
        "fixed" if sizes.iter().all(Option::is_none) => Ok(Chunking::Fixed),
        "fixed" => Err(PyValueError::new_err(
            "chunk_min, chunk_avg and chunk_max apply with chunking=\"cdc\"",
        )),
        "cdc" => {
            let mut cdc = CdcSizes::around(avg.unwrap_or(block_size));
            cdc.avg = avg.unwrap_or(cdc.avg);
            cdc.min = min.unwrap_or(cdc.min);
            cdc.max = max.unwrap_or(cdc.max);
            cdc.check().py()?;
            Ok(Chunking::Cdc(cdc))
        }
        other => Err(PyValueError::new_err(format!(
            "chunking must be \"fixed\" or \"cdc\", not {other:?}"
        ))),
    }
}

#[pymethods]
impl NativeWriter {
    #[new]
    #[pyo3(signature = (
        path, compression = "lz4", level = None, block_size = 65536, threads = 0, dedup = true,
        *, options = None, kdf = None,
        signing_key = None, signing_key_file = None,
        record_block = hexz_core::DEFAULT_RECORD_BLOCK_MIN,
        chunking = "fixed", chunk_min = None, chunk_avg = None, chunk_max = None,
        parent = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        compression: &str,
        level: Option<i32>,
        block_size: u32,
        threads: usize,
        dedup: bool,
        options: Option<OpenArgs>,
        kdf: Option<(u32, u32, u32)>,
        signing_key: Option<String>,
        signing_key_file: Option<PathBuf>,
        record_block: u32,
        chunking: &str,
        chunk_min: Option<u32>,
        chunk_avg: Option<u32>,
        chunk_max: Option<u32>,
        parent: Option<String>,
    ) -> PyResult<Self> {
        let chunking = chunking_of(chunking, block_size, [chunk_min, chunk_avg, chunk_max])?;
        let args = options.unwrap_or_default();
        args.refuse_read_only("writing")?;
        let signing_key = crate::sign::signing_key(signing_key, signing_key_file)?;
        let encryption = args.key_source()?.map(|k| {
            let params = kdf.map_or(KdfParams::DEFAULT, |(m_cost, t_cost, parallelism)| {
                KdfParams {
                    m_cost,
                    t_cost,
                    parallelism,
                }
            });
            Encryption::new(k).with_kdf(params)
        });
        if kdf.is_some() && encryption.is_none() {
            return Err(PyValueError::new_err("kdf applies with a password only"));
        }
        if level.is_some() && !compression.eq_ignore_ascii_case("zstd") {
            return Err(PyValueError::new_err(
                "level applies to zstd compression only",
            ));
        }
        let compression = Compression::parse(compression, level).py()?;
        // Built from the defaults: hexz-core may have fields (signing_key) that this crate's
        // features leave unset, when another crate in the build enables them.
        #[allow(unused_mut, clippy::needless_update)]
        let mut opts = WriteOptions {
            compression,
            block_size,
            threads,
            dedup,
            record_block_min: record_block,
            chunking,
            archive_id: None,
            encryption,
            ..WriteOptions::default()
        };
        #[cfg(feature = "signing")]
        {
            opts.signing_key = signing_key;
        }
        #[cfg(not(feature = "signing"))]
        let _ = signing_key;
        // A thin archive's parent, opened with the same options (S3, key).
        opts.parent = match parent {
            Some(base) => {
                let read = hexz_core::ReadOptions {
                    key: args.key_source()?,
                    ..hexz_core::ReadOptions::default()
                };
                let archive = py
                    .detach(|| match crate::remote::is_url(&base) {
                        true => crate::remote::open(&base, read, &args, None),
                        false => hexz_core::Archive::open_with_options(&base, read),
                    })
                    .py()?;
                let output = path.to_string_lossy();
                Some(hexz_core::ThinParent {
                    archive: Arc::new(archive),
                    location: hexz_core::recorded_location(&base, &output),
                })
            }
            None => None,
        };
        let s3 = args.has_s3().then(|| args.s3());
        let w = py.detach(|| create(&path, opts, s3.as_ref()))?;
        Ok(NativeWriter {
            inner: Mutex::new(Some(w)),
        })
    }

    /// Adds the local file `src` as entry `name`.
    fn add_file(&self, py: Python<'_>, src: PathBuf, name: String) -> PyResult<u64> {
        self.with(py, |w| w.add_file(&src, &name))
    }

    /// Adds the local file `src` as the raw stream `name` (`disk` for a disk image).
    fn add_stream(&self, py: Python<'_>, src: PathBuf, name: String) -> PyResult<u64> {
        self.with(py, |w| {
            let source = |e| hexz_core::Error::Source {
                path: src.clone(),
                source: e,
            };
            let file = std::fs::File::open(&src).map_err(source)?;
            let meta = hexz_core::meta_of(&file.metadata().map_err(source)?);
            w.add_stream(&name, file, meta)
        })
    }

    /// Adds the tree under `src`, with paths prefixed by `prefix`.
    fn add_dir(&self, py: Python<'_>, src: PathBuf, prefix: String) -> PyResult<()> {
        self.with(py, |w| w.add_dir(&src, &prefix))
    }

    /// Adds a file entry holding `data`.
    fn add_bytes(&self, py: Python<'_>, name: String, data: Vec<u8>) -> PyResult<()> {
        self.with(py, |w| w.add_bytes(&name, &data, now_meta()))
    }

    /// Adds a file entry holding the bytes of `data` (a C-contiguous buffer of bytes), without
    /// holding the GIL while they are compressed.
    fn add_buffer(&self, py: Python<'_>, name: String, data: PyBuffer<u8>) -> PyResult<()> {
        let src = Lent::readable(data)?;
        self.with(py, |w| w.add_bytes(&name, src.bytes(), now_meta()))
    }

    /// Adds an array (its C-order, little-endian bytes in `data`, a buffer of bytes) as a
    /// record group: one record per row of the first axis.
    fn add_array(
        &self,
        py: Python<'_>,
        name: String,
        dtype: &str,
        shape: Vec<u64>,
        data: PyBuffer<u8>,
    ) -> PyResult<()> {
        let dtype = DType::from_name(dtype)
            .filter(|d| *d != DType::Bytes)
            .ok_or_else(|| PyValueError::new_err(format!("unsupported dtype {dtype:?}")))?;
        let src = Lent::readable(data)?;
        self.with(py, |w| w.add_array(&name, dtype, &shape, src.bytes()))
    }

    /// Starts a record group of opaque samples named `name`.
    fn begin_records(&self, py: Python<'_>, name: String) -> PyResult<()> {
        self.with(py, |w| w.begin_records(&name, DType::Bytes, &[]))
    }

    /// Appends samples to the current record group (one record per item, a bytes-like
    /// object): read in place, without the GIL.
    fn add_records(&self, py: Python<'_>, samples: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        let lent = samples
            .iter()
            .map(Lent::bytes_of)
            .collect::<PyResult<Vec<Lent>>>()?;
        self.with(py, |w| {
            lent.iter().try_for_each(|s| w.add_record(s.bytes()))
        })
    }

    /// Sets the user metadata (a JSON object as text).
    fn set_metadata(&self, py: Python<'_>, json: String) -> PyResult<()> {
        self.with(py, |w| w.set_metadata(json.as_bytes()))
    }

    /// Finishes the archive (atomic rename into place, or completing the S3 upload) and
    /// returns what was written.
    fn finish<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let w = self
            .inner
            .lock()
            .take()
            .ok_or_else(|| PyValueError::new_err("the writer is closed"))?;
        let r = py.detach(|| w.finish()).py()?;
        let d = PyDict::new(py);
        d.set_item("logical_size", r.logical_size)?;
        d.set_item("file_size", r.file_len)?;
        d.set_item("blocks", r.blocks)?;
        d.set_item("stored_blocks", r.stored_blocks)?;
        d.set_item("dedup_blocks", r.dedup_blocks)?;
        d.set_item("zero_blocks", r.zero_blocks)?;
        d.set_item("parent_blocks", r.parent_blocks)?;
        d.set_item("entries", r.entries)?;
        d.set_item("records", r.records)?;
        Ok(d)
    }

    /// Discards everything written; nothing appears at the target (an S3 upload is aborted,
    /// which is a request: the GIL is released for it).
    fn abort(&self, py: Python<'_>) {
        let w = self.inner.lock().take();
        py.detach(move || drop(w));
    }

    /// Whether `finish` or `abort` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.lock().is_none()
    }
}
