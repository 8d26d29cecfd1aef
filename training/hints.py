"""Colour hints sampled from the real photo, the way a user would give them.

A hint is a dot (1-3 px radius) or a short stroke (up to 8 px long) in the photo's own mean
colour under it (a run may draw them larger: the studio's colour brush is a 4-px-radius stroke at 256), the idea of
Scribbler (Sangkloy et al. 2017) and user-guided colourisation
(Zhang et al. 2017). Half the time a training pair gets no hints at all, so a hint model still
works from lines alone. Every draw comes from the caller's generator: the per-step generator
in training (exact resume holds), a fixed seed in evaluation.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from models.config import HINT_CHANNELS

# Pixels whose every channel is above 240/255 are taken for the white ground of a product shot:
# nobody hints the background, so hints go on the object (anywhere if the photo is all white).
BACKGROUND = 240 / 127.5 - 1.0
MAX_RADIUS = 3
MAX_LENGTH = 8
NO_HINT_PROBABILITY = 0.5
PALETTE_PROBABILITY = (0.75, 0.25)  # a palette code is given to a pair without / with hints this often


def draw_hints(photo: torch.Tensor, count: int, generator: torch.Generator | None = None,
               max_radius: int = MAX_RADIUS, max_length: int = MAX_LENGTH) -> torch.Tensor:
    """`count` hints from one 3xHxW photo in [-1, 1] -> 4xHxW hint channels (colour, mask).

    NumPy for the pixel work: a few small ops per blob, where torch's thread pool only adds latency."""
    image = photo.detach().cpu().numpy()
    _, h, w = image.shape
    out = np.zeros((HINT_CHANNELS, h, w), np.float32)
    candidates = np.flatnonzero(image.min(axis=0) < BACKGROUND)
    if len(candidates) == 0:
        candidates = np.arange(h * w)
    reach = max_radius + max_length  # no blob pixel lies farther than this from its start
    for _ in range(count):
        y0, x0 = divmod(int(candidates[torch.randint(len(candidates), (1,), generator=generator).item()]), w)
        radius = torch.randint(1, max_radius + 1, (1,), generator=generator).item()
        length = torch.randint(0, max_length + 1, (1,), generator=generator).item()  # 0: a dot
        angle = torch.rand((), generator=generator).item() * math.pi
        dy, dx = length * math.sin(angle), length * math.cos(angle)
        top, left = max(y0 - reach, 0), max(x0 - reach, 0)
        ys = np.arange(top, min(y0 + reach + 1, h), dtype=np.float32)[:, None] - y0
        xs = np.arange(left, min(x0 + reach + 1, w), dtype=np.float32)[None, :] - x0
        # Pixels within `radius` of the segment (0, 0) -> (dy, dx), in a window around its start.
        t = np.clip((ys * dy + xs * dx) / max(length**2, 1e-9), 0, 1)
        blob = (ys - t * dy) ** 2 + (xs - t * dx) ** 2 <= radius**2
        rows, cols = slice(top, top + blob.shape[0]), slice(left, left + blob.shape[1])
        window = out[:, rows, cols]  # a view: writes go to `out`
        window[:3, blob] = image[:, rows, cols][:, blob].mean(axis=1, keepdims=True)
        window[3, blob] = 1.0
    return torch.from_numpy(out).to(photo.dtype)


# RGB <-> YIQ (NTSC). Rotating (I, Q) turns the hue and keeps luma Y; both rows of I and Q sum to 0,
# so the same matrix acts on [-1, 1] pixel values as on [0, 1] ones.
_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def hue_rotation(angle: float) -> torch.Tensor:
    """3x3 matrix that turns an RGB colour's hue by `angle` radians at constant luma."""
    c, s = math.cos(angle), math.sin(angle)
    turn = torch.tensor([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
    return torch.linalg.inv(_YIQ) @ turn @ _YIQ


def recolour(photos: torch.Tensor, hints: torch.Tensor, probability: float,
             generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Turn the hue of hinted training pairs (photo and hints alike) by a random angle, each with `probability`.

    From lines alone a shoe's colour is ambiguous, so a model can lower its loss by ignoring hints
    and painting the usual brown. A turned photo's colour is only in its hints: hints become the way
    to a low loss, and red, blue or green hints mean something. Pairs without hints keep their
    real colours, so the model's own palette from lines alone stays the photos'.
    Returns the photos, the hints and which pairs were turned: those are L1 targets only, never
    shown to D as real (a D that takes blue shoes for real lets the lines-only palette drift).
    """
    photos, hints = photos.clone(), hints.clone()
    turned = torch.zeros(len(photos), dtype=torch.bool)
    for i in range(len(photos)):
        if torch.rand((), generator=generator).item() >= probability or not hints[i, 3].any():
            continue
        turned[i] = True
        m = hue_rotation(torch.rand((), generator=generator).item() * 2 * math.pi).to(photos.dtype)
        photos[i] = torch.einsum("ij,jhw->ihw", m, photos[i]).clamp(-1, 1)
        mask = hints[i, 3:] > 0
        hints[i, :3] = torch.einsum("ij,jhw->ihw", m, hints[i, :3]).clamp(-1, 1) * mask
    return photos, hints, turned


def object_colours(photos: torch.Tensor) -> torch.Tensor:
    """Bx3xHxW photos in [-1, 1] -> Bx3: the mean colour of each photo's object (its pixels off the
    white ground; the whole photo where there is no ground), a palette model's code for it."""
    obj = (photos.min(dim=1, keepdim=True).values < BACKGROUND).to(photos.dtype)
    obj = torch.where(obj.flatten(1).any(dim=1)[:, None, None, None], obj, torch.ones_like(obj))
    return (photos * obj).sum(dim=(2, 3)) / obj.sum(dim=(2, 3))


def sample_palette(photos: torch.Tensor, hints: torch.Tensor | None, generator: torch.Generator | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Training palette codes for a batch: (Bx3 object colours, B bools: given). A pair without hints gets
    its colour with PALETTE_PROBABILITY[0], one with hints with [1]: what a user calls is mostly a drawing
    alone (the colour drawn from the prior) or with hints (no code), and the rest keeps both
    combinations working."""
    hinted = torch.zeros(len(photos), dtype=torch.bool) if hints is None else hints[:, 3].flatten(1).any(dim=1).cpu()
    p = torch.where(hinted, PALETTE_PROBABILITY[1], PALETTE_PROBABILITY[0])
    given = torch.rand(len(photos), generator=generator) < p
    return object_colours(photos), given


def sample_hints(photos: torch.Tensor, max_hints: int, generator: torch.Generator | None = None,
                 no_hint_probability: float = NO_HINT_PROBABILITY, max_radius: int = MAX_RADIUS,
                 max_length: int = MAX_LENGTH) -> torch.Tensor:
    """Training hints for a Bx3xHxW batch of (cropped, flipped) real photos -> Bx4xHxW.

    Each photo gets no hints with `no_hint_probability`, otherwise 1..`max_hints` of them.
    """
    out = []
    for photo in photos:
        count = 0
        if torch.rand((), generator=generator).item() >= no_hint_probability:
            count = torch.randint(1, max_hints + 1, (1,), generator=generator).item()
        out.append(draw_hints(photo, count, generator, max_radius, max_length))
    return torch.stack(out)
