"""Aligned pairs (A|B side by side), decoded once into memory, jittered per step.

Jitter is drawn from a generator seeded by (seed, step, slot), so a resumed run sees exactly
the crops and flips an uninterrupted run would have seen.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from models.images import BadImageError, open_image, to_rgb

from .config import DataConfig
from .strokes import augment_strokes, zoom_out

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


class DataError(ValueError):
    """A dataset problem; the message names the folder or file."""


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def split_pair(path: Path, direction: str, nearest_input: bool, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Read one A|B file and return (input, target) as size x size uint8 HxWx3 arrays."""
    try:
        image = to_rgb(open_image(path))
    except BadImageError as e:
        raise DataError(str(e)) from e
    w, h = image.size
    if w != 2 * h:
        raise DataError(
            f"{path}: expected an aligned pair twice as wide as high (A|B side by side), got {w}x{h}"
        )
    left, right = image.crop((0, 0, h, h)), image.crop((h, 0, w, h))
    a, b = (left, right) if direction == "AtoB" else (right, left)
    # Label maps are categorical: nearest keeps them to the palette.
    a = a.resize((size, size), Image.NEAREST if nearest_input else Image.BICUBIC)
    b = b.resize((size, size), Image.BICUBIC)
    return np.asarray(a), np.asarray(b)


class PairDataset:
    """All pairs of one split as uint8 tensors: inputs[N,3,L,L] and targets[N,3,L,L]."""

    def __init__(self, root: str | Path, cfg: DataConfig, split: str = "train", nearest_input: bool = False,
                 train: bool = True, progress: bool = True):
        folder = Path(root) / split if (Path(root) / split).is_dir() else Path(root)
        if not folder.is_dir():
            raise DataError(f"data folder {folder} does not exist")
        self.files = list_images(folder)
        if not self.files:
            raise DataError(f"no images found in {folder} (expected A|B pairs: .jpg/.png, twice as wide as high)")
        self.cfg = cfg
        self.train = train
        self.nearest_input = nearest_input
        self.folder = folder
        size = cfg.load_size if (train and cfg.jitter) else cfg.crop_size
        inputs, targets = [], []
        for path in tqdm(self.files, desc=f"decoding {folder.name}", disable=not progress, leave=False):
            a, b = split_pair(path, cfg.direction, nearest_input, size)
            inputs.append(a)
            targets.append(b)
        self.inputs = torch.from_numpy(np.stack(inputs)).permute(0, 3, 1, 2).contiguous()
        self.targets = torch.from_numpy(np.stack(targets)).permute(0, 3, 1, 2).contiguous()

    def __len__(self) -> int:
        return len(self.files)

    def batch(self, indices: list[int], generator: torch.Generator | None = None, clean: bool = False
              ) -> tuple[torch.Tensor, ...]:
        """Float tensors in [-1, 1]. Training: a random crop (jitter) or, for line inputs with zoom-out, the
        whole pair shrunk onto paper; mirroring; then the stroke augmentation of line inputs when asked
        for (never of label maps). `clean`: also the input with its strokes 1 px wide (the same gaps and
        wobble; the input itself without stroke augmentation), what a --distill teacher sees."""
        a = self.inputs[indices]
        b = self.targets[indices]
        thin = a
        strokes = self.cfg.stroke_aug and not self.nearest_input
        zoom = self.cfg.zoom_out > 0 and not self.nearest_input
        if self.train and (self.cfg.jitter or self.cfg.flip or strokes or zoom):
            crop = self.cfg.crop_size
            a_out, b_out, thin_out = [], [], []
            for i in range(len(indices)):
                ai, bi = a[i], b[i]
                if zoom and torch.rand((), generator=generator).item() < self.cfg.zoom_out:
                    ai, bi = zoom_out(ai, bi, crop, generator)  # its placement is the jitter
                elif self.cfg.jitter:
                    span = ai.shape[-1] - crop
                    y, x = (torch.randint(0, span + 1, (2,), generator=generator).tolist())
                    ai, bi = ai[:, y:y + crop, x:x + crop], bi[:, y:y + crop, x:x + crop]
                if self.cfg.flip and torch.rand((), generator=generator).item() < 0.5:
                    ai, bi = ai.flip(-1), bi.flip(-1)
                ti = ai
                if strokes:
                    ai, ti = augment_strokes(ai, generator, self.cfg.stroke_thick, thin_too=True)
                a_out.append(ai)
                thin_out.append(ti)
                b_out.append(bi)
            a, b, thin = torch.stack(a_out), torch.stack(b_out), torch.stack(thin_out)
        return tuple(t.float().div(127.5).sub(1.0) for t in ((a, b, thin) if clean else (a, b)))


def epoch_order(n: int, epoch: int, seed: int) -> list[int]:
    """The shuffled sample order of one epoch, reproducible from (seed, epoch) alone."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g).tolist()


def step_generator(seed: int, step: int) -> torch.Generator:
    return torch.Generator().manual_seed((seed * 1_000_003 + step) * 7919 + 17)
