//! A sharded LRU cache with a byte budget.

use lru::LruCache;
use parking_lot::Mutex;
use std::hash::{BuildHasher, Hash};

/// Most shards a cache uses; small budgets get fewer, so that one shard still holds a
/// large value (a full index page is 256 KiB).
const MAX_SHARDS: usize = 16;
/// Smallest budget per shard when the cache has more than one.
const MIN_SHARD_BYTES: usize = 1 << 20;

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
    shard_budget: usize,
    hasher: std::collections::hash_map::RandomState,
}

impl<K: Hash + Eq + Copy, V: Weigh + Clone> Cache<K, V> {
    /// A cache holding at most `budget` bytes (0 disables caching).
    pub fn new(budget: usize) -> Self {
        let n = (budget / MIN_SHARD_BYTES).clamp(1, MAX_SHARDS);
        Cache {
            shards: (0..n)
                .map(|_| {
                    Mutex::new(Shard {
                        map: LruCache::unbounded(),
                        bytes: 0,
                    })
                })
                .collect(),
            shard_budget: budget / n,
            hasher: Default::default(),
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

    /// Inserts `v`, evicting least recently used values over the budget.
    pub fn insert(&self, k: K, v: V) {
        let w = v.weight();
        if w > self.shard_budget {
            return;
        }
        let mut s = self.shard(&k).lock();
        if let Some(old) = s.map.put(k, v) {
            s.bytes -= old.weight();
        }
        s.bytes += w;
        while s.bytes > self.shard_budget {
            match s.map.pop_lru() {
                Some((_, old)) => s.bytes -= old.weight(),
                None => break,
            }
        }
    }

    /// Bytes held.
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
        let c: Cache<u64, Arc<[u8]>> = Cache::new(16 * 1000);
        for i in 0..1000u64 {
            c.insert(i, vec![0u8; 100].into());
        }
        assert!(c.bytes() <= 16 * 1000);
        assert!(c.get(&999).is_some());
        // A small budget still holds a value close to its size.
        let small: Cache<u64, Arc<[u8]>> = Cache::new(300 << 10);
        small.insert(7, vec![0u8; 262_208].into());
        assert!(small.get(&7).is_some());
        let off: Cache<u64, Arc<[u8]>> = Cache::new(0);
        off.insert(1, vec![1u8].into());
        assert!(off.get(&1).is_none());
    }
}
