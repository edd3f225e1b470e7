"""TensorFlow integration: ``tf.data`` pipelines over archives."""

from __future__ import annotations

from typing import Any

from .dataset import Dataset
from .options import PathLike

__all__ = ["tf_dataset"]


#: Keyword arguments of :meth:`hexz.Dataset.to_tensorflow` (the rest open the Dataset).
_ORDER_KWARGS = ("shuffle", "seed", "epoch", "shard", "drop_last", "block_samples")


def tf_dataset(path: PathLike, **kwargs: Any) -> Any:
    """A ``tf.data.Dataset`` over the samples of an archive (see :class:`hexz.Dataset` for
    what a sample is), with the recorded dtypes and shapes. ``path`` may be a URL
    (``s3://``, ``http(s)://``). ``shuffle``, ``seed``, ``epoch``, ``shard=(index, count)``,
    ``drop_last`` and ``block_samples`` pick the order and this host's shard (see
    :meth:`hexz.Dataset.to_tensorflow`); the other keyword arguments (including ``options=``,
    a :class:`hexz.OpenOptions`, and its fields) go to :class:`hexz.Dataset`."""
    order = {k: kwargs.pop(k) for k in _ORDER_KWARGS if k in kwargs}
    return Dataset(path, **kwargs).to_tensorflow(**order)
