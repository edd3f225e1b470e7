//! Root hashes and signatures (`docs/FORMAT.md` §10): signing a finished archive (in place, or
//! a copy renamed over it), and checking a signature at open or from the tail alone. The
//! Ed25519 keys live in `hexz-sign`.

use hexz_format::header::HEADER_LEN;
use hexz_format::signature::ROOT_HASH_PREFIX;
#[cfg(feature = "signing")]
pub use signing::*;

/// `blake3("hexz-v1 root" ‖ header ‖ summary stored bytes)`.
pub(crate) fn root_hash(header: &[u8; HEADER_LEN], summary_stored: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(ROOT_HASH_PREFIX);
    h.update(header);
    h.update(summary_stored);
    *h.finalize().as_bytes()
}

#[cfg(feature = "signing")]
mod signing {
    use crate::{Action, Error, Part, Place, ReadAt, Result};
    use hexz_format::footer::FOOTER_LEN;
    use hexz_format::header::HEADER_LEN;
    use hexz_format::signature::{Signature, SIGNATURE_LEN};
    use hexz_format::{Footer, Header, RequiredFeatures};
    pub use hexz_sign::{keygen, Error as KeyError, KeyPairFiles, SigningKey, VerifyingKey};
    use std::path::Path;

    use super::root_hash;

    /// What signing an archive did.
    #[derive(Debug, Clone)]
    pub struct SignReport {
        /// The root hash that was signed.
        pub root_hash: [u8; 32],
        /// The signature block written.
        pub signature: Signature,
        /// Whether an earlier signature was replaced (else the file grew by 144 bytes).
        pub replaced: bool,
        /// The file's length afterwards.
        pub file_len: u64,
    }

    impl From<hexz_sign::Error> for Error {
        fn from(e: hexz_sign::Error) -> Error {
            match e {
                hexz_sign::Error::BadSignature(m) => Error::BadSignature(m),
                hexz_sign::Error::Io { path, source } => {
                    Error::io(Action::Read, Place::whole(path), source)
                }
                e => Error::InvalidInput(e.to_string()),
            }
        }
    }

    /// Signs the local archive at `path` in place with `key`: writes the 144-byte signature where
    /// the footer was and a new footer after it (replacing an earlier signature, if any), in one
    /// write followed by fsync. Checks the header, footer and summary checksum first; the data is
    /// not read (run [`crate::verify::verify`] first for an archive of unknown origin). Encrypted
    /// archives need no key: the root hash covers their header and sealed summary.
    pub fn sign_file(path: &Path, key: &SigningKey) -> Result<SignReport> {
        use std::os::unix::fs::FileExt;
        let name = path.display().to_string();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::io(Action::Open, Place::whole(&name), e))?;
        let SignedPart {
            head,
            footer,
            summary,
            ..
        } = read_signed_part(&FileRef(&file, &name))?;
        let root = root_hash(&head, &summary);
        let signature = key.sign_root(&root);
        let at = footer.summary_offset + footer.summary_stored_len as u64;
        let new_footer = Footer {
            signature_offset: Some(at),
            ..footer
        };
        let mut tail = Vec::with_capacity(SIGNATURE_LEN + FOOTER_LEN);
        tail.extend_from_slice(&signature.encode(footer.version));
        tail.extend_from_slice(&new_footer.encode());
        let ctx = |e| Error::io(Action::Write, Place::new(&name, Part::Signature), e);
        file.write_all_at(&tail, at).map_err(ctx)?;
        // A longer block it replaces (a v2 algorithm this build does not know) ends later.
        file.set_len(at + tail.len() as u64).map_err(ctx)?;
        file.sync_all().map_err(ctx)?;
        Ok(SignReport {
            root_hash: root,
            signature,
            replaced: footer.signature_offset.is_some(),
            file_len: at + tail.len() as u64,
        })
    }

    /// Signs a copy of `src` and puts it at `dst` atomically (a temporary file beside `dst`,
    /// synced, then renamed; `dst` may be `src`): a crash leaves either the old file or the
    /// signed one, never a torn tail. The copy is `std::fs::copy`, which the kernel does
    /// without user-space copying (`copy_file_range`) and, on file systems with reflinks
    /// (XFS, Btrfs), without copying data at all. [`sign_file`] signs in place instead.
    pub fn sign_copy(src: &Path, dst: &Path, key: &SigningKey) -> Result<SignReport> {
        let dir = match dst.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        // Check the source first, so that errors name it and a junk file is not copied.
        let name = src.display().to_string();
        let file = std::fs::File::open(src)
            .map_err(|e| Error::io(Action::Open, Place::whole(&name), e))?;
        read_signed_part(&FileRef(&file, &name))?;
        drop(file);
        let tmp = tempfile::Builder::new()
            .prefix(".hexz-sign-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| Error::io(Action::Create, Place::whole(dir.display().to_string()), e))?;
        std::fs::copy(src, tmp.path())
            .map_err(|e| Error::io(Action::Copy, Place::whole(&name), e))?;
        let mut report = sign_file(tmp.path(), key)?;
        let ctx = |e| Error::io(Action::Write, Place::whole(dst.display().to_string()), e);
        tmp.persist(dst).map_err(|e| ctx(e.error))?;
        if let Ok(d) = std::fs::File::open(dir) {
            d.sync_all().map_err(ctx)?;
        }
        report.file_len = std::fs::metadata(dst).map_err(ctx)?.len();
        Ok(report)
    }

    /// Checks the signature of the archive in `store` against `expected` (else against the key
    /// it names) without opening it: reads the header, footer and summary only, and needs no
    /// decryption key. For an encrypted archive that is all a verifier without its key can
    /// check; everything else is reached through the sealed summary.
    pub fn verify_signature(
        store: &dyn ReadAt,
        expected: Option<&VerifyingKey>,
    ) -> Result<Signature> {
        let name = store.describe();
        let SignedPart {
            head,
            footer,
            summary,
            file_len,
        } = read_signed_part(store)?;
        let Some(at) = footer.signature_offset else {
            return Err(Error::NotSigned(format!("{name} is not signed")));
        };
        let place = || Place::new(&name, Part::Signature);
        // From the block to the footer: 144 bytes in v1; in v2 the block says its length.
        let footer_at = file_len - FOOTER_LEN as u64;
        let mut buf = vec![0u8; (footer_at - at) as usize];
        store
            .read_exact_at(at, &mut buf)
            .map_err(|e| Error::io(Action::Read, place(), e))?;
        let sig = Signature::parse(&buf, footer.version)
            .map_err(|e| Error::format(place(), e))?
            .ok_or_else(|| {
                Error::Unsupported(format!(
                    "{name} is signed with an algorithm this build of hexz does not know"
                ))
            })?;
        check(&sig, &root_hash(&head, &summary), expected, &name)?;
        Ok(sig)
    }

    /// Reads and checks what the root hash covers: the header bytes, the footer, and the
    /// summary's stored bytes (against the footer's crc).
    /// What [`read_signed_part`] read.
    struct SignedPart {
        head: [u8; HEADER_LEN],
        footer: Footer,
        summary: Vec<u8>,
        file_len: u64,
    }

    fn read_signed_part(store: &dyn ReadAt) -> Result<SignedPart> {
        let name = store.describe();
        let io = |part: Part| {
            let place = Place::new(&name, part);
            move |e| Error::io(Action::Read, place, e)
        };
        let len = store
            .len()
            .map_err(|e| Error::io(Action::Stat, Place::whole(&name), e))?;
        if len < (HEADER_LEN + FOOTER_LEN) as u64 {
            return Err(Error::format(
                Place::whole(name),
                hexz_format::Error::Truncated {
                    what: "archive",
                    need: (HEADER_LEN + FOOTER_LEN) as u64,
                    have: len,
                },
            ));
        }
        let mut head = [0u8; HEADER_LEN];
        store
            .read_exact_at(0, &mut head)
            .map_err(io(Part::Header))?;
        Header::parse(&head, RequiredFeatures::KNOWN)
            .map_err(|e| Error::format(Place::new(&name, Part::Header), e))?;
        let mut foot = [0u8; FOOTER_LEN];
        store
            .read_exact_at(len - FOOTER_LEN as u64, &mut foot)
            .map_err(io(Part::Footer))?;
        let footer = Footer::parse(&foot, len)
            .map_err(|e| Error::format(Place::new(&name, Part::Footer), e))?;
        let mut summary = vec![0u8; footer.summary_stored_len as usize];
        let summary_frame = Part::Frame {
            kind: hexz_format::FrameKind::Summary.name(),
            offset: footer.summary_offset,
        };
        store
            .read_exact_at(footer.summary_offset, &mut summary)
            .map_err(io(summary_frame))?;
        let crc = hexz_format::crc32c(&summary);
        if crc != footer.summary_crc {
            return Err(Error::Integrity {
                place: Box::new(Place::new(name, summary_frame)),
                detail: format!(
                    "crc32c {crc:#010x}, footer says {:#010x}",
                    footer.summary_crc
                ),
            });
        }
        Ok(SignedPart {
            head,
            footer,
            summary,
            file_len: len,
        })
    }

    /// The file being signed, read through [`ReadAt`].
    struct FileRef<'a>(&'a std::fs::File, &'a str);

    impl ReadAt for FileRef<'_> {
        fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
            std::os::unix::fs::FileExt::read_exact_at(self.0, buf, offset)
        }
        fn len(&self) -> std::io::Result<u64> {
            Ok(self.0.metadata()?.len())
        }
        fn describe(&self) -> String {
            self.1.to_string()
        }
    }

    /// Checks `sig` at open: against `expected` when given (else against the key it names), and
    /// against the archive's root hash.
    pub(crate) fn check(
        sig: &Signature,
        root: &[u8; 32],
        expected: Option<&VerifyingKey>,
        name: &str,
    ) -> Result<()> {
        let res = match expected {
            Some(k) => k.verify(sig, root),
            None => hexz_sign::verify_self_signed(sig, root).map(drop),
        };
        res.map_err(|e| Error::BadSignature(format!("{name}: {e}")))
    }
}
