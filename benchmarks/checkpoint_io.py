"""What crash safety costs a checkpoint: save (serialise, fsync, rename, prune) and verified resume, per preset.

    python benchmarks/checkpoint_io.py [--presets paper compact] [--repeats 5] [--dir /tmp]

Each save writes generator, discriminator and Adam state through the fsync'd atomic writer; the
baseline is safetensors' own save_file of the same tensors (no fsync, no verification) and load_file.
Resume reads every file of the newest checkpoint before restoring anything. Medians of --repeats runs;
--dir picks the filesystem (the page cache makes reads fast after the first).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from models.folder import flatten_optimizer
from models.networks import Discriminator, Generator
from training.checkpoint import resume_checkpoint, save_checkpoint
from training.config import make_config


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench(preset: str, root: Path, repeats: int) -> dict:
    cfg = make_config("bench", "", preset=preset)
    gen_cfg = cfg.model.generator
    G, D = Generator(gen_cfg), Discriminator(cfg.discriminator, gen_cfg.in_channels, gen_cfg.out_channels)
    opts = {"G": torch.optim.Adam(G.parameters()), "D": torch.optim.Adam(D.parameters())}
    for net, opt in ((G, opts["G"]), (D, opts["D"])):  # one step, so Adam holds its moment tensors
        for p in net.parameters():
            p.grad = torch.zeros_like(p)
        opt.step()
    folder = root / preset / "checkpoints"
    step = iter(range(1, 10**6))
    save = median_seconds(lambda: save_checkpoint(folder, next(step), G, D, opts, {}, keep=False), repeats)
    resume = median_seconds(lambda: resume_checkpoint(folder, G, D, opts), repeats)
    tensors = {"g": G.state_dict(), "d": D.state_dict(),
               "o": {**flatten_optimizer("G", opts["G"])[0], **flatten_optimizer("D", opts["D"])[0]}}
    base = root / preset / "baseline"
    base.mkdir(parents=True)
    base_save = median_seconds(
        lambda: [save_file({k: v.contiguous() for k, v in t.items()}, base / f"{name}.safetensors")
                 for name, t in tensors.items()], repeats)
    base_load = median_seconds(lambda: [load_file(base / f"{name}.safetensors") for name in tensors], repeats)
    size = sum(p.stat().st_size for p in next(folder.glob("step_*")).iterdir())
    return {"preset": preset, "MiB": size / 2**20, "save_s": save, "baseline_save_s": base_save,
            "resume_s": resume, "baseline_load_s": base_load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["paper", "compact"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dir", default=None, help="where to write (default: the system temp folder)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(f"{'preset':8} {'MiB':>7} {'save s':>8} {'save_file s':>12} {'resume s':>9} {'load_file s':>12}")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for preset in args.presets:
            r = bench(preset, Path(tmp), args.repeats)
            print(f"{r['preset']:8} {r['MiB']:7.1f} {r['save_s']:8.3f} {r['baseline_save_s']:12.3f} "
                  f"{r['resume_s']:9.3f} {r['baseline_load_s']:12.3f}")


if __name__ == "__main__":
    main()
