"""Stroke robustness: make 1-px training edges look like a person drew them.

HED edges are one pixel wide, so a 3-6 px pen in the studio is out of distribution (seams along
every line). `augment_strokes` erases short gaps, wobbles the lines by a pixel or two and then
draws them 1-6 px thick; `thicken_lines` is the fixed-width version evaluation uses. People also
draw an object smaller than the frame, with paper all round it, where every training pair fills
its frame (the shoes model smears a shadow under a drawn sole: benchmarks/hand_drawn.py);
`zoom_out` shrinks a pair onto white. For line inputs (edges, sketches) only: label maps are
categorical and never go through here.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

MAX_WIDTH = 6  # px at the 256 training scale
MAX_SHIFT = 1.5  # px, peak of the smooth wobble field
MAX_GAPS = 6
MAX_GAP_RADIUS = 3  # px: a gap erases a square of side 2r+1 around a line pixel
WOBBLE_GRID = 5  # control points per side of the wobble field: a smooth bend, not noise
ZOOM_MIN, ZOOM_MAX = 0.5, 0.9  # the scale of a zoomed-out pair


def pen(width: int) -> np.ndarray:
    """A round pen tip `width` px across, as a dilation footprint."""
    c = (width - 1) / 2
    y, x = np.ogrid[:width, :width]
    return (y - c) ** 2 + (x - c) ** 2 <= (c + 0.5) ** 2


def thicken(darkness: np.ndarray, width: int) -> np.ndarray:
    """Redraw the lines of a darkness map (1 = ink) with a `width`-px pen (grey dilation)."""
    return darkness if width <= 1 else ndimage.grey_dilation(darkness, footprint=pen(width))


def thicken_lines(edges: np.ndarray, width: int) -> np.ndarray:
    """HxWx3 uint8 black-on-white lines redrawn `width` px thick (the evaluation's thick strokes)."""
    darkness = 1.0 - edges.astype(np.float32).mean(axis=2) / 255.0
    return np.repeat(to_gray(thicken(darkness, width))[..., None], edges.shape[2], axis=2)


def to_gray(darkness: np.ndarray) -> np.ndarray:
    return np.clip((1.0 - darkness) * 255.0 + 0.5, 0, 255).astype(np.uint8)


@functools.cache
def spline_weights(n: int) -> np.ndarray:
    """(n, WOBBLE_GRID) cubic-spline weights from the control points to n pixels.

    A 2-D spline is the product of 1-D ones: two small matrix products give the whole field,
    where evaluating the spline at every pixel cost more than all the rest of the augmentation."""
    at = np.linspace(0, WOBBLE_GRID - 1, n)[None]
    return np.stack([ndimage.map_coordinates(e, at, order=3) for e in np.eye(WOBBLE_GRID)], axis=1)


def augment_strokes(edges: torch.Tensor, generator: torch.Generator | None = None, thick: float = 0.0,
                    thin_too: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """One 3xHxW uint8 line image -> the same lines with gaps, wobble and a random 1-6 px width.

    Gaps and wobble each happen half the time; with probability `thick` the width is one of the
    three thickest (a felt pen, where the seams show), else any. Every draw comes from `generator`;
    `thick` 0 draws nothing extra, so older runs resume exactly. `thin_too`: also the same gapped,
    wobbled strokes 1 px wide (what a --distill teacher sees: only the width differs).
    """
    darkness = 1.0 - edges.numpy().mean(axis=0, dtype=np.float32) / 255.0
    h, w = darkness.shape
    if torch.rand((), generator=generator).item() < 0.5:
        ink = np.argwhere(darkness > 0.5)
        if len(ink):
            for _ in range(torch.randint(1, MAX_GAPS + 1, (1,), generator=generator).item()):
                y, x = ink[torch.randint(len(ink), (1,), generator=generator).item()]
                r = torch.randint(1, MAX_GAP_RADIUS + 1, (1,), generator=generator).item()
                darkness[max(y - r, 0):y + r + 1, max(x - r, 0):x + r + 1] = 0.0
    if torch.rand((), generator=generator).item() < 0.5:
        amplitude = torch.rand((), generator=generator).item() * MAX_SHIFT
        coarse = torch.randn(2, WOBBLE_GRID, WOBBLE_GRID, generator=generator).numpy() * amplitude
        # A smooth field of shifts (px): the control grid spline-interpolated to every pixel.
        shift = np.stack([spline_weights(h) @ c @ spline_weights(w).T for c in coarse])
        darkness = ndimage.map_coordinates(darkness, np.mgrid[:h, :w] + shift, order=1, cval=0.0)
    thickest = thick > 0 and torch.rand((), generator=generator).item() < thick
    width = torch.randint(MAX_WIDTH - 2 if thickest else 1, MAX_WIDTH + 1, (1,), generator=generator).item()
    # Built channels-first in NumPy: a torch permute + contiguous stalls on a busy machine.
    def image(d: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.repeat(to_gray(d)[None], edges.shape[0], axis=0))
    drawn = image(thicken(darkness, width))
    return (drawn, image(darkness)) if thin_too else drawn


def zoom_out(lines: torch.Tensor, photo: torch.Tensor, size: int, generator: torch.Generator | None = None
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """A whole line|photo pair (3xHxW uint8 each) shrunk to 50-90 % of `size` and put at one random
    place on a `size` x `size` sheet of white paper.

    The whole pair, not a jitter crop, so the object stays whole. The lines keep their ink
    (the shrunk darkness divided by the scale): a 1-px line stays a dark 1-px line, not a grey one.
    The photo's ground must be white (objects shot on white: shoes, bags, artwork), or its edge would show.
    """
    _, h, w = lines.shape
    side = round(size * (ZOOM_MIN + (ZOOM_MAX - ZOOM_MIN) * torch.rand((), generator=generator).item()))
    sh, sw = max(1, round(h * side / max(h, w))), max(1, round(w * side / max(h, w)))
    y = torch.randint(0, size - sh + 1, (1,), generator=generator).item()
    x = torch.randint(0, size - sw + 1, (1,), generator=generator).item()

    def shrink(t: torch.Tensor) -> torch.Tensor:
        return F.interpolate(t[None].float(), (sh, sw), mode="bilinear", antialias=True, align_corners=False)[0]
    ink = (shrink(255.0 - lines.float()) / 255.0 * (h / sh)).clamp(0.0, 1.0)
    small = shrink(photo)
    lines_out = torch.full((lines.shape[0], size, size), 255, dtype=torch.uint8)
    photo_out = torch.full((photo.shape[0], size, size), 255, dtype=torch.uint8)
    lines_out[:, y:y + sh, x:x + sw] = ((1.0 - ink) * 255.0).round().byte()
    photo_out[:, y:y + sh, x:x + sw] = small.round().clamp(0, 255).byte()
    return lines_out, photo_out
