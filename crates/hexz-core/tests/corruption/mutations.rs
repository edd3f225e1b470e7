//! What CI runs of the fuzz target: about 20,000 seeded mutations of a small archive through
//! the same `open_read` logic as `fuzz/fuzz_targets/open_read.rs`.

use crate::common;
use crate::common::open_read::exercise;
use crate::common::{build, fix_footer_crc, fix_header_crc, Surgery};
use crate::util::{small, M};
use hexz_core::{DType, WriteOptions};
use hexz_format::footer::FOOTER_LEN;
use hexz_format::header::HEADER_LEN;
use hexz_format::BlockEntry;
use hexz_testkit::Rng;

const INTERESTING: [u64; 16] = [
    0,
    1,
    2,
    0x7F,
    0x80,
    0xFF,
    0x100,
    0xFFFF,
    0x1_0000,
    0x7FFF_FFFF,
    0xFFFF_FFFF,
    1 << 32,
    1 << 40,
    1 << 62,
    1 << 63,
    u64::MAX,
];

fn mutate_bytes(rng: &mut Rng, buf: &mut Vec<u8>) {
    if buf.is_empty() {
        buf.push(rng.next_u64() as u8);
        return;
    }
    match rng.below(6) {
        0 | 1 => {
            for _ in 0..rng.range(1, 4) {
                let at = rng.below(buf.len() as u64) as usize;
                buf[at] ^= 1 << rng.below(8);
            }
        }
        2 => {
            let width = [1usize, 2, 4, 8][rng.below(4) as usize];
            if buf.len() >= width {
                let at = (rng.below((buf.len() - width + 1) as u64) as usize) & !(width - 1);
                let v = INTERESTING[rng.below(16) as usize]
                    .wrapping_add(rng.below(3))
                    .wrapping_sub(1);
                buf[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
            }
        }
        3 => {
            let at = rng.below(buf.len() as u64) as usize;
            buf.truncate(at);
        }
        4 => {
            let at = rng.below(buf.len() as u64 + 1) as usize;
            let n = rng.range(1, 64) as usize;
            let extra = rng.bytes(n);
            buf.splice(at..at, extra);
        }
        _ => {
            let at = rng.below(buf.len() as u64) as usize;
            let n = (rng.range(1, 64) as usize).min(buf.len() - at);
            buf.drain(at..at + n);
        }
    }
}

/// Mutates one structure and fixes every checksum and hash that covers it.
fn mutate_structured(rng: &mut Rng, orig: &[u8]) -> Vec<u8> {
    let mut s = Surgery::new(orig);
    match rng.below(9) {
        0 => {
            let mut raw = s.summary.encode(s.header.version);
            mutate_bytes(rng, &mut raw);
            return s.finish_raw_summary(&raw);
        }
        1 => {
            let mut m = orig.to_vec();
            let mut h = m[..HEADER_LEN].to_vec();
            mutate_bytes(rng, &mut h);
            h.resize(HEADER_LEN, 0);
            m[..HEADER_LEN].copy_from_slice(&h);
            if rng.chance(4) {
                m[..8].copy_from_slice(&hexz_format::header::MAGIC);
            }
            fix_header_crc(&mut m);
            return m;
        }
        2 => {
            let mut m = orig.to_vec();
            let n = m.len();
            let mut t = m[n - FOOTER_LEN..n - 8].to_vec();
            mutate_bytes(rng, &mut t);
            t.resize(FOOTER_LEN - 8, 0);
            m[n - FOOTER_LEN..n - 8].copy_from_slice(&t);
            fix_footer_crc(&mut m);
            return m;
        }
        3 => {
            let p = rng.below(s.summary.index_pages.len() as u64) as usize;
            let mut raw = s.raw(&s.summary.index_pages[p].frame);
            mutate_bytes(rng, &mut raw);
            s.summary.index_pages[p].frame = s.append_frame(&raw);
        }
        4 => {
            let mut raw = s.raw(&s.summary.entries);
            mutate_bytes(rng, &mut raw);
            s.summary.entries = s.append_frame(&raw);
        }
        5 => {
            let mut raw = s.raw(&s.summary.record_groups);
            mutate_bytes(rng, &mut raw);
            s.summary.record_groups = s.append_frame(&raw);
        }
        6 => {
            let mut raw = s.raw(&s.summary.record_pages[0].frame);
            mutate_bytes(rng, &mut raw);
            s.summary.record_pages[0].frame = s.append_frame(&raw);
        }
        7 => {
            let mut raw = s.raw(&s.summary.metadata);
            mutate_bytes(rng, &mut raw);
            s.summary.metadata = s.append_frame(&raw);
        }
        _ => {
            // Change a stored block and fix its crc in the index.
            let page = s.summary.index_pages[0];
            let mut raw = s.raw(&page.frame);
            let rows = raw.len() / 64;
            let row = rng.below(rows as u64) as usize;
            let e =
                BlockEntry::parse(&raw[row * 64..][..64], s.footer.summary_offset, false).unwrap();
            if e.stored_len > 0 {
                let mut stored =
                    s.body[e.stored_offset as usize..][..e.stored_len as usize].to_vec();
                mutate_bytes(rng, &mut stored);
                let crc = hexz_format::crc32c(&stored);
                let at = s.body.len() as u64;
                s.body.extend_from_slice(&stored);
                raw[row * 64 + 8..row * 64 + 16].copy_from_slice(&at.to_le_bytes());
                raw[row * 64 + 16..row * 64 + 20]
                    .copy_from_slice(&(stored.len() as u32).to_le_bytes());
                raw[row * 64 + 28..row * 64 + 32].copy_from_slice(&crc.to_le_bytes());
            }
            s.summary.index_pages[0].frame = s.append_frame(&raw);
        }
    }
    s.finish()
}

#[test]
fn seeded_mutations_never_panic_or_misread() {
    let f = small();
    let orig = exercise(&f.bytes);
    assert!(orig.verified);
    // HEXZ_MUTATIONS / HEXZ_MUTATION_SEED run longer campaigns, e.g.
    // `HEXZ_MUTATIONS=2000000 cargo test --release -p hexz-core --test corruption mutations`.
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let iterations = env("HEXZ_MUTATIONS", 20_000);
    let started = std::time::Instant::now();
    let mut rng = Rng::new(env("HEXZ_MUTATION_SEED", 0x4845_585A));
    let (mut opened, mut verified) = (0u64, 0u64);
    for iter in 0..iterations {
        let structured = rng.chance(2);
        let m = if structured {
            mutate_structured(&mut rng, &f.bytes)
        } else {
            let mut m = f.bytes.clone();
            for _ in 0..rng.range(1, 3) {
                mutate_bytes(&mut rng, &mut m);
            }
            m
        };
        let o = exercise(&m);
        opened += o.opened as u64;
        verified += o.verified as u64;
        if !structured && !o.detected && m != f.bytes {
            // Unchecksummed damage that nothing noticed must not change what is read.
            assert!(
                o.logical == orig.logical,
                "iteration {iter}: wrong logical bytes"
            );
            assert!(o.entries == orig.entries, "iteration {iter}: wrong entries");
            assert!(
                o.metadata == orig.metadata,
                "iteration {iter}: wrong metadata"
            );
            assert!(o.records == orig.records, "iteration {iter}: wrong records");
        }
    }
    eprintln!(
        "{iterations} mutations in {:?}: {opened} opened, {verified} verified clean",
        started.elapsed()
    );
    assert!(
        opened > iterations / 10,
        "mutations should often get past open ({opened})"
    );
}

/// Byte mutations of an encrypted archive, opened with its key: nothing panics, and every
/// change is noticed (AES-GCM covers every block and frame, the summary's tag the header,
/// and no byte lies outside them).
#[test]
fn seeded_mutations_of_an_encrypted_archive_are_all_detected() {
    use common::open_read::exercise_with;
    use hexz_core::{Encryption, KeySource};
    let raw = [0x42u8; 32];
    let bytes = build(
        WriteOptions {
            block_size: 4096,
            threads: 1,
            encryption: Some(Encryption::raw_key(raw)),
            ..Default::default()
        },
        |w| {
            w.add_bytes("d/text", &b"encrypted, mutated. ".repeat(400), M)?;
            w.add_bytes("noise", &Rng::new(5).bytes(3000), M)?;
            w.add_bytes("zeros", &[0; 4096], M)?;
            w.add_array("a", DType::U16, &[6, 2], &[7; 24])?;
            w.set_metadata(br#"{"m":1}"#)
        },
    )
    .unwrap();
    let key = || Some(KeySource::RawKey(raw));
    assert!(exercise_with(&bytes, key()).verified);
    let iterations = std::env::var("HEXZ_MUTATIONS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(3000, |n| n / 4);
    let mut rng = Rng::new(0x454E_4352);
    for iter in 0..iterations {
        let mut m = bytes.clone();
        for _ in 0..rng.range(1, 3) {
            mutate_bytes(&mut rng, &mut m);
        }
        let o = exercise_with(&m, key());
        assert!(
            o.detected || m == bytes,
            "iteration {iter}: a mutation of the encrypted archive went unnoticed"
        );
    }
}
