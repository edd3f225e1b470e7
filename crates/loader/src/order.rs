//! `NativeShare`: one rank's part of an epoch's sample order (`hexz-order`), for
//! `hexz.Sampler` and `hexz.IterableDataset`.

use hexz_order::{Order, Share, Shuffle};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Rank `rank` of `world_size`'s samples of an epoch, from global position `start`.
#[pyclass(frozen, module = "hexz._native")]
pub struct NativeShare {
    share: Share,
}

fn shuffle_of(mode: &str, block: u64) -> PyResult<Shuffle> {
    match mode {
        "none" => Ok(Shuffle::None),
        "global" => Ok(Shuffle::Global),
        "block" => Ok(Shuffle::Block { block }),
        _ => Err(PyValueError::new_err(format!(
            "shuffle must be 'none', 'global' or 'block', not {mode:?}"
        ))),
    }
}

fn value_error(e: hexz_order::Error) -> PyErr {
    PyValueError::new_err(e.to_string())
}

#[pymethods]
impl NativeShare {
    #[new]
    #[pyo3(signature = (n, shuffle, seed, epoch, block, rank, world_size, start, drop_last))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        n: u64,
        shuffle: &str,
        seed: u64,
        epoch: u64,
        block: u64,
        rank: u64,
        world_size: u64,
        start: u64,
        drop_last: bool,
    ) -> PyResult<Self> {
        let order = Order::new(n, shuffle_of(shuffle, block)?, seed, epoch).map_err(value_error)?;
        let share = Share::new(order, rank, world_size, start, drop_last).map_err(value_error)?;
        Ok(Self { share })
    }

    fn __len__(&self) -> usize {
        usize::try_from(self.share.len()).unwrap_or(usize::MAX)
    }

    /// Samples `first..first + count` of this share (fewer at its end), computed with the
    /// GIL released.
    fn take(&self, py: Python<'_>, first: u64, count: u64) -> Vec<u64> {
        py.detach(|| self.share.take(first, count))
    }

    /// Where sample `index` first comes in this share, or None.
    fn index_of(&self, index: u64) -> Option<u64> {
        self.share.index_of(index)
    }

    /// The global position the next iteration starts from after each rank took `taken`.
    fn resume_position(&self, taken: u64) -> u64 {
        self.share.resume_position(taken)
    }
}
