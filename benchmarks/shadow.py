"""Does the shadow predict the lines a person has not drawn yet? (issue 40)

    python benchmarks/shadow.py data/edges2shoes [data/edges2handbags ...] [--limit 100] [--seed 0]
                                [--complete data/edges2shoes=MODEL_DIR ...]

For each val edge map, a random half of its strokes (8-connected components of the 1-px lines) is the partial
drawing and the other half is hidden. The shadow of the partial drawing (models.shadow, prototypes built from the
folder's train split) is thresholded at a few levels, less what lies within TOLERANCE px of the drawn strokes
(already there). Scored against the hidden lines within TOLERANCE px: recall (hidden line pixels near the
shadow), precision (shadow pixels near a hidden line) and their F. Beside it, two shadows that know nothing of the
drawing: the mean of all training maps, and the mean of TOP random training maps. It also prints how close each
prototype comes to any one training map (cosine of their ink grids): the folder must keep no copy of one.
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

import models
from hed_edges.partials import keep_strokes
from models import shadow

TOLERANCE = 3  # px at 256
LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5)


def split_strokes(lines: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(kept, hidden): a random half of the strokes, and the rest."""
    kept = keep_strokes(lines, rng, 0.5)
    return kept, lines & ~kept


def upsample(grid: np.ndarray, size: int = 256) -> np.ndarray:
    return ndimage.zoom(grid, size / grid.shape[0], order=1)


def scores(guess: np.ndarray, kept: np.ndarray, hidden: np.ndarray) -> dict[float, tuple[float, float]]:
    """level -> (precision, recall) of the thresholded shadow against the hidden lines."""
    near_kept = ndimage.distance_transform_edt(~kept) <= TOLERANCE
    near_hidden = ndimage.distance_transform_edt(~hidden) <= TOLERANCE
    out = {}
    for level in LEVELS:
        predicted = (guess >= level) & ~near_kept
        near_predicted = ndimage.distance_transform_edt(~predicted) <= TOLERANCE if predicted.any() else predicted
        precision = float(near_hidden[predicted].mean()) if predicted.any() else float("nan")
        recall = float(near_predicted[hidden].mean()) if hidden.any() else float("nan")
        out[level] = (precision, recall)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", nargs="+", type=Path, help="pairs folders (train/ and val/ of edges|photo pairs)")
    p.add_argument("--limit", type=int, default=100, help="val maps per folder (default 100)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--complete", action="append", default=[], metavar="DATA=MODEL_DIR",
                   help="also score a completion model (trained on `python -m hed_edges partials` pairs of DATA): its "
                        "output's ink is the shadow")
    args = p.parse_args()
    completers = {Path(data).name: models.load(model) for data, model in (c.split("=", 1) for c in args.complete)}
    print("| data | shadow | " + " | ".join(f"P / R at {t}" for t in LEVELS) + " | best F |")
    print("|---" * (len(LEVELS) + 3) + "|")
    for folder in args.data:
        train = shadow.edge_maps(folder, "train")
        prototypes = shadow.build(train, seed=args.seed)
        grids = np.stack([shadow.ink_grid(m) for m in train])
        flat = [g.reshape(len(g), -1) / (np.linalg.norm(g.reshape(len(g), -1), axis=1, keepdims=True) + 1e-6)
                for g in (prototypes.astype(np.float32), grids)]
        closest = (flat[0] @ flat[1].T).max(axis=1)  # a prototype that copied one map would be near 1
        print(f"{folder.name}: {len(prototypes)} prototypes; cosine to the closest training map: max "
              f"{closest.max():.3f}, median {np.median(closest):.3f}")
        rng = np.random.default_rng(args.seed)
        results: dict[str, list[dict]] = {"retrieval": [], "mean of all": [], "random maps": []}
        complete = completers.get(folder.name)
        if complete:
            results["completion"] = []
        for i, lines in enumerate(shadow.edge_maps(folder, "val")[: args.limit]):
            kept, hidden = split_strokes(lines, rng)
            if not kept.any() or not hidden.any():
                continue
            random = grids[rng.choice(len(grids), shadow.TOP, replace=False)].mean(axis=0)
            for name, grid in (("retrieval", shadow.shadow(shadow.ink_grid(kept), prototypes)),
                               ("mean of all", grids.mean(axis=0)), ("random maps", random)):
                results[name].append(scores(upsample(grid), kept, hidden))
            if complete:
                drawn = Image.fromarray(np.where(kept, 0, 255).astype(np.uint8)).convert("RGB")
                ink = 1 - np.asarray(complete(drawn, seed=i, size=256).convert("L"), dtype=np.float32) / 255
                results["completion"].append(scores(ink, kept, hidden))
        for name, rows in results.items():
            cells, best = [], 0.0
            for level in LEVELS:
                ps = [r[level][0] for r in rows if not np.isnan(r[level][0])]
                rs = [r[level][1] for r in rows]
                pm, rm = (statistics.mean(ps) if ps else 0.0), statistics.mean(rs)
                best = max(best, 2 * pm * rm / (pm + rm) if pm + rm else 0.0)
                cells.append(f"{pm:.2f} / {rm:.2f}")
            print(f"| {folder.name} ({len(rows)} maps, {len(prototypes)} prototypes) | {name} | "
                  + " | ".join(cells) + f" | {best:.3f} |")


if __name__ == "__main__":
    main()
