//! Writing to the sink: bytes at the current position, and frames (`docs/FORMAT.md` §6):
//! compressed, sealed when encrypted, and described by a [`FrameRef`].

use super::ArchiveWriter;
use crate::codec::Compression;
use crate::{Action, Error, Place, Result};
use hexz_format::frame::FrameRef;
use hexz_format::FrameKind;

impl ArchiveWriter {
    pub(super) fn write_frame(&mut self, raw: &[u8], kind: FrameKind) -> Result<FrameRef> {
        self.write_frame_stored(raw, kind).map(|(f, _)| f)
    }

    /// Writes a frame and returns its reference and stored bytes.
    pub(super) fn write_frame_stored(
        &mut self,
        raw: &[u8],
        kind: FrameKind,
    ) -> Result<(FrameRef, Vec<u8>)> {
        let (codec, mut stored) = Compression::Lz4.encode(raw);
        if let Some(c) = &self.crypt {
            c.seal_frame(self.pos, raw.len() as u32, codec.id(), kind, &mut stored)?;
        }
        let f = FrameRef {
            offset: self.pos,
            stored_len: stored.len() as u32,
            raw_len: raw.len() as u32,
            codec: codec.id(),
            crc: hexz_format::crc32c(&stored),
            hash: *blake3::hash(&stored).as_bytes(),
        };
        if raw.len() > hexz_format::limits::MAX_TABLE_RAW as usize {
            return Err(Error::InvalidInput(format!(
                "a table of {} bytes exceeds the 1 GiB limit",
                raw.len()
            )));
        }
        self.write(&stored)?;
        Ok((f, stored))
    }

    pub(super) fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let name = self.sink.describe();
        self.sink
            .write_all(bytes)
            .map_err(|e| Error::io(Action::Write, Place::whole(name), e))?;
        self.pos += bytes.len() as u64;
        Ok(())
    }
}
