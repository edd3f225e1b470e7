//! A sharded LRU cache with a byte budget.
//!
//! Every value the cache is built for fits in it: a shard is never smaller than the largest
//! value (a cache that silently refused large values would make every read of one redo the
//! work the cache exists to save), and a value is weighed with what keeping it costs beyond its
//! bytes (the key, the list node, the hash slot, allocation headers), so a budget bounds the
//! memory really used, also for millions of tiny values.

use lru::LruCache;
use parking_lot::Mutex;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Most shards a cache uses; small budgets get fewer, so that one shard still holds a
/// large value (a full index page is 256 KiB).
const MAX_SHARDS: usize = 16;
/// Smallest budget per shard when the cache has more than one.
const MIN_SHARD_BYTES: usize = 1 << 20;
/// What an entry costs besides its key, its value handle and the bytes the value weighs:
/// the LRU list's two links and the allocation of its node, the hash table's slot, and the
/// value's own allocation header and rounding (measured: ~190 bytes per 1-byte block).
const ENTRY_OVERHEAD: usize = 96;

/// Values the cache can weigh.
pub trait Weigh {
    /// Bytes this value holds.
    fn weight(&self) -> usize;
}

impl Weigh for std::sync::Arc<[u8]> {
    fn weight(&self) -> usize {
        self.len()
    }
}

struct Shard<K: Hash + Eq, V> {
    map: LruCache<K, V>,
    bytes: usize,
}

/// Sharded LRU: each shard holds an equal part of the budget, so no lock is global.
pub struct Cache<K: Hash + Eq, V> {
    shards: Vec<Mutex<Shard<K, V>>>,
    shard_budget: AtomicUsize,
    /// What keeping the largest value costs; no shard's budget is below it.
    largest: usize,
    hasher: std::collections::hash_map::RandomState,
}

impl<K: Hash + Eq + Copy, V: Weigh + Clone> Cache<K, V> {
    /// A cache holding at most `budget` bytes (0 disables caching) of values weighing at most
    /// `largest` bytes each; a budget below `largest` is raised to it, so any one value fits.
    pub fn new(budget: usize, largest: usize) -> Self {
        let largest = if budget == 0 { 0 } else { Self::cost(largest) };
        let budget = budget.max(largest);
        let n = (budget / MIN_SHARD_BYTES.max(largest)).clamp(1, MAX_SHARDS);
        Cache {
            shards: (0..n)
                .map(|_| {
                    Mutex::new(Shard {
                        map: LruCache::unbounded(),
                        bytes: 0,
                    })
                })
                .collect(),
            shard_budget: AtomicUsize::new((budget / n).max(largest)),
            largest,
            hasher: Default::default(),
        }
    }

    /// Changes the budget (the shard count stays), evicting least recently used values down
    /// to a smaller one. A budget of 0 is raised to the largest value, like any budget below
    /// it, unless the cache was made with caching disabled.
    pub fn set_budget(&self, budget: usize) {
        let per = (budget / self.shards.len()).max(self.largest);
        self.shard_budget.store(per, Ordering::Relaxed);
        for shard in &self.shards {
            let mut s = shard.lock();
            Self::evict_over(&mut s, per);
        }
    }

    fn evict_over(s: &mut Shard<K, V>, budget: usize) {
        while s.bytes > budget {
            match s.map.pop_lru() {
                Some((_, old)) => s.bytes -= Self::cost(old.weight()),
                None => break,
            }
        }
    }

    fn shard(&self, k: &K) -> &Mutex<Shard<K, V>> {
        &self.shards[self.hasher.hash_one(k) as usize % self.shards.len()]
    }

    /// Looks up `k`, marking it recently used.
    pub fn get(&self, k: &K) -> Option<V> {
        self.shard(k).lock().map.get(k).cloned()
    }

    /// Whether `k` is cached, without touching recency.
    pub fn contains(&self, k: &K) -> bool {
        self.shard(k).lock().map.contains(k)
    }

    /// What keeping a value of `weight` bytes costs.
    fn cost(weight: usize) -> usize {
        weight + ENTRY_OVERHEAD + std::mem::size_of::<K>() + std::mem::size_of::<V>()
    }

    /// Inserts `v`, evicting least recently used values over the budget.
    pub fn insert(&self, k: K, v: V) {
        let w = Self::cost(v.weight());
        let budget = self.shard_budget.load(Ordering::Relaxed);
        if w > budget {
            return;
        }
        let mut s = self.shard(&k).lock();
        if let Some(old) = s.map.put(k, v) {
            s.bytes -= Self::cost(old.weight());
        }
        s.bytes += w;
        Self::evict_over(&mut s, budget);
    }

    /// Bytes held, counting each entry's overhead.
    pub fn bytes(&self) -> usize {
        self.shards.iter().map(|s| s.lock().bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn respects_budget() {
        let c: Cache<u64, Arc<[u8]>> = Cache::new(64 * 1000, 100);
        for i in 0..1000u64 {
            c.insert(i, vec![0u8; 100].into());
        }
        assert!(c.bytes() <= 64 * 1000);
        assert!(c.get(&999).is_some());
        let off: Cache<u64, Arc<[u8]>> = Cache::new(0, 100);
        off.insert(1, vec![1u8].into());
        assert!(off.get(&1).is_none());
    }

    #[test]
    fn the_largest_value_always_fits() {
        // A budget that 16 shards would split into pieces smaller than one value.
        let c: Cache<u64, Arc<[u8]>> = Cache::new(32 << 20, 4 << 20);
        for i in 0..64u64 {
            c.insert(i, vec![0u8; 4 << 20].into());
            assert!(c.get(&i).is_some(), "value {i} was dropped");
        }
        assert!(c.bytes() <= 32 << 20);
        // A budget below one value is raised to hold it.
        let small: Cache<u64, Arc<[u8]>> = Cache::new(1 << 10, 1 << 20);
        small.insert(7, vec![0u8; 1 << 20].into());
        assert!(small.get(&7).is_some());
    }

    #[test]
    fn a_smaller_budget_evicts_the_least_recently_used() {
        let c: Cache<u64, Arc<[u8]>> = Cache::new(64 << 20, 64 << 10);
        for i in 0..512u64 {
            c.insert(i, vec![0u8; 64 << 10].into());
        }
        assert!(c.bytes() > 16 << 20);
        c.set_budget(4 << 20);
        assert!(c.bytes() <= 4 << 20, "{} bytes held", c.bytes());
        assert!(c.bytes() > 2 << 20, "{} bytes held", c.bytes());
        assert!(c.get(&0).is_none(), "the oldest value stayed");
        // New values keep to the new budget; a larger one lets them grow again.
        for i in 512..1024u64 {
            c.insert(i, vec![0u8; 64 << 10].into());
        }
        assert!(c.bytes() <= 4 << 20);
        c.set_budget(64 << 20);
        for i in 0..512u64 {
            c.insert(i, vec![0u8; 64 << 10].into());
        }
        assert!(c.bytes() > 16 << 20);
    }

    #[test]
    fn tiny_values_are_weighed_with_their_overhead() {
        let c: Cache<u64, Arc<[u8]>> = Cache::new(1 << 20, 1);
        for i in 0..1_000_000u64 {
            c.insert(i, vec![0u8; 1].into());
        }
        let held = (0..1_000_000u64).filter(|i| c.contains(i)).count();
        // Each 1-byte value costs over 100 bytes to keep: a 1 MiB budget holds under 10,000.
        assert!(held < 10_000, "{held} one-byte values in a 1 MiB budget");
        assert!(c.bytes() <= 1 << 20);
    }
}
