"""Training images/s and inference ms/image for each preset on this machine's device.

    python benchmarks/train_infer.py [--presets paper compact] [--widths 24 32] [--steps 10] [--device auto]

Synthetic 256x256 pairs (throughput does not depend on content). Prints one table row per preset
and writes JSON with --json. --widths adds rows for the compact preset at other generator widths
(ngf), with the weight-file size in float32 and float16, to see what fits the 16 MiB budget.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from models import ModelConfig, Translator
from models.networks import Discriminator
from training.config import make_config
from training.trainer import Trainer


def make_pairs(folder: Path, n: int = 8) -> None:
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        (folder / split).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (256, 512, 3), dtype=np.uint8)).save(folder / split / f"{i}.png")


def bench_preset(preset: str, data: Path, steps: int, device: str, batch_size: int, ngf: int | None = None) -> dict:
    cfg = make_config(f"bench-{preset}", str(data), preset=preset, device=device, batch_size=batch_size,
                      save_every=10**9, sample_every=10**9, log_every=10**9, **({"ngf": ngf} if ngf else {}))
    with tempfile.TemporaryDirectory() as run:
        trainer = Trainer(cfg, run, progress=False)
        sync = torch.cuda.synchronize if trainer.device.type == "cuda" else (lambda: None)
        for s in range(2):  # warm-up
            trainer.train_step(s)
        sync()
        t0 = time.perf_counter()
        for s in range(2, 2 + steps):
            trainer.train_step(s)
        sync()
        train_ips = steps * batch_size / (time.perf_counter() - t0)
        translator = Translator(trainer.G, ModelConfig(generator=cfg.model.generator), device=str(trainer.device))
        n_params_g = sum(p.numel() for p in trainer.G.parameters())
        n_params_d = sum(p.numel() for p in Discriminator(cfg.discriminator, 3, 3).parameters())
    image = Image.fromarray(np.random.default_rng(1).integers(0, 255, (256, 256, 3), dtype=np.uint8))
    infer = {}
    for size in (256, 512):
        translator(image, seed=0, size=size)
        times = []
        for i in range(max(steps, 5)):
            t0 = time.perf_counter()
            translator(image, seed=i, size=size)
            times.append((time.perf_counter() - t0) * 1000)
        infer[size] = statistics.median(times)
    return {
        "preset": preset, "ngf": cfg.model.generator.ngf, "ndf": cfg.discriminator.ndf,
        "G_params_M": round(n_params_g / 1e6, 2), "D_params_M": round(n_params_d / 1e6, 2),
        "G_fp32_MiB": round(n_params_g * 4 / 2**20, 1), "G_fp16_MiB": round(n_params_g * 2 / 2**20, 1),
        "train_img_per_s": round(train_ips, 2), "batch_size": batch_size,
        "infer_ms_256": round(infer[256], 1), "infer_ms_512": round(infer[512], 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", nargs="*", default=["compact", "paper"])
    p.add_argument("--widths", nargs="*", type=int, default=[], help="also the compact preset at these ngf")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--device", default="auto")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        make_pairs(Path(tmp))
        rows = [bench_preset(pr, Path(tmp), args.steps, args.device, args.batch_size) for pr in args.presets]
        rows += [bench_preset("compact", Path(tmp), args.steps, args.device, args.batch_size, ngf=w)
                 for w in args.widths]
    device = torch.cuda.get_device_name() if torch.cuda.is_available() and args.device != "cpu" else (
        f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)")
    print(f"device: {device}; torch {torch.__version__}")
    for r in rows:
        print("  ".join(f"{k}={v}" for k, v in r.items()))
    if args.json:
        Path(args.json).write_text(json.dumps({"device": device, "results": rows}, indent=2))


if __name__ == "__main__":
    main()
