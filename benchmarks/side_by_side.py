"""A side-by-side sheet of two or more evaluations of the same val pairs, to look at before
believing a score (issue 11's protocol).

    python benchmarks/side_by_side.py --out /tmp/sheet.png --rows 8 \\
        assets/models/edges2shoes/eval_val runs/v2h/edges2shoes/checkpoints/step_00007000/model/eval_val

Each row is one pair: its input, then each evaluation's output (and, for a hint model, its hinted
output beside it), then the real photo. The folders are `python -m training evaluate --out` folders
(their images/ hold input | output | target, or input | output | hints | hinted | target grids).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def columns(grid: np.ndarray) -> list[np.ndarray]:
    side = grid.shape[0]
    return [grid[:, x:x + side] for x in range(0, grid.shape[1], side)]


def sheet(evals: list[Path], rows: int, start: int = 0) -> Image.Image:
    names = sorted(p.name for p in (evals[0] / "images").glob("*.png"))[start:start + rows]
    if not names:
        raise SystemExit(f"{evals[0] / 'images'}: no evaluation images")
    lines, header = [], ["input"]
    for k, name in enumerate(names):
        first = columns(np.asarray(Image.open(evals[0] / "images" / name).convert("RGB")))
        cells = [first[0]]
        for i, folder in enumerate(evals):
            cols = columns(np.asarray(Image.open(folder / "images" / name).convert("RGB")))
            cells.append(cols[1])
            if k == 0:
                header.append(chr(ord("A") + i))
            if len(cols) == 5:  # a hint model: its hinted output too
                cells.append(cols[3])
                if k == 0:
                    header.append(chr(ord("A") + i) + " hinted")
        cells.append(first[-1])
        lines.append(np.concatenate(cells, axis=1))
    image = Image.fromarray(np.concatenate(lines, axis=0))
    draw, side = ImageDraw.Draw(image), lines[0].shape[0]
    for i, label in enumerate(header + ["photo"]):
        draw.text((i * side + 4, 4), label, fill=(255, 0, 0))
    return image


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("evals", nargs="+", type=Path, help="evaluation folders of the same pairs (A, B, ...)")
    p.add_argument("--out", type=Path, required=True, help="the sheet (PNG)")
    p.add_argument("--rows", type=int, default=8)
    p.add_argument("--start", type=int, default=0, help="skip this many pairs first")
    args = p.parse_args()
    sheet(args.evals, args.rows, args.start).save(args.out)
    for i, folder in enumerate(args.evals):
        print(f"{chr(ord('A') + i)}: {folder}")
    print(f"sheet: {args.out}")


if __name__ == "__main__":
    main()
