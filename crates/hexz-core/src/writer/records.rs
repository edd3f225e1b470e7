//! Record groups (data sets of samples) and their records: record-aligned blocks, and the
//! record pages that index them.

use super::{ArchiveWriter, CdcSizes, Chunking, RECORDS_PER_PAGE};
use crate::{Error, Result};
use hexz_format::record::encode_records;
use hexz_format::{DType, FrameKind, PageRef, Record, RecordGroup};

impl ArchiveWriter {
    /// Starts a record group: later [`add_record`](Self::add_record) calls belong to it.
    pub fn begin_records(&mut self, name: &str, dtype: DType, sample_shape: &[u64]) -> Result<()> {
        if dtype == DType::Bytes && !sample_shape.is_empty() {
            return Err(Error::InvalidInput(
                "opaque (bytes) records have no shape".into(),
            ));
        }
        if sample_shape.len() > hexz_format::limits::MAX_NDIM as usize {
            return Err(Error::InvalidInput(format!(
                "{} dimensions exceed the limit of 16",
                sample_shape.len()
            )));
        }
        if name.len() > hexz_format::limits::MAX_PATH_LEN as usize {
            return Err(Error::InvalidInput(
                "record group name longer than 4096 bytes".into(),
            ));
        }
        self.groups.push(RecordGroup {
            first_record: self.record_count,
            record_count: 0,
            name: name.into(),
            dtype,
            shape: sample_shape.to_vec(),
        });
        Ok(())
    }

    /// Appends one sample to the current record group.
    pub fn add_record(&mut self, data: &[u8]) -> Result<()> {
        let group = self
            .groups
            .last_mut()
            .ok_or_else(|| Error::InvalidInput("add_record before begin_records".into()))?;
        if let Some(n) = group.sample_bytes() {
            if n != data.len() as u64 {
                return Err(Error::InvalidInput(format!(
                    "record of {} bytes does not match {} of shape {:?} ({n} bytes)",
                    data.len(),
                    group.dtype.name(),
                    group.shape
                )));
            }
        }
        group.record_count += 1;
        // Record-aligned blocks: a record that does not fit in what is left of the block
        // starts a new one, so no record that fits in a block is split between two.
        self.start_record()?;
        let len = data.len() as u64;
        let cdc = match self.opts.chunking {
            Chunking::Cdc(sizes) => Some(sizes),
            Chunking::Fixed => None,
        };
        let largest = cdc.map_or(self.opts.block_size, |s| s.max) as u64;
        if len > largest - self.block.len() as u64 {
            self.cut_block()?;
            self.block_has_records = true;
        }
        self.records.push(Record {
            offset: self.logical,
            length: len,
        });
        self.record_count += 1;
        self.append(data)?;
        // A block of records ends past `record_block_min` bytes, or where the content says.
        let ends = match cdc {
            Some(sizes) => {
                let avg = match self.opts.record_block_min {
                    0 => sizes.avg,
                    n => n,
                };
                CdcSizes::ends_after_record(avg, self.block.len(), data)
            }
            None => {
                let min = self.opts.record_block_min as usize;
                min > 0 && self.block.len() >= min
            }
        };
        if ends || len > largest {
            self.cut_block()?;
        }
        if self.records.len() == RECORDS_PER_PAGE as usize {
            self.flush_record_page()?;
        }
        Ok(())
    }

    /// Adds an array of `shape` (first axis = samples) as a record group named `name`, one
    /// record per row; `data` is the array's bytes in C order, little-endian.
    pub fn add_array(
        &mut self,
        name: &str,
        dtype: DType,
        shape: &[u64],
        data: &[u8],
    ) -> Result<()> {
        if dtype == DType::Bytes {
            return Err(Error::InvalidInput("arrays need a numeric dtype".into()));
        }
        let (rows, sample_shape) = match shape.split_first() {
            Some((&r, rest)) => (r, rest),
            None => (1, &[][..]),
        };
        let row_bytes = sample_shape
            .iter()
            .try_fold(dtype.itemsize() as u64, |a, &d| a.checked_mul(d));
        let total = row_bytes.and_then(|r| r.checked_mul(rows));
        if total != Some(data.len() as u64) {
            return Err(Error::InvalidInput(format!(
                "array {name:?}: {} bytes do not match {} of shape {shape:?}",
                data.len(),
                dtype.name()
            )));
        }
        self.begin_records(name, dtype, sample_shape)?;
        let row = row_bytes.unwrap_or(0) as usize;
        if row == 0 {
            for _ in 0..rows {
                self.add_record(&[])?;
            }
        } else {
            for chunk in data.chunks(row) {
                self.add_record(chunk)?;
            }
        }
        Ok(())
    }

    pub(super) fn flush_record_page(&mut self) -> Result<()> {
        let first = self.record_count - self.records.len() as u64;
        let raw = encode_records(&self.records);
        self.records.clear();
        let frame = self.write_frame(&raw, FrameKind::RecordPage)?;
        self.record_pages.push(PageRef { frame, first });
        Ok(())
    }
}
