//! Byte sizes: parsing `64K`/`1M`/`65536` from the command line and printing `1.5 MiB`.

/// Parses a size: a decimal number with an optional binary suffix `K`, `M`, `G` or `T`
/// (also `KiB`, `KB`, …; all mean powers of 1024), or `B`.
pub fn parse(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(format!(
            "{s:?} is not a size (expected e.g. 65536, 64K or 1M)"
        ));
    }
    let n: u64 = num.parse().map_err(|_| format!("{s:?} is too large"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(format!("{s:?} has an unknown unit (expected K, M, G or T)")),
    };
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// Formats `n` bytes with a binary unit: `512 B`, `64.0 KiB`, `1.50 GiB`.
pub fn human(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    let digits = if v < 10.0 {
        2
    } else if v < 100.0 {
        1
    } else {
        0
    };
    format!("{v:.digits$} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_suffixes() {
        assert_eq!(parse("65536"), Ok(65536));
        assert_eq!(parse("64K"), Ok(65536));
        assert_eq!(parse("64KiB"), Ok(65536));
        assert_eq!(parse("1m"), Ok(1 << 20));
        assert_eq!(parse("2G"), Ok(2 << 30));
        assert!(parse("").is_err());
        assert!(parse("K").is_err());
        assert!(parse("12X").is_err());
        assert!(parse("-1").is_err());
        assert!(parse("99999999999999999999").is_err());
        assert!(parse("99999999999T").is_err());
    }

    #[test]
    fn prints_binary_units() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(1024), "1.00 KiB");
        assert_eq!(human(65536), "64.0 KiB");
        assert_eq!(human(3 << 30), "3.00 GiB");
        assert_eq!(human(u64::MAX), "16.0 EiB");
    }
}
