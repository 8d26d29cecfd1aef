"""Images/s of `python -m hed_edges build` at 256 px, per detector, on this machine's CPU (or --device cuda).

Reads N photos from --photos (default: the shared cats, linked from a temp folder, never copied into the
repository) or, without it, synthetic 400x300 photos; writes pairs to a temp folder that is deleted after.
Reported wall time includes starting the worker processes and loading HED, as a user sees it.

    python benchmarks/hed_build_throughput.py [--photos ../shared/datasets/cats] [-n 48]
        [--detectors hed canny]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from hed_edges.build import build_dataset
from hed_edges.pairs import IMAGE_SUFFIXES

DEFAULT_PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cats"


def synthetic(folder: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(n):
        image = Image.fromarray(rng.integers(90, 160, (300, 400, 3), dtype=np.uint8))
        draw = ImageDraw.Draw(image)
        for _ in range(6):
            x, y = rng.integers(0, 300, 2)
            draw.ellipse((x, y, x + 90, y + 70), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
        image.save(folder / f"s{i:03d}.jpg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS if DEFAULT_PHOTOS.is_dir() else None,
                        help="folder of photos (default: the shared cats if present, else synthetic)")
    parser.add_argument("--synthetic", action="store_true", help="synthetic photos even with --photos")
    parser.add_argument("-n", type=int, default=48, help="number of photos (default 48)")
    parser.add_argument("--detectors", nargs="+", default=["hed", "canny"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "photos"
        src.mkdir()
        if args.photos and not args.synthetic:
            files = sorted(p for p in args.photos.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)[: args.n]
            for f in files:
                os.symlink(f.resolve(), src / f.name)
            what = f"{len(files)} photos from {args.photos}"
        else:
            synthetic(src, args.n)
            what = f"{args.n} synthetic 400x300 photos"
        print(f"{what}, size 256, device {args.device}, {args.workers} workers, {os.cpu_count()} CPUs")
        for detector in args.detectors:
            started = time.monotonic()
            data = build_dataset(src, Path(tmp) / f"out_{detector}", size=256, detector=detector,
                                 device=args.device, workers=args.workers, progress=False)
            seconds = time.monotonic() - started
            n = data["last_run"]["written"]
            print(f"{detector:6s} {n} pairs in {seconds:.1f} s: {n / seconds:.2f} images/s")


if __name__ == "__main__":
    main()
