//! Hard limits on every size read from a file (`docs/FORMAT.md` §12).

/// Smallest nominal block size.
pub const MIN_BLOCK_SIZE: u32 = 4096;
/// Largest block size and largest `raw_len` of one block.
pub const MAX_BLOCK_SIZE: u32 = 16 << 20;
/// Largest raw summary.
pub const MAX_SUMMARY_RAW: u32 = 256 << 20;
/// Largest raw entries table, record groups table, metadata or parents table.
pub const MAX_TABLE_RAW: u32 = 1 << 30;
/// Largest raw index or record page.
pub const MAX_PAGE_RAW: u32 = 4 << 20;
/// Largest number of rows in an index or record page.
pub const MAX_ROWS_PER_PAGE: u32 = 65536;
/// Longest entry path, symlink target or group name.
pub const MAX_PATH_LEN: u32 = 4096;
/// Largest number of sample dimensions.
pub const MAX_NDIM: u8 = 16;
/// Largest number of parent archives.
pub const MAX_PARENTS: u32 = 255;
/// Largest logical stream.
pub const MAX_LOGICAL_SIZE: u64 = 1 << 62;
/// Largest Argon2id memory cost, in KiB (2 GiB); the smallest is 8 × parallelism.
pub const MAX_KDF_M_COST: u32 = 2 * 1024 * 1024;
/// Largest Argon2id iteration count (the smallest is 1).
pub const MAX_KDF_T_COST: u32 = 64;
/// Largest Argon2id parallelism (the smallest is 1).
pub const MAX_KDF_PARALLELISM: u32 = 64;
/// Largest signature block of a v2 archive (§10).
pub const MAX_SIGNATURE_LEN: u32 = 4096;
/// Largest number of extension rows in a v2 summary (§7.5).
pub const MAX_EXTENSIONS: u32 = 1024;
/// Bytes added by the AEAD tag to sealed blocks and frames.
pub const AEAD_TAG_LEN: u32 = 16;

/// Largest `stored_len` a block or frame of `raw_len` raw bytes may have.
pub fn max_stored_len(raw_len: u32, encrypted: bool) -> u64 {
    let tag = if encrypted { AEAD_TAG_LEN as u64 } else { 0 };
    raw_len as u64 + raw_len as u64 / 255 + 1024 + tag
}
