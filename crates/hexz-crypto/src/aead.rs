//! AES-256-GCM sealing and opening of blocks and frames: their associated data, and the nonce,
//! which is the stored bytes' file offset.

use crate::{ArchiveKeys, Error, Result};
use aes_gcm::aead::array::Array;
use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::aead::AeadInOut;

/// Bytes of the AES-GCM tag appended to every sealed block and frame.
pub const TAG_LEN: usize = 16;
/// Bytes of the header bound into the summary's associated data.
pub const HEADER_LEN: usize = 128;
/// First bytes of a block's associated data.
pub const AAD_BLOCK: &[u8] = b"hexz-v1 block";
/// First bytes of a frame's associated data.
pub const AAD_FRAME: &[u8] = b"hexz-v1 frame";
/// Frame kind of the summary, whose associated data also binds the header.
pub const FRAME_KIND_SUMMARY: u8 = 1;

/// The associated data of a sealed block (`docs/FORMAT.md` §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockAad {
    /// File offset of the stored bytes (also the nonce).
    pub stored_offset: u64,
    /// Raw (decoded) length.
    pub raw_len: u32,
    /// Codec id.
    pub codec: u8,
    /// The block's keyed content hash, as the index records it.
    pub content_hash: [u8; 32],
}

/// The associated data of a sealed frame (`docs/FORMAT.md` §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameAad<'a> {
    /// File offset of the stored bytes (also the nonce).
    pub offset: u64,
    /// Raw (decoded) length.
    pub raw_len: u32,
    /// Codec id.
    pub codec: u8,
    /// Frame kind: 1 summary, 2 index page, 3 entries, 4 record page, 5 record groups,
    /// 6 metadata, 7 parents.
    pub kind: u8,
    /// The 128 header bytes: present for the summary (kind 1) only, so that the summary
    /// authenticates the header.
    pub header: Option<&'a [u8; HEADER_LEN]>,
}

impl ArchiveKeys {
    /// Seals a block in place: `buf` (compressed bytes) becomes ciphertext ‖ tag.
    pub fn seal_block(&self, aad: &BlockAad, buf: &mut Vec<u8>) -> Result<()> {
        self.seal(aad.stored_offset, &self.block_aad(aad), buf)
    }

    /// Opens a sealed block: checks the tag of `stored` and decrypts it into `out`, which must
    /// be `stored.len() - 16` bytes. On failure `out` is left as it was.
    pub fn open_block(&self, aad: &BlockAad, stored: &[u8], out: &mut [u8]) -> Result<()> {
        self.open(aad.stored_offset, &self.block_aad(aad), stored, out)
    }

    /// Opens a sealed block in place: `buf` loses its tag and holds the plaintext.
    pub fn open_block_in_place(&self, aad: &BlockAad, buf: &mut Vec<u8>) -> Result<()> {
        self.open_in_place(aad.stored_offset, &self.block_aad(aad), buf)
    }

    /// Seals a frame in place: `buf` (compressed bytes) becomes ciphertext ‖ tag.
    pub fn seal_frame(&self, aad: &FrameAad<'_>, buf: &mut Vec<u8>) -> Result<()> {
        self.seal(aad.offset, &self.frame_aad(aad), buf)
    }

    /// Opens a sealed frame into `out` (`stored.len() - 16` bytes).
    pub fn open_frame(&self, aad: &FrameAad<'_>, stored: &[u8], out: &mut [u8]) -> Result<()> {
        self.open(aad.offset, &self.frame_aad(aad), stored, out)
    }

    /// Opens a sealed frame in place: `buf` loses its tag and holds the plaintext.
    pub fn open_frame_in_place(&self, aad: &FrameAad<'_>, buf: &mut Vec<u8>) -> Result<()> {
        self.open_in_place(aad.offset, &self.frame_aad(aad), buf)
    }

    fn block_aad(&self, a: &BlockAad) -> Vec<u8> {
        let mut v = Vec::with_capacity(AAD_BLOCK.len() + 16 + 8 + 4 + 1 + 32);
        v.extend_from_slice(AAD_BLOCK);
        v.extend_from_slice(&self.archive_id);
        v.extend_from_slice(&a.stored_offset.to_le_bytes());
        v.extend_from_slice(&a.raw_len.to_le_bytes());
        v.push(a.codec);
        v.extend_from_slice(&a.content_hash);
        v
    }

    fn frame_aad(&self, a: &FrameAad<'_>) -> Vec<u8> {
        let mut v = Vec::with_capacity(AAD_FRAME.len() + 16 + 8 + 4 + 2 + HEADER_LEN);
        v.extend_from_slice(AAD_FRAME);
        v.extend_from_slice(&self.archive_id);
        v.extend_from_slice(&a.offset.to_le_bytes());
        v.extend_from_slice(&a.raw_len.to_le_bytes());
        v.push(a.codec);
        v.push(a.kind);
        if let Some(h) = a.header {
            v.extend_from_slice(h);
        }
        v
    }

    fn seal(&self, offset: u64, aad: &[u8], buf: &mut Vec<u8>) -> Result<()> {
        let tag = self
            .aead
            .encrypt_inout_detached(&nonce(offset), aad, buf.as_mut_slice().into())
            .map_err(|_| Error::InvalidKey("plaintext too long for AES-GCM".into()))?;
        buf.extend_from_slice(&tag);
        Ok(())
    }

    fn open(&self, offset: u64, aad: &[u8], stored: &[u8], out: &mut [u8]) -> Result<()> {
        let n = stored
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Error::TooShort(stored.len()))?;
        if out.len() != n {
            return Err(Error::TooShort(stored.len()));
        }
        let (ct, tag) = stored.split_at(n);
        let tag = Array::try_from(tag).map_err(|_| Error::TooShort(stored.len()))?;
        let io = InOutBuf::new(ct, out).map_err(|_| Error::TooShort(stored.len()))?;
        self.aead
            .decrypt_inout_detached(&nonce(offset), aad, io, &tag)
            .map_err(|_| Error::Authentication)
    }

    fn open_in_place(&self, offset: u64, aad: &[u8], buf: &mut Vec<u8>) -> Result<()> {
        let n = buf
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Error::TooShort(buf.len()))?;
        let (ct, tag) = buf.split_at_mut(n);
        let tag = Array::try_from(&*tag).map_err(|_| Error::TooShort(n + TAG_LEN))?;
        self.aead
            .decrypt_inout_detached(&nonce(offset), aad, ct.into(), &tag)
            .map_err(|_| Error::Authentication)?;
        buf.truncate(n);
        Ok(())
    }
}

/// The nonce of stored bytes at file `offset`: offset u64 LE ‖ 4 zero bytes.
pub fn nonce_bytes(offset: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&offset.to_le_bytes());
    n
}

fn nonce(offset: u64) -> Array<u8, aes_gcm::aead::consts::U12> {
    Array::from(nonce_bytes(offset))
}
