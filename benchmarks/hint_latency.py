"""What colour hints cost per translation: a shipped hint model on its studio example drawing, with and without hints.

    python benchmarks/hint_latency.py [--model assets/models/edges2shoes] [--repeats 20] [--threads 1]

With `--hint-fill` the generator spreads the hints over the drawing before its first conv (a
relaxation on a 64x64 grid that runs until no path shortens, and for `harmonic` a sparse solve on
that grid), so hinted calls cost more than plain ones; without hints the fill stops after one pass. Prints the median
ms at 256 and 512.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import torch
from PIL import Image, ImageDraw

import models

EXAMPLES = Path(__file__).resolve().parents[1] / "assets" / "examples"


def hint_layer(size: tuple[int, int]) -> Image.Image:
    """Three strokes of the studio's colour brush (16 px on a 512 canvas), in three colours."""
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw, (w, h) = ImageDraw.Draw(layer), size
    for (x0, y0, x1, y1), colour in [((0.3, 0.6, 0.6, 0.65), (32, 80, 208, 255)),
                                     ((0.2, 0.75, 0.8, 0.78), (200, 40, 40, 255)),
                                     ((0.5, 0.45, 0.7, 0.5), (240, 200, 40, 255))]:
        draw.line([(x0 * w, y0 * h), (x1 * w, y1 * h)], fill=colour, width=max(1, w * 16 // 512))
    return layer


def median_ms(call, repeats: int) -> float:
    call()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="assets/models/edges2shoes")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    translator = models.load(args.model)
    if not translator.accepts_hints:
        sys.exit(f"{args.model} takes no colour hints")
    drawing = Image.open(EXAMPLES / f"{translator.config.name}.png").convert("RGB")
    hints = hint_layer(drawing.size)
    g = translator.config.generator
    print(f"{args.model}: hint fill {g.hint_fill_mode if g.hint_fill else 'off'}, {args.threads} thread(s), "
          f"median of {args.repeats}")
    for size in (256, 512):
        plain = median_ms(partial(translator, drawing, seed=0, size=size), args.repeats)
        hinted = median_ms(partial(translator, drawing, hints=hints, seed=0, size=size), args.repeats)
        print(f"  {size}: {plain:.0f} ms without hints, {hinted:.0f} ms with three hint strokes")


if __name__ == "__main__":
    main()
