"""Resumable training checkpoints, without pickle.

Layout: ``runs/NAME/checkpoints/step_00001000/`` holds ``generator.safetensors``,
``discriminator.safetensors``, ``optimizers.safetensors`` (flattened Adam state) and
``state.json``. A checkpoint directory is written under a temporary name and renamed when
complete; ``latest.json`` then points at it, so a kill at any moment leaves a usable one. Resume
does not trust any single file: it takes the newest checkpoint whose every file reads back, and
says which ones it skipped and why (a disk that filled up, a file truncated by a copy).

A run's model folder (and a shipped one) also carries D and the Adam states (CARRIED), so that
`--init-from` it continues the run on a fresh machine instead of starting a new D.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file

from models.checkpoint import (
    CONFIG,
    WEIGHTS,
    MissingWeightsError,
    atomic_save_tensors,
    atomic_write_bytes,
    check_folder,
    remove_temps,
    save_model,
)
from models.config import ModelConfig
from models.networks import Generator

from .config import read_run_config

LATEST = "latest.json"
# What a model folder carries beside its generator so a run can go on from it on another machine (issue 28):
# the discriminator (float16) and both Adam states (moments in bfloat16, which keeps float32's range: float16
# flushes Adam's tiny second moments to zero). benchmarks/carry_state.py measures both as harmless.
DISCRIMINATOR = "discriminator.safetensors"
PROJECTED = "projected_discriminator.safetensors"  # --projected-d's heads (training.projected), when trained
OPTIMIZERS = "optimizers.safetensors"
CARRIED = (DISCRIMINATOR, PROJECTED, OPTIMIZERS)


class CheckpointError(ValueError):
    """A checkpoint file does not read back (or no checkpoint of a run does); the message names the file."""


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


def flatten_optimizers(optimizers: dict[str, torch.optim.Optimizer]) -> tuple[dict[str, torch.Tensor], dict]:
    tensors: dict[str, torch.Tensor] = {}
    meta = {}
    for name, opt in optimizers.items():
        t, meta[name] = flatten_optimizer(name, opt)
        tensors.update(t)
    return tensors, meta


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
        atomic_save_tensors(generator.state_dict(), tmp / "generator.safetensors")
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
            return load_checkpoint(path, generator, discriminator, optimizers, projected), notes
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


def read_tensors(file: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(file)
    except OSError as e:
        raise CheckpointError(f"{file}: {e.strerror}") from e
    except SafetensorError as e:
        raise CheckpointError(f"{file}: unreadable ({e})") from e


def load_checkpoint(
    path: Path,
    generator: torch.nn.Module,
    discriminator: torch.nn.Module | None,
    optimizers: dict[str, torch.optim.Optimizer],
    projected: torch.nn.Module | None = None,
) -> dict[str, Any]:
    """Restore weights, Adam state and RNG state; return the saved training state.

    Every file is read before anything is restored; CheckpointError names the file that does not fit."""
    state = _read_state(path, optimizers)
    nets = {"generator.safetensors": generator, DISCRIMINATOR: discriminator, PROJECTED: projected}
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


def write_carried(folder: Path, discriminator: dict[str, torch.Tensor] | None,
                  opt_tensors: dict[str, torch.Tensor], opt_meta: dict,
                  projected: dict[str, torch.Tensor] | None = None) -> None:
    """Put D (and the projected D) and the Adam states in a model folder (see CARRIED); a folder without a D loses
    any stale one."""
    if discriminator is None:
        for name in CARRIED:
            (folder / name).unlink(missing_ok=True)
        return
    for name, state in ((DISCRIMINATOR, discriminator), (PROJECTED, projected)):
        if state is None:
            (folder / name).unlink(missing_ok=True)
        else:
            atomic_save_tensors({k: v.half() if v.is_floating_point() else v for k, v in state.items()},
                                folder / name, metadata={"dtype": "float16"})
    moments = {k: v.bfloat16() if v.is_floating_point() and v.ndim else v for k, v in opt_tensors.items()
               if not k.startswith("rng.")}
    atomic_save_tensors(moments, folder / OPTIMIZERS, metadata={"optimizers": json.dumps(opt_meta)})


def copy_carried(source: Path, dest: Path) -> None:
    """A model folder's D and Adam states to another folder (shipping a run's model); none there removes dest's."""
    for name in CARRIED:
        if (source / name).is_file():
            atomic_write_bytes(dest / name, (source / name).read_bytes())
        else:
            (dest / name).unlink(missing_ok=True)


def load_net(file: Path, net: torch.nn.Module) -> None:
    """A carried network's weights (stored in float16) into `net`; CheckpointError when they do not fit it."""
    state = read_tensors(file)
    own = net.state_dict()
    wrong = sorted(k for k in set(state) | set(own) if k not in state or k not in own or state[k].shape != own[k].shape)
    if wrong:
        raise CheckpointError(f"{file}: its discriminator differs from this run's at "
                              f"{', '.join(wrong[:3])}{' ...' if len(wrong) > 3 else ''} (same --ndf, --patch, hints?)")
    net.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})


def load_carried(folder: Path, discriminator: torch.nn.Module,
                 optimizers: dict[str, torch.optim.Optimizer], projected: torch.nn.Module | None = None) -> list[str]:
    """Fill D (and the projected D, where the folder has one), then each Adam state whose every tensor fits its
    parameters, from a model folder that carries them; returns a line for each network or Adam state left fresh.
    CheckpointError when the folder's D does not fit."""
    load_net(folder / DISCRIMINATOR, discriminator)
    notes = []
    if projected is not None:
        if (folder / PROJECTED).is_file():
            load_net(folder / PROJECTED, projected)
        else:
            notes.append(f"{folder}: no {PROJECTED}: the projected discriminator starts fresh")
    file = folder / OPTIMIZERS
    if not optimizers:  # D alone (--init-discriminator): a run's checkpoint keeps its Adam state otherwise
        return notes
    if not file.is_file():
        return [*notes, f"{folder}: no {OPTIMIZERS}: Adam starts fresh"]
    try:
        with safe_open(file, framework="pt") as f:
            meta = json.loads((f.metadata() or {})["optimizers"])
    except (OSError, SafetensorError, KeyError, ValueError) as e:
        raise CheckpointError(f"{file}: unreadable ({type(e).__name__}: {e})") from e
    tensors = read_tensors(file)
    for name, opt in optimizers.items():
        params = [p for group in opt.param_groups for p in group["params"]]
        sd = unflatten_optimizer(name, tensors, meta[name]) if name in meta else None
        fits = sd is not None and len(sd["param_groups"]) == len(opt.param_groups) and all(
            0 <= i < len(params) and all(not torch.is_tensor(v) or v.ndim == 0 or v.shape == params[i].shape
                                         for v in entry.values())
            for i, entry in sd["state"].items())
        if fits and sd["state"]:
            sd["state"] = {i: {k: v.float() if torch.is_tensor(v) else v for k, v in entry.items()}
                           for i, entry in sd["state"].items()}
            opt.load_state_dict(sd)
        else:
            notes.append(f"{file}: no Adam state for {name} that fits this run: it starts fresh")
    return notes


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
        if not (ckpt / "generator.safetensors").is_file():
            kept = ", ".join(p.name[5:].lstrip("0") for p in sorted(r.glob("checkpoints/step_*")))
            raise MissingWeightsError(f"{ckpt} not found; {r} keeps steps: {kept or 'none'}")
    cfg = read_run_config(run_dir / "train_config.json")
    for r, _ in parts[:-1]:
        if read_run_config(r / "train_config.json").model.generator != cfg.model.generator:
            raise CheckpointError(f"{r}'s generator differs from {run_dir}'s: their weights cannot be averaged")
    generator = Generator(cfg.model.generator)
    states = [read_tensors(ckpt / "generator.safetensors") for _, ckpt in ckpts]
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
    newest = run_dir / "checkpoints" / f"step_{last:08d}"  # D and Adam of the last step travel with the mean
    has_d = (newest / DISCRIMINATOR).is_file()
    meta = json.loads((newest / "state.json").read_text())["optimizers"] if has_d else {}
    write_carried(out, read_tensors(newest / DISCRIMINATOR) if has_d else None,
                  read_tensors(newest / OPTIMIZERS) if has_d else {}, meta,
                  read_tensors(newest / PROJECTED) if (newest / PROJECTED).is_file() else None)
    return out


def repadded_model(model: Path, padding: str, out: Path, command: str) -> Path:
    """`model`'s weights, byte for byte, as a model folder at `out` whose convs pad another way (the weights
    are the same either way), with its D and Adam: how a trained model is judged, and shipped, under a padding
    it was not trained with. `command` (the one that made it) is added to the training record's."""
    config = check_folder(model)
    config.training = dict(config.training)
    config.training["command"] = "; ".join(c for c in (config.training.get("command"), command) if c)
    config.training["padding_from"] = config.generator.padding
    config.generator.padding = padding
    return copy_model(model, out, config)


def copy_model(model: Path, out: Path, config: ModelConfig) -> Path:
    """`model`'s weights as stored (a float16 folder stays float16), with `config` and its D and Adam, as the
    model folder `out`: shipping a model or re-reading it another way never rounds its weights again."""
    atomic_write_bytes(out / WEIGHTS, (model / WEIGHTS).read_bytes())
    atomic_write_bytes(out / CONFIG, config.to_json().encode())
    copy_carried(model, out)
    return out
