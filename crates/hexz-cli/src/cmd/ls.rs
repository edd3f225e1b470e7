//! `hexz ls`: list an archive's entries.

use super::Global;
use anyhow::Result;
use hexz_core::{Entry, EntryKind, ReadOptions};
use serde_json::json;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

pub const ABOUT: &str = "List the entries of an archive";

pub const LONG_ABOUT: &str = "\
List the entries of an archive, sorted by path.

--long adds the permission bits, size, modification time (UTC) and symlink targets, like
`ls -l`; --json prints an array of objects with the same fields, for scripts.";

pub const EXAMPLES: &str = "\
EXAMPLES:
    hexz ls data.hxz
    hexz ls -l data.hxz
    hexz ls --json data.hxz | jq -r '.[] | select(.kind == \"file\") | .path'";

/// Arguments of `hexz ls`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive: a path, or an s3://, http:// or https:// URL.
    archive: PathBuf,
    /// Show mode, size, modification time and symlink targets.
    #[arg(short, long)]
    long: bool,
    /// Print a JSON array of objects.
    #[arg(long, conflicts_with = "long")]
    json: bool,
}

/// Runs `hexz ls`.
pub fn run(args: Args, global: &Global) -> Result<()> {
    let options = ReadOptions {
        readahead_threads: 0,
        ..ReadOptions::default()
    };
    let archive = super::open(&args.archive, options, global)?;
    let entries = archive.entries()?;
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    if args.json {
        write_json(&mut out, &entries)?;
    } else if args.long {
        let width = entries
            .iter()
            .map(|e| e.size.to_string().len())
            .max()
            .unwrap_or(1);
        for e in entries.iter() {
            write!(
                out,
                "{} {:>width$} {} {}",
                mode_string(e),
                e.size,
                iso8601(e.mtime_ns),
                e.path
            )?;
            match &e.target {
                Some(t) if e.kind == EntryKind::Symlink => writeln!(out, " -> {t}")?,
                _ => writeln!(out)?,
            }
        }
    } else {
        for e in entries.iter() {
            writeln!(out, "{}", e.path)?;
        }
    }
    out.flush()?;
    Ok(())
}

fn write_json(out: &mut impl Write, entries: &[Entry]) -> Result<()> {
    writeln!(out, "[")?;
    for (i, e) in entries.iter().enumerate() {
        let mut v = json!({
            "path": e.path,
            "kind": e.kind.name(),
            "size": e.size,
            "mode": e.mode,
            "mtime_ns": e.mtime_ns,
            "mtime": iso8601(e.mtime_ns),
        });
        if let Some(t) = &e.target {
            v["target"] = json!(t);
        }
        let sep = if i + 1 < entries.len() { "," } else { "" };
        writeln!(out, "  {v}{sep}")?;
    }
    writeln!(out, "]")?;
    Ok(())
}

/// `drwxr-xr-x`-style mode string, with setuid/setgid/sticky as `s`/`S`/`t`/`T`.
fn mode_string(e: &Entry) -> String {
    let kind = match e.kind {
        EntryKind::Dir => 'd',
        EntryKind::Symlink => 'l',
        EntryKind::File | EntryKind::Stream => '-',
        EntryKind::CharDevice => 'c',
        EntryKind::BlockDevice => 'b',
        EntryKind::Fifo => 'p',
        EntryKind::Socket => 's',
    };
    let m = e.mode;
    let mut s = String::with_capacity(10);
    s.push(kind);
    for (shift, special, lower, upper) in [
        (6, 0o4000, 's', 'S'),
        (3, 0o2000, 's', 'S'),
        (0, 0o1000, 't', 'T'),
    ] {
        let bits = (m >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(match (m & special != 0, bits & 1 != 0) {
            (true, true) => lower,
            (true, false) => upper,
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}

/// `2024-05-01T12:34:56Z` (UTC, whole seconds) for nanoseconds since the epoch.
pub(crate) fn iso8601(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_700_000_000_123_456_789), "2023-11-14T22:13:20Z");
        assert_eq!(iso8601(951_782_400 * 1_000_000_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59Z");
        assert!(!iso8601(i64::MIN).is_empty());
        assert!(!iso8601(i64::MAX).is_empty());
    }

    #[test]
    fn formats_modes() {
        let e = |kind, mode| Entry {
            path: "x".into(),
            kind,
            mode,
            mtime_ns: 0,
            data_offset: 0,
            size: 0,
            target: None,
        };
        assert_eq!(mode_string(&e(EntryKind::File, 0o644)), "-rw-r--r--");
        assert_eq!(mode_string(&e(EntryKind::Dir, 0o755)), "drwxr-xr-x");
        assert_eq!(mode_string(&e(EntryKind::Symlink, 0o777)), "lrwxrwxrwx");
        assert_eq!(mode_string(&e(EntryKind::File, 0o4755)), "-rwsr-xr-x");
        assert_eq!(mode_string(&e(EntryKind::Dir, 0o1777)), "drwxrwxrwt");
        assert_eq!(mode_string(&e(EntryKind::File, 0o2640)), "-rw-r-S---");
    }
}
