"""How closely our edges reproduce the pix2pix reference edges of edges2shoes (or edges2handbags).

The right halves of the shared edges2* pairs were made by the original pipeline (Caffe HED +
PostprocessHED.m). For every pair of a split we extract edges from the left (photo) half and score them
against the right half with the tolerance-based F1 of hed_edges.metrics.edge_f1 (distance-transform
matching, 2 px by default). Reported: mean per-image F1 and pooled precision/recall/F1 (counts summed over
images), for the settings asked for with --hed-input: HED run on the 256 px photo (what extract_edges and
build do) or on the photo upscaled to 512 with the map resized back, as the original ran HED at the photo's
own resolution.

    python benchmarks/hed_edges_vs_reference.py [--data ../shared/datasets/edges2shoes] [--hed-input 256 512]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from hed_edges.detect import canny_probability, hed_probability
from hed_edges.metrics import edge_f1, scores
from hed_edges.postprocess import postprocess

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "edges2shoes"


def edges_for(photo: Image.Image, setting: str) -> np.ndarray:
    """Bool edge mask at the photo's size for 'canny' or a HED input size ('256', '512', ...)."""
    if setting == "canny":
        return postprocess(canny_probability(photo))
    side = int(setting)
    hed_in = photo if photo.width == side else photo.resize((side, side), Image.Resampling.BICUBIC)
    return postprocess(hed_probability([hed_in])[0], size=photo.size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="edges2* folder, photo on the left")
    parser.add_argument("--split", default="val")
    parser.add_argument("--hed-input", nargs="+", default=["256", "512"],
                        help="HED input sizes to compare; 'canny' scores the fallback detector")
    parser.add_argument("--tolerance", type=float, default=2.0)
    parser.add_argument("--limit", type=int, default=0, help="first N pairs only (0 = all)")
    args = parser.parse_args()
    torch.set_num_threads(2)

    files = sorted((args.data / args.split).glob("*.jpg"))[: args.limit or None]
    if not files:
        sys.exit(f"no pairs in {args.data / args.split}")
    print(f"{len(files)} pairs from {args.data / args.split}, tolerance {args.tolerance:g} px")
    for setting in args.hed_input:
        f1s, totals, started = [], np.zeros(4), time.monotonic()
        for path in tqdm(files, desc=setting, leave=False):
            pair = Image.open(path).convert("RGB")
            h = pair.height
            photo, ref = pair.crop((0, 0, h, h)), np.asarray(pair.crop((h, 0, 2 * h, h)).convert("L")) < 128
            r = edge_f1(edges_for(photo, setting), ref, args.tolerance)
            f1s.append(r["f1"])
            totals += [r["matched_pred"], r["n_pred"], r["matched_ref"], r["n_ref"]]
        pooled = scores(*map(int, totals))
        label = "canny" if setting == "canny" else f"HED at {setting}"
        print(f"{label:12s} mean F1 {np.mean(f1s):.4f} "
              f"(median {np.median(f1s):.4f}, min {np.min(f1s):.4f}) | "
              f"pooled P {pooled['precision']:.4f} R {pooled['recall']:.4f} F1 {pooled['f1']:.4f} | "
              f"{time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
