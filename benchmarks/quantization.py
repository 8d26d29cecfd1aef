"""What storing a model's weights in float16 changes: file size and output difference.

    python benchmarks/quantization.py assets/models/edges2shoes --data data/edges2shoes [--limit 50]

Runs the float32 weights and the same weights rounded to float16 (computation stays float32)
on the val inputs with the same dropout seed, and reports the mean absolute pixel difference
(0-255) and the PSNR between the two outputs.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from models import load, save_model
from training.config import DataConfig
from training.data import PairDataset
from training.evaluate import to_uint8


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("--data", required=True)
    p.add_argument("--limit", type=int, default=50)
    args = p.parse_args()
    fp32 = load(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        save_model(tmp, fp32.generator, fp32.config, dtype=torch.float16)
        fp16 = load(tmp)
        size16 = (Path(tmp) / "model.safetensors").stat().st_size
    size32 = (Path(args.model) / "model.safetensors").stat().st_size
    cfg = DataConfig(root=args.data, jitter=False, flip=False)
    pairs = PairDataset(args.data, cfg, "val", nearest_input=fp32.config.input_kind == "labels", train=False)
    diffs, psnrs = [], []
    for i in range(min(args.limit, len(pairs))):
        a, _ = pairs.batch([i])
        image = Image.fromarray(to_uint8(a[0]))
        y32 = np.asarray(fp32(image, seed=i), dtype=np.float64)
        y16 = np.asarray(fp16(image, seed=i), dtype=np.float64)
        mse = ((y32 - y16) ** 2).mean()
        diffs.append(np.abs(y32 - y16).mean())
        psnrs.append(10 * np.log10(255**2 / mse) if mse > 0 else float("inf"))
    print(f"model: {args.model}  images: {len(diffs)}")
    print(f"float32 file: {size32 / 2**20:.2f} MiB   float16 file: {size16 / 2**20:.2f} MiB")
    print(f"mean |fp32 - fp16| output difference: {np.mean(diffs):.3f} / 255 (max over images {np.max(diffs):.3f})")
    print(f"PSNR fp16 vs fp32 output: median {np.median(psnrs):.1f} dB, min {np.min(psnrs):.1f} dB")


if __name__ == "__main__":
    main()
