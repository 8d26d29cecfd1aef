"""Recipes trained for equal CPU time, one after another on one torch thread (the A/B protocol of docs/training.md).

    python benchmarks/equal_time.py --seconds 900 --runs runs/ab38 \\
        --common "--name edges2cats --data data/edges2cats-heads --init-from assets/models/edges2cats ..." \\
        plain= projected="--projected-d 1" perceptual="--perceptual 10"

Each ARM=FLAGS is `python -m training train COMMON FLAGS --runs RUNS/ARM`, stopped by SIGTERM (the trainer
checkpoints on it) once its training wall time reaches --seconds. An arm that already has a checkpoint resumes
for the time it still lacks, so an interrupted comparison goes on where it stopped; one that has its time is
skipped. Then score the kept checkpoints with benchmarks/ab_table.py.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path


def trained_seconds(run: Path) -> float:
    """The training wall time of a run's latest checkpoint (0 when it has none)."""
    latest = run / "checkpoints" / "latest.json"
    if not latest.is_file():
        return 0.0
    step_dir = run / "checkpoints" / json.loads(latest.read_text())["dir"]
    return json.loads((step_dir / "state.json").read_text()).get("wall_seconds", 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("arms", nargs="+", metavar="ARM=FLAGS", help="an arm's name and its own training flags")
    parser.add_argument("--common", required=True, help="the flags every arm shares (with --name)")
    parser.add_argument("--runs", required=True, help="the arms' runs go to RUNS/ARM/NAME")
    parser.add_argument("--seconds", type=float, required=True, help="training wall time per arm")
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    common = shlex.split(args.common)
    name = common[common.index("--name") + 1]
    for arm in args.arms:
        label, _, flags = arm.partition("=")
        runs = Path(args.runs) / label
        left = args.seconds - trained_seconds(runs / name)
        if left <= 0:
            print(f"{label}: has its {args.seconds:.0f} s", flush=True)
            continue
        resume = ["--resume"] if (runs / name / "train_config.json").is_file() else []
        command = [sys.executable, "-m", "training", "train", *common, *shlex.split(flags), "--runs", str(runs),
                   *resume]
        print(f"{label}: {left:.0f} s of {shlex.join(command[1:])}", flush=True)
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        try:
            process.wait(timeout=left)
        except subprocess.TimeoutExpired:
            process.terminate()  # SIGTERM: the trainer saves a checkpoint and exits
            process.wait()
        print(f"{label}: trained {trained_seconds(runs / name):.0f} s", flush=True)


if __name__ == "__main__":
    main()
