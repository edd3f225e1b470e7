//! Prints how many bytes opening an archive reads: `cargo run --release --example open_cost -- FILE`.

use hexz_core::{Archive, FileStore, ReadOptions};
use std::sync::Arc;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: open_cost ARCHIVE")?;
    let store = Arc::new(FileStore::open(&path)?);
    let t = Instant::now();
    let archive = Archive::open_store(store.clone(), ReadOptions::default())?;
    let opened = t.elapsed();
    let at_open = store.bytes_read();
    let mut buf = [0u8; 4096];
    archive.read_at(archive.len() / 2, &mut buf)?;
    println!(
        "file {} bytes, logical {} bytes, {} blocks; open read {} bytes in {:?}; first 4 KiB read_at added {} bytes",
        archive.file_len(),
        archive.len(),
        archive.summary().block_count,
        at_open,
        opened,
        store.bytes_read() - at_open
    );
    Ok(())
}
