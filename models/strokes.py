"""Drawn strokes thinned to the training edges' width: an option, off by default (measured below).

The edges2* and sketch inputs were made by HED + thinning: lines one pixel wide at the 256 px
training scale. Val lines redrawn 5 px wide cost the models structure (edges2shoes 0.965 -> 0.895,
handbags 0.878 -> 0.808), and thinning them back first recovers all of it (0.975, 0.877:
`python -m training evaluate --stroke-width 5 --thin-lines`). On drawings made the way a person
draws (few closed outlines, filled eyes: `python benchmarks/hand_drawn.py --thin-lines`) it does
the opposite: more smear on the paper (shoes 0.085 -> 0.134 of the ground stained, pokemon 0.017
-> 0.048) and filled eyes shrink to dots. So the studio gives models the strokes as drawn, and
`Translator(..., thin_lines=True)` is there for dense line art drawn with a thick pen.
"""
from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.morphology import skeletonize

TRAIN_SIDE = 256  # px: the scale at which training lines are one pixel wide
INK = 180  # grey level below which a pixel is line: keeps the faint rim of a resized thin stroke


def thin_strokes(image: Image.Image, size: int = TRAIN_SIDE) -> Image.Image:
    """Black-on-white lines of any width -> their centre lines, as wide as a training line at `size`
    (1 px at 256, 2 px at 512), in black on white."""
    ink = np.asarray(image.convert("L")) < INK
    lines = skeletonize(ink)
    width = max(1, round(size / TRAIN_SIDE))
    if width > 1:
        lines = ndimage.binary_dilation(lines, structure=np.ones((width, width), bool))
    out = np.where(lines, 0, 255).astype(np.uint8)
    return Image.fromarray(out, "L").convert("RGB")
