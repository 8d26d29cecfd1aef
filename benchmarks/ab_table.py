"""Recipes side by side at several kept checkpoints (issue 11's protocol: equal CPU time, several
checkpoints, because GAN scores move +-0.04 from one to the next).

    python benchmarks/ab_table.py --data data/edges2shoes --limit 100 \\
        runs/ab/shoes-B:20000,25000 runs/ab/shoes-D:20000,25000 [--follow 24] [--stroke-width 5]

For each RUN:STEPS it evaluates the kept checkpoints on the val split (the same `evaluate` as the
cards; outputs under RUN/checkpoints/step_N/model/eval_DATA, DATA the data folder's name) and prints one markdown row
per checkpoint with
its training wall time. A step written 5000+6000+7000 is the mean of those checkpoints' weights
(`evaluate --step 5000,6000,7000`; outputs under RUN/checkpoints/mean_5000_6000_7000/model/eval_DATA).
A step written @900 is the mean of the last three kept checkpoints trained for at most 900 s (wall time in their
state.json): recipes at equal CPU time (benchmarks/equal_time.py trains them so).
`--follow N` adds the user-colour test of benchmarks/hints_strokes.py (hint models), `--stroke-width` the structure
and colour with lines redrawn that wide.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from benchmarks.hints_strokes import follow
from training.checkpoint import checkpoint_model
from training.evaluate import evaluate

COLUMNS = [("structure_ratio", "structure"), ("color_intersection", "colour/img"), ("color_spread_ratio", "spread"),
           ("checkerboard", "checker"), ("PSNR", "PSNR"), ("hinted_PSNR", "PSNR hinted"),
           ("hinted_color_intersection", "colour hinted"), ("average_color_spread_ratio", "spread, no colour drawn"),
           ("average_PSNR", "PSNR, no colour drawn"), ("cat_face_ratio", "cat faces / real's"),
           ("imagenet_top5_agreement", "ImageNet top-5 agrees"), ("imagenet_cat_ratio", "ImageNet cat / real's"),
           ("imagenet_p_cat_fake", "P(cat)")]


def row(run: Path, steps: list[int], data: str, limit: int, follow_n: int, stroke_width: int, face_seeds: int) -> str:
    model = checkpoint_model(run, steps)
    s = evaluate(model, data, model / f"eval_{Path(data).name}", limit=limit, face_seeds=face_seeds)["summary"]
    cells = [f"{s[k]:.3f}" if k in s else "-" for k, _ in COLUMNS]
    if stroke_width > 1:
        t = evaluate(model, data, model / f"eval_val_stroke{stroke_width}", limit=limit,
                     stroke_width=stroke_width)["summary"]
        cells.append(f"{t['structure_ratio']:.3f} / {t['color_intersection']:.3f}")
    if follow_n:
        cells.append(f"{follow(str(model), data, follow_n, quiet=True)['all']:.2f}" if "hinted_PSNR" in s else "-")
    state = run / "checkpoints" / f"step_{max(steps):08d}" / "state.json"
    wall = json.loads(state.read_text()).get("wall_seconds", float("nan"))
    steps_text = "+".join(map(str, steps))
    return f"| {run.parent.name}/{run.name} | {steps_text} | {wall / 3600:.2f} | " + " | ".join(cells) + " |"


def steps_by_time(run: Path, seconds: float, count: int = 3) -> list[int]:
    """The last `count` kept checkpoints of `run` trained for at most `seconds`."""
    found = []
    for state in sorted((run / "checkpoints").glob("step_*/state.json")):
        record = json.loads(state.read_text())
        if record.get("wall_seconds", float("inf")) <= seconds:
            found.append(record["step"])
    if not found:
        raise SystemExit(f"{run}: no checkpoint trained for {seconds:.0f} s or less")
    return found[-count:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="RUN:STEPS", help="run folder and comma-separated kept steps")
    parser.add_argument("--data", required=True)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--follow", type=int, default=0, metavar="N", help="user-colour test on N val objects")
    parser.add_argument("--stroke-width", type=int, default=1)
    parser.add_argument("--face-seeds", type=int, default=1, help="evaluate --face-seeds (cat models; default 1)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: runs train beside it)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    head = ["run", "step", "train h"] + [name for _, name in COLUMNS]
    if args.stroke_width > 1:
        head.append(f"{args.stroke_width}-px lines: structure / colour")
    if args.follow:
        head.append("follows a user's colour")
    print(f"{args.data}, first {args.limit} val pairs\n| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for spec in args.runs:
        run, _, steps = spec.partition(":")
        for step in steps.split(","):
            picked = steps_by_time(Path(run), float(step[1:])) if step.startswith("@") else map(int, step.split("+"))
            print(row(Path(run), list(picked), args.data, args.limit, args.follow,
                      args.stroke_width, args.face_seeds), flush=True)


if __name__ == "__main__":
    main()
