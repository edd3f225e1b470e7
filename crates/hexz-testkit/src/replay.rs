//! Fuzzing on stable Rust, in every `cargo test`: a fuzz target's logic runs on its kept
//! corpus (`fuzz/corpus/<target>/`, grown by `cargo +nightly fuzz run`) and on random
//! mutations of it (and of extra seeds) for a bounded time, `HEXZ_FUZZ_SECONDS` (default 3).
//! An input that panics is written to `fuzz/artifacts/<target>/` before the test fails, so it
//! can be replayed with `cargo +nightly fuzz run <target> <file>`. The mutations come from
//! [`Rng`], seeded by the number of inputs: the same sequence on every run (how far it gets
//! depends on the time allowed).

use crate::Rng;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The repository's `fuzz/` directory.
pub fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The repository's golden fixtures of format v1, `tests/fixtures/v1/`.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/v1")
}

/// The repository's golden fixtures of format v2, `tests/fixtures/v2/`.
pub fn fixtures_v2_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/v2")
}

/// The bytes of every golden fixture (`tests/fixtures/v1/*.hxz` and `v2/*.hxz`: plain,
/// encrypted, signed, with file attributes, corrupt), in path order: seeds for a replay.
pub fn fixtures() -> Vec<Vec<u8>> {
    let mut paths: Vec<_> = [fixtures_dir(), fixtures_v2_dir()]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).expect("tests/fixtures"))
        .flatten()
        .map(|f| f.path())
        .filter(|p| p.extension().is_some_and(|e| e == "hxz"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).expect("read a fixture"))
        .collect()
}

/// What a run did.
#[derive(Debug)]
pub struct Report {
    /// Mutated inputs run.
    pub mutations: u64,
}

/// Runs `target` on every corpus input and `seeds`, then on mutations until the time is up.
pub fn replay(name: &str, seeds: &[Vec<u8>], target: impl Fn(&[u8])) -> Report {
    let mut inputs: Vec<Vec<u8>> = seeds.to_vec();
    let dir = fuzz_dir().join("corpus").join(name);
    if let Ok(files) = std::fs::read_dir(&dir) {
        for f in files.flatten() {
            if let Ok(bytes) = std::fs::read(f.path()) {
                inputs.push(bytes);
            }
        }
    }
    let corpus = inputs.len() - seeds.len();
    for input in &inputs {
        run_one(name, input, &target);
    }
    if inputs.is_empty() {
        inputs.push(Vec::new());
    }
    let secs = std::env::var("HEXZ_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(3.0);
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15 ^ inputs.len() as u64);
    let mut mutations = 0u64;
    while Instant::now() < deadline {
        let base = &inputs[rng.below(inputs.len() as u64) as usize];
        let input = mutate(base, &mut rng);
        run_one(name, &input, &target);
        mutations += 1;
    }
    eprintln!(
        "fuzz_replay {name}: {corpus} corpus inputs, {} seeds, {mutations} mutations in {secs} s, \
         no panic",
        seeds.len()
    );
    Report { mutations }
}

fn run_one(name: &str, input: &[u8], target: &impl Fn(&[u8])) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| target(input))) {
        let dir = fuzz_dir().join("artifacts").join(name);
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join(format!("crash-{:016x}", fnv(input)));
        let _ = std::fs::write(&file, input);
        eprintln!(
            "fuzz_replay {name}: an input panicked; saved as {}",
            file.display()
        );
        std::panic::resume_unwind(panic);
    }
}

/// FNV-1a of `bytes`: names a saved crash input.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// One to eight edits: flipped bits, interesting bytes, inserted, deleted or repeated runs,
/// a cut end.
fn mutate(base: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..1 + rng.below(8) {
        let len = v.len() as u64;
        let at = if len == 0 { 0 } else { rng.below(len) as usize };
        match rng.below(6) {
            0 if len > 0 => v[at] ^= 1 << rng.below(8),
            1 if len > 0 => {
                const INTERESTING: [u8; 8] = [0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x40, 0x10];
                v[at] = INTERESTING[rng.below(8) as usize];
            }
            2 => {
                let n = rng.below(16) as usize;
                let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                v.splice(at..at, bytes);
            }
            3 if len > 0 => {
                let end = (at + 1 + rng.below(64) as usize).min(v.len());
                v.drain(at..end);
            }
            4 if len > 0 => {
                let end = (at + 1 + rng.below(256) as usize).min(v.len());
                let run = v[at..end].to_vec();
                v.splice(at..at, run);
            }
            _ => v.truncate(at),
        }
    }
    v
}
