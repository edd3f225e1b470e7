//! Helpers shared by hexz-core's integration tests: in-memory archives, and "surgery" that
//! rewrites parts of an archive with valid checksums so that only the check under test can
//! reject it. Seeded data comes from `hexz_testkit` (`Rng`, `data::mixed_data`).
#![allow(dead_code, clippy::unwrap_used)]

pub mod open_read;

use hexz_core::codec::decode_into;
use hexz_core::sink::VecSink;
use hexz_core::{Archive, ArchiveWriter, MemStore, ReadAt, ReadOptions, WriteOptions};
use hexz_format::footer::FOOTER_LEN;
use hexz_format::header::HEADER_LEN;
use hexz_format::{Codec, Footer, FrameRef, Header, RequiredFeatures, Summary};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Runs `hexz_core::verify::verify` on `a` and turns a report with problems into an
/// `Error::Integrity` (the tests that read everything back also demand a clean verify).
pub fn verify_clean(a: &Archive) -> hexz_core::Result<()> {
    let r = hexz_core::verify::verify(a, &|_| {})?;
    if r.is_ok() {
        return Ok(());
    }
    Err(hexz_core::Error::Integrity {
        place: Box::new(hexz_core::Place::whole("verify")),
        detail: r.problems.join("; "),
    })
}

/// Builds an archive in memory.
pub fn build(
    opts: WriteOptions,
    f: impl FnOnce(&mut ArchiveWriter) -> hexz_core::Result<()>,
) -> hexz_core::Result<Vec<u8>> {
    let out = Arc::new(Mutex::new(Vec::new()));
    let mut w = ArchiveWriter::with_sink(Box::new(VecSink::new(out.clone())), opts)?;
    f(&mut w)?;
    w.finish()?;
    let bytes = std::mem::take(&mut *out.lock());
    Ok(bytes)
}

/// Read options without background threads, for tests that open thousands of archives.
pub fn quiet_opts() -> ReadOptions {
    ReadOptions {
        cache_bytes: 1 << 20,
        readahead_threads: 0,
        readahead_blocks: 0,
        verify_hashes: false,
        key: None,
        ..ReadOptions::default()
    }
}

pub fn open_mem(bytes: &[u8], opts: ReadOptions) -> hexz_core::Result<Archive> {
    Archive::open_store(Arc::new(MemStore::new(bytes.to_vec())), opts)
}

/// The format-level error inside an engine error, if it is one.
pub fn format_source(e: &hexz_core::Error) -> Option<&hexz_format::Error> {
    match e {
        hexz_core::Error::Format { source, .. } => Some(source),
        _ => None,
    }
}

/// Decodes a frame of `bytes` (checks nothing but the length).
pub fn frame_raw(bytes: &[u8], f: &FrameRef) -> Vec<u8> {
    let stored = &bytes[f.offset as usize..f.offset as usize + f.stored_len as usize];
    let mut raw = vec![0u8; f.raw_len as usize];
    let place = || hexz_core::Place {
        archive: "test".into(),
        part: hexz_core::Part::Frame {
            kind: "test frame",
            offset: f.offset,
        },
    };
    decode_into(f.codec().unwrap(), stored, &mut raw, &place).unwrap();
    raw
}

/// A parsed archive that can be rewritten: frames appended after the original ones, then a
/// new summary and footer with correct checksums and hashes.
pub struct Surgery {
    /// Everything before the original summary (header, blocks, frames) plus appended frames.
    pub body: Vec<u8>,
    pub header: Header,
    pub footer: Footer,
    pub summary: Summary,
}

impl Surgery {
    pub fn new(bytes: &[u8]) -> Surgery {
        let header = Header::parse(&bytes[..HEADER_LEN], RequiredFeatures::KNOWN).unwrap();
        let footer = Footer::parse(&bytes[bytes.len() - FOOTER_LEN..], bytes.len() as u64).unwrap();
        let sref = summary_ref(&footer);
        let raw = frame_raw(bytes, &sref);
        let summary = Summary::parse(&raw, footer.summary_offset, false, header.version).unwrap();
        Surgery {
            body: bytes[..footer.summary_offset as usize].to_vec(),
            header,
            footer,
            summary,
        }
    }

    /// Decodes a frame of the original archive.
    pub fn raw(&self, f: &FrameRef) -> Vec<u8> {
        frame_raw(&self.body, f)
    }

    /// Appends `raw` as an uncompressed frame and returns its reference.
    pub fn append_frame(&mut self, raw: &[u8]) -> FrameRef {
        let f = FrameRef {
            offset: self.body.len() as u64,
            stored_len: raw.len() as u32,
            raw_len: raw.len() as u32,
            codec: Codec::None.id(),
            crc: hexz_format::crc32c(raw),
            hash: *blake3::hash(raw).as_bytes(),
        };
        self.body.extend_from_slice(raw);
        f
    }

    /// Re-encodes the header with a correct crc (after editing `self.header`).
    pub fn rewrite_header(&mut self) {
        self.body[..HEADER_LEN].copy_from_slice(&self.header.encode());
    }

    /// Appends `summary_raw` as the summary and a matching footer.
    pub fn finish_raw_summary(mut self, summary_raw: &[u8]) -> Vec<u8> {
        let sref = self.append_frame(summary_raw);
        let footer = Footer {
            version: self.header.version,
            summary_offset: sref.offset,
            summary_stored_len: sref.stored_len,
            summary_raw_len: sref.raw_len,
            summary_codec: Codec::None,
            summary_crc: sref.crc,
            signature_offset: None,
        };
        self.body.extend_from_slice(&footer.encode());
        self.body
    }

    /// Appends the (edited) summary and a matching footer.
    pub fn finish(self) -> Vec<u8> {
        let raw = self.summary.encode(self.header.version);
        self.finish_raw_summary(&raw)
    }
}

pub fn summary_ref(f: &Footer) -> FrameRef {
    FrameRef {
        offset: f.summary_offset,
        stored_len: f.summary_stored_len,
        raw_len: f.summary_raw_len,
        codec: f.summary_codec.id(),
        crc: f.summary_crc,
        hash: [0; 32],
    }
}

/// Sets the crc of the header (bytes 124..128) to match bytes 0..124.
pub fn fix_header_crc(bytes: &mut [u8]) {
    let crc = hexz_format::crc32c(&bytes[..124]);
    bytes[124..128].copy_from_slice(&crc.to_le_bytes());
}

/// Sets the crc of the footer (the file's last 64 bytes) to match its bytes 0..52.
pub fn fix_footer_crc(bytes: &mut [u8]) {
    let f = bytes.len() - FOOTER_LEN;
    let crc = hexz_format::crc32c(&bytes[f..f + 52]);
    bytes[f + 52..f + 56].copy_from_slice(&crc.to_le_bytes());
}

/// A store that counts the bytes read from it.
pub struct Counting(pub MemStore, pub AtomicU64);

impl Counting {
    /// An archive's bytes, counted as they are read.
    pub fn new(bytes: Vec<u8>) -> Arc<Counting> {
        Arc::new(Counting(MemStore::new(bytes), AtomicU64::new(0)))
    }

    /// Bytes read so far.
    pub fn read(&self) -> u64 {
        self.1.load(Ordering::Relaxed)
    }
}

impl ReadAt for Counting {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.1.fetch_add(buf.len() as u64, Ordering::Relaxed);
        self.0.read_exact_at(offset, buf)
    }
    fn len(&self) -> std::io::Result<u64> {
        self.0.len()
    }
    fn describe(&self) -> String {
        "counting".into()
    }
}
