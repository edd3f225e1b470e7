//! The 64-byte footer at the end of the file (`docs/FORMAT.md` §11).

use crate::bytes::{Cursor, Put};
use crate::{crc32c, Codec, Error, Result, VERSION};

/// Magic bytes ending every archive.
pub const FOOTER_MAGIC: [u8; 8] = *b"HXZFOOT\n";
/// Encoded length of the footer.
pub const FOOTER_LEN: usize = 64;

/// Locates the summary (and the signature, when signed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    /// Format version (the header's).
    pub version: u16,
    /// File offset of the summary frame.
    pub summary_offset: u64,
    /// Stored length of the summary frame.
    pub summary_stored_len: u32,
    /// Raw length of the summary.
    pub summary_raw_len: u32,
    /// Summary codec.
    pub summary_codec: Codec,
    /// crc32c of the summary's stored bytes.
    pub summary_crc: u32,
    /// Offset of the signature, when the archive is signed.
    pub signature_offset: Option<u64>,
}

impl Footer {
    /// Encodes the footer into exactly [`FOOTER_LEN`] bytes.
    pub fn encode(&self) -> [u8; FOOTER_LEN] {
        let mut v = Vec::with_capacity(FOOTER_LEN);
        v.put_u64(self.summary_offset);
        v.put_u32(self.summary_stored_len);
        v.put_u32(self.summary_raw_len);
        v.put_u8(self.summary_codec.id());
        v.put_u8(self.signature_offset.is_some() as u8);
        v.put_zeros(2);
        v.put_u32(self.summary_crc);
        v.put_u64(self.signature_offset.unwrap_or(0));
        v.put_zeros(16);
        v.put_u16(self.version);
        v.put_u16(FOOTER_LEN as u16);
        let crc = crc32c(&v);
        v.put_u32(crc);
        v.extend_from_slice(&FOOTER_MAGIC);
        let mut out = [0u8; FOOTER_LEN];
        out.copy_from_slice(&v);
        out
    }

    /// Parses the last [`FOOTER_LEN`] bytes of a file of `file_len` bytes.
    pub fn parse(buf: &[u8], file_len: u64) -> Result<Footer> {
        if buf.len() < FOOTER_LEN {
            return Err(Error::Truncated {
                what: "footer",
                need: FOOTER_LEN as u64,
                have: buf.len() as u64,
            });
        }
        let buf = &buf[buf.len() - FOOTER_LEN..];
        if buf[56..64] != FOOTER_MAGIC {
            return Err(Error::BadMagic { what: "footer" });
        }
        let mut c = Cursor::new(buf, "footer");
        let summary_offset = c.u64()?;
        let summary_stored_len = c.u32()?;
        let summary_raw_len = c.u32()?;
        let codec_id = c.u8()?;
        let flags = c.u8()?;
        c.reserved(2)?;
        let summary_crc = c.u32()?;
        let sig = c.u64()?;
        c.reserved(16)?;
        let version = c.u16()?;
        if !crate::is_known_version(version) {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: VERSION,
            });
        }
        let len = c.u16()?;
        if len as usize != FOOTER_LEN {
            return Err(Error::Invalid {
                what: "footer_len",
                value: len as u64,
            });
        }
        let stored = c.u32()?;
        let computed = crc32c(&buf[..52]);
        if stored != computed {
            return Err(Error::Checksum {
                what: "footer",
                stored,
                computed,
            });
        }
        if flags & !1 != 0 {
            return Err(Error::Reserved {
                what: "footer flags",
            });
        }
        let summary_codec = Codec::from_id(codec_id)?;
        if summary_codec == Codec::Zero {
            return Err(Error::Invalid {
                what: "summary codec",
                value: codec_id as u64,
            });
        }
        if summary_raw_len > crate::limits::MAX_SUMMARY_RAW {
            return Err(Error::Limit {
                what: "summary raw_len",
                value: summary_raw_len as u64,
                limit: crate::limits::MAX_SUMMARY_RAW as u64,
            });
        }
        let signed = flags & 1 != 0;
        // v1: a signature block is 144 bytes. v2: it says its own length (§10), so the tail
        // is from signature_offset to the footer, within the limit.
        let sig_len = match (signed, version) {
            (false, _) => 0,
            (true, 1) => crate::signature::SIGNATURE_LEN as u64,
            (true, _) => file_len
                .saturating_sub(FOOTER_LEN as u64)
                .saturating_sub(sig),
        };
        if signed
            && !(crate::signature::SIGNATURE_V2_MIN_LEN as u64
                ..=crate::limits::MAX_SIGNATURE_LEN as u64)
                .contains(&sig_len)
        {
            return Err(Error::Invalid {
                what: "signature_offset",
                value: sig,
            });
        }
        let tail = FOOTER_LEN as u64 + sig_len;
        let end = summary_offset.checked_add(summary_stored_len as u64);
        if summary_offset < crate::header::HEADER_LEN as u64
            || end.is_none_or(|e| e.saturating_add(tail) != file_len)
        {
            return Err(Error::OutOfBounds {
                what: "summary",
                offset: summary_offset,
                len: summary_stored_len as u64,
                bound: file_len.saturating_sub(tail),
            });
        }
        let signature_offset = match (signed, sig) {
            (false, 0) => None,
            (true, off) if off == file_len - tail => Some(off),
            (_, off) => {
                return Err(Error::Invalid {
                    what: "signature_offset",
                    value: off,
                })
            }
        };
        Ok(Footer {
            version,
            summary_offset,
            summary_stored_len,
            summary_raw_len,
            summary_codec,
            summary_crc,
            signature_offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_flips() {
        let f = Footer {
            version: VERSION,
            summary_offset: 1000,
            summary_stored_len: 300,
            summary_raw_len: 288,
            summary_codec: Codec::None,
            summary_crc: 0xdead_beef,
            signature_offset: None,
        };
        let b = f.encode();
        let len = 1300 + FOOTER_LEN as u64;
        assert_eq!(Footer::parse(&b, len), Ok(f));
        for i in 0..FOOTER_LEN {
            let mut x = b;
            x[i] ^= 1;
            assert!(Footer::parse(&x, len).is_err(), "byte {i}");
        }
    }
}
