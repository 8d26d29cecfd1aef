"""Model folders: ``model.safetensors`` + ``config.json`` (+ optional ``README.md`` card).

Loading never unpickles anything: weights come from safetensors, the config from JSON.
"""
from __future__ import annotations

import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from safetensors.torch import save as serialize

from .config import ModelConfig
from .networks import Generator

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
CARD = "README.md"
MAX_CARD_BYTES = 256 * 1024


class ModelError(Exception):
    """A model folder that can't be used; the one-line message names the folder and says why."""


class MissingWeightsError(ModelError, FileNotFoundError):
    """A model folder lacks its weights or config; the message says how to get them."""


class BadModelError(ModelError, ValueError):
    """A model folder whose config or weights are unreadable, out of range, or don't fit together."""


TEMP_SUFFIX = ".tmp"  # atomic-write temps are ".NAME.XXXXXXXX.tmp": remove_temps finds what a kill left


@contextmanager
def naming(path: Path):
    """An OSError raised inside carries `path` as its filename: write(), fsync() and close() name none,
    so a full disk or a read-only folder would otherwise be reported without the file."""
    try:
        yield
    except OSError as e:
        if e.filename is not None:
            raise
        raise OSError(e.errno, e.strerror, str(path)) from e


def atomic_write_bytes(path: Path, data: bytes, durable: bool = True) -> None:
    """Write to a temp file and rename, so a kill mid-write never leaves a torn file, and a reader never
    sees a partial one; OSErrors name `path`. `durable=False` skips the fsync (files that may be lost
    in a power cut, such as the studio's answers, written many times a second)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with naming(path), os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o644)  # mkstemp makes 0600; these files are meant to be shared
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_save_tensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict | None = None) -> None:
    # Serialised here and written by atomic_write_bytes: safetensors' save_file raises no OSError (a full
    # disk would not be named), and the temp files of its own would escape remove_temps.
    cpu = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    atomic_write_bytes(path, serialize(cpu, metadata=metadata))


def remove_temps(folder: Path) -> None:
    """Delete the temp files an interrupted atomic write left in `folder` (never renamed into place)."""
    for tmp in Path(folder).glob(f".*{TEMP_SUFFIX}"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)


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
