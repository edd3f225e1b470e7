//! Reading one frame (`docs/FORMAT.md` §6): its stored bytes, checked (crc32c, and the BLAKE3
//! hash the summary gives when hashes are verified), decrypted and decompressed.

use super::ArchiveState;
use crate::codec::decode_into;
use crate::crypt::Crypt;
use crate::{Action, Error, Part, Place, Result};
use hexz_format::{FrameKind, FrameRef};

impl ArchiveState {
    pub(crate) fn read_frame(&self, f: &FrameRef, kind: FrameKind) -> Result<Vec<u8>> {
        self.read_frame_named(f, kind, kind.name())
    }

    /// [`Self::read_frame`], naming the frame `label` in errors (an extension's frames say
    /// what they hold).
    pub(crate) fn read_frame_named(
        &self,
        f: &FrameRef,
        kind: FrameKind,
        label: &'static str,
    ) -> Result<Vec<u8>> {
        let stored = self.read_stored_frame(f).map_err(|e| {
            let part = Part::Frame {
                kind: label,
                offset: f.offset,
            };
            Error::io(Action::Read, self.place(part), e)
        })?;
        let frame = Frame { f, kind, label };
        decode_frame(
            &stored,
            frame,
            &self.name,
            self.crypt.as_ref(),
            self.verify_hashes,
        )
    }
}

/// A frame to decode: where it is, what it holds (bound into an encrypted frame's associated
/// data), and its name in errors.
#[derive(Clone, Copy)]
pub(super) struct Frame<'a> {
    pub(super) f: &'a FrameRef,
    pub(super) kind: FrameKind,
    pub(super) label: &'static str,
}

pub(super) fn decode_frame(
    stored: &[u8],
    frame: Frame<'_>,
    name: &str,
    crypt: Option<&Crypt>,
    check_hash: bool,
) -> Result<Vec<u8>> {
    let Frame { f, kind, label } = frame;
    let what = || {
        let part = Part::Frame {
            kind: label,
            offset: f.offset,
        };
        Place::new(name, part)
    };
    let crc = hexz_format::crc32c(stored);
    if crc != f.crc {
        return Err(Error::Integrity {
            place: Box::new(what()),
            detail: format!("crc32c {crc:#010x}, expected {:#010x}", f.crc),
        });
    }
    if check_hash && *blake3::hash(stored).as_bytes() != f.hash {
        return Err(Error::Integrity {
            place: Box::new(what()),
            detail: "BLAKE3 hash does not match the summary's".into(),
        });
    }
    let codec = f.codec().map_err(|e| Error::format(what(), e))?;
    let mut raw = vec![0u8; f.raw_len as usize];
    match crypt {
        Some(c) => {
            let plain = c.open_frame(f.offset, f.raw_len, f.codec, kind, stored, &what)?;
            decode_into(codec, &plain, &mut raw, &what)?;
        }
        None => decode_into(codec, stored, &mut raw, &what)?,
    }
    Ok(raw)
}
