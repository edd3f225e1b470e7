"""Training on many GPUs: each rank reads its share of one order, and a job stopped
mid-epoch resumes exactly, also on another number of ranks (README, "Training on many GPUs").

Starts two ranks on this machine (``torch.multiprocessing``, the gloo backend on CPU; on GPUs
you would run ``torchrun --nproc_per_node=N`` and use nccl). Each rank trains a tiny model
from its share of a block-shuffled epoch with ``StatefulDataLoader`` (from ``torchdata``) and
saves the loader's state after a few steps; then three ranks resume from that checkpoint and
finish the epoch. Every sample of the epoch is seen exactly once; the ranks always have the
same number of batches, so the all-reduce after each one never waits for a rank that ran out.
Run: python examples/distributed_training.py
"""

from __future__ import annotations

import os
import socket
import tempfile
import warnings

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torchdata.stateful_dataloader import StatefulDataLoader

import hexz

N, STOP_AFTER = 1000, 3
# torchdata 0.11 calls a function newer PyTorch deprecates; nothing to act on here.
warnings.filterwarnings("ignore", message="'set_vital' is deprecated")


def make_dataset(path: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 8)).astype(np.float32)
    with hexz.Writer(path) as w:
        w.add_array(x, "x")
        w.add_array((x.sum(axis=1) > 0).astype(np.int64), "y")
        w.add_array(np.arange(N, dtype=np.int64), "id")  # to show which samples each rank saw


def train(rank: int, world: int, port: int, workdir: str, resume: bool) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    dataset = hexz.Dataset(os.path.join(workdir, "train.hxz"))
    sampler = dataset.sampler(shuffle=True, seed=0, block_samples=50)  # rank from dist
    loader = StatefulDataLoader(
        dataset, batch_size=32, sampler=sampler, num_workers=1, collate_fn=hexz.collate
    )
    model = torch.nn.Linear(8, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    ckpt_path = os.path.join(workdir, "ckpt.pt")
    if resume:
        ckpt = torch.load(ckpt_path, weights_only=False)  # rank 0's checkpoint, saved by 2 ranks
        model.load_state_dict(ckpt["model"])
        loader.load_state_dict(ckpt["loader"])  # continues the global order mid-epoch
    seen = []
    for step, (x, y, ids) in enumerate(loader, 1):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        for p in model.parameters():  # what DDP does: average the gradients of all ranks
            dist.all_reduce(p.grad)
            p.grad /= world
        opt.step()
        seen += ids.tolist()
        if not resume and step == STOP_AFTER:
            if rank == 0:
                state = {"model": model.state_dict(), "loader": loader.state_dict()}
                torch.save(state, ckpt_path)
            break
    np.save(os.path.join(workdir, f"seen-{'after' if resume else 'before'}-{rank}.npy"), seen)
    dist.barrier()
    dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        make_dataset(os.path.join(workdir, "train.hxz"))
        mp.spawn(train, args=(2, free_port(), workdir, False), nprocs=2)
        mp.spawn(train, args=(3, free_port(), workdir, True), nprocs=3)
        before = [np.load(os.path.join(workdir, f"seen-before-{r}.npy")) for r in range(2)]
        after = [np.load(os.path.join(workdir, f"seen-after-{r}.npy")) for r in range(3)]
        for r, s in enumerate(before):
            print(f"first job, rank {r} of 2: {len(s)} samples, then stopped")
        for r, s in enumerate(after):
            print(f"resumed job, rank {r} of 3: {len(s)} samples")
        everything = np.concatenate(before + after)
        unique = np.unique(everything)
        # Without drop_last the last round is padded with samples from the order's start.
        padding = len(everything) - len(unique)
        print(f"{len(unique)} distinct samples of {N}, {padding} repeated as padding")
        assert len(unique) == N and padding < 3


if __name__ == "__main__":
    main()
