//! The names entries appear under: an archive path component may be up to 4,096 bytes, the
//! kernel takes 255.

use std::borrow::Cow;

/// Longest name the mount shows: the kernel's `NAME_MAX`, which tools and the C library assume
/// (`statfs` reports it too). Archive paths may hold components of up to 4,096 bytes.
pub const NAME_MAX: usize = 255;
/// Hex digits of the BLAKE3 hash in a shortened name: 128 bits, so that two different names
/// never share a shortened one.
const NAME_HASH_HEX: usize = 32;

/// The name under which a path component of the archive appears in the mount: the component
/// itself when it is at most [`NAME_MAX`] (255) bytes; otherwise its first 222 bytes or fewer
/// (cut at a UTF-8 character boundary), `~`, and the first 32 hex digits of the BLAKE3 hash
/// of the whole component, at most 255 bytes in all. The rule depends on the component alone,
/// so the name is the same in every mount and version, and it never equals a shorter real
/// name's shortened form. Should it equal a real name in the same directory (an archive built
/// to do so), the real name wins and the long entry is hidden ([`HexzFs::hidden`]).
///
/// [`HexzFs::hidden`]: crate::HexzFs::hidden
pub fn shown_name(component: &str) -> Cow<'_, str> {
    if component.len() <= NAME_MAX {
        return Cow::Borrowed(component);
    }
    let mut cut = NAME_MAX - 1 - NAME_HASH_HEX;
    while !component.is_char_boundary(cut) {
        cut -= 1;
    }
    let hex = blake3::hash(component.as_bytes()).to_hex();
    Cow::Owned(format!("{}~{}", &component[..cut], &hex[..NAME_HASH_HEX]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_names_are_short_stable_and_distinct() {
        assert_eq!(shown_name("plain"), "plain");
        let n255 = "n".repeat(255);
        assert_eq!(shown_name(&n255), n255.as_str());
        let long = "x".repeat(300);
        let s = shown_name(&long);
        assert_eq!(s.len(), NAME_MAX);
        assert!(s.starts_with(&"x".repeat(222)), "{s}");
        // Pinned: the name must be the same in every version, or paths users saved break.
        assert_eq!(&s[222..], "~296a7bce08325b75b90d23204fd50b75");
        assert_ne!(
            shown_name(&format!("{long}1")),
            shown_name(&format!("{long}2"))
        );
        // Two-byte characters after one ASCII byte: byte 222 falls inside one, so the cut
        // is at 221, and the name stays valid UTF-8.
        let e = format!("a{}", "é".repeat(200));
        let s = shown_name(&e);
        assert_eq!(s.len(), 221 + 1 + NAME_HASH_HEX);
        assert!(s.starts_with(&format!("a{}~", "é".repeat(110))), "{s}");
        let big = "r".repeat(4096);
        assert_eq!(shown_name(&big).len(), NAME_MAX);
    }
}
