"""Strokes thinned to their centre lines, the width of the training edges.

The edges2* and sketch inputs were made by HED + thinning: lines one pixel wide at the 256 px
training scale. Val lines redrawn 5 px wide cost the models structure (edges2shoes 0.965 -> 0.895,
handbags 0.878 -> 0.808). Thinning them back first recovers all of it (0.975, 0.877: `python -m
training evaluate --stroke-width 5 --thin-lines`), but on drawings made the way a person draws (few
closed outlines, filled eyes: `python benchmarks/hand_drawn.py --thin-lines`) it does the opposite:
more smear on the paper (shoes 0.085 -> 0.134 of the ground stained, pokemon 0.017 -> 0.048) and
filled eyes shrink to dots. So the studio gives models the strokes as drawn; `Translator(...,
thin_lines=True)` is there for dense line art drawn with a thick pen. A model built with
`centre_lines` gets both, the strokes and their centre lines; fine-tuned that way, shoes and handbags
left the new channel nearly unread and kept their 5-px gap (their cards), so no shipped model has it.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from scipy import ndimage
from skimage.morphology import skeletonize

TRAIN_SIDE = 256  # px: the scale at which training lines are one pixel wide
INK = 180  # grey level below which a pixel is line: keeps the faint rim of a resized thin stroke


def centre_lines(lines: torch.Tensor) -> torch.Tensor:
    """Bx3xHxW black-on-white lines in [-1, 1] -> Bx1xHxW, 1 on their centre lines (`thin_strokes`' lines),
    0 elsewhere: the extra input of a `centre_lines` generator. It reads the input, so needs no gradient."""
    ink = (lines.detach().float().mean(dim=1) < INK / 127.5 - 1.0).cpu().numpy()
    centres = np.stack([centre(one) for one in ink])[:, None]
    return torch.from_numpy(centres).to(lines.device, lines.dtype)


def centre(ink: np.ndarray) -> np.ndarray:
    """A square boolean ink mask -> its centre lines, as wide as a training line at its size."""
    lines = skeletonize(ink)
    width = max(1, round(ink.shape[0] / TRAIN_SIDE))
    return ndimage.binary_dilation(lines, structure=np.ones((width, width), bool)) if width > 1 else lines


def thin_strokes(image: Image.Image) -> Image.Image:
    """Black-on-white lines of any width -> their centre lines, as wide as a training line at the image's
    size (1 px at 256, 2 px at 512), in black on white."""
    lines = centre(np.asarray(image.convert("L")) < INK)
    return Image.fromarray(np.where(lines, 0, 255).astype(np.uint8), "L").convert("RGB")
