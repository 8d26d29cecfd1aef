"""Colour hints and stroke robustness (issue 11 items 1 and 4): what they cost, and the seam test.

    python benchmarks/hints_strokes.py cost --data data/edges2shoes [--steps 10] [--images 50]
    python benchmarks/hints_strokes.py widths --model assets/models/edges2shoes --data data/edges2shoes \
        [--widths 1,3,5] [--limit 20]

`cost`: milliseconds per 256x256 pair to sample 10 training hints and to augment the strokes (on
the dataset's own crops), and training steps/s of the compact preset plain, with --hints 10, with
--stroke-aug and with both. `widths`: the model's val scores with the input lines redrawn 1, 3, 5
px wide (structure still against the 1-px lines); the issue's target is thick lines within 0.03
of thin ones on structure and colour.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.config import DataConfig, make_config  # noqa: E402
from training.data import PairDataset, step_generator  # noqa: E402
from training.hints import sample_hints  # noqa: E402
from training.strokes import augment_strokes  # noqa: E402
from training.trainer import Trainer  # noqa: E402

SCORES = ("structure_ratio", "color_intersection", "color_intersection_pooled", "PSNR", "L1")


def cost(data: str, steps: int, images: int) -> None:
    pairs = PairDataset(data, DataConfig(root=data), "train", progress=False)
    n = min(images, len(pairs))
    crops = [pairs.batch([i], step_generator(0, i)) for i in range(n)]
    raw = [pairs.inputs[i, :, :256, :256] for i in range(n)]
    t0 = time.perf_counter()
    for i, (_, b) in enumerate(crops):
        sample_hints(b, 10, torch.Generator().manual_seed(i), no_hint_probability=0.0)
    hint_ms = (time.perf_counter() - t0) / n * 1e3
    t0 = time.perf_counter()
    for i, a in enumerate(raw):
        augment_strokes(a, torch.Generator().manual_seed(i))
    stroke_ms = (time.perf_counter() - t0) / n * 1e3
    print(f"per pair: 10 hints {hint_ms:.1f} ms, stroke augmentation {stroke_ms:.1f} ms ({n} pairs)")
    print("| recipe | train steps/s |\n|---|---|")
    for label, kw in (("plain", {}), ("--hints 10", {"hints": 10}), ("--stroke-aug", {"stroke_aug": True}),
                      ("both", {"hints": 10, "stroke_aug": True})):
        cfg = make_config("bench", data, preset="compact", device="cpu", save_every=10**9, sample_every=10**9,
                          log_every=10**9, **kw)
        with tempfile.TemporaryDirectory() as run:
            trainer = Trainer(cfg, run, progress=False)
            for s in range(2):  # warm-up
                trainer.train_step(s)
            t0 = time.perf_counter()
            for s in range(2, 2 + steps):
                trainer.train_step(s)
            print(f"| {label} | {steps / (time.perf_counter() - t0):.2f} |")


def widths(model: str, data: str, sizes: list[int], limit: int) -> None:
    from training.evaluate import evaluate

    rows = {}
    with tempfile.TemporaryDirectory() as out:
        for w in sizes:
            rows[w] = evaluate(model, data, Path(out) / str(w), limit=limit, stroke_width=w)["summary"]
    print(f"{model}, {rows[sizes[0]]['pairs']} val pairs")
    print("| lines | " + " | ".join(SCORES) + " |\n|---|" + "---|" * len(SCORES))
    for w, s in rows.items():
        delta = "" if w == sizes[0] else " (" + ", ".join(f"{s[k] - rows[sizes[0]][k]:+.3f}" for k in SCORES[:2]) + ")"
        print(f"| {w} px{delta} | " + " | ".join(f"{s.get(k, float('nan')):.3f}" for k in SCORES) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("cost")
    c.add_argument("--data", required=True)
    c.add_argument("--steps", type=int, default=10)
    c.add_argument("--images", type=int, default=50)
    w = sub.add_parser("widths")
    w.add_argument("--model", required=True)
    w.add_argument("--data", required=True)
    w.add_argument("--widths", default="1,3,5")
    w.add_argument("--limit", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.command == "cost":
        cost(args.data, args.steps, args.images)
    else:
        widths(args.model, args.data, [int(x) for x in args.widths.split(",")], args.limit)


if __name__ == "__main__":
    main()
