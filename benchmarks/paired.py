"""Two evaluations of the same val pairs compared image by image, so a difference can be told from noise.

    python benchmarks/paired.py OLD_EVAL NEW_EVAL [--deframe 12]

OLD_EVAL and NEW_EVAL are `python -m training evaluate --out` folders of the same pairs. A mean moves by
+-0.04 between checkpoints of one GAN run; whether the new model scores higher on nearly every image is a
firmer sign. Printed per per-image score: both means, the mean difference with its standard error, and on how
many images the new one is higher (lower for L1). For cat models, the detector's discordant pairs: images where
one model's outputs show a face more often (over `evaluate --face-seeds`; with one seed, found in one and not the
other: McNemar's exact test). Also from the images:
the contrast of the outputs (std of Lab L, beside the real photos'). `--deframe PX` runs the cat-face detector
again with each output's outer PX replaced by a mirror of the pixels inside, to see whether it reads a frame.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.stats import binomtest
from skimage.color import rgb2lab

from benchmarks.side_by_side import columns
from hed_edges.catfaces import has_face

LOWER_IS_BETTER = {"L1", "hinted_L1", "checkerboard", "edge_frame_fake"}


def rows(folder: Path) -> dict[str, dict]:
    return {r["file"]: r for r in json.loads((folder / "metrics.json").read_text())["per_image"]}


def output_and_real(folder: Path, file: str) -> tuple[np.ndarray, np.ndarray]:
    """The output and the real photo from an evaluation's grid (input | output | ... | real)."""
    cells = columns(np.asarray(Image.open(folder / "images" / f"{Path(file).stem}.png").convert("RGB")))
    return np.ascontiguousarray(cells[1]), np.ascontiguousarray(cells[-1])


def deframe(image: np.ndarray, px: int) -> np.ndarray:
    return np.pad(image[px:-px, px:-px], ((px, px), (px, px), (0, 0)), mode="reflect")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--deframe", type=int, default=0, metavar="PX")
    args = parser.parse_args()
    old, new = rows(args.old), rows(args.new)
    files = sorted(old)
    if sorted(new) != files:
        raise SystemExit(f"{args.old} and {args.new} scored different pairs: evaluate both on the same data and "
                         "--limit")
    print(f"{args.old} -> {args.new}: {len(files)} pairs\n")
    print("| score | old | new | new - old (s.e.) | new better in |\n|---|---|---|---|---|")
    keys = [k for k, v in old[files[0]].items()  # the real photos' own scores are the same on both sides
            if isinstance(v, float) and k in new[files[0]] and "cat_face" not in k and not k.endswith("_real")]
    for key in keys:
        pairs = [(old[f][key], new[f][key]) for f in files if math.isfinite(old[f][key]) and math.isfinite(new[f][key])]
        diff = [b - a for a, b in pairs]
        better = sum((d < 0) if key in LOWER_IS_BETTER else (d > 0) for d in diff)
        print(f"| {key} | {statistics.mean(a for a, _ in pairs):.3f} | {statistics.mean(b for _, b in pairs):.3f} | "
              f"{statistics.mean(diff):+.4f} ({statistics.stdev(diff) / math.sqrt(len(diff)):.4f}) | "
              f"{better} of {len(diff)} |")
    contrast = {name: [] for name in ("old", "new", "real")}
    for f in files:
        for name, folder in (("old", args.old), ("new", args.new)):
            fake, real = output_and_real(folder, f)
            contrast[name].append(rgb2lab(fake)[..., 0].std())
        contrast["real"].append(rgb2lab(real)[..., 0].std())
    print("\ncontrast (std of Lab L): " + ", ".join(f"{k} {statistics.mean(v):.1f}" for k, v in contrast.items()))
    if "cat_face_fake" in old[files[0]] and "cat_face_fake" in new[files[0]]:
        # Per image a face's share of the seeds asked (0 or 1 for one seed): a sign test on the images where
        # the two differ, which for one seed is McNemar's exact test on the discordant pairs.
        only_old = sum(1 for f in files if old[f]["cat_face_fake"] > new[f]["cat_face_fake"])
        only_new = sum(1 for f in files if new[f]["cat_face_fake"] > old[f]["cat_face_fake"])
        p = binomtest(only_new, only_old + only_new).pvalue if only_old + only_new else 1.0
        print(f"cat faces: old {sum(old[f]['cat_face_fake'] for f in files):.1f}, new "
              f"{sum(new[f]['cat_face_fake'] for f in files):.1f} of {len(files)} (per seed asked); more in old's "
              f"output {only_old}, in new's {only_new} (exact sign test p = {p:.2f}; McNemar's for one seed)")
        if args.deframe:
            counts = {name: sum(has_face(deframe(output_and_real(folder, f)[0], args.deframe)) for f in files)
                      for name, folder in (("old", args.old), ("new", args.new))}
            print(f"cat faces with the outer {args.deframe} px mirrored from inside: old {counts['old']}, "
                  f"new {counts['new']}")


if __name__ == "__main__":
    main()
