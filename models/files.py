"""Writing files so that a kill, a full disk or a torn copy never leaves a half-written one in place, and reading
tensor files back with a message that names the file."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as serialize


class CheckpointError(ValueError):
    """A tensors file (a run's checkpoint, or the D and Adam state a model folder carries) does not read back or
    does not fit; the message names the file."""


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


def read_tensors(file: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(file)
    except OSError as e:
        raise CheckpointError(f"{file}: {e.strerror}") from e
    except SafetensorError as e:
        raise CheckpointError(f"{file}: unreadable ({e})") from e
