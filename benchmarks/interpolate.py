"""A model between two of one lineage: each generator parameter (1 - alpha) * A + alpha * B.

    python benchmarks/interpolate.py A B --alpha 0.5 --out DIR [--prior-from a|b]

A and B are model folders whose generators have the same shape, B a fine-tune of A (or of A's ancestors), so
their weights lie in one basin and the path between them is a family of models (weight-space ensembling, as
WiSE-FT; `evaluate --step` averages checkpoints of one run the same way). DIR gets B's config and D and Adam,
and B's buffers except the palette prior (the colours a palette model draws at test time), which `--prior-from`
picks: with `--alpha 1 --prior-from a`, B's weights drawing A's colours, so that two models are compared on the
same drawn colours. Then `python -m training evaluate --model DIR ...` scores it (issue 28 used this to ask how
much of a fine-tune's gain and loss a model halfway keeps).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from models.folder import copy_carried, load_generator, save_model


def interpolate(a: Path, b: Path, alpha: float, out: Path, prior_from: str = "b") -> Path:
    ga, _ = load_generator(a)
    gb, config = load_generator(b)
    sa, sb = ga.state_dict(), gb.state_dict()
    if {k: v.shape for k, v in sa.items()} != {k: v.shape for k, v in sb.items()}:
        raise SystemExit(f"{a} and {b} have differently shaped generators: they cannot be interpolated")
    params = {name for name, _ in gb.named_parameters()}
    mixed = {k: torch.lerp(sa[k], v, alpha) if k in params else v for k, v in sb.items()}
    if "palette_prior" in mixed and prior_from == "a":
        mixed["palette_prior"] = sa["palette_prior"]
    gb.load_state_dict(mixed)
    config.training = {**config.training, "interpolated": {"a": str(a), "b": str(b), "alpha": alpha,
                                                           "palette_prior_from": prior_from}}
    save_model(out, gb, config)
    copy_carried(b, out)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--alpha", type=float, required=True, help="0 = A's weights, 1 = B's")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--prior-from", choices=("a", "b"), default="b", help="whose palette prior DIR draws colours from")
    args = p.parse_args()
    print(interpolate(args.a, args.b, args.alpha, args.out, args.prior_from))


if __name__ == "__main__":
    main()
