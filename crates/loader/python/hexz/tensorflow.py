"""TensorFlow integration: ``tf.data`` pipelines over archives."""

from __future__ import annotations

from typing import Any

from .dataset import Dataset
from .reader import PathLike

__all__ = ["tf_dataset"]


def tf_dataset(path: PathLike, **kwargs: Any) -> Any:
    """A ``tf.data.Dataset`` over the samples of an archive (see :class:`hexz.Dataset` for
    what a sample is), with the recorded dtypes and shapes. ``path`` may be a URL
    (``s3://``, ``http(s)://``). Keyword arguments (including the S3 options ``endpoint``,
    ``region``, ``path_style``, ``anonymous``, ``allow_http``) go to :class:`hexz.Dataset`."""
    return Dataset(path, **kwargs).to_tensorflow()
