//! Damaged stored blocks: the read of that block (and of its dedup copies) fails and says
//! which block; a block changed with its crc is caught by content hashes.

use crate::common::{open_mem, quiet_opts, Surgery};
use crate::util::{flip, integrity_err, layout, open, rich, stored_blocks};
use hexz_core::verify::verify;
use hexz_core::{Error, Part, ReadOptions};
use hexz_format::Codec;

#[test]
fn flipped_block_byte_fails_its_read() {
    let f = rich();
    let l = layout(&f.bytes);
    let stored = stored_blocks(&l);
    assert!(stored.len() > 20, "{} stored blocks", stored.len());
    let codecs: std::collections::HashSet<_> = stored.iter().map(|b| b.codec).collect();
    assert!(codecs.contains(&Codec::Lz4) && codecs.contains(&Codec::None));
    for b in stored.iter().step_by(2) {
        let n = b.stored_len as u64;
        for at in [
            b.stored_offset,
            b.stored_offset + n / 2,
            b.stored_offset + n - 1,
        ] {
            let m = flip(&f.bytes, at, 0x08);
            for verify_hashes in [false, true] {
                let a = open_mem(
                    &m,
                    ReadOptions {
                        verify_hashes,
                        ..quiet_opts()
                    },
                )
                .unwrap();
                // The error says which block, as data as well as in its message.
                match a.read_vec(b.logical_offset, 10) {
                    Err(Error::Integrity { place, .. }) => assert!(
                        matches!(place.part, Part::Block { logical_offset, .. }
                            if logical_offset == b.logical_offset),
                        "{place:?}"
                    ),
                    other => panic!("block read: expected Error::Integrity, got {other:?}"),
                }
                let (what, detail) = integrity_err(a.read_vec(b.logical_offset, 10), "block read");
                assert!(
                    what.contains(&format!("logical offset {}", b.logical_offset)),
                    "{what}"
                );
                assert!(detail.contains("crc32c"), "{detail}");
                // Every other logical block sharing these stored bytes fails too.
                for other in l
                    .blocks
                    .iter()
                    .filter(|o| o.stored_offset == b.stored_offset)
                {
                    integrity_err(a.read_vec(other.logical_offset, 1), "dedup copy");
                }
            }
            let a = open(&m).unwrap();
            let r = verify(&a, &|_| {}).unwrap();
            let tag = format!("logical offset {})", b.logical_offset);
            assert!(
                r.problems
                    .iter()
                    .any(|s| s.contains(&tag) && s.contains("crc32c mismatch")),
                "{:?}",
                r.problems
            );
        }
    }
}

/// crc32c is not a MAC: a block changed together with its crc reads back changed, but
/// content hashes (verify, or `verify_hashes`) catch it.
#[test]
fn crc_fixed_block_change_is_caught_by_content_hashes() {
    let f = rich();
    let l = layout(&f.bytes);
    let b = *stored_blocks(&l)
        .iter()
        .find(|b| b.codec == Codec::None)
        .unwrap();
    let mut s = Surgery::new(&f.bytes);
    s.body[b.stored_offset as usize] ^= 0xFF;
    let stored = &s.body[b.stored_offset as usize..][..b.stored_len as usize];
    let crc = hexz_format::crc32c(stored);
    let page_no = s
        .summary
        .index_pages
        .iter()
        .rposition(|p| p.first <= b.logical_offset)
        .unwrap();
    let page = s.summary.index_pages[page_no];
    let mut raw = s.raw(&page.frame);
    let row = raw
        .chunks_exact(64)
        .position(|r| u64::from_le_bytes(r[..8].try_into().unwrap()) == b.logical_offset)
        .unwrap();
    raw[row * 64 + 28..row * 64 + 32].copy_from_slice(&crc.to_le_bytes());
    s.summary.index_pages[page_no].frame = s.append_frame(&raw);
    let m = s.finish();

    let a = open(&m).unwrap();
    let got = a.read_vec(b.logical_offset, 1).unwrap();
    assert_eq!(got[0], f.logical[b.logical_offset as usize] ^ 0xFF);
    let r = verify(&a, &|_| {}).unwrap();
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("content hash mismatch")),
        "{:?}",
        r.problems
    );
    let strict = open_mem(
        &m,
        ReadOptions {
            verify_hashes: true,
            ..quiet_opts()
        },
    )
    .unwrap();
    let (_, detail) = integrity_err(strict.read_vec(b.logical_offset, 1), "verify_hashes");
    assert!(detail.contains("content hash"), "{detail}");
}
