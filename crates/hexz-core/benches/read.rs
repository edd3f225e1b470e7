//! Random and sequential read latency of the engine (`cargo bench -p hexz-core --bench read`).
#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hexz_core::{Archive, ArchiveWriter, Compression, EntryMeta, ReadOptions, WriteOptions};
use hexz_testkit::Rng;
use std::hint::black_box;
use std::path::Path;

const SIZE: usize = 64 << 20;

/// Text-like data that LZ4 compresses about 2-3x, like source trees and binaries.
fn corpus() -> Vec<u8> {
    let words: Vec<&[u8]> = [
        &b"block "[..],
        b"archive ",
        b"hexz ",
        b"0x1f3a ",
        b"\n",
        b"return ",
        b"self.",
        b"{}",
    ]
    .to_vec();
    let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(SIZE);
    while out.len() < SIZE {
        let x = rng.next_u64();
        if x.is_multiple_of(5) {
            out.extend_from_slice(&x.to_le_bytes());
        } else {
            out.extend_from_slice(words[(x % words.len() as u64) as usize]);
        }
    }
    out.truncate(SIZE);
    out
}

fn build(path: &Path, data: &[u8], compression: Compression) {
    let mut w = ArchiveWriter::create(
        path,
        WriteOptions {
            compression,
            ..Default::default()
        },
    )
    .expect("create");
    w.add_bytes("data", data, EntryMeta::default())
        .expect("add");
    w.finish().expect("finish");
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = corpus();
    for (name, comp) in [("lz4", Compression::Lz4), ("zstd3", Compression::Zstd(3))] {
        let path = dir.path().join(format!("{name}.hxz"));
        build(&path, &data, comp);

        let mut g = c.benchmark_group(format!("read_4k_{name}"));
        g.throughput(Throughput::Bytes(4096));
        // Warm: a working set that fits the block cache, so every read is a cache hit.
        let warm = Archive::open(&path).expect("open");
        let mut buf = vec![0u8; 4096];
        let mut rng = Rng::new(1);
        let span = (32u64 << 20) - 4096;
        for off in (0..span).step_by(65536) {
            warm.read_at(off, &mut buf).expect("prime");
        }
        g.bench_function("warm", |b| {
            b.iter(|| {
                let off = rng.below(span);
                warm.read_at(black_box(off), &mut buf).expect("read")
            })
        });
        // Cold: no block cache, so every read fetches and decodes one 64 KiB block.
        let cold = Archive::open_with_options(
            &path,
            ReadOptions {
                cache_bytes: 0,
                readahead_threads: 0,
                ..Default::default()
            },
        )
        .expect("open");
        g.bench_function("cold", |b| {
            b.iter(|| {
                let off = rng.below(SIZE as u64 / 65536) * 65536 + 1000;
                cold.read_at(black_box(off), &mut buf).expect("read")
            })
        });
        g.finish();

        let mut g = c.benchmark_group(format!("sequential_{name}"));
        g.throughput(Throughput::Bytes(SIZE as u64));
        g.sample_size(10);
        for chunk in [1usize << 20, 8 << 20] {
            let a = Archive::open(&path).expect("open");
            let mut big = vec![0u8; chunk];
            g.bench_with_input(BenchmarkId::new("chunk", chunk), &chunk, |b, _| {
                b.iter(|| {
                    let mut off = 0u64;
                    while off < SIZE as u64 {
                        off += a.read_at(off, &mut big).expect("read") as u64;
                    }
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
