//! The passphrase KDF: Argon2id, its parameters and the limits a reader accepts from a header.

use crate::{Error, Result};

/// Bytes of an Argon2id salt.
pub const SALT_LEN: usize = 16;

/// Argon2id parameters (`docs/FORMAT.md` §3 kdf_m_cost, kdf_t_cost, kdf_parallelism).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations (passes over the memory).
    pub t_cost: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// The default for new archives: 64 MiB, 3 passes, 4 lanes. This is RFC 9106's second
    /// recommended option and above every OWASP Argon2id configuration (the strongest being
    /// 46 MiB, 1 pass, 1 lane; the memory-lightest 7 MiB, 5 passes).
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost: 64 * 1024,
        t_cost: 3,
        p: 4,
    };
    /// Largest memory a reader accepts from a header: 2 GiB (RFC 9106's first option).
    pub const MAX_M_COST: u32 = 2 * 1024 * 1024;
    /// Most iterations a reader accepts from a header.
    pub const MAX_T_COST: u32 = 64;
    /// Most lanes a reader accepts from a header.
    pub const MAX_P: u32 = 64;

    /// Cheap parameters (64 KiB, 1 pass, 1 lane) for tests and fixtures only: they give a
    /// passphrase almost no protection.
    pub const fn testing() -> KdfParams {
        KdfParams {
            m_cost: 64,
            t_cost: 1,
            p: 1,
        }
    }

    /// Checks the parameters against Argon2's own rules (`m_cost ≥ 8 × p`, `t_cost ≥ 1`,
    /// `p ≥ 1`) and against the limits of `docs/FORMAT.md` §12, which bound what a header can
    /// make a reader spend.
    pub fn validate(&self) -> Result<()> {
        let KdfParams { m_cost, t_cost, p } = *self;
        if !(1..=Self::MAX_P).contains(&p) {
            return Err(Error::KdfParams(format!(
                "parallelism {p} is not in 1..={}",
                Self::MAX_P
            )));
        }
        if !(1..=Self::MAX_T_COST).contains(&t_cost) {
            return Err(Error::KdfParams(format!(
                "{t_cost} iterations is not in 1..={}",
                Self::MAX_T_COST
            )));
        }
        if m_cost < 8 * p || m_cost > Self::MAX_M_COST {
            return Err(Error::KdfParams(format!(
                "memory {m_cost} KiB is not in {}..={} KiB",
                8 * p,
                Self::MAX_M_COST
            )));
        }
        Ok(())
    }

    /// Whether the parameters are at least as strong as [`KdfParams::DEFAULT`]'s memory and
    /// meet OWASP's minimum (19 MiB and 2 passes, or more memory with fewer passes).
    pub fn meets_owasp_minimum(&self) -> bool {
        // OWASP's equivalent configurations: m=47104 t=1, m=19456 t=2, m=12288 t=3,
        // m=9216 t=4, m=7168 t=5 (all p=1).
        let need = match self.t_cost {
            0 => return false,
            1 => 47104,
            2 => 19456,
            3 => 12288,
            4 => 9216,
            _ => 7168,
        };
        self.m_cost >= need
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Argon2id v0x13 with an optional secret and associated data (the format uses neither; the
/// known-answer test of RFC 9106 does).
pub(crate) fn argon2id(
    pwd: &[u8],
    salt: &[u8],
    params: &KdfParams,
    secret: &[u8],
    ad: &[u8],
    out: &mut [u8],
) -> Result<()> {
    let kdf_err = |e: argon2::Error| Error::Kdf(e.to_string());
    let mut b = argon2::ParamsBuilder::new();
    b.m_cost(params.m_cost)
        .t_cost(params.t_cost)
        .p_cost(params.p)
        .output_len(out.len());
    if !ad.is_empty() {
        b.data(argon2::AssociatedData::new(ad).map_err(kdf_err)?);
    }
    let p = b.build().map_err(|e| Error::KdfParams(e.to_string()))?;
    let ctx = if secret.is_empty() {
        argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p)
    } else {
        argon2::Argon2::new_with_secret(
            secret,
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            p,
        )
        .map_err(kdf_err)?
    };
    ctx.hash_password_into(pwd, salt, out).map_err(kdf_err)
}
