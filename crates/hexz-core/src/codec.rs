//! Compression and decompression of blocks and frames.

use crate::{Error, Place, Result};
use hexz_format::Codec;

/// What the writer compresses with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Store raw.
    None,
    /// LZ4 (fast).
    Lz4,
    /// Zstd at a level from 1 to 19.
    Zstd(i32),
}

impl Compression {
    /// Parses `lz4`, `zstd`, `none` with an optional level for zstd.
    pub fn parse(name: &str, level: Option<i32>) -> Result<Compression> {
        match (name.to_ascii_lowercase().as_str(), level) {
            ("none", _) => Ok(Compression::None),
            ("lz4", _) => Ok(Compression::Lz4),
            ("zstd", l) => {
                let l = l.unwrap_or(3);
                if !(1..=19).contains(&l) {
                    return Err(Error::InvalidInput(format!(
                        "zstd level {l} is not in 1..=19"
                    )));
                }
                if !cfg!(feature = "compression-zstd") {
                    return Err(Error::Unsupported(
                        "zstd (this build lacks the compression-zstd feature)".into(),
                    ));
                }
                Ok(Compression::Zstd(l))
            }
            (other, _) => Err(Error::InvalidInput(format!(
                "unknown compression {other:?} (expected lz4, zstd or none)"
            ))),
        }
    }

    /// Compresses `raw`, falling back to storing it raw when that saves less than 1/32.
    pub fn encode(self, raw: &[u8]) -> (Codec, Vec<u8>) {
        let packed = match self {
            Compression::None => None,
            Compression::Lz4 => Some((Codec::Lz4, lz4_flex::block::compress(raw))),
            #[cfg(feature = "compression-zstd")]
            Compression::Zstd(level) => zstd::bulk::compress(raw, level)
                .ok()
                .map(|v| (Codec::Zstd, v)),
            #[cfg(not(feature = "compression-zstd"))]
            Compression::Zstd(_) => None,
        };
        match packed {
            Some((codec, v)) if v.len() < raw.len() - raw.len() / 32 => (codec, v),
            _ => (Codec::None, raw.to_vec()),
        }
    }
}

/// The magic number that starts a Zstandard frame (not a skippable one), little-endian.
#[cfg(feature = "compression-zstd")]
const ZSTD_MAGIC: [u8; 4] = 0xFD2F_B528u32.to_le_bytes();

/// Checks that `stored` is exactly one Zstandard frame (`docs/FORMAT.md` §5): no second frame
/// and no skippable frame, which a decoder would otherwise accept around the data; no
/// dictionary; and a window no larger than the decoded size needs, so that a frame cannot
/// ask a decoder for more memory than `raw_len` (itself bounded by §12).
#[cfg(feature = "compression-zstd")]
fn one_zstd_frame(stored: &[u8], raw_len: usize) -> std::result::Result<(), String> {
    if !stored.starts_with(&ZSTD_MAGIC) {
        return Err("zstd: not a Zstandard frame".into());
    }
    // The frame header descriptor (RFC 8878 §3.1.1.1.1), after the 4-byte magic.
    let Some(&descriptor) = stored.get(4) else {
        return Err("zstd: frame header cut short".into());
    };
    if descriptor & 0b11 != 0 {
        return Err("zstd: the frame needs a dictionary (none may be used)".into());
    }
    let single_segment = descriptor & 0b10_0000 != 0;
    if !single_segment {
        // The window descriptor (§3.1.1.1.2): exponent and mantissa of the window size.
        let Some(&wd) = stored.get(5) else {
            return Err("zstd: frame header cut short".into());
        };
        let base = 1u64 << (10 + (wd >> 3));
        let window = base + (base / 8) * u64::from(wd & 7);
        let allowed = (raw_len as u64).max(1024).next_power_of_two();
        if window > allowed {
            return Err(format!(
                "zstd: window of {window} bytes for {raw_len} decoded bytes (at most {allowed})"
            ));
        }
    }
    // A single-segment frame's window is its content size, which must equal raw_len.
    match zstd::zstd_safe::find_frame_compressed_size(stored) {
        Ok(n) if n == stored.len() => Ok(()),
        Ok(n) => Err(format!(
            "zstd: {} bytes after the frame (one frame per block)",
            stored.len() - n
        )),
        Err(code) => Err(format!("zstd: {}", zstd::zstd_safe::get_error_name(code))),
    }
}

/// Decodes `stored` into a new vector of `raw_len` bytes (without zero-filling it first).
pub fn decode_to_vec(
    codec: Codec,
    stored: &[u8],
    raw_len: usize,
    what: &dyn Fn() -> Place,
) -> Result<Vec<u8>> {
    let bad = |detail: String| Error::Integrity {
        place: Box::new(what()),
        detail,
    };
    let out = match codec {
        Codec::Lz4 => {
            lz4_flex::block::decompress(stored, raw_len).map_err(|e| bad(format!("lz4: {e}")))?
        }
        #[cfg(feature = "compression-zstd")]
        Codec::Zstd => {
            one_zstd_frame(stored, raw_len).map_err(bad)?;
            zstd::bulk::decompress(stored, raw_len).map_err(|e| bad(format!("zstd: {e}")))?
        }
        _ => {
            let mut out = vec![0u8; raw_len];
            decode_into(codec, stored, &mut out, what)?;
            out
        }
    };
    if out.len() != raw_len {
        return Err(bad(format!(
            "decoded {} bytes, expected {raw_len}",
            out.len()
        )));
    }
    Ok(out)
}

/// Decodes `stored` into `out`, whose length is the raw length.
pub fn decode_into(
    codec: Codec,
    stored: &[u8],
    out: &mut [u8],
    what: &dyn Fn() -> Place,
) -> Result<()> {
    let bad = |detail: String| Error::Integrity {
        place: Box::new(what()),
        detail,
    };
    match codec {
        Codec::None => {
            if stored.len() != out.len() {
                return Err(bad(format!(
                    "stored {} bytes for {}",
                    stored.len(),
                    out.len()
                )));
            }
            out.copy_from_slice(stored);
        }
        Codec::Zero => out.fill(0),
        Codec::Lz4 => {
            let n = lz4_flex::block::decompress_into(stored, out)
                .map_err(|e| bad(format!("lz4: {e}")))?;
            if n != out.len() {
                return Err(bad(format!(
                    "lz4 decoded {n} bytes, expected {}",
                    out.len()
                )));
            }
        }
        #[cfg(feature = "compression-zstd")]
        Codec::Zstd => {
            one_zstd_frame(stored, out.len()).map_err(bad)?;
            let n = zstd::bulk::decompress_to_buffer(stored, out)
                .map_err(|e| bad(format!("zstd: {e}")))?;
            if n != out.len() {
                return Err(bad(format!(
                    "zstd decoded {n} bytes, expected {}",
                    out.len()
                )));
            }
        }
        #[cfg(not(feature = "compression-zstd"))]
        Codec::Zstd => {
            return Err(Error::Unsupported(
                "zstd (this build lacks the compression-zstd feature)".into(),
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A place for the errors these tests provoke.
    fn place() -> Place {
        Place {
            archive: "test.hxz".into(),
            part: crate::Part::Block {
                index: 0,
                logical_offset: 0,
            },
        }
    }

    #[cfg(feature = "compression-zstd")]
    #[test]
    fn a_zstd_block_is_exactly_one_frame() {
        let raw = vec![7u8; 10_000];
        let frame = zstd::bulk::compress(&raw, 3).expect("compress");
        let what = place;
        assert_eq!(
            decode_to_vec(Codec::Zstd, &frame, raw.len(), &what).expect("one frame"),
            raw
        );
        let mut two = frame.clone();
        two.extend_from_slice(&zstd::bulk::compress(&[], 3).expect("empty frame"));
        // A skippable frame: magic 0x184D2A50, a length, then arbitrary bytes.
        let mut skippable = frame.clone();
        skippable.extend_from_slice(&0x184D_2A50u32.to_le_bytes());
        skippable.extend_from_slice(&4u32.to_le_bytes());
        skippable.extend_from_slice(b"junk");
        let mut leading = 0x184D_2A50u32.to_le_bytes().to_vec();
        leading.extend_from_slice(&0u32.to_le_bytes());
        leading.extend_from_slice(&frame);
        for bad in [two, skippable, leading] {
            let err = decode_to_vec(Codec::Zstd, &bad, raw.len(), &what).expect_err("refused");
            assert!(err.to_string().contains("zstd"), "{err}");
            let mut out = vec![0u8; raw.len()];
            decode_into(Codec::Zstd, &bad, &mut out, &what).expect_err("refused");
        }
    }

    #[cfg(feature = "compression-zstd")]
    #[test]
    fn a_zstd_window_larger_than_the_block_or_a_dictionary_is_refused() {
        let raw = vec![7u8; 10_000];
        let what = place;
        // Streaming with no pledged size: not single-segment, so the window is declared.
        let mut enc = zstd::stream::Encoder::new(Vec::new(), 3).expect("encoder");
        enc.window_log(23).expect("window log"); // 8 MiB
        enc.include_contentsize(false).expect("no content size");
        std::io::Write::write_all(&mut enc, &raw).expect("write");
        let wide = enc.finish().expect("finish");
        assert_eq!(wide[4] & 0b10_0000, 0, "not single-segment");
        let err = decode_to_vec(Codec::Zstd, &wide, raw.len(), &what).expect_err("refused");
        assert!(err.to_string().contains("window"), "{err}");
        // The same with the window a block of this size needs decodes.
        let mut enc = zstd::stream::Encoder::new(Vec::new(), 3).expect("encoder");
        enc.window_log(14).expect("window log"); // 16 KiB ≥ 10,000
        enc.include_contentsize(false).expect("no content size");
        std::io::Write::write_all(&mut enc, &raw).expect("write");
        let fitting = enc.finish().expect("finish");
        assert_eq!(
            decode_to_vec(Codec::Zstd, &fitting, raw.len(), &what).expect("fits"),
            raw
        );
        // A dictionary id in the descriptor.
        let mut dict = zstd::bulk::compress(&raw, 3).expect("compress");
        dict[4] |= 1;
        let err = decode_to_vec(Codec::Zstd, &dict, raw.len(), &what).expect_err("refused");
        assert!(err.to_string().contains("dictionary"), "{err}");
    }

    #[test]
    fn round_trips_and_falls_back_to_raw() {
        let text: Vec<u8> = b"hexz ".iter().cycle().take(10_000).copied().collect();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let noise: Vec<u8> = (0..10_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 56) as u8
            })
            .collect();
        for c in [Compression::None, Compression::Lz4, Compression::Zstd(3)] {
            for data in [&text, &noise] {
                let (codec, stored) = c.encode(data);
                let mut out = vec![0; data.len()];
                decode_into(codec, &stored, &mut out, &place).unwrap();
                assert_eq!(&out, data);
            }
        }
        assert_eq!(Compression::Lz4.encode(&noise).0, Codec::None);
        assert_eq!(Compression::Lz4.encode(&text).0, Codec::Lz4);
    }

    #[test]
    fn corrupt_lz4_is_an_error() {
        let text: Vec<u8> = b"abcabcabd".iter().cycle().take(5000).copied().collect();
        let (_, mut stored) = Compression::Lz4.encode(&text);
        stored.truncate(stored.len() / 2);
        let mut out = vec![0; text.len()];
        assert!(decode_into(Codec::Lz4, &stored, &mut out, &place).is_err());
    }
}
