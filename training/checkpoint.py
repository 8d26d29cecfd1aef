"""Resumable training checkpoints, without pickle.

Layout: ``runs/NAME/checkpoints/step_00001000/`` holds ``generator.safetensors``,
``discriminator.safetensors``, ``optimizers.safetensors`` (flattened Adam state) and
``state.json``. A checkpoint directory is written under a temporary name and renamed when
complete; ``latest.json`` then points at it, so a kill at any moment leaves a usable one. Resume
does not trust any single file: it takes the newest checkpoint whose every file reads back, and
says which ones it skipped and why (a disk that filled up, a file truncated by a copy).

A model folder (models.folder) carries the last D and Adam states too, so `--init-from` it goes on elsewhere.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from models.config import ModelConfig
from models.files import CheckpointError, atomic_save_tensors, atomic_write_bytes, read_tensors, remove_temps
from models.folder import (
    CONFIG,
    DISCRIMINATOR,
    OPTIMIZERS,
    PROJECTED,
    MissingWeightsError,
    copy_shadow,
    flatten_optimizers,
    save_model,
    unflatten_optimizer,
    write_carried,
)
from models.networks import Generator

from .config import read_run_config

LATEST = "latest.json"
GENERATOR = "generator.safetensors"  # a step folder's G (a model folder's is models.folder.WEIGHTS)


def save_checkpoint(
    folder: Path,
    step: int,
    generator: torch.nn.Module,
    discriminator: torch.nn.Module | None,
    optimizers: dict[str, torch.optim.Optimizer],
    state: dict[str, Any],
    keep: bool,
    projected: torch.nn.Module | None = None,
) -> Path:
    """Write step_N atomically, point latest.json at it, and prune older non-kept checkpoints."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"step_{step:08d}"
    tmp = folder / f".tmp_step_{step:08d}"
    shutil.rmtree(tmp, ignore_errors=True)
    opt_tensors, opt_meta = flatten_optimizers(optimizers)
    rng = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng.update({f"torch_cuda{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    try:  # a full disk or a read-only folder: no half-written step folder stays behind
        atomic_save_tensors(generator.state_dict(), tmp / GENERATOR)
        if discriminator is not None:
            atomic_save_tensors(discriminator.state_dict(), tmp / DISCRIMINATOR)
        if projected is not None:
            atomic_save_tensors(projected.state_dict(), tmp / PROJECTED)
        atomic_save_tensors({**opt_tensors, **{f"rng.{k}": v for k, v in rng.items()}}, tmp / OPTIMIZERS)
        atomic_write_bytes(tmp / "state.json",
                           json.dumps({**state, "step": step, "keep": keep, "optimizers": opt_meta}).encode())
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    atomic_write_bytes(folder / LATEST, json.dumps({"step": step, "dir": final.name}).encode())
    for old in folder.glob("step_*"):
        if old != final and _prunable(old):
            shutil.rmtree(old, ignore_errors=True)
    return final


def _prunable(path: Path) -> bool:
    """Not kept, or half-deleted by a kill during pruning (no state.json). A kept checkpoint whose
    state.json is unreadable stays: its weights may still be wanted by `evaluate --step`."""
    try:
        return not json.loads((path / "state.json").read_text()).get("keep", False)
    except FileNotFoundError:
        return True
    except (OSError, ValueError, AttributeError):
        return False


def remove_interrupted(folder: Path) -> None:
    """Delete what an interrupted save left in the checkpoints folder: temp step folders and temp files."""
    for tmp in folder.glob(".tmp_step_*"):
        shutil.rmtree(tmp, ignore_errors=True)
    remove_temps(folder)


def resume_checkpoint(
    folder: Path,
    generator: torch.nn.Module,
    discriminator: torch.nn.Module | None,
    optimizers: dict[str, torch.optim.Optimizer],
    projected: torch.nn.Module | None = None,
) -> tuple[dict[str, Any] | None, list[str]]:
    """Load the newest checkpoint that reads back whole, falling back to older ones.

    Returns its state (None when there is no checkpoint yet) and one line per file ignored or
    checkpoint skipped. Raises CheckpointError when checkpoints exist but none reads back."""
    nets = {GENERATOR: generator, DISCRIMINATOR: discriminator, PROJECTED: projected}
    notes = []
    pointer = folder / LATEST
    if pointer.exists():
        try:
            target = json.loads(pointer.read_text())["dir"]
            if not (folder / target).is_dir():
                notes.append(f"ignoring {pointer}: {target} does not exist")
        except (OSError, ValueError, KeyError, TypeError) as e:
            notes.append(f"ignoring {pointer}: not a checkpoint pointer ({type(e).__name__}: {e})")
    candidates = sorted((p for p in folder.glob("step_*") if p.is_dir()), reverse=True)
    for path in candidates:
        try:
            return load_checkpoint(path, nets, optimizers), notes
        except CheckpointError as e:
            notes.append(f"skipping checkpoint {path.name}: {e}")
    if candidates:
        raise CheckpointError(f"no checkpoint in {folder} reads back: " + "; ".join(notes))
    return None, notes


def _read_state(path: Path, optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, Any]:
    file = path / "state.json"
    try:
        state = json.loads(file.read_text())
    except OSError as e:
        raise CheckpointError(f"{file}: {e.strerror}") from e
    except ValueError as e:
        raise CheckpointError(f"{file}: not valid JSON ({e})") from e
    if not (isinstance(state, dict) and isinstance(state.get("step"), int)
            and isinstance(state.get("optimizers"), dict) and set(optimizers) <= set(state["optimizers"])):
        needs = f"a step and optimizers {sorted(optimizers)}"
        raise CheckpointError(f"{file}: not a checkpoint state (needs {needs})")
    return state


def load_checkpoint(path: Path, nets: dict[str, torch.nn.Module | None],
                    optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, Any]:
    """Restore weights (`nets`: file name -> network, None for one the run has not), Adam state and RNG state;
    return the saved training state.

    Every file is read before anything is restored; CheckpointError names the file that does not fit."""
    state = _read_state(path, optimizers)
    weights = {name: (net, read_tensors(path / name)) for name, net in nets.items() if net is not None}
    file = path / OPTIMIZERS
    tensors = read_tensors(file)
    try:
        for name, (net, sd) in weights.items():
            file = path / name
            net.load_state_dict(sd)
        file = path / OPTIMIZERS
        for name, opt in optimizers.items():
            opt.load_state_dict(unflatten_optimizer(name, tensors, state["optimizers"][name]))
        rng_cpu = tensors["rng.torch_cpu"]
    except (KeyError, ValueError, TypeError, RuntimeError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{file}: does not fit this run ({reason})") from e
    torch.set_rng_state(rng_cpu)
    if torch.cuda.is_available():
        cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng.torch_cuda")]
        if cuda:
            torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])
    return state


def checkpoint_model(run_dir: Path, step: int | Sequence[int], out: Path | None = None,
                     also: Sequence[tuple[Path, Sequence[int]]] = ()) -> Path:
    """A kept checkpoint's generator as a model folder, so `evaluate` can compare steps of a run (and
    the best one can be shipped with its training record).

    GAN scores move from one checkpoint to the next, so a continuation is judged on more than
    its last step. Several steps: the mean of their generators' weights (weight averaging, as SWA or
    a generator EMA: the steps of one run lie in one basin, and their mean is steadier than any of them).
    `also`: (run folder, steps) of the runs this one continued (`--init-from` one of their checkpoints), so
    the mean can span a trajectory that changed its options on the way (a batch size, a dataset); the
    generators must match. Buffers (the palette prior) and D and Adam are this run's last step's.
    `out` defaults to RUN/checkpoints/step_N/model, or RUN/checkpoints/mean_N_M.../model for several.
    """
    steps = [step] if isinstance(step, int) else list(step)
    parts = [(Path(r), list(s)) for r, s in also] + [(run_dir, steps)]
    ckpts = [(r, r / "checkpoints" / f"step_{s:08d}") for r, ss in parts for s in ss]
    for r, ckpt in ckpts:
        if not (ckpt / GENERATOR).is_file():
            kept = ", ".join(p.name[5:].lstrip("0") for p in sorted(r.glob("checkpoints/step_*")))
            raise MissingWeightsError(f"{ckpt} not found; {r} keeps steps: {kept or 'none'}")
    cfg = read_run_config(run_dir / "train_config.json")
    for r, _ in parts[:-1]:
        if read_run_config(r / "train_config.json").model.generator != cfg.model.generator:
            raise CheckpointError(f"{r}'s generator differs from {run_dir}'s: their weights cannot be averaged")
    generator = Generator(cfg.model.generator)
    states = [read_tensors(ckpt / GENERATOR) for _, ckpt in ckpts]
    params = {name for name, _ in generator.named_parameters()}
    generator.load_state_dict({k: torch.stack([s[k] for s in states]).mean(0) if k in params else v
                               for k, v in states[-1].items()})
    last = max(steps)
    cfg.model.training = {"steps": last, "command": cfg.command}
    exported = run_dir / "model" / CONFIG
    if exported.is_file():  # the run's whole record (data, pairs, device, source model) told at this step
        record = ModelConfig.from_file(exported).training
        if record.get("pairs") and record.get("batch_size"):
            state = json.loads((run_dir / "checkpoints" / f"step_{last:08d}" / "state.json").read_text())
            record.update(steps=last, epochs=round(last / (record["pairs"] // record["batch_size"]), 2),
                          wall_seconds=round(state.get("wall_seconds", 0.0), 3))
            cfg.model.training = record
    if len(steps) > 1 or also:
        cfg.model.training["averaged_steps"] = sorted(steps)
    if also:
        cfg.model.training["averaged_also"] = [{"run": str(r), "steps": sorted(s)} for r, s in parts[:-1]]
    if out is None:
        name = f"step_{steps[0]:08d}" if len(steps) == 1 else "mean_" + "_".join(map(str, sorted(steps)))
        name += "".join(f"+{r.parent.name}-{r.name}_" + "_".join(map(str, sorted(s))) for r, s in parts[:-1])
        out = run_dir / "checkpoints" / name / "model"
    save_model(out, generator, cfg.model)
    copy_shadow(run_dir / "model", out)  # built once per run, from its data (Trainer.export)
    newest = run_dir / "checkpoints" / f"step_{last:08d}"  # D and Adam of the last step travel with the mean
    has_d = (newest / DISCRIMINATOR).is_file()
    meta = json.loads((newest / "state.json").read_text())["optimizers"] if has_d else {}
    write_carried(out, read_tensors(newest / DISCRIMINATOR) if has_d else None,
                  read_tensors(newest / OPTIMIZERS) if has_d else {}, meta,
                  read_tensors(newest / PROJECTED) if (newest / PROJECTED).is_file() else None)
    return out
