//! Every order is a permutation with its inverse; shares split it exactly; resumes continue
//! it; the orders are frozen.

use hexz_order::{Error, Order, Share, Shuffle};
use std::collections::HashSet;

fn shuffles() -> Vec<Shuffle> {
    vec![
        Shuffle::None,
        Shuffle::Global,
        Shuffle::Block { block: 1 },
        Shuffle::Block { block: 3 },
        Shuffle::Block { block: 7 },
        Shuffle::Block { block: 100 },
    ]
}

fn all(order: &Order) -> Vec<u64> {
    (0..order.len()).map(|p| order.get(p)).collect()
}

#[test]
fn every_order_is_a_permutation_and_position_inverts_it() {
    for n in [0u64, 1, 2, 5, 8, 9, 63, 64, 65, 200, 1001] {
        for shuffle in shuffles() {
            for epoch in 0..3 {
                let order = Order::new(n, shuffle, 7, epoch).expect("valid order");
                let got = all(&order);
                let mut sorted = got.clone();
                sorted.sort_unstable();
                assert_eq!(
                    sorted,
                    (0..n).collect::<Vec<_>>(),
                    "n={n} {shuffle:?} epoch {epoch}"
                );
                for (p, &i) in got.iter().enumerate() {
                    assert_eq!(order.position(i), p as u64, "n={n} {shuffle:?} sample {i}");
                }
            }
        }
    }
}

#[test]
fn shuffles_depend_on_seed_and_epoch() {
    for shuffle in [Shuffle::Global, Shuffle::Block { block: 10 }] {
        let a = all(&Order::new(1000, shuffle, 0, 0).expect("order"));
        assert_ne!(a, all(&Order::new(1000, shuffle, 0, 1).expect("order")));
        assert_ne!(a, all(&Order::new(1000, shuffle, 1, 0).expect("order")));
        assert_eq!(a, all(&Order::new(1000, shuffle, 0, 0).expect("order")));
        assert_ne!(a, (0..1000).collect::<Vec<_>>());
    }
}

#[test]
fn a_block_shuffle_draws_each_group_from_its_blocks_only() {
    let (n, block) = (10_000u64, 50u64);
    let order = Order::new(n, Shuffle::Block { block }, 3, 0).expect("order");
    let span = block * hexz_order::BLOCKS_PER_GROUP;
    for g in 0..n / span {
        let blocks: HashSet<u64> = (g * span..(g + 1) * span)
            .map(|p| order.get(p) / block)
            .collect();
        assert_eq!(
            blocks.len() as u64,
            hexz_order::BLOCKS_PER_GROUP,
            "group {g}"
        );
    }
}

#[test]
fn the_orders_are_frozen() {
    // Saved resume states name positions of these orders: they must never change.
    let global = Order::new(10, Shuffle::Global, 0, 0).expect("order");
    let block = Order::new(30, Shuffle::Block { block: 2 }, 5, 2).expect("order");
    assert_eq!(all(&global), GOLDEN_GLOBAL);
    assert_eq!(all(&block), GOLDEN_BLOCK);
}

const GOLDEN_GLOBAL: [u64; 10] = [5, 2, 8, 4, 0, 3, 1, 7, 6, 9];
const GOLDEN_BLOCK: [u64; 30] = [
    6, 2, 7, 9, 20, 18, 4, 19, 8, 23, 3, 16, 21, 5, 17, 22, 26, 11, 25, 14, 27, 28, 13, 15, 0, 29,
    12, 24, 1, 10,
];

fn union_of_shares(order: &Order, world: u64, start: u64, drop_last: bool) -> Vec<Vec<u64>> {
    (0..world)
        .map(|r| {
            let s = Share::new(order.clone(), r, world, start, drop_last).expect("share");
            (0..s.len()).map(|k| s.get(k)).collect()
        })
        .collect()
}

#[test]
fn shares_are_equal_disjoint_and_cover_the_order() {
    for n in [0u64, 1, 5, 10, 17, 100] {
        for world in 1..=4u64 {
            for drop_last in [false, true] {
                let order = Order::new(n, Shuffle::Global, 1, 0).expect("order");
                let shares = union_of_shares(&order, world, 0, drop_last);
                let count = shares[0].len() as u64;
                assert!(
                    shares.iter().all(|s| s.len() as u64 == count),
                    "equal counts"
                );
                let expected = if drop_last {
                    n / world
                } else {
                    n.div_ceil(world)
                };
                assert_eq!(count, expected);
                // Interleaved back, the shares are the order (then the padding, from its start).
                let mut merged = Vec::new();
                for k in 0..count as usize {
                    merged.extend(shares.iter().map(|s| s[k]));
                }
                let o = all(&order);
                let covered = if drop_last {
                    (n / world * world) as usize
                } else {
                    o.len()
                };
                assert_eq!(&merged[..covered], &o[..covered]);
                for (j, &i) in merged[covered..].iter().enumerate() {
                    assert_eq!(i, o[j % o.len()], "padding repeats the order's start");
                }
            }
        }
    }
}

#[test]
fn index_of_finds_each_sample_of_a_share() {
    let order = Order::new(103, Shuffle::Block { block: 4 }, 9, 1).expect("order");
    for world in [1u64, 2, 3, 5] {
        for rank in 0..world {
            let s = Share::new(order.clone(), rank, world, 11, false).expect("share");
            for k in 0..s.len() {
                let first = (0..=k).find(|&j| s.get(j) == s.get(k)).expect("present");
                assert_eq!(s.index_of(s.get(k)), Some(first));
            }
            let mine: HashSet<u64> = (0..s.len()).map(|k| s.get(k)).collect();
            for i in (0..103).filter(|i| !mine.contains(i)) {
                assert_eq!(s.index_of(i), None);
            }
        }
    }
}

#[test]
fn elastic_resume_continues_the_same_global_order() {
    // Two ranks take k samples each, then the job comes back with three ranks.
    let n = 1000u64;
    let order = Order::new(n, Shuffle::Block { block: 16 }, 4, 3).expect("order");
    for k in [0u64, 1, 250, 499, 500] {
        let before = Share::new(order.clone(), 0, 2, 0, false).expect("share");
        let start = before.resume_position(k);
        assert_eq!(start, (2 * k).min(n));
        let mut seen: Vec<u64> = (0..2 * k).map(|p| order.get(p)).collect();
        let after = union_of_shares(&order, 3, start, true);
        for j in 0..after[0].len() {
            seen.extend(after.iter().map(|s| s[j]));
        }
        let unique: HashSet<u64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "k={k}: nothing seen twice");
        assert!(
            n - (seen.len() as u64) < 3,
            "k={k}: only the cut tail is lost"
        );
    }
}

#[test]
fn a_billion_samples_cost_no_memory_and_any_position_is_immediate() {
    let n = 1_000_000_000u64;
    for shuffle in [Shuffle::Global, Shuffle::Block { block: 800 }] {
        let order = Order::new(n, shuffle, 0, 0).expect("order");
        let share = Share::new(order.clone(), 5, 8, 123_456_789, false).expect("share");
        for k in [0, 1, share.len() / 2, share.len() - 1] {
            let i = share.get(k);
            assert!(i < n);
            assert_eq!(share.index_of(i), Some(k));
        }
    }
}

#[test]
fn bad_arguments_are_errors() {
    assert_eq!(
        Order::new(5, Shuffle::Block { block: 0 }, 0, 0).unwrap_err(),
        Error::ZeroBlock
    );
    let order = Order::new(5, Shuffle::None, 0, 0).expect("order");
    assert_eq!(
        Share::new(order.clone(), 0, 0, 0, false).unwrap_err(),
        Error::ZeroWorld
    );
    assert_eq!(
        Share::new(order.clone(), 2, 2, 0, false).unwrap_err(),
        Error::RankOutOfRange {
            rank: 2,
            world_size: 2
        }
    );
    assert_eq!(
        Share::new(order, 0, 1, 6, false).unwrap_err(),
        Error::StartPastEnd { start: 6, n: 5 }
    );
}

#[test]
fn take_is_get_in_bulk() {
    let order = Order::new(5000, Shuffle::Block { block: 37 }, 2, 9).expect("order");
    for world in [1u64, 3] {
        let s = Share::new(order.clone(), world - 1, world, 17, false).expect("share");
        let one_by_one: Vec<u64> = (100..900).map(|k| s.get(k)).collect();
        assert_eq!(s.take(100, 800), one_by_one);
        assert_eq!(
            s.take(s.len() - 2, 10).len(),
            2,
            "cut at the end of the share"
        );
    }
}
