"""What the adversarial term adds (paper section 4.2, Fig. 4): the same recipe trained from
scratch with each objective for the same number of steps, then evaluated on the val split.

    python benchmarks/objective_ablation.py facades --steps 4000 [--objectives l1 l1+cgan]

Runs go to runs/ablation/NAME-OBJECTIVE and resume if interrupted. Writes
assets/models/NAME/ablation.md (table, command) and ablation.jpg (input | one column per
objective | real photo); the model card includes both.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from models.shipped import SHIPPED
from training.card import METRIC_ROWS
from training.config import OBJECTIVES, make_config
from training.evaluate import evaluate
from training.recipes import ASSETS
from training.trainer import run_training

REPO = Path(__file__).resolve().parent.parent


def comparison_sheet(eval_dirs: dict[str, Path], out: Path, rows: int = 5) -> None:
    """Rows of input | each objective's output | real, from the eval triplets (input|fake|real)."""
    names = sorted(p.name for p in next(iter(eval_dirs.values())).joinpath("images").glob("*.png"))[:rows]
    sheet = []
    for name in names:
        triplets = [np.asarray(Image.open(d / "images" / name).convert("RGB")) for d in eval_dirs.values()]
        w = triplets[0].shape[1] // 3
        sheet.append(np.concatenate([triplets[0][:, :w]] + [t[:, w:2 * w] for t in triplets]
                                    + [triplets[0][:, 2 * w:]], axis=1))
    Image.fromarray(np.concatenate(sheet, axis=0)).save(out, quality=90)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name", choices=sorted(SHIPPED))
    p.add_argument("--steps", type=int, required=True, help="training steps per objective")
    p.add_argument("--objectives", nargs="+", choices=OBJECTIVES, default=["l1", "l1+cgan"])
    p.add_argument("--data", help="prepared dataset (default: data/NAME, made by `python -m training ship NAME "
                                  "--stages prepare`)")
    p.add_argument("--runs", default="runs/ablation")
    p.add_argument("--device", default="auto")
    args = p.parse_args()

    recipe = SHIPPED[args.name]
    data = args.data or f"data/{args.name}"
    eval_dirs, results = {}, {}
    for objective in args.objectives:
        run_dir = Path(args.runs) / f"{args.name}-{objective}"
        cfg = make_config(f"{args.name}-{objective}", data, preset="compact", objective=objective,
                          input_kind=recipe.input_kind, epochs=recipe.epochs, decay_epochs=recipe.decay_epochs,
                          max_steps=args.steps, device=args.device, save_every=250, sample_every=250,
                          log_every=25, command="python benchmarks/objective_ablation.py " + shlex.join(sys.argv[1:]))
        trainer = run_training(cfg, run_dir, (run_dir / "train_config.json").is_file(), max_steps=args.steps)
        eval_dirs[objective] = run_dir / "model" / "eval_val"
        results[objective] = evaluate(run_dir / "model", data, eval_dirs[objective])["summary"]
        results[objective]["hours"] = trainer.wall / 3600

    dest = ASSETS / args.name
    dest.mkdir(parents=True, exist_ok=True)
    comparison_sheet(eval_dirs, dest / "ablation.jpg")
    rows = [(k, label, fmt) for k, label, fmt in METRIC_ROWS if all(k in r for r in results.values())]
    lines = [
        f"Each objective trained from scratch with this recipe for {args.steps} steps (compact preset, "
        f"same seed and data order), evaluated on the val split: "
        f"`python benchmarks/objective_ablation.py {shlex.join(sys.argv[1:])}`.",
        "",
        "| metric | " + " | ".join(args.objectives) + " |",
        "|---|" + "---|" * len(args.objectives),
    ]
    for key, label, fmt in rows:
        lines.append(f"| {label} | " + " | ".join(fmt.format(results[o][key]) for o in args.objectives) + " |")
    hours = " | ".join(f"{results[o]['hours']:.2f}" for o in args.objectives)
    lines.append(f"| training wall time, h | {hours} |")
    lines += ["", "![ablation](ablation.jpg)", "",
              "Columns: input | " + " | ".join(args.objectives) + " | real photo."]
    (dest / "ablation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
