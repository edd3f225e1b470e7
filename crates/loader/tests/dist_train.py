"""A small training loop for tests/test_distributed.py, run under ``torchrun`` or ``python``.

Every rank reads an archive of sample ids (sample ``i`` is the int64 ``i``) through hexz,
all-reduces after every batch (so a rank with fewer batches than the others would hang the
job; the process group's timeout turns that into a failure), and appends each batch's ids to
``<out>/<config>-rank<r>.jsonl``. ``--checkpoint-at K`` saves the loader's state after the
K-th batch (counted across epochs) and ``--kill`` then SIGKILLs the process; ``--resume``
starts from that checkpoint: ``--resume-mode loader`` through
``StatefulDataLoader.load_state_dict`` (same world size and workers, or another world size),
``global`` through ``hexz.resume_state`` (any world size, any number of workers).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torchdata.stateful_dataloader import StatefulDataLoader

import hexz


def make_loader(archive: str, cfg: dict[str, Any], batch: int) -> tuple[Any, Any]:
    """(StatefulDataLoader, the object whose set_epoch picks the epoch)."""
    ds = hexz.Dataset(archive, **cfg.get("open", {}))
    order = dict(
        shuffle=cfg["shuffle"],
        seed=7,
        block_samples=cfg.get("block_samples", 16),
        drop_last=cfg["drop_last"],
    )
    workers = int(cfg["workers"])
    if cfg.get("iterable"):
        it = hexz.IterableDataset(ds, batch_size=batch, **order)
        loader = StatefulDataLoader(
            it, batch_size=None, num_workers=workers, collate_fn=hexz.collate
        )
        return loader, it
    sampler = ds.sampler(**order)
    loader = StatefulDataLoader(
        ds, batch_size=batch, sampler=sampler, num_workers=workers, collate_fn=hexz.collate
    )
    return loader, sampler


def save(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def run(args: argparse.Namespace, cfg: dict[str, Any], rank: int) -> None:
    out = Path(args.out)
    loader, epoch_of = make_loader(args.archive, cfg, args.batch)
    first_epoch, step = 0, 0
    if args.resume:
        saved = Path(args.resume) / f"{cfg['name']}-rank{rank}.pt"
        if not saved.exists():  # a rank the checkpointing job did not have
            saved = Path(args.resume) / f"{cfg['name']}-rank0.pt"
        ckpt = torch.load(saved, weights_only=False)
        first_epoch, step = int(ckpt["epoch"]), int(ckpt["step"])
        if args.resume_mode == "loader":
            loader.load_state_dict(ckpt["loader"])
        else:
            epoch_of.load_state_dict(hexz.resume_state(ckpt["loader"]))
    log = open(out / f"{cfg['name']}-rank{rank}.jsonl", "a")  # noqa: SIM115 - kept open for the run
    for epoch in range(first_epoch, args.epochs):
        epoch_of.set_epoch(epoch)
        for b in loader:
            ids = b.tolist()
            log.write(json.dumps({"epoch": epoch, "step": step, "ids": ids}) + "\n")
            log.flush()
            if dist.is_initialized():
                dist.all_reduce(torch.ones(1))
            step += 1
            if step == args.checkpoint_at:
                state = {"epoch": epoch, "step": step, "loader": loader.state_dict()}
                save(out / f"{cfg['name']}-rank{rank}.pt", state)
                if args.kill:
                    log.close()
                    os.kill(os.getpid(), signal.SIGKILL)
    log.close()
    if dist.is_initialized():
        dist.barrier()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("archive")
    p.add_argument("--out", required=True)
    p.add_argument("--configs", required=True, help="JSON list of configurations")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--checkpoint-at", type=int, default=0)
    p.add_argument("--kill", action="store_true")
    p.add_argument("--resume", default="")
    p.add_argument("--resume-mode", choices=("loader", "global"), default="loader")
    args = p.parse_args()
    if "WORLD_SIZE" in os.environ:
        dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=60))
    rank = dist.get_rank() if dist.is_initialized() else 0
    for cfg in json.loads(args.configs):
        run(args, cfg, rank)
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
