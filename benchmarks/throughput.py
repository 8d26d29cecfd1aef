"""CPU training throughput levers and the cost of each upsampling mode, for the compact preset.

    python benchmarks/throughput.py [--steps 8] [--repeats 3] [--rows base batch4 ...] [--json out.json]

Table 1: train img/s for batch 1 vs 4, channels_last, 1 vs 2 torch threads, torch.compile, each
upsampling mode, DiffAugment, feature matching and reflect padding. Table 2: per upsampling mode, generator size,
inference ms at 256/512 and the checkerboard score of an untrained generator. Rows are measured
round-robin (`--repeats` rounds, median reported) so a load change on a shared machine hits every
row alike; the load average is printed with the table.
Synthetic 256x256 pairs (throughput does not depend on content).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.train_infer import make_pairs
from models import GeneratorConfig, ModelConfig, Translator
from models.networks import Generator
from training.config import PRESETS, make_config
from training.evaluate import checkerboard_score
from training.trainer import Trainer


@dataclass(frozen=True)
class Setting:
    batch_size: int = 1
    channels_last: bool = False
    threads: int = 2
    compile: bool = False
    upsample: str = "deconv"
    diffaugment: str = ""
    feature_matching: float = 0.0
    padding: str = "zeros"


ROWS = {
    "base": Setting(),
    "batch4": Setting(batch_size=4),
    "channels_last": Setting(channels_last=True),
    "batch4+channels_last": Setting(batch_size=4, channels_last=True),
    "threads1": Setting(threads=1),
    "compile": Setting(compile=True),
    "resize": Setting(upsample="resize"),
    "subpixel": Setting(upsample="subpixel"),
    "resize+channels_last": Setting(upsample="resize", channels_last=True),
    "resize+channels_last+reflect": Setting(upsample="resize", channels_last=True, padding="reflect"),
    "diffaugment": Setting(diffaugment="color,translation,cutout"),
    "diffaugment+fm": Setting(diffaugment="color,translation,cutout", feature_matching=10.0),
}


def make_trainer(s: Setting, data: Path, run: Path) -> Trainer:
    cfg = make_config("bench", str(data), preset="compact", device="cpu", batch_size=s.batch_size,
                      upsample=s.upsample, compile=s.compile, diffaugment=s.diffaugment, channels_last=s.channels_last,
                      feature_matching=s.feature_matching, padding=s.padding, save_every=10**9, sample_every=10**9,
                      log_every=10**9)
    return Trainer(cfg, run, progress=False)


def timed_steps(trainer: Trainer, s: Setting, start: int, steps: int) -> float:
    torch.set_num_threads(s.threads)
    t0 = time.perf_counter()
    for step in range(start, start + steps):
        trainer.train_step(step)
    return steps * s.batch_size / (time.perf_counter() - t0)


def initial_checkerboard(upsample: str, seeds: int = 3) -> float:
    """Checkerboard score of freshly initialised generators' outputs on a smooth 256x256 input:
    what the upsampling itself leaves before any training (mean over `seeds` initialisations)."""
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 256), torch.linspace(-1, 1, 256), indexing="ij")
    x = torch.stack([xx, yy, xx * yy])[None]
    scores = []
    for seed in range(seeds):
        torch.manual_seed(seed)
        with torch.no_grad():
            out = Generator(GeneratorConfig(ngf=PRESETS["compact"]["ngf"], upsample=upsample))(x)
        scores.append(checkerboard_score((out[0].permute(1, 2, 0).numpy() + 1) * 127.5))
    return float(np.mean(scores))


def inference_ms(upsample: str, steps: int) -> dict:
    gen_cfg = GeneratorConfig(ngf=PRESETS["compact"]["ngf"], upsample=upsample)
    gen = Generator(gen_cfg)
    translator = Translator(gen, ModelConfig(generator=gen_cfg))
    image = Image.fromarray(np.random.default_rng(1).integers(0, 255, (256, 256, 3), dtype=np.uint8))
    row = {"upsample": upsample, "G_params_M": round(sum(p.numel() for p in gen.parameters()) / 1e6, 2)}
    row["G_fp32_MiB"] = round(row["G_params_M"] * 1e6 * 4 / 2**20, 1)
    row["checkerboard_at_init"] = round(initial_checkerboard(upsample), 2)
    for size in (256, 512):
        translator(image, seed=0, size=size)
        times = []
        for i in range(steps):
            t0 = time.perf_counter()
            translator(image, seed=i, size=size)
            times.append((time.perf_counter() - t0) * 1000)
        row[f"infer_ms_{size}"] = round(statistics.median(times), 1)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", nargs="*", default=list(ROWS), choices=list(ROWS))
    p.add_argument("--steps", type=int, default=8, help="timed steps per row and round")
    p.add_argument("--repeats", type=int, default=3, help="rounds over all rows; the median is reported")
    p.add_argument("--threads", type=int, help="torch threads for every row (default: each row's own, 2 but threads1)")
    p.add_argument("--no-inference", action="store_true", help="skip table 2")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args()
    rows = {name: replace(ROWS[name], threads=args.threads or ROWS[name].threads) for name in args.rows}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        make_pairs(Path(tmp) / "data", n=8)
        trainers, rates, next_step = {}, {name: [] for name in args.rows}, {}
        for name in args.rows:
            s = rows[name]
            torch.set_num_threads(s.threads)
            trainers[name] = make_trainer(s, Path(tmp) / "data", Path(tmp) / name)
            t0 = time.perf_counter()
            for step in range(2):  # warm-up (and, for compile, the compilation)
                trainers[name].train_step(step)
            print(f"{name}: warm-up {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            next_step[name] = 2
        for _ in range(args.repeats):
            for name in args.rows:
                rates[name].append(timed_steps(trainers[name], rows[name], next_step[name], args.steps))
                next_step[name] += args.steps
    torch.set_num_threads(args.threads or 2)  # inference (table 2)
    base = statistics.median(rates["base"]) if "base" in rates else None
    results = []
    print(f"device: CPU ({platform.processor() or platform.machine()}), torch {torch.__version__}; "
          f"load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after (2 cores, shared)")
    print("\n| row | batch | channels_last | threads | compile | upsample | padding | diffaugment | fm | train img/s "
          "(median; min-max) | vs base |\n|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.rows:
        s, r = rows[name], rates[name]
        med = statistics.median(r)
        results.append({"row": name, **asdict(s), "train_img_per_s": round(med, 2), "runs": [round(x, 2) for x in r]})
        ratio = f"x{med / base:.2f}" if base else ""
        print(f"| {name} | {s.batch_size} | {s.channels_last} | {s.threads} | {s.compile} | {s.upsample} | "
              f"{s.padding} | "
              f"{s.diffaugment or '-'} | {s.feature_matching:g} | {med:.2f} ({min(r):.2f}-{max(r):.2f}) | {ratio} |")
    infer = []
    if not args.no_inference:
        infer = [inference_ms(mode, max(args.steps, 5)) for mode in ("deconv", "resize", "subpixel")]
        print(f"\ninference, {torch.get_num_threads()} torch threads, median of {max(args.steps, 5)}:")
        print("| upsample | G params (M) | float32 MiB | inference ms 256 | inference ms 512 | checkerboard at init |"
              "\n|---|---|---|---|---|---|")
        for row in infer:
            print(f"| {row['upsample']} | {row['G_params_M']} | {row['G_fp32_MiB']} | {row['infer_ms_256']} | "
                  f"{row['infer_ms_512']} | {row['checkerboard_at_init']} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"load_average": load_before, "train": results, "inference": infer},
                                              indent=2))


if __name__ == "__main__":
    main()
