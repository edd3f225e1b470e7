#!/usr/bin/env python3
"""`make demo`, part 2: train a small PyTorch CNN on data streamed from a Hexz archive.

1. Pack scikit-learn's bundled digits data set (1797 8x8 images and their labels; it ships
   inside the scikit-learn package, nothing is downloaded) into one .hxz archive with
   ``hexz.Writer.add_array``.
2. Read both arrays back with ``hexz.load_array`` and check they are identical.
3. Stream the training split through ``hexz.Loader`` and
   ``torch.utils.data.DataLoader(num_workers=2, shuffle=True, batch_size=64)`` into a small CNN
   for a few epochs, printing loss, accuracy and samples/s per epoch.
4. Time a pass over the data alone through both ways of feeding a DataLoader: worker
   processes (``num_workers=2, shuffle=True``) and Hexz's own path (``num_workers=0`` with
   ``sampler=dataset.sampler(shuffle=True)``: Rust threads read each batch and prefetch the
   next ones).

Options (environment): DEMO_EPOCHS (default 8), DEMO_WORKERS (default 2), DEMO_DIR (where the
archive goes; default a temporary directory, removed at the end), DEMO_START_METHOD (the
DataLoader workers' start method: fork, spawn or forkserver; default: the platform's).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time


def main() -> int:
    import numpy as np
    import torch
    from sklearn.datasets import load_digits
    from torch import nn
    from torch.utils.data import DataLoader, Subset

    import hexz

    epochs = int(os.environ.get("DEMO_EPOCHS", "8"))
    workers = int(os.environ.get("DEMO_WORKERS", "2"))
    start_method = os.environ.get("DEMO_START_METHOD") or None
    torch.manual_seed(0)
    # One thread for this tiny model: OpenMP threads that spin-wait fight the DataLoader's
    # worker processes (and anything else running) on a small machine.
    torch.set_num_threads(1)

    tmp = None
    out_dir = os.environ.get("DEMO_DIR")
    if not out_dir:
        tmp = tempfile.TemporaryDirectory(prefix="hexz-demo-train-")
        out_dir = tmp.name
    os.makedirs(out_dir, exist_ok=True)
    archive = os.path.join(out_dir, "digits.hxz")

    print(f"hexz {hexz.__version__}, torch {torch.__version__}, numpy {np.__version__}")

    # --- 1. pack -------------------------------------------------------------------------
    step("pack scikit-learn's digits into " + archive)
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)  # (1797, 8, 8), scaled to [0, 1]
    labels = digits.target.astype(np.int64)  # (1797,)
    t0 = time.perf_counter()
    with hexz.Writer(archive, compression="zstd") as w:
        w.add_array(images, "images")
        w.add_array(labels, "labels")
        w.add_metadata({"source": "sklearn.datasets.load_digits", "classes": 10})
    pack_s = time.perf_counter() - t0
    raw_bytes = images.nbytes + labels.nbytes
    size = os.path.getsize(archive)
    print(
        f"  {len(images)} samples: images {images.dtype}{images.shape[1:]}, labels {labels.dtype}"
        f"; {raw_bytes / 1024:.0f} KiB -> {size / 1024:.0f} KiB"
        f" (zstd, {raw_bytes / size:.1f}x) in {pack_s * 1000:.0f} ms"
    )

    # --- 2. read back --------------------------------------------------------------------
    step("read back with hexz.load_array and compare")
    with hexz.open(archive) as r:
        back_x = hexz.load_array(r, "images")
        back_y = hexz.load_array(r, "labels")
        meta = r.metadata
    if not (np.array_equal(back_x, images) and np.array_equal(back_y, labels)):
        print("demo: arrays read back differ from what was written", file=sys.stderr)
        return 1
    if back_x.dtype != images.dtype or back_x.shape != images.shape:
        print(f"demo: got {back_x.dtype}{back_x.shape}, wrote {images.dtype}{images.shape}")
        return 1
    print(f"  images {back_x.dtype}{back_x.shape} and labels {back_y.dtype}{back_y.shape}")
    print(f"  identical; metadata {meta}")

    # --- 3. train ------------------------------------------------------------------------
    dataset = hexz.Loader(archive)  # a sample is the tuple (image[i], label[i])
    perm = np.random.default_rng(0).permutation(len(dataset))
    n_test = len(dataset) // 5
    test_idx, train_idx = perm[:n_test].tolist(), perm[n_test:].tolist()
    train_set, test_set = Subset(dataset, train_idx), Subset(dataset, test_idx)
    step(
        f"train a small CNN: {len(train_set)} train / {len(test_set)} test samples, "
        f"DataLoader(batch_size=64, shuffle=True, num_workers={workers})"
        + (f", start method {start_method}" if start_method and workers else "")
    )
    train_loader = DataLoader(
        train_set,
        batch_size=64,
        shuffle=True,
        num_workers=workers,
        persistent_workers=workers > 0,
        multiprocessing_context=start_method if workers > 0 else None,
    )
    test_loader = DataLoader(test_set, batch_size=256)

    model = nn.Sequential(
        nn.Unflatten(1, (1, 8)),  # (B, 8, 8) -> (B, 1, 8, 8)
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()

    print(
        f"  {'epoch':>5}  {'loss':>7}  {'train acc':>9}  {'test acc':>8}  {'samples/s':>9}  {'time':>6}",
        flush=True,
    )
    train_t0 = time.perf_counter()
    losses = []
    test_acc = 0.0
    first_batch_s = None
    for epoch in range(1, epochs + 1):
        model.train()
        t0 = time.perf_counter()
        total_loss, correct, seen = 0.0, 0, 0
        for x, y in train_loader:
            if first_batch_s is None:
                first_batch_s = time.perf_counter() - t0
            opt.zero_grad()
            logits = model(x)
            loss = loss_fn(logits, y)
            loss.backward()
            opt.step()
            total_loss += loss.item() * len(y)
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
        dt = time.perf_counter() - t0
        test_acc = evaluate(model, test_loader)
        losses.append(total_loss / seen)
        print(
            f"  {epoch:>5}  {losses[-1]:>7.4f}  {correct / seen:>9.1%}  {test_acc:>8.1%}"
            f"  {seen / dt:>9,.0f}  {dt:>5.2f}s",
            flush=True,
        )
    train_s = time.perf_counter() - train_t0
    if workers > 0:
        print(
            f"  (epoch 1 includes starting {workers} worker processes: first batch after {first_batch_s:.2f} s)"
        )
    del train_loader  # stops the persistent workers

    # --- 4. data only: worker processes vs Rust threads ----------------------------------
    step("data only: one shuffled pass over all samples, no model (best of 3)")
    full = hexz.Loader(archive)
    via_workers = DataLoader(
        full,
        batch_size=64,
        shuffle=True,
        num_workers=workers,
        persistent_workers=workers > 0,
        multiprocessing_context=start_method if workers > 0 else None,
    )
    via_sampler = DataLoader(full, batch_size=64, sampler=full.sampler(shuffle=True, seed=0))
    rates = {}
    for name, dl in (
        (f"num_workers={workers}, shuffle=True", via_workers),
        ("num_workers=0, sampler=dataset.sampler()", via_sampler),
    ):
        best = 0.0
        for epoch in range(3):
            if hasattr(dl.sampler, "set_epoch"):
                dl.sampler.set_epoch(epoch)
            t0 = time.perf_counter()
            n = sum(len(y) for _, y in dl)
            best = max(best, n / (time.perf_counter() - t0))
        rates[name] = best
        print(f"  {name:<42} {best:>10,.0f} samples/s")
    del via_workers

    # --- summary -------------------------------------------------------------------------
    step("summary")
    print(f"  archive       {size / 1024:8.1f} KiB  ({len(images)} samples, {raw_bytes / size:.1f}x smaller)")
    print(f"  pack time     {pack_s * 1000:8.1f} ms")
    print(f"  training      {train_s:8.2f} s    ({epochs} epochs, loss {losses[0]:.3f} -> {losses[-1]:.3f})")
    print(f"  test accuracy {test_acc:8.1%}")
    for name, rate in rates.items():
        print(f"  {name:<42} {rate:>10,.0f} samples/s (data only)")

    ok = True
    if len(losses) > 1 and not losses[-1] < losses[0]:
        print("demo: the training loss did not fall", file=sys.stderr)
        ok = False
    if epochs >= 5 and test_acc < 0.9:
        print(f"demo: test accuracy {test_acc:.1%} is below 90%", file=sys.stderr)
        ok = False
    if tmp is not None:
        tmp.cleanup()
    print()
    print("demo_train OK" if ok else "demo_train FAILED")
    return 0 if ok else 1


def evaluate(model, loader) -> float:
    import torch

    model.eval()
    correct = seen = 0
    with torch.no_grad():
        for x, y in loader:
            correct += int((model(x).argmax(1) == y).sum())
            seen += len(y)
    return correct / seen


def step(text: str) -> None:
    if sys.stdout.isatty():
        print(f"\n\033[1m==> {text}\033[0m")
    else:
        print(f"\n==> {text}")


if __name__ == "__main__":
    sys.exit(main())
