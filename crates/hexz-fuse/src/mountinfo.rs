//! Reading `/proc/self/mountinfo`.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

/// One line of `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// `major:minor` of the mounted file system.
    pub dev: (u32, u32),
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// Its type (`fuse.hexz` for hexz mounts).
    pub fstype: String,
    /// Its source (`hexz:ARCHIVE` for hexz mounts).
    pub source: String,
}

impl MountEntry {
    /// Whether this is a hexz FUSE mount.
    pub fn is_hexz(&self) -> bool {
        self.fstype == "fuse.hexz" || (self.fstype == "fuse" && self.source.starts_with("hexz:"))
    }
}

/// Undoes the octal escapes (`\040` for a space) of mountinfo fields.
fn unescape(field: &str) -> Vec<u8> {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let oct = &b[i + 1..i + 4];
            if oct.iter().all(|c| (b'0'..=b'7').contains(c)) {
                let v = oct.iter().fold(0u32, |acc, c| acc * 8 + (c - b'0') as u32);
                if v <= 255 {
                    out.push(v as u8);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Parses the text of a mountinfo file; lines it does not understand are skipped.
pub fn parse(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let sep = fields.iter().position(|f| *f == "-")?;
            if sep < 6 || fields.len() < sep + 3 {
                return None;
            }
            let (major, minor) = fields[2].split_once(':')?;
            Some(MountEntry {
                dev: (major.parse().ok()?, minor.parse().ok()?),
                mount_point: PathBuf::from(OsString::from_vec(unescape(fields[4]))),
                fstype: String::from_utf8_lossy(&unescape(fields[sep + 1])).into_owned(),
                source: String::from_utf8_lossy(&unescape(fields[sep + 2])).into_owned(),
            })
        })
        .collect()
}

/// The mounts of this process's mount namespace, in mount order.
pub fn mounts() -> std::io::Result<Vec<MountEntry>> {
    Ok(parse(&std::fs::read_to_string("/proc/self/mountinfo")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_with_escapes_and_optional_fields() {
        let text = "\
36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
40 27 0:52 / /tmp/a\\040b ro,nosuid,nodev,relatime shared:5 master:2 - fuse.hexz hexz:/x\\040y.hxz ro,user_id=0
garbage
";
        let m = parse(text);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].mount_point, PathBuf::from("/mnt/parent"));
        assert_eq!(m[0].fstype, "ext3");
        assert!(!m[0].is_hexz());
        assert_eq!(m[1].dev, (0, 52));
        assert_eq!(m[1].mount_point, PathBuf::from("/tmp/a b"));
        assert_eq!(m[1].source, "hexz:/x y.hxz");
        assert!(m[1].is_hexz());
    }

    #[test]
    fn unescape_leaves_odd_backslashes() {
        assert_eq!(unescape("a\\"), b"a\\");
        assert_eq!(unescape("a\\09"), b"a\\09");
        assert_eq!(unescape("\\134x"), b"\\x");
    }
}
