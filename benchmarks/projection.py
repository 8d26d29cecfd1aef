"""What `--init-from DECONV_MODEL --upsample resize` starts from, before any training.

    python benchmarks/projection.py --model assets/models/edges2handbags --data data/edges2handbags [--limit 50]

Writes the projected model (every 4x4 deconv replaced by its least-squares 3x3 resize-conv,
models.networks.deconv_to_resize) to OUT/projected, scores it and the source model on the same val
pairs with `evaluate`, and prints both rows: the checkerboard should fall to near the photos',
and the rest is what the fine-tune has to win back.
"""
from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import torch

from models.folder import load_generator, save_model
from models.networks import Generator, resize_state_dict
from training.evaluate import evaluate

KEYS = ("structure_ratio", "PSNR", "L1", "color_intersection", "color_spread_ratio", "checkerboard",
        "checkerboard_real")


def project(model: str, out: Path) -> Path:
    source, config = load_generator(model)
    if config.generator.upsample != "deconv":
        raise SystemExit(f"{model}: upsample is {config.generator.upsample}, not deconv")
    config.generator = dataclasses.replace(config.generator, upsample="resize")
    projected = Generator(config.generator)
    projected.load_state_dict(resize_state_dict(source))
    return save_model(out, projected, config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--out", default="", help="where the projected model and evaluations go (default: a temp dir)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out or tempfile.mkdtemp(prefix="projection-"))
    rows = {"source": evaluate(args.model, args.data, out / "eval_source", limit=args.limit)["summary"]}
    projected = project(args.model, out / "projected")
    rows["projected"] = evaluate(projected, args.data, out / "eval_projected", limit=args.limit)["summary"]
    print(f"{args.model} on the first {args.limit} val pairs of {args.data}\n| model | " + " | ".join(KEYS) + " |")
    print("|---" * (len(KEYS) + 1) + "|")
    for name, s in rows.items():
        print(f"| {name} | " + " | ".join(f"{s[k]:.3f}" if k in s else "-" for k in KEYS) + " |")
    print(f"projected model: {projected}")


if __name__ == "__main__":
    main()
