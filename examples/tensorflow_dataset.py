"""TensorFlow: a tf.data.Dataset over an archive, with the recorded dtypes and shapes
(the `hexz[tensorflow]` extra). Run: python examples/tensorflow_dataset.py
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import hexz  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "train.hxz")
        rng = np.random.default_rng(0)
        with hexz.Writer(path) as w:
            w.add_array(rng.standard_normal((512, 8)).astype(np.float32), "x")
            w.add_array((rng.random(512) > 0.5).astype(np.int64), "y")

        ds = hexz.tf_dataset(path)
        print("element_spec:", ds.element_spec)

        model = tf.keras.Sequential([tf.keras.Input((8,)), tf.keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss=tf.keras.losses.BinaryCrossentropy(from_logits=True))
        batches = ds.shuffle(512, seed=0).batch(64).repeat()
        history = model.fit(batches, epochs=3, steps_per_epoch=8, shuffle=False, verbose=0)
        print("losses:", [round(v, 3) for v in history.history["loss"]])


if __name__ == "__main__":
    main()
