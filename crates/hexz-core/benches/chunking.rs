//! Content-defined chunking throughput on one core (`cargo bench -p hexz-core --bench
//! chunking`): FastCDC cut points over 64 MiB of random and of text-like bytes, at the
//! default sizes around 64 KiB blocks. The goal is at least 1 GB/s per core.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hexz_core::CdcSizes;
use hexz_testkit::Rng;
use std::hint::black_box;

const SIZE: usize = 64 << 20;

fn chunking(c: &mut Criterion) {
    let random = Rng::new(1).bytes(SIZE);
    let text: Vec<u8> = b"fn main() { println!(\"hexz\"); }\n"
        .iter()
        .cycle()
        .zip(Rng::new(2).bytes(SIZE))
        .map(|(&t, r)| if r < 8 { r } else { t })
        .collect();
    let sizes = CdcSizes::around(64 << 10);
    let mut g = c.benchmark_group("fastcdc_64k");
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.sample_size(10);
    for (name, data) in [("random", &random), ("text", &text)] {
        g.bench_function(name, |b| {
            b.iter(|| black_box(sizes.cut(black_box(data))).len())
        });
    }
    g.finish();
}

criterion_group!(benches, chunking);
criterion_main!(benches);
