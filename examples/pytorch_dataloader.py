"""PyTorch integration: hexz.Loader / hexz.Dataset with torch.utils.data.DataLoader
(seed README, "Quick Start" and "PyTorch Integration").

Packs a small image-classification set (random 3x32x32 images and labels) into a local
archive, then trains a tiny model from it: first with DataLoader worker processes, as the
README shows, then single-process with Rust-side prefetch and a deterministic sampler.
Run: python examples/pytorch_dataloader.py
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np
import torch

import hexz


def make_dataset(path: str, n: int = 1024) -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, size=n)
    # noisy images whose brightness depends on the label, so there is something to learn
    images = rng.integers(0, 64, size=(n, 3, 32, 32)) + labels[:, None, None, None] * 20
    with hexz.Writer(path, compression="lz4") as w:
        w.add_array(images.astype(np.uint8), "images")
        w.add_array(labels.astype(np.int64), "labels")


torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.AvgPool2d(8), torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 10)
)
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)


def train_step(batch: tuple[torch.Tensor, torch.Tensor]) -> float:
    images, labels = batch
    loss = torch.nn.functional.cross_entropy(model(images.float() / 255), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "imagenet.hxz")
        make_dataset(path)

        # --- Quick Start, as in the README (a local path instead of s3://) ---
        from hexz import Loader

        # Open a compressed dataset (local or remote)
        dataset = Loader(path)

        # Standard PyTorch DataLoader
        # Hexz handles prefetching in Rust background threads
        loader = torch.utils.data.DataLoader(dataset, batch_size=64, num_workers=4)

        for batch in loader:
            # GPU is fed instantly with zero-copy overhead
            train_step(batch)

        # --- PyTorch Integration, as in the README ---
        from torch.utils.data import DataLoader

        from hexz import Dataset

        # Create dataset
        dataset = Dataset(
            path,
            transform=None,  # Optional transform function
            cache_size=1024,  # Cache 1024 blocks in memory
        )

        # Use with DataLoader
        loader = DataLoader(dataset, batch_size=32, num_workers=4, shuffle=True)
        for epoch in range(2):
            t0 = time.perf_counter()
            losses = [train_step(b) for b in loader]
            rate = len(dataset) / (time.perf_counter() - t0)
            print(f"workers=4 epoch {epoch}: loss {np.mean(losses):.3f}, {rate:,.0f} samples/s")

        # Single process: Rust threads prefetch the batches a deterministic sampler announces.
        sampler = dataset.sampler(shuffle=True, seed=0)
        loader = DataLoader(dataset, batch_size=64, sampler=sampler, num_workers=0)
        for epoch in range(2):
            sampler.set_epoch(epoch)
            t0 = time.perf_counter()
            losses = [train_step(b) for b in loader]
            rate = len(dataset) / (time.perf_counter() - t0)
            print(f"workers=0 epoch {epoch}: loss {np.mean(losses):.3f}, {rate:,.0f} samples/s")


if __name__ == "__main__":
    main()
