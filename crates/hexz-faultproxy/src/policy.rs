//! The fault plan: each request's [`Fate`] drawn from a PRNG seeded by [`Faults::seed`], with
//! [`Faults::max_in_a_row`] streaks bounded per request.

use crate::http;
use crate::Faults;
use std::collections::HashMap;
use std::time::Duration;

/// At most this many requests are remembered for [`Faults::max_in_a_row`].
const MAX_STREAKS: usize = 65_536;

/// SplitMix64: small, fast, and the same sequence everywhere for a seed.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// A request's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    Pass,
    /// Answer with this status.
    Error(u16),
    /// Cut the response; the number picks where.
    Drop(u64),
}

pub(crate) struct Policy {
    pub(crate) faults: Faults,
    rng: Rng,
    /// Faults in a row per request key, for [`Faults::max_in_a_row`].
    streaks: HashMap<String, u32>,
}

impl Policy {
    pub(crate) fn new(faults: Faults) -> Policy {
        Policy {
            rng: Rng(faults.seed),
            faults,
            streaks: HashMap::new(),
        }
    }

    /// How long to hold this request before it goes on: [`Faults::stall`] for a
    /// `stall_rate` fraction of requests, else nothing.
    pub(crate) fn stall(&mut self) -> Option<Duration> {
        let f = &self.faults;
        if f.stall_rate <= 0.0 || f.stall.is_zero() {
            return None;
        }
        let stall = f.stall;
        (self.rng.next_f64() < f.stall_rate).then_some(stall)
    }

    pub(crate) fn decide(&mut self, req: &http::Request) -> Fate {
        let f = &self.faults;
        if f.error_rate <= 0.0 && f.drop_rate <= 0.0 {
            return Fate::Pass;
        }
        let u = self.rng.next_f64();
        let mut fate = if u < f.error_rate {
            let i = self.rng.next_u64() % f.error_statuses.len() as u64;
            Fate::Error(f.error_statuses[i as usize])
        } else if u < f.error_rate + f.drop_rate {
            Fate::Drop(self.rng.next_u64())
        } else {
            Fate::Pass
        };
        if let Some(max) = f.max_in_a_row {
            let key = format!("{} {} {}", req.method, req.target, req.range_end());
            let streak = self.streaks.get(&key).copied().unwrap_or(0);
            if streak >= max {
                fate = Fate::Pass;
            }
            if fate == Fate::Pass {
                self.streaks.remove(&key);
            } else {
                if self.streaks.len() >= MAX_STREAKS {
                    self.streaks.clear();
                }
                self.streaks.insert(key, streak + 1);
            }
        }
        fate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_uniform() {
        let mut a = Rng(42);
        let mut b = Rng(42);
        let xs: Vec<u64> = (0..100).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..100).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(Rng(43).next_u64(), xs[0]);
        let mut r = Rng(1);
        let n = 100_000;
        let below = (0..n).filter(|_| r.next_f64() < 0.3).count();
        assert!((29_000..31_000).contains(&below), "{below}");
        assert!((0..n).all(|_| (0.0..1.0).contains(&r.next_f64())));
    }

    fn get(target: &str, range: &str) -> http::Request {
        let head = format!("GET {target} HTTP/1.1\r\nRange: bytes={range}\r\n\r\n");
        http::parse_request(head.as_bytes()).expect("parse")
    }

    #[test]
    fn fates_follow_the_rates() {
        let mut p = Policy::new(Faults::none().error_rate(0.3).drop_rate(0.2).seed(9));
        let req = get("/a", "0-9");
        let fates: Vec<Fate> = (0..10_000).map(|_| p.decide(&req)).collect();
        let errors = fates
            .iter()
            .filter(|f| matches!(f, Fate::Error(503)))
            .count();
        let drops = fates.iter().filter(|f| matches!(f, Fate::Drop(_))).count();
        assert!((2_800..3_200).contains(&errors), "{errors}");
        assert!((1_800..2_200).contains(&drops), "{drops}");
        // Same seed, same fates.
        let mut q = Policy::new(Faults::none().error_rate(0.3).drop_rate(0.2).seed(9));
        let again: Vec<Fate> = (0..10_000).map(|_| q.decide(&req)).collect();
        assert_eq!(fates, again);
        // Always, never.
        let mut p = Policy::new(Faults::none().error_rate(1.0).error_statuses([500, 502]));
        assert!((0..100).all(|_| matches!(p.decide(&req), Fate::Error(500 | 502))));
        let mut p = Policy::new(Faults::none().drop_rate(1.0));
        assert!((0..100).all(|_| matches!(p.decide(&req), Fate::Drop(_))));
        let mut p = Policy::new(Faults::none());
        assert!((0..100).all(|_| p.decide(&req) == Fate::Pass));
    }

    #[test]
    fn stalls_follow_their_rate() {
        let stall = Duration::from_millis(200);
        let mut p = Policy::new(Faults::none().stalls(0.1, stall).seed(3));
        let held = (0..10_000).filter(|_| p.stall() == Some(stall)).count();
        assert!((800..1_200).contains(&held), "{held}");
        let mut p = Policy::new(Faults::none());
        assert!((0..100).all(|_| p.stall().is_none()));
        assert!(Faults::none().stalls(1.5, stall).validate().is_err());
    }

    #[test]
    fn streaks_are_bounded_per_request() {
        let mut p = Policy::new(
            Faults::none()
                .error_rate(0.6)
                .drop_rate(0.4)
                .max_in_a_row(2),
        );
        let a = get("/a", "100-199");
        let resumed = get("/a", "150-199");
        let b = get("/a", "200-299");
        let fates: Vec<Fate> = (0..9).map(|_| p.decide(&a)).collect();
        assert_eq!(fates[2], Fate::Pass);
        assert_eq!(fates[5], Fate::Pass);
        assert_eq!(fates[8], Fate::Pass);
        assert!(fates.iter().filter(|f| **f == Fate::Pass).count() == 3);
        // A resumed range counts with the request it resumes; another range does not.
        assert_ne!(p.decide(&a), Fate::Pass);
        assert_ne!(p.decide(&resumed), Fate::Pass);
        assert_eq!(p.decide(&a), Fate::Pass);
        assert_ne!(p.decide(&b), Fate::Pass);
    }
}
