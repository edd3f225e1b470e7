//! Records and record groups (`docs/FORMAT.md` §7.3, §7.4).

use crate::bytes::{heap_slice, split_rows, Cursor, Put};
use crate::{limits, Error, Result};

/// Encoded length of one record row.
pub const RECORD_ROW_LEN: usize = 16;
/// Encoded length of one record group row.
pub const GROUP_ROW_LEN: usize = 48;

/// One sample: a range of the logical stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// Logical offset.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
}

/// Element type of the samples of a record group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum DType {
    Bytes,
    Bool,
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F16,
    F32,
    F64,
    BF16,
    C64,
    C128,
}

const DTYPES: [(DType, &str, usize); 16] = [
    (DType::Bytes, "bytes", 1),
    (DType::Bool, "bool", 1),
    (DType::I8, "int8", 1),
    (DType::U8, "uint8", 1),
    (DType::I16, "int16", 2),
    (DType::U16, "uint16", 2),
    (DType::I32, "int32", 4),
    (DType::U32, "uint32", 4),
    (DType::I64, "int64", 8),
    (DType::U64, "uint64", 8),
    (DType::F16, "float16", 2),
    (DType::F32, "float32", 4),
    (DType::F64, "float64", 8),
    (DType::BF16, "bfloat16", 2),
    (DType::C64, "complex64", 8),
    (DType::C128, "complex128", 16),
];

impl DType {
    /// The on-disk id.
    pub fn id(self) -> u8 {
        DTYPES.iter().position(|d| d.0 == self).unwrap_or(0) as u8
    }
    /// Parses an on-disk id.
    pub fn from_id(id: u8) -> Result<DType> {
        DTYPES.get(id as usize).map(|d| d.0).ok_or(Error::Invalid {
            what: "dtype",
            value: id as u64,
        })
    }
    /// NumPy-style name (`float32`, `uint8`, ...; `bytes` for opaque samples).
    pub fn name(self) -> &'static str {
        DTYPES[self.id() as usize].1
    }
    /// Parses a NumPy-style name.
    pub fn from_name(name: &str) -> Option<DType> {
        DTYPES.iter().find(|d| d.1 == name).map(|d| d.0)
    }
    /// Bytes per element.
    pub fn itemsize(self) -> usize {
        DTYPES[self.id() as usize].2
    }
}

/// A named run of records sharing a dtype and per-sample shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordGroup {
    /// First record number.
    pub first_record: u64,
    /// Number of records.
    pub record_count: u64,
    /// Group name (for example an array name).
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Shape of one sample (empty for opaque bytes or scalars).
    pub shape: Vec<u64>,
}

impl RecordGroup {
    /// Bytes of one sample, when the dtype is not opaque.
    pub fn sample_bytes(&self) -> Option<u64> {
        if self.dtype == DType::Bytes {
            return None;
        }
        self.shape
            .iter()
            .try_fold(self.dtype.itemsize() as u64, |a, &d| a.checked_mul(d))
    }
}

/// §7.4: a record of a group with a dtype is `product(dims) × itemsize` bytes. `records` are
/// the rows of one record page, the first being record number `first`; `groups` cover every
/// record (as [`parse_groups`] checked).
pub fn check_record_lengths(records: &[Record], first: u64, groups: &[RecordGroup]) -> Result<()> {
    let mut g = groups.partition_point(|g| g.first_record + g.record_count <= first);
    for (i, r) in (first..).zip(records) {
        while g < groups.len() && groups[g].first_record + groups[g].record_count <= i {
            g += 1;
        }
        let Some(group) = groups.get(g) else {
            return Err(Error::Inconsistent(format!(
                "record {i} is in no record group"
            )));
        };
        if let Some(want) = group.sample_bytes() {
            if r.length != want {
                return Err(Error::Inconsistent(format!(
                    "record {i} is {} bytes, but a sample of group {:?} ({:?} of shape {:?}) is \
                     {want}",
                    r.length, group.name, group.dtype, group.shape
                )));
            }
        }
    }
    Ok(())
}

/// Encodes records into raw page bytes.
pub fn encode_records(records: &[Record]) -> Vec<u8> {
    let mut v = Vec::with_capacity(records.len() * RECORD_ROW_LEN);
    for r in records {
        v.put_u64(r.offset);
        v.put_u64(r.length);
    }
    v
}

/// Parses a record page, checking every range against `logical_size`.
pub fn parse_record_page(raw: &[u8], logical_size: u64) -> Result<Vec<Record>> {
    if !raw.len().is_multiple_of(RECORD_ROW_LEN) {
        return Err(Error::Invalid {
            what: "record page length",
            value: raw.len() as u64,
        });
    }
    raw.chunks_exact(RECORD_ROW_LEN)
        .map(|row| {
            let mut c = Cursor::new(row, "record");
            let (offset, length) = (c.u64()?, c.u64()?);
            if offset.checked_add(length).is_none_or(|e| e > logical_size) {
                return Err(Error::OutOfBounds {
                    what: "record",
                    offset,
                    len: length,
                    bound: logical_size,
                });
            }
            Ok(Record { offset, length })
        })
        .collect()
}

/// Encodes record groups into raw table bytes.
pub fn encode_groups(groups: &[RecordGroup]) -> Vec<u8> {
    let mut rows = Vec::with_capacity(groups.len() * GROUP_ROW_LEN);
    let mut heap = Vec::new();
    for g in groups {
        rows.put_u64(g.first_record);
        rows.put_u64(g.record_count);
        rows.put_u32(heap.len() as u32);
        rows.put_u32(g.name.len() as u32);
        heap.extend_from_slice(g.name.as_bytes());
        rows.put_u32(heap.len() as u32);
        for d in &g.shape {
            heap.put_u64(*d);
        }
        rows.put_u8(g.shape.len() as u8);
        rows.put_u8(g.dtype.id());
        rows.put_zeros(2 + 16);
    }
    rows.extend_from_slice(&heap);
    rows
}

/// Parses `count` groups that must cover records `0..record_count` contiguously.
pub fn parse_groups(raw: &[u8], count: u32, record_count: u64) -> Result<Vec<RecordGroup>> {
    let (rows, heap) = split_rows(raw, count.into(), GROUP_ROW_LEN, "record groups")?;
    let mut next = 0u64;
    let mut out = Vec::with_capacity(count as usize);
    // As in the entries table: rows may not share heap bytes, so names cost what was read.
    let mut claimed: u64 = 0;
    for row in rows.chunks_exact(GROUP_ROW_LEN) {
        let mut c = Cursor::new(row, "record group");
        let first_record = c.u64()?;
        let record_count_g = c.u64()?;
        let (no, nl, dims_offset) = (c.u32()?, c.u32()?, c.u32()?);
        let ndim = c.u8()?;
        let dtype = DType::from_id(c.u8()?)?;
        c.reserved(2 + 16)?;
        if nl > limits::MAX_PATH_LEN {
            return Err(Error::Limit {
                what: "group name length",
                value: nl as u64,
                limit: limits::MAX_PATH_LEN as u64,
            });
        }
        if ndim > limits::MAX_NDIM {
            return Err(Error::Limit {
                what: "ndim",
                value: ndim as u64,
                limit: limits::MAX_NDIM as u64,
            });
        }
        if dtype == DType::Bytes && ndim != 0 {
            return Err(Error::Inconsistent(
                "opaque record group with a shape".into(),
            ));
        }
        claimed += u64::from(nl) + u64::from(ndim) * 8;
        if claimed > heap.len() as u64 {
            return Err(Error::Inconsistent(format!(
                "the record groups' names and shapes claim more than the {} bytes of the heap \
                 (rows may not share heap bytes)",
                heap.len()
            )));
        }
        let name =
            String::from_utf8(heap_slice(heap, no, nl, "group name")?.to_vec()).map_err(|_| {
                Error::Invalid {
                    what: "group name utf-8",
                    value: 0,
                }
            })?;
        let dims = heap_slice(heap, dims_offset, ndim as u32 * 8, "group dims")?;
        let shape: Vec<u64> = dims
            .chunks_exact(8)
            .map(|d| u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]))
            .collect();
        if first_record != next {
            return Err(Error::Inconsistent(format!(
                "record group {name:?} starts at {first_record}, expected {next}"
            )));
        }
        next = first_record
            .checked_add(record_count_g)
            .ok_or(Error::Invalid {
                what: "group record_count",
                value: record_count_g,
            })?;
        let g = RecordGroup {
            first_record,
            record_count: record_count_g,
            name,
            dtype,
            shape,
        };
        if dtype != DType::Bytes
            && g.sample_bytes()
                .is_none_or(|b| b > limits::MAX_LOGICAL_SIZE)
        {
            return Err(Error::Limit {
                what: "sample size",
                value: u64::MAX,
                limit: limits::MAX_LOGICAL_SIZE,
            });
        }
        out.push(g);
    }
    if next != record_count {
        return Err(Error::Inconsistent(format!(
            "record groups cover {next} of {record_count} records"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_rows_may_not_share_heap_bytes() {
        let row = |first: u64, name_offset: u32| {
            let mut r = vec![0u8; GROUP_ROW_LEN];
            r[0..8].copy_from_slice(&first.to_le_bytes());
            r[8..16].copy_from_slice(&1u64.to_le_bytes());
            r[16..20].copy_from_slice(&name_offset.to_le_bytes());
            r[20..24].copy_from_slice(&3u32.to_le_bytes());
            r
        };
        // Two 3-byte names from a 4-byte heap: they overlap.
        let mut raw = [row(0, 0), row(1, 1)].concat();
        raw.extend_from_slice(b"abcd");
        let err = parse_groups(&raw, 2, 2).unwrap_err();
        assert!(err.to_string().contains("heap"), "{err}");
        let mut raw = [row(0, 0), row(1, 3)].concat();
        raw.extend_from_slice(b"abcdef");
        assert_eq!(parse_groups(&raw, 2, 2).unwrap().len(), 2);
    }

    #[test]
    fn groups_round_trip() {
        let g = vec![
            RecordGroup {
                first_record: 0,
                record_count: 3,
                name: "x".into(),
                dtype: DType::F32,
                shape: vec![28, 28],
            },
            RecordGroup {
                first_record: 3,
                record_count: 2,
                name: "raw".into(),
                dtype: DType::Bytes,
                shape: vec![],
            },
        ];
        assert_eq!(parse_groups(&encode_groups(&g), 2, 5).unwrap(), g);
        assert!(parse_groups(&encode_groups(&g), 2, 6).is_err());
        for (i, d) in DTYPES.iter().enumerate() {
            assert_eq!(DType::from_id(i as u8).unwrap(), d.0);
            assert_eq!(DType::from_name(d.1), Some(d.0));
        }
    }
}
