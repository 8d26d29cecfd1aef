"""The studio's translation with the U-Net in PyTorch eager vs onnxruntime (Translator backend "torch" /
"onnx"), on each shipped model's studio example drawing, CPU, the studio's default thread count (1 on 2
cores).

    python benchmarks/onnx_backend.py [--models NAME ...] [--repeats 15] [--threads 1]

Both backends get the same seeds (so the same dropout noise); calls alternate between them so a busy machine
slows both alike. Prints median ms per call at 256 and 512 px and the largest pixel difference between them.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import models
from app import examples
from app.registry import SHIPPED


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=sorted(p.name for p in SHIPPED.iterdir() if p.is_dir()))
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{'model':<16} {'size':>4}  {'torch ms':>8}  {'onnx ms':>8}  {'max diff /255':>13}")
    for name in args.models:
        backends = {b: models.load(SHIPPED / name, backend=b) for b in ("torch", "onnx")}
        image = examples.example_for(name, backends["torch"].config.input_kind)
        for size in (256, 512):
            times = {b: [] for b in backends}
            outs = {
                b: np.asarray(t(image, seed=0, size=size), dtype=int) for b, t in backends.items()
            }  # warm-up
            for i in range(args.repeats):
                for b, t in backends.items():
                    start = time.perf_counter()
                    t(image, seed=i, size=size)
                    times[b].append((time.perf_counter() - start) * 1000)
            diff = np.abs(outs["torch"] - outs["onnx"]).max()
            print(
                f"{name:<16} {size:>4}  {statistics.median(times['torch']):8.1f}  "
                f"{statistics.median(times['onnx']):8.1f}  {diff:13d}",
                flush=True,
            )


if __name__ == "__main__":
    main()
