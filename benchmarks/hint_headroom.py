"""Where the hinted PSNR can come from (issue 11's +3 dB target), before training anything.

    python benchmarks/hint_headroom.py --model assets/models/edges2shoes --data data/edges2shoes [--limit 40]

On the first --limit val pairs, with the 10 seeded hints `evaluate` uses, the mean PSNR against the
photo of:
- plain / hinted: the model without and with the hints (as `evaluate` scores them);
- photo chroma, photo luma: the plain output with the photo's a*b* (or L*) put in. Which one moves
  PSNR says whether colour hints can only help through the brightness they carry;
- fill nearest / fill harmonic: the plain output with the hint fill (models.hints.fill_hints) pasted
  over the object (output L* < 92, i.e. not the paper), no network involved: how much of the photo each
  fill mode already gives the model as an input.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from skimage.color import lab2rgb, rgb2lab
from skimage.metrics import peak_signal_noise_ratio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.config import FILL_MODES  # noqa: E402
from models.hints import fill_hints, hints_image  # noqa: E402
from models.translator import load  # noqa: E402
from training.data import DataConfig, PairDataset  # noqa: E402
from training.evaluate import EVAL_HINTS, to_uint8  # noqa: E402
from training.hints import draw_hints  # noqa: E402

PAPER_L = 92  # L* above this is white paper/background, not the object


def rgb(lab: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # out-of-gamut Lab mixes are clipped, which is what a display does
        return (np.clip(lab2rgb(lab), 0, 1) * 255).round().astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--limit", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0, help="evaluate's seed (hints and dropout)")
    args = ap.parse_args()
    translator = load(args.model)
    if not translator.accepts_hints:
        raise SystemExit(f"{args.model} takes no colour hints")
    pairs = PairDataset(args.data, DataConfig(root=args.data, jitter=False, flip=False), "val",
                        nearest_input=False, train=False)
    scores: dict[str, list[float]] = {}
    for i in range(min(args.limit, len(pairs))):
        a, b = pairs.batch([i])
        inp, real = to_uint8(a[0]), to_uint8(b[0])
        hints = draw_hints(b[0], EVAL_HINTS, torch.Generator().manual_seed(args.seed * 1_000_003 + i))
        fake = np.asarray(translator(Image.fromarray(inp), seed=args.seed + i))
        hinted = np.asarray(translator(Image.fromarray(inp), hints=hints_image(hints), seed=args.seed + i))
        lab, real_lab = rgb2lab(fake), rgb2lab(real)
        obj = lab[..., 0] < PAPER_L
        shown = {"plain": fake, "hinted": hinted,
                 "photo chroma": rgb(np.concatenate([lab[..., :1], real_lab[..., 1:]], axis=2)),
                 "photo luma": rgb(np.concatenate([real_lab[..., :1], lab[..., 1:]], axis=2))}
        for mode in FILL_MODES:
            fill = fill_hints(a, hints[None], mode)[0, :3]
            fill_lab = rgb2lab(((fill.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy())
            pasted = lab.copy()
            pasted[obj] = fill_lab[obj]
            shown[f"fill {mode}"] = rgb(pasted)
        for name, image in shown.items():
            scores.setdefault(name, []).append(peak_signal_noise_ratio(real, image, data_range=255))
    print(f"{args.model} on {len(scores['plain'])} val pairs of {args.data}, {EVAL_HINTS} seeded hints: mean PSNR (dB)")
    for name, values in scores.items():
        print(f"  {name:14s} {np.mean(values):6.2f}")


if __name__ == "__main__":
    main()
