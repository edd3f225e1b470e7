//! The `Range` header of RFC 9110 §14.1–14.2, for the `bytes` unit: parsing and resolving it
//! against a representation's length. Pure functions, no I/O.

/// Range specs beyond this many make the server ignore the header (and send the whole file).
const MAX_SPECS: usize = 100;
/// Parts beyond this many (after merging overlapping ones) make the server ignore the header.
const MAX_PARTS: usize = 32;

/// What a `Range` header asks of a representation of a given length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ranges {
    /// Send the whole representation with 200: no header, an unknown unit, invalid syntax, too
    /// many ranges, or ranges of an empty representation that a 206 cannot express.
    Full,
    /// Send these byte ranges with 206, each `start..end` (end exclusive, never empty), in the
    /// order the client asked for them unless overlapping or adjacent ones were merged.
    Parts(Vec<std::ops::Range<u64>>),
    /// No range overlaps the representation: 416 with `Content-Range: bytes */LEN`.
    Unsatisfiable,
}

/// One `byte-range-spec` or `suffix-range` as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    /// `first-last` (`last` inclusive) or `first-` (`last` is `None`).
    From { first: u64, last: Option<u64> },
    /// `-n`: the last `n` bytes.
    Suffix(u64),
}

/// A run of ASCII digits as a number, saturating at `u64::MAX` (a first position that large is
/// past any end; a last position that large means "to the end").
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse().unwrap_or(u64::MAX))
}

/// Parses `bytes=...` into its specs; `None` for another unit or invalid syntax.
fn parse(header: &str) -> Option<Vec<Spec>> {
    let (unit, set) = header.split_once('=')?;
    if !unit.eq_ignore_ascii_case("bytes") {
        return None;
    }
    let mut specs = Vec::new();
    // `1#range-spec`: empty list elements (", ,") are allowed and ignored (RFC 9110 §5.6.1).
    for item in set.split(',') {
        let item = item.trim_matches([' ', '\t']);
        if item.is_empty() {
            continue;
        }
        let (first, last) = item.split_once('-')?;
        let spec = if first.is_empty() {
            Spec::Suffix(number(last)?)
        } else {
            let first = number(first)?;
            let last = if last.is_empty() {
                None
            } else {
                Some(number(last)?)
            };
            if last.is_some_and(|l| l < first) {
                return None; // invalid: a whole header with one is ignored
            }
            Spec::From { first, last }
        };
        specs.push(spec);
        if specs.len() > MAX_SPECS {
            return None;
        }
    }
    (!specs.is_empty()).then_some(specs)
}

/// Resolves a `Range` header value against a representation of `len` bytes.
pub(crate) fn resolve(header: &str, len: u64) -> Ranges {
    let Some(specs) = parse(header) else {
        return Ranges::Full;
    };
    let mut parts = Vec::with_capacity(specs.len());
    let mut empty_suffix = false;
    for spec in specs {
        match spec {
            Spec::From { first, last } if first < len => {
                let end = last.map_or(len, |l| l.saturating_add(1).min(len));
                parts.push(first..end);
            }
            Spec::From { .. } | Spec::Suffix(0) => {}
            Spec::Suffix(_) if len == 0 => empty_suffix = true,
            Spec::Suffix(n) => parts.push(len - n.min(len)..len),
        }
    }
    if parts.is_empty() {
        // A non-zero suffix of an empty representation is satisfiable (RFC 9110 §14.1.1) but has
        // no byte positions a 206 could name: send the (empty) whole.
        return if empty_suffix {
            Ranges::Full
        } else {
            Ranges::Unsatisfiable
        };
    }
    Ranges::Parts(merge(parts)).limit()
}

/// When any two ranges overlap or touch, sorts and merges them all (RFC 9110 §14.2 allows
/// coalescing, and it defeats requests like `bytes=0-,0-,0-` that multiply the response).
fn merge(mut parts: Vec<std::ops::Range<u64>>) -> Vec<std::ops::Range<u64>> {
    let mut sorted = parts.clone();
    sorted.sort_by_key(|r| r.start);
    if sorted.windows(2).all(|w| w[0].end < w[1].start) {
        return parts;
    }
    parts.clear();
    for r in sorted {
        match parts.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => parts.push(r),
        }
    }
    parts
}

impl Ranges {
    fn limit(self) -> Ranges {
        match self {
            Ranges::Parts(p) if p.len() > MAX_PARTS => Ranges::Full,
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(v: &[(u64, u64)]) -> Ranges {
        Ranges::Parts(v.iter().map(|&(a, b)| a..b).collect())
    }

    #[test]
    fn single_ranges() {
        assert_eq!(resolve("bytes=0-0", 10), parts(&[(0, 1)]));
        assert_eq!(resolve("bytes=2-5", 10), parts(&[(2, 6)]));
        assert_eq!(resolve("bytes=2-", 10), parts(&[(2, 10)]));
        assert_eq!(resolve("bytes=-3", 10), parts(&[(7, 10)]));
        assert_eq!(resolve("bytes=-30", 10), parts(&[(0, 10)]));
        assert_eq!(resolve("bytes=5-100", 10), parts(&[(5, 10)]));
        assert_eq!(resolve("BYTES=9-9", 10), parts(&[(9, 10)]));
        assert_eq!(resolve("bytes= 1-2 ,", 10), parts(&[(1, 3)]));
        assert_eq!(
            resolve("bytes=3-99999999999999999999999", 10),
            parts(&[(3, 10)])
        );
    }

    #[test]
    fn unsatisfiable() {
        assert_eq!(resolve("bytes=10-", 10), Ranges::Unsatisfiable);
        assert_eq!(resolve("bytes=10-20", 10), Ranges::Unsatisfiable);
        assert_eq!(resolve("bytes=-0", 10), Ranges::Unsatisfiable);
        assert_eq!(resolve("bytes=0-0", 0), Ranges::Unsatisfiable);
        assert_eq!(
            resolve("bytes=99999999999999999999999-", 10),
            Ranges::Unsatisfiable
        );
        // A suffix of an empty file is satisfiable but empty: the whole (empty) file.
        assert_eq!(resolve("bytes=-5", 0), Ranges::Full);
        // One satisfiable range among unsatisfiable ones is served.
        assert_eq!(resolve("bytes=20-30,1-1", 10), parts(&[(1, 2)]));
    }

    #[test]
    fn ignored_headers() {
        for h in [
            "",
            "bytes",
            "bytes=",
            "bytes=,",
            "items=0-1",
            "bytes=5-2",
            "bytes=a-b",
            "bytes=1-2-3",
            "bytes=-",
            "bytes=+1-2",
            "bytes=0x1-2",
            "bytes = 1-2",
        ] {
            assert_eq!(resolve(h, 10), Ranges::Full, "{h:?}");
        }
        let many = format!("bytes={}", vec!["1-1"; MAX_SPECS + 1].join(","));
        assert_eq!(resolve(&many, 10), Ranges::Full);
        let parts: Vec<String> = (0..=MAX_PARTS as u64)
            .map(|i| format!("{}-{}", i * 3, i * 3))
            .collect();
        assert_eq!(
            resolve(&format!("bytes={}", parts.join(",")), 1000),
            Ranges::Full
        );
    }

    #[test]
    fn multiple_ranges() {
        // Disjoint ranges keep the client's order.
        assert_eq!(resolve("bytes=8-9,0-1", 10), parts(&[(8, 10), (0, 2)]));
        // Overlapping or adjacent ones are merged, sorted.
        assert_eq!(resolve("bytes=5-,0-,3-4", 10), parts(&[(0, 10)]));
        assert_eq!(resolve("bytes=4-5,0-1,2-3", 10), parts(&[(0, 6)]));
        assert_eq!(resolve("bytes=7-8,0-1,-2", 10), parts(&[(0, 2), (7, 10)]));
    }
}
