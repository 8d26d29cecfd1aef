"""Is a run's state worth carrying in its model folder, and is half precision harmless for it? (issue 28)

    python benchmarks/carry_state.py --run runs/NAME --step N [--data DIR] [--steps 300] [--limit 20]

From one kept checkpoint of a run, the same continuation (same steps, pairs, jitter and noise) is trained
four ways, and each is compared with the exact one on val pairs:
- exact: G, D and both Adam states from the checkpoint (what --resume does);
- carried: the same through a model folder (D in float16, Adam moments in bfloat16: write_carried and
  load_carried, what `--init-from` a shipped folder does now);
- no Adam: G and D, Adam fresh;
- fresh D: G alone (what every fine-tune did before D was carried).
Printed per way: the mean |output - exact output| (8-bit levels, same dropout seeds) and L1 to the real
photos after the continuation, and how far G's weights moved from the checkpoint (relative L2).
Also the D logits' largest change from float16 storage on the same pairs.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from models.folder import DISCRIMINATOR, OPTIMIZERS, flatten_optimizers, load_carried, write_carried
from models.translator import Translator
from training.checkpoint import GENERATOR, load_checkpoint
from training.config import read_run_config
from training.data import PairDataset
from training.evaluate import to_uint8
from training.trainer import Trainer

WAYS = ("exact", "carried", "no Adam", "fresh D")


def fresh_adam(trainer: Trainer) -> None:
    betas = (trainer.cfg.beta1, trainer.cfg.beta2)
    trainer.optimizers = {"G": torch.optim.Adam(trainer.G.parameters(), lr=trainer.cfg.lr, betas=betas),
                          "D": torch.optim.Adam(trainer.D.parameters(), lr=trainer.cfg.lr, betas=betas)}


def outputs(trainer: Trainer, val: PairDataset, n: int) -> list[np.ndarray]:
    translator = Translator(copy.deepcopy(trainer.G), trainer.cfg.model)
    return [np.asarray(translator(Image.fromarray(to_uint8(val.batch([i])[0][0])), seed=i, colour=None,
                                  size=trainer.cfg.data.crop_size))
            for i in range(n)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, type=Path)
    p.add_argument("--step", required=True, type=int, help="a kept checkpoint of the run")
    p.add_argument("--data", help="the run's data folder, if it moved")
    p.add_argument("--steps", type=int, default=300, help="continuation steps per way")
    p.add_argument("--limit", type=int, default=20, help="val pairs compared")
    args = p.parse_args()
    torch.set_num_threads(1)
    cfg = read_run_config(args.run / "train_config.json")
    cfg.data.root = args.data or cfg.data.root
    ckpt = args.run / "checkpoints" / f"step_{args.step:08d}"
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, Path(tmp) / "run", progress=False)
        fresh_adam(trainer)
        d_fresh = copy.deepcopy(trainer.D.state_dict())
        load_checkpoint(ckpt, {GENERATOR: trainer.G, DISCRIMINATOR: trainer.D}, trainer.optimizers)
        start = {"G": copy.deepcopy(trainer.G.state_dict()), "D": copy.deepcopy(trainer.D.state_dict()),
                 "opt": copy.deepcopy({k: o.state_dict() for k, o in trainer.optimizers.items()})}
        folder = Path(tmp) / "model"
        folder.mkdir()
        write_carried(folder, start["D"], *flatten_optimizers(trainer.optimizers))
        d_mib, adam_mib = ((folder / name).stat().st_size / 2**20 for name in (DISCRIMINATOR, OPTIMIZERS))
        print(f"{args.run} step {args.step}: {DISCRIMINATOR} {d_mib:.1f} MiB, {OPTIMIZERS} {adam_mib:.1f} MiB")
        val = PairDataset(cfg.data.root, dataclasses.replace(cfg.data, jitter=False, flip=False), "val",
                          cfg.model.input_kind == "labels", train=False, progress=False)
        n = min(args.limit, len(val))
        d_half = copy.deepcopy(trainer.D)
        load_carried(folder, d_half, {})
        d_full = copy.deepcopy(trainer.D)  # train mode (batch statistics), as D runs in training
        with torch.no_grad():
            diffs = []
            for i in range(n):
                a, b = val.batch([i])
                extra = cfg.model.generator.condition_channels - a.shape[1]  # hint channels: none given
                condition = torch.cat([a, a.new_zeros(1, extra, *a.shape[2:])], dim=1)
                diffs.append((d_full(condition, b) - d_half(condition, b)).abs().max().item())
        print(f"D logits, float16 storage vs float32, largest change over {n} val pairs: {max(diffs):.2e}")
        results, exact = {}, None
        for way in WAYS:
            trainer.G.load_state_dict(start["G"])
            trainer.D.load_state_dict(d_fresh if way == "fresh D" else start["D"])
            fresh_adam(trainer)
            if way == "exact":
                for k, o in trainer.optimizers.items():
                    o.load_state_dict(copy.deepcopy(start["opt"][k]))
            elif way == "carried":
                trainer.D.load_state_dict(d_fresh)
                load_carried(folder, trainer.D, trainer.optimizers)
            torch.manual_seed(cfg.seed + args.step)
            for step in range(args.step, args.step + args.steps):
                trainer.train_step(step)
            outs = outputs(trainer, val, n)
            exact = exact if exact is not None else outs
            moved = sum((trainer.G.state_dict()[k].float() - v.float()).norm() ** 2 for k, v in start["G"].items()
                        if v.is_floating_point()) ** 0.5 / sum(v.float().norm() ** 2 for v in start["G"].values()
                                                               if v.is_floating_point()) ** 0.5
            real = [to_uint8(val.batch([i])[1][0]) for i in range(n)]
            results[way] = (np.mean([np.abs(o.astype(float) - e).mean() for o, e in zip(outs, exact)]),
                            np.mean([np.abs(o.astype(float) - r).mean() / 127.5 for o, r in zip(outs, real)]),
                            float(moved))
    print(f"\ncontinuation of {args.steps} steps, {n} val pairs:")
    print("| way | mean abs diff to exact (8-bit) | L1 to photos | G moved (relative L2) |\n|---|---|---|---|")
    for way, (diff, l1, moved) in results.items():
        print(f"| {way} | {diff:.2f} | {l1:.4f} | {moved:.4f} |")


if __name__ == "__main__":
    main()
