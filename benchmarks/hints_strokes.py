"""Colour hints and stroke robustness (issue 11 items 1 and 4): what they cost, and the seam test.

    python benchmarks/hints_strokes.py cost --data data/edges2shoes [--steps 20] [--images 40]
    python benchmarks/hints_strokes.py widths --model assets/models/edges2shoes --data data/edges2shoes \
        [--widths 1,3,5] [--limit 20]
    python benchmarks/hints_strokes.py follow --model MODEL --data data/edges2shoes [--limit 24] [--sheet PNG]
    python benchmarks/hints_strokes.py ceiling --data data/edges2shoes [--widths 3,5] [--limit 100]

`cost`: milliseconds per 256x256 pair to sample 10 training hints and to augment the strokes (on
the first --images training pairs), and ms per training step of the compact preset plain, with
--hints 10, with --stroke-aug and with both. `widths`: the model's val scores with the input lines redrawn 1, 3, 5
px wide (structure still against the 1-px lines); the issue's target is thick lines within 0.03
of thin ones on structure and colour. `ceiling`: how much of the 1-px lines survives a thick pen, as
the edge F1 of the thickened lines thinned again (skimage skeletonize) against the originals: near 1
means a seam-free model could score as well from thick lines as from thin ones. `follow` (hint
models): a user's colour, not the photo's. Three brush strokes (4-px radius at 256, the studio's
default) of one palette colour go on the object of each val photo; it prints how far the object's mean Lab (a*, b*)
moves from the unhinted output
towards that colour (1: all the way, 0: ignored) and the hue error left, per colour, and writes a
sheet (lines + strokes | no hints | hinted) to look at.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from training.config import DataConfig, make_config
from training.data import PairDataset, list_images, step_generator
from training.hints import sample_hints
from training.strokes import augment_strokes
from training.trainer import Trainer

SCORES = ("structure_ratio", "color_intersection", "color_intersection_pooled", "PSNR", "L1")


def cost(data: str, steps: int, images: int) -> None:
    """Medians, with the recipes' steps interleaved (in rotating order) so a busy machine slows them alike."""
    with tempfile.TemporaryDirectory() as tmp:
        subset = Path(tmp) / "data"
        (subset / "train").mkdir(parents=True)
        for f in list_images(Path(data) / "train")[:images]:
            (subset / "train" / f.name).symlink_to(f.resolve())
        pairs = PairDataset(subset, DataConfig(root=str(subset)), "train", progress=False)
        hint_ms, stroke_ms = [], []
        for i in range(len(pairs)):
            _, b = pairs.batch([i], step_generator(0, i))
            t0 = time.perf_counter()
            sample_hints(b, 10, torch.Generator().manual_seed(i), no_hint_probability=0.0)
            t1 = time.perf_counter()
            augment_strokes(pairs.inputs[i, :, :256, :256], torch.Generator().manual_seed(i))
            hint_ms.append((t1 - t0) * 1e3)
            stroke_ms.append((time.perf_counter() - t1) * 1e3)
        print(f"per pair (median of {len(pairs)}): 10 hints {statistics.median(hint_ms):.1f} ms, "
              f"stroke augmentation {statistics.median(stroke_ms):.1f} ms")
        recipes = {"plain": {}, "--hints 10": {"hints": 10}, "--stroke-aug": {"stroke_aug": True},
                   "--hints 10 --stroke-aug": {"hints": 10, "stroke_aug": True}}
        trainers = {}
        for label, kw in recipes.items():
            cfg = make_config("bench", str(subset), preset="compact", device="cpu", save_every=10**9,
                              sample_every=10**9, log_every=10**9, val_split="train", **kw)
            trainers[label] = Trainer(cfg, Path(tmp) / label, progress=False)
            trainers[label].train_step(0)  # warm-up
        times: dict[str, list[float]] = {label: [] for label in recipes}
        labels = list(trainers)
        for s in range(1, 1 + steps):
            for label in labels[s % len(labels):] + labels[:s % len(labels)]:  # each goes first in turn
                t0 = time.perf_counter()
                trainers[label].train_step(s)
                times[label].append(time.perf_counter() - t0)
    base = statistics.median(times["plain"])
    print("| recipe (compact, batch 1) | ms/step | vs plain |\n|---|---|---|")
    for label, t in times.items():
        print(f"| {label} | {statistics.median(t) * 1e3:.0f} | {statistics.median(t) / base:.2f}x |")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


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


def ceiling(data: str, sizes: list[int], limit: int) -> None:
    import numpy as np
    from skimage.morphology import skeletonize

    from hed_edges.metrics import edge_f1
    from training.evaluate import to_uint8
    from training.strokes import thicken_lines

    pairs = PairDataset(data, DataConfig(root=data, jitter=False, flip=False), "val", train=False, progress=False)
    lines = [to_uint8(pairs.batch([i])[0][0]) for i in range(min(limit, len(pairs)) if limit else len(pairs))]
    print(f"{data}, {len(lines)} val pairs\n| lines | F1 of the thinned thick lines against the 1-px ones |\n|---|---|")
    for w in sizes:
        f1 = [edge_f1(skeletonize(thicken_lines(x, w).mean(axis=2) < 128), x.mean(axis=2) < 128)["f1"] for x in lines]
        print(f"| {w} px | {np.mean(f1):.3f} |")


PALETTE = {"red": (200, 30, 30), "blue": (40, 70, 210), "yellow": (235, 200, 40), "green": (40, 150, 60)}


def follow(model: str, data: str, limit: int, sheet: str = "", quiet: bool = False) -> dict[str, float]:
    """Returns the mean "moved" per colour and over all (`all`), and the a*b* distance left (`left`)."""
    import numpy as np
    from PIL import Image, ImageDraw
    from skimage.color import rgb2lab

    from models import load
    from training.evaluate import to_uint8
    from training.hints import BACKGROUND

    translator = load(model, device="cpu")
    if not translator.accepts_hints:
        raise SystemExit(f"{model} takes no colour hints")
    pairs = PairDataset(data, DataConfig(root=data, jitter=False, flip=False), "val", train=False, progress=False)
    rng = np.random.default_rng(0)
    moved: dict[str, list[float]] = {c: [] for c in PALETTE}
    left: dict[str, list[float]] = {c: [] for c in PALETTE}
    rows = []
    for i in range(min(limit, len(pairs))):
        a, b = pairs.batch([i])
        inp = to_uint8(a[0])
        obj = b[0].amin(0).numpy() < BACKGROUND  # the object, not the white ground
        if obj.sum() < 500:
            continue
        name = list(PALETTE)[i % len(PALETTE)]
        layer = Image.new("RGBA", inp.shape[1::-1], (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        ys, xs = np.nonzero(obj)
        for _ in range(3):
            k = rng.integers(len(ys))
            angle = rng.uniform(0, np.pi)
            end = (xs[k] + 24 * np.cos(angle), ys[k] + 24 * np.sin(angle))
            draw.line([(xs[k], ys[k]), end], fill=PALETTE[name] + (255,), width=8, joint="curve")
            for x, y in ((xs[k], ys[k]), end):
                draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=PALETTE[name] + (255,))
        rgba = np.asarray(layer).copy()
        rgba[~obj] = 0  # strokes stay on the object, as a user would colour it
        layer = Image.fromarray(rgba, "RGBA")
        plain = np.asarray(translator(Image.fromarray(inp), seed=i, size=256))
        hinted = np.asarray(translator(Image.fromarray(inp), hints=layer, seed=i, size=256))
        target = rgb2lab(np.array(PALETTE[name], np.uint8)[None, None])[0, 0, 1:]
        before = rgb2lab(plain)[obj][:, 1:].mean(0)
        after = rgb2lab(hinted)[obj][:, 1:].mean(0)
        moved[name].append(float(np.dot(after - before, target - before) / max(np.sum((target - before) ** 2), 1e-9)))
        left[name].append(float(np.linalg.norm(after - target)))
        shown = inp.copy()
        shown[rgba[..., 3] > 0] = rgba[rgba[..., 3] > 0, :3]
        rows.append(np.concatenate([shown, plain, hinted], axis=1))
    result = {name: statistics.mean(v) for name, v in moved.items() if v}
    result["all"] = statistics.mean([m for v in moved.values() for m in v])
    result["left"] = statistics.mean([d for v in left.values() for d in v])
    if not quiet:
        print(f"{model}: {sum(map(len, moved.values()))} val objects, 3 strokes of one colour each")
        print("| colour | moved towards it (1 = all the way) | a*b* distance left |\n|---|---|---|")
        for name in PALETTE:
            if moved[name]:
                print(f"| {name} | {result[name]:.2f} | {statistics.mean(left[name]):.1f} |")
        print(f"| all | {result['all']:.2f} | {result['left']:.1f} |")
    if sheet:
        Image.fromarray(np.concatenate(rows[:8], axis=0)).save(sheet)
        if not quiet:
            print(f"sheet: {sheet} (lines + strokes | no hints | hinted)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("cost")
    c.add_argument("--data", required=True)
    c.add_argument("--steps", type=int, default=20)
    c.add_argument("--images", type=int, default=40)
    w = sub.add_parser("widths")
    w.add_argument("--model", required=True)
    w.add_argument("--data", required=True)
    w.add_argument("--widths", default="1,3,5")
    w.add_argument("--limit", type=int, default=20)
    k = sub.add_parser("ceiling")
    k.add_argument("--data", required=True)
    k.add_argument("--widths", default="3,5")
    k.add_argument("--limit", type=int, default=100)
    f = sub.add_parser("follow")
    f.add_argument("--model", required=True)
    f.add_argument("--data", required=True)
    f.add_argument("--limit", type=int, default=24)
    f.add_argument("--sheet", default="", help="write the first 8 rows here (PNG)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.command == "cost":
        cost(args.data, args.steps, args.images)
    elif args.command == "ceiling":
        ceiling(args.data, [int(x) for x in args.widths.split(",")], args.limit)
    elif args.command == "follow":
        follow(args.model, args.data, args.limit, args.sheet)
    else:
        widths(args.model, args.data, [int(x) for x in args.widths.split(",")], args.limit)


if __name__ == "__main__":
    main()
