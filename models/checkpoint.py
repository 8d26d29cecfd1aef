"""Model folders: ``model.safetensors`` + ``config.json`` (+ optional ``README.md`` card).

Loading never unpickles anything: weights come from safetensors, the config from JSON.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save

from .config import ModelConfig
from .networks import Generator

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
CARD = "README.md"


class MissingWeightsError(FileNotFoundError):
    """A model folder lacks its weights or config; the message says how to get them."""


TEMP_SUFFIX = ".tmp"  # atomic-write temps are ".NAME.XXXXXXXX.tmp": remove_temps finds what a kill left


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temp file and rename, so a kill mid-write never leaves a torn file.

    An OSError (disk full, read-only) carries `path` as its filename: write() and fsync() name none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o644)  # mkstemp makes 0600; these files are meant to be shared
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and e.filename is None:
            raise OSError(e.errno, e.strerror, str(path)) from e
        raise


def atomic_save_tensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict | None = None) -> None:
    # Serialised here and written by atomic_write_bytes: safetensors' own file writer neither
    # fsyncs nor raises an OSError (a full disk would not say so).
    cpu = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    atomic_write_bytes(path, save(cpu, metadata=metadata))


def remove_temps(folder: Path) -> None:
    """Delete the temp files an interrupted atomic write left in `folder` (never renamed into place)."""
    for tmp in Path(folder).glob(f".*{TEMP_SUFFIX}"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)


def save_model(folder: str | Path, generator: Generator, config: ModelConfig, dtype: torch.dtype = torch.float32) -> Path:
    """Write a self-describing model folder; `dtype=torch.float16` halves the file size."""
    folder = Path(folder)
    state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in generator.state_dict().items()}
    atomic_save_tensors(state, folder / WEIGHTS, metadata={"format": "pt", "dtype": str(dtype)})
    atomic_write_bytes(folder / CONFIG, config.to_json().encode())
    return folder


def load_generator(folder: str | Path, device: str | torch.device = "cpu") -> tuple[Generator, ModelConfig]:
    """Build the generator from ``config.json`` and fill it from ``model.safetensors``."""
    folder = Path(folder)
    for name in (CONFIG, WEIGHTS):
        if not (folder / name).is_file():
            raise MissingWeightsError(
                f"{folder / name} not found. A model folder needs {WEIGHTS} and {CONFIG}: "
                "train one with `python -m training train ...` or restore assets/models from git."
            )
    config = ModelConfig.from_file(folder / CONFIG)
    generator = Generator(config.generator)
    state = load_file(folder / WEIGHTS, device="cpu")
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    generator.load_state_dict(state, strict=True)
    return generator.to(device).eval(), config


def is_model_folder(folder: str | Path) -> bool:
    folder = Path(folder)
    return (folder / WEIGHTS).is_file() and (folder / CONFIG).is_file()


def find_models(*roots: str | Path) -> list[Path]:
    """Model folders directly in, or one or two levels below, each root (e.g. runs/NAME/model)."""
    found: list[Path] = []
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        candidates = [root, *sorted(root.glob("*")), *sorted(root.glob("*/*"))]
        found.extend(p for p in candidates if p.is_dir() and is_model_folder(p) and p not in found)
    return found
