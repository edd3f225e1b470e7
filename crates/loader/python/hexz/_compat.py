"""Optional dependencies, imported lazily with a helpful message."""

from __future__ import annotations

from typing import Any

_numpy: Any = None


def numpy() -> Any:
    """Returns the numpy module, or raises ImportError naming the extra to install."""
    global _numpy
    if _numpy is None:
        try:
            import numpy as np
        except ImportError as e:  # pragma: no cover - exercised without numpy only
            raise ImportError("this needs NumPy: pip install 'hexz[numpy]'") from e
        _numpy = np
    return _numpy


def has_numpy() -> bool:
    try:
        numpy()
    except ImportError:
        return False
    return True


def torch() -> Any:
    try:
        import torch as t
    except ImportError as e:
        raise ImportError("this needs PyTorch: pip install 'hexz[torch]'") from e
    return t


def has_torch() -> bool:
    try:
        torch()
    except ImportError:
        return False
    return True


def tensorflow() -> Any:
    try:
        import tensorflow as tf
    except ImportError as e:
        raise ImportError("this needs TensorFlow: pip install 'hexz[tensorflow]'") from e
    return tf


def view(chunk: Any) -> memoryview:
    """A read-only-or-writable memoryview of a native Chunk, without a copy when NumPy is
    available (NumPy reads the chunk's ``__array_interface__``)."""
    if has_numpy():
        return memoryview(numpy().asarray(chunk))
    return memoryview(bytes(chunk))


def writable_bytes(buffer: Any) -> memoryview:
    """``buffer`` (writable, contiguous) as a memoryview of bytes, to lend to the native
    module (which takes it through the buffer protocol, never as an address)."""
    mv = memoryview(buffer)
    if mv.readonly:
        raise TypeError("readinto() needs a writable buffer")
    if not mv.contiguous:
        raise ValueError("readinto() needs a contiguous buffer")
    return mv.cast("B")
