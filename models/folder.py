"""Model folders: ``model.safetensors`` + ``config.json`` (+ an optional ``README.md`` card), and the discriminator
and Adam states a folder carries so that a run can go on from it on another machine (CARRIED). Every file name of
a folder is a constant here; loading, saving and copying a folder happen here and nowhere else.

Loading never unpickles anything: weights come from safetensors, the config from JSON.
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file

from .config import ModelConfig
from .files import CheckpointError, atomic_save_tensors, atomic_write_bytes, read_tensors
from .networks import Generator

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
CARD = "README.md"
MAX_CARD_BYTES = 256 * 1024
# What a model folder carries beside its generator so a run can go on from it on another machine:
# the discriminator (float16) and both Adam states (moments in bfloat16, which keeps float32's range: float16
# flushes Adam's tiny second moments to zero). benchmarks/carry_state.py measures both as harmless.
DISCRIMINATOR = "discriminator.safetensors"
PROJECTED = "projected_discriminator.safetensors"  # --projected-d's heads (training.projected), when trained
OPTIMIZERS = "optimizers.safetensors"
CARRIED = (DISCRIMINATOR, PROJECTED, OPTIMIZERS)
SHADOW = "shadow.png"  # the drawing's shadow: prototypes of the training edge maps (models.shadow), lines models only


class ModelError(Exception):
    """A model folder that can't be used; the one-line message names the folder and says why."""


class MissingWeightsError(ModelError, FileNotFoundError):
    """A model folder lacks its weights or config; the message says how to get them."""


class BadModelError(ModelError, ValueError):
    """A model folder whose config or weights are unreadable, out of range, or don't fit together."""


def save_model(folder: str | Path, generator: Generator, config: ModelConfig,
               dtype: torch.dtype = torch.float32) -> Path:
    """Write a self-describing model folder; `dtype=torch.float16` halves the file size."""
    folder = Path(folder)
    state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in generator.state_dict().items()}
    atomic_save_tensors(state, folder / WEIGHTS, metadata={"format": "pt", "dtype": str(dtype)})
    atomic_write_bytes(folder / CONFIG, config.to_json().encode())
    return folder


def load_generator(folder: str | Path, device: str | torch.device = "cpu") -> tuple[Generator, ModelConfig]:
    """Build the generator from ``config.json`` and fill it from ``model.safetensors``."""
    folder = Path(folder)
    config = check_folder(folder)
    generator = Generator(config.generator)
    state = load_file(folder / WEIGHTS, device="cpu")
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    generator.load_state_dict(state, strict=True)
    return generator.to(device).eval(), config


def check_folder(folder: str | Path) -> ModelConfig:
    """The folder's validated config, matched against the tensor names, shapes and dtypes in the
    weights' header: nothing is allocated until both are known to fit, so a hostile or broken
    folder costs milliseconds. Raises ModelError saying what is wrong."""
    folder = Path(folder)
    for name in (CONFIG, WEIGHTS):
        path = folder / name
        if not path.exists():
            raise MissingWeightsError(
                f"{folder}: no {name}. A model folder needs {WEIGHTS} and {CONFIG}: "
                "train one with `python -m training train ...` or restore assets/models from git."
            )
        if not path.is_file():
            raise BadModelError(f"{folder}: {name} is not a file")
    try:
        config = ModelConfig.from_file(folder / CONFIG)
        with torch.device("meta"):  # shapes only: no memory, even for the widest allowed config
            expected = Generator(config.generator).state_dict()
    except ValueError as e:  # ConfigError, or the network's own (one-line) ValueErrors
        raise BadModelError(f"{folder}: {e}") from None
    except OSError as e:
        raise BadModelError(f"{folder}: {CONFIG} can't be read ({e.strerror})") from None
    found = weights_header(folder)
    missing, unexpected = [k for k in expected if k not in found], [k for k in found if k not in expected]
    problems = [f"{what} {_few(keys)}" for what, keys in (("missing", missing), ("unexpected", unexpected))
                if keys]
    for key in (k for k in expected if k in found):  # network order: the first layer that differs first
        dtype, shape = found[key]
        want = tuple(expected[key].shape)
        if shape != want:
            problems.append(f"{key} is {_shape(shape)}, the config needs {_shape(want)}")
        elif dtype.startswith(("F", "BF")) != expected[key].is_floating_point():
            problems.append(f"{key} has dtype {dtype}")
    if problems:
        more = f" (+{len(problems) - 2} more)" if len(problems) > 2 else ""
        raise BadModelError(f"{folder}: {WEIGHTS} doesn't fit {CONFIG}: " + "; ".join(problems[:2]) + more)
    return config


def weights_header(folder: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Tensor name -> (safetensors dtype, shape), read from the header alone."""
    path = folder / WEIGHTS
    try:
        with safe_open(path, framework="pt") as f:
            return {k: (f.get_slice(k).get_dtype(), tuple(f.get_slice(k).get_shape())) for k in f.keys()}
    except SafetensorError:
        with open(path, "rb") as f:
            head = f.read(2)
        # torch.save writes a zip ("PK") or a raw pickle (protocol byte 0x80); neither is ever unpickled.
        pickled = head == b"PK" or head[:1] == b"\x80"
        kind = "a PyTorch pickle, which is never loaded" if pickled else "truncated or corrupt"
        raise BadModelError(f"{folder}: {WEIGHTS} is not a valid safetensors file ({kind})") from None
    except OSError as e:
        raise BadModelError(f"{folder}: {WEIGHTS} can't be read ({e.strerror or e})") from None


def _few(keys: list[str]) -> str:
    return ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) or "a scalar"


def read_card(folder: str | Path) -> str:
    """The folder's README.md, or "" if it has none. Read only from inside the folder (a link is
    not followed: the card is shown to anyone using the studio) and at most MAX_CARD_BYTES."""
    try:  # O_NONBLOCK: a FIFO named README.md must not hang startup
        fd = os.open(Path(folder) / CARD, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return ""
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return ""
        raw = f.read(MAX_CARD_BYTES + 1)
    text = raw[:MAX_CARD_BYTES].decode("utf-8", errors="replace")
    return text + f"\n\n*(card cut at {MAX_CARD_BYTES // 1024} KB)*" if len(raw) > MAX_CARD_BYTES else text


def is_model_folder(folder: str | Path) -> bool:
    folder = Path(folder)
    return (folder / WEIGHTS).is_file() and (folder / CONFIG).is_file()


def find_models(*roots: str | Path, broken: bool = False) -> list[Path]:
    """Model folders directly in, or one or two levels below, each root (e.g. runs/NAME/model).
    broken=True also lists folders with only one of the two files, or a folder by either name,
    for a caller (the studio) that reports them rather than passing them over."""
    def wanted(p: Path) -> bool:
        if broken:
            return (p / CONFIG).exists() or (p / WEIGHTS).exists()
        return is_model_folder(p)

    found: list[Path] = []
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        candidates = [root, *sorted(root.glob("*")), *sorted(root.glob("*/*"))]
        found.extend(p for p in candidates if p.is_dir() and wanted(p) and p not in found)
    return found


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


def copy_model(model: Path, out: Path, config: ModelConfig) -> Path:
    """`model`'s weights as stored (a float16 folder stays float16), with `config` and its D and Adam, as the
    model folder `out`: shipping a model or re-reading it another way never rounds its weights again."""
    atomic_write_bytes(out / WEIGHTS, (model / WEIGHTS).read_bytes())
    atomic_write_bytes(out / CONFIG, config.to_json().encode())
    copy_carried(model, out)
    copy_shadow(model, out)
    return out


def copy_shadow(source: Path, dest: Path) -> None:
    """A folder's shadow to another model folder of the same data; none there removes dest's."""
    if (source / SHADOW).is_file():
        atomic_write_bytes(dest / SHADOW, (source / SHADOW).read_bytes())
    else:
        (dest / SHADOW).unlink(missing_ok=True)


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
