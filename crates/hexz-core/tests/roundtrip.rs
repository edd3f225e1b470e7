//! Writer → reader smoke test over every codec.
#![allow(clippy::unwrap_used)]
use hexz_core::sink::VecSink;
use hexz_core::{
    Archive, ArchiveWriter, Compression, EntryMeta, MemStore, ReadOptions, WriteOptions,
};
use parking_lot::Mutex;
use std::sync::Arc;

fn build(data: &[u8], compression: Compression, block_size: u32) -> Vec<u8> {
    let out = Arc::new(Mutex::new(Vec::new()));
    let mut w = ArchiveWriter::with_sink(
        Box::new(VecSink::new(out.clone())),
        WriteOptions {
            compression,
            block_size,
            ..Default::default()
        },
    )
    .unwrap();
    w.add_bytes(
        "a.bin",
        data,
        EntryMeta {
            mode: 0o644,
            mtime_ns: 5,
        },
    )
    .unwrap();
    w.finish().unwrap();
    let v = out.lock().clone();
    v
}

#[test]
fn smoke() {
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i / 7 % 251) as u8).collect();
    for c in [Compression::None, Compression::Lz4, Compression::Zstd(3)] {
        let file = build(&data, c, 4096);
        let a = Archive::open_store(Arc::new(MemStore::new(file)), ReadOptions::default()).unwrap();
        assert_eq!(a.len(), data.len() as u64);
        assert_eq!(a.read_vec(0, data.len()).unwrap(), data);
        assert_eq!(a.read_vec(12345, 70000).unwrap(), &data[12345..82345]);
        let e = a.entry("a.bin").unwrap().unwrap();
        assert_eq!(e.size, data.len() as u64);
        let r = hexz_core::verify::verify(&a, &|_| {}).unwrap();
        assert!(r.is_ok(), "{:?}", r.problems);
    }
}
