"""Resumable training checkpoints, without pickle.

Layout: ``runs/NAME/checkpoints/step_00001000/`` holds ``generator.safetensors``,
``discriminator.safetensors``, ``optimizers.safetensors`` (flattened Adam state) and
``state.json``. A checkpoint directory is written under a temporary name and renamed when
complete; ``latest.json`` then points at it, so a kill at any moment leaves a usable one.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from models.checkpoint import MissingWeightsError, atomic_save_tensors, atomic_write_bytes, save_model
from models.networks import Generator

from .config import TrainConfig

LATEST = "latest.json"


def flatten_optimizer(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    sd = opt.state_dict()
    tensors = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{idx}.{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def unflatten_optimizer(prefix: str, tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "."):
            idx, key = name[len(prefix) + 1:].split(".", 1)
            state.setdefault(int(idx), {})[key] = value
    for idx, extra in meta["scalars"].items():
        state.setdefault(int(idx), {}).update(extra)
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(
    folder: Path,
    step: int,
    generator: torch.nn.Module,
    discriminator: torch.nn.Module | None,
    optimizers: dict[str, torch.optim.Optimizer],
    state: dict[str, Any],
    keep: bool,
) -> Path:
    """Write step_N atomically, point latest.json at it, and prune older non-kept checkpoints."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"step_{step:08d}"
    tmp = folder / f".tmp_step_{step:08d}"
    shutil.rmtree(tmp, ignore_errors=True)
    atomic_save_tensors(generator.state_dict(), tmp / "generator.safetensors")
    if discriminator is not None:
        atomic_save_tensors(discriminator.state_dict(), tmp / "discriminator.safetensors")
    opt_tensors: dict[str, torch.Tensor] = {}
    opt_meta = {}
    for name, opt in optimizers.items():
        t, meta = flatten_optimizer(name, opt)
        opt_tensors.update(t)
        opt_meta[name] = meta
    rng = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng.update({f"torch_cuda{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    atomic_save_tensors({**opt_tensors, **{f"rng.{k}": v for k, v in rng.items()}}, tmp / "optimizers.safetensors")
    atomic_write_bytes(tmp / "state.json", json.dumps({**state, "step": step, "keep": keep, "optimizers": opt_meta}).encode())
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    atomic_write_bytes(folder / LATEST, json.dumps({"step": step, "dir": final.name}).encode())
    for old in folder.glob("step_*"):
        if old != final and not json.loads((old / "state.json").read_text()).get("keep", False):
            shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(folder: Path) -> Path | None:
    pointer = folder / LATEST
    if pointer.is_file():
        candidate = folder / json.loads(pointer.read_text())["dir"]
        if (candidate / "state.json").is_file():
            return candidate
    complete = sorted(p for p in folder.glob("step_*") if (p / "state.json").is_file())
    return complete[-1] if complete else None


def load_checkpoint(
    path: Path,
    generator: torch.nn.Module,
    discriminator: torch.nn.Module | None,
    optimizers: dict[str, torch.optim.Optimizer],
) -> dict[str, Any]:
    """Restore weights, Adam state and RNG state; return the saved training state."""
    state = json.loads((path / "state.json").read_text())
    generator.load_state_dict(load_file(path / "generator.safetensors"))
    if discriminator is not None:
        discriminator.load_state_dict(load_file(path / "discriminator.safetensors"))
    tensors = load_file(path / "optimizers.safetensors")
    for name, opt in optimizers.items():
        opt.load_state_dict(unflatten_optimizer(name, tensors, state["optimizers"][name]))
    torch.set_rng_state(tensors["rng.torch_cpu"])
    if torch.cuda.is_available():
        cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng.torch_cuda")]
        if cuda:
            torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])
    return state


def checkpoint_model(run_dir: Path, step: int, out: Path) -> Path:
    """A kept checkpoint's generator as a model folder, so `evaluate` can compare steps of a run.

    GAN scores move from one checkpoint to the next, so a continuation is judged on more than
    its last step.
    """
    ckpt = run_dir / "checkpoints" / f"step_{step:08d}"
    if not (ckpt / "generator.safetensors").is_file():
        kept = ", ".join(p.name[5:].lstrip("0") for p in sorted(run_dir.glob("checkpoints/step_*")))
        raise MissingWeightsError(f"{ckpt} not found; {run_dir} keeps steps: {kept or 'none'}")
    cfg = TrainConfig.from_file(run_dir / "train_config.json")
    generator = Generator(cfg.model.generator)
    generator.load_state_dict(load_file(ckpt / "generator.safetensors"))
    cfg.model.training = {"steps": step, "command": cfg.command}
    return save_model(out, generator, cfg.model)
