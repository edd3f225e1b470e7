//! Content-defined chunking (`Chunking::Cdc`): blocks cut by FastCDC read back exactly, cut
//! the same however the bytes arrive, survive an insertion (only the blocks around it change,
//! the rest dedup), never split a record that fits in a block, and bad sizes are refused.

#![allow(clippy::unwrap_used)]

mod common;

use common::{build, open_mem, quiet_opts, verify_clean};
use hexz_core::{Archive, CdcSizes, Chunking, DType, EntryMeta, WriteOptions};
use hexz_format::OptionalFeatures;
use hexz_testkit::Rng;

fn cdc(avg: u32) -> WriteOptions {
    WriteOptions {
        chunking: Chunking::Cdc(CdcSizes::around(avg)),
        ..WriteOptions::default()
    }
}

/// (logical offset, raw length, hash) of every block.
fn blocks(a: &Archive) -> Vec<(u64, u32, [u8; 32])> {
    a.blocks()
        .map(|b| b.map(|b| (b.logical_offset, b.raw_len, b.hash)).unwrap())
        .collect()
}

#[test]
fn chunks_read_back_and_vary_in_size() {
    let data = Rng::new(1).bytes(3 << 20);
    let bytes = build(cdc(16 << 10), |w| {
        w.add_bytes("f", &data, EntryMeta::default())
    })
    .unwrap();
    let a = open_mem(&bytes, quiet_opts()).unwrap();
    assert!(a.header().optional.has(OptionalFeatures::CDC));
    assert_eq!(a.read_vec(0, data.len()).unwrap(), data);
    verify_clean(&a).unwrap();
    let sizes: Vec<u32> = blocks(&a).iter().map(|b| b.1).collect();
    let (min, max) = (4 << 10, 64 << 10);
    let (last, rest) = sizes.split_last().unwrap();
    assert!(rest.iter().all(|&s| (min..=max).contains(&s)), "{sizes:?}");
    assert!(*last <= max);
    // Content-defined: not all one size, and about the average.
    assert!(rest.iter().any(|&s| s != rest[0]));
    let avg = data.len() / sizes.len();
    assert!((8 << 10..=32 << 10).contains(&avg), "average chunk {avg}");
}

#[test]
fn cuts_do_not_depend_on_how_the_bytes_arrive() {
    let data = Rng::new(2).bytes(20 << 20); // more than the 8 MiB the chunker buffers
    let whole = build(cdc(64 << 10), |w| {
        w.add_bytes("f", &data, EntryMeta::default())
    })
    .unwrap();
    let dribbled = build(cdc(64 << 10), |w| {
        w.add_reader("f", SmallReads(&data, 3001), EntryMeta::default(), None)
            .map(|_| ())
    })
    .unwrap();
    let (a, b) = (
        open_mem(&whole, quiet_opts()).unwrap(),
        open_mem(&dribbled, quiet_opts()).unwrap(),
    );
    assert!(blocks(&a) == blocks(&b));
}

/// A reader returning at most `.1` bytes per call.
struct SmallReads<'a>(&'a [u8], usize);
impl std::io::Read for SmallReads<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.1).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn an_insertion_changes_only_the_blocks_around_it() {
    let v1 = Rng::new(3).bytes(8 << 20);
    let mut v2 = v1.clone();
    v2.splice(3 << 20..3 << 20, Rng::new(4).bytes(100));
    let pack = |opts: WriteOptions| {
        let bytes = build(opts, |w| {
            w.add_bytes("v1", &v1, EntryMeta::default())?;
            w.add_bytes("v2", &v2, EntryMeta::default())
        })
        .unwrap();
        let a = open_mem(&bytes, quiet_opts()).unwrap();
        assert_eq!(a.read_vec(v1.len() as u64, v2.len()).unwrap(), v2);
        a.summary().stored_data_bytes
    };
    let with_cdc = pack(cdc(64 << 10));
    let fixed = pack(WriteOptions::default());
    // CDC stores v1 once plus the few chunks around the insertion; fixed blocks store v2's
    // blocks after the insertion again.
    assert!(
        with_cdc < v1.len() as u64 + (1 << 20),
        "CDC stored {with_cdc} bytes for two versions of {}",
        v1.len()
    );
    assert!(
        fixed > v1.len() as u64 + (4 << 20),
        "fixed blocks stored {fixed}"
    );
}

#[test]
fn records_are_never_split_and_dedup_across_versions() {
    let mut rng = Rng::new(5);
    let v1: Vec<Vec<u8>> = (0..4000)
        .map(|_| {
            let n = 200 + rng.below(800) as usize;
            rng.bytes(n)
        })
        .collect();
    // v2: 0.5% inserted at random places, 0.25% removed, 0.1% changed (one edit in about
    // 120 records; blocks of records average `record_block_min`, 4 KiB: about 7 records).
    let mut v2 = v1.clone();
    for _ in 0..20 {
        let at = rng.below(v2.len() as u64) as usize;
        let n = 200 + rng.below(800) as usize;
        v2.insert(at, rng.bytes(n));
    }
    for _ in 0..10 {
        let at = rng.below(v2.len() as u64) as usize;
        v2.remove(at);
    }
    for _ in 0..4 {
        let at = rng.below(v2.len() as u64) as usize;
        let n = v2[at].len();
        v2[at] = rng.bytes(n);
    }
    let bytes = build(cdc(16 << 10), |w| {
        for (name, set) in [("v1", &v1), ("v2", &v2)] {
            w.begin_records(name, DType::Bytes, &[])?;
            for r in set {
                w.add_record(r)?;
            }
        }
        Ok(())
    })
    .unwrap();
    let a = open_mem(&bytes, quiet_opts()).unwrap();
    verify_clean(&a).unwrap();
    let all = blocks(&a);
    let starts: Vec<u64> = all.iter().map(|b| b.0).collect();
    for i in 0..a.record_count() {
        let r = a.record(i).unwrap();
        let b = starts.partition_point(|&s| s <= r.offset) - 1;
        let (start, len, _) = all[b];
        assert!(
            r.offset + r.length <= start + len as u64,
            "record {i} is split"
        );
    }
    assert_eq!(
        a.read_vec(a.record(4000).unwrap().offset, v2[0].len())
            .unwrap(),
        v2[0]
    );
    // v2's blocks: most repeat one of v1's.
    let first_v2 = a.record(4000).unwrap().offset;
    let v1_hashes: std::collections::HashSet<_> =
        all.iter().filter(|b| b.0 < first_v2).map(|b| b.2).collect();
    let v2_blocks: Vec<_> = all.iter().filter(|b| b.0 >= first_v2).collect();
    let new = v2_blocks
        .iter()
        .filter(|b| !v1_hashes.contains(&b.2))
        .count();
    assert!(
        new * 100 < v2_blocks.len() * 40,
        "{new} of {} v2 blocks are new",
        v2_blocks.len()
    );
}

#[test]
fn bad_sizes_are_refused() {
    for (min, avg, max) in [
        (0, 65536, 262144),
        (16384, 65536, 32 << 20),
        (16385, 65536, 262144),
        (65536, 16384, 262144),
        (16384, 65536, 32768),
    ] {
        let opts = WriteOptions {
            chunking: Chunking::Cdc(CdcSizes { min, avg, max }),
            ..WriteOptions::default()
        };
        let e = build(opts, |_| Ok(())).unwrap_err().to_string();
        assert!(e.contains("chunk"), "{min} {avg} {max}: {e}");
    }
}
