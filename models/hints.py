"""Colour hints: sparse colour strokes and their mask, the extra input of a hint model.

On the wire a hint layer is an RGBA image: pixels with alpha > 0 carry a hint colour in RGB.
Inside the model it is 4 channels: the colour in [-1, 1] (0 where there is no hint) and the mask.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .config import HINT_CHANNELS


def hint_rgba(hints: Image.Image) -> Image.Image:
    """The hint layer as RGBA; a layer without alpha would hint every pixel, so it is refused."""
    if hints.mode in ("RGBA", "LA", "PA") or "transparency" in hints.info:
        return hints.convert("RGBA")
    raise ValueError(f"hints must be an RGBA image (transparent = no hint), got mode {hints.mode}")


def hint_tensor(hints: Image.Image, box: tuple[int, int, int, int], size: int) -> torch.Tensor:
    """A hint layer -> 1x4xSxS hint channels, its content fitted into `box` of the S=`size` square.

    `box` is where the input image's content lies after padding to square, so hints land where
    the user drew them whatever the hint layer's own size. Area pooling keeps every hinted pixel:
    a 1-px brush stroke on a 1024-px canvas still marks its cell at 256 (a plain resize drops it).
    """
    arr = torch.from_numpy(np.asarray(hint_rgba(hints), dtype=np.uint8).copy()).permute(2, 0, 1).float()
    mask = (arr[3:] > 0).float()
    colour = arr[:3].div(127.5).sub(1.0)
    left, top, right, bottom = box
    pooled = F.adaptive_avg_pool2d(torch.cat([colour * mask, mask])[None], (bottom - top, right - left))
    cover = pooled[:, 3:]
    hit = cover > 0
    out = torch.zeros(1, HINT_CHANNELS, size, size)
    out[:, :3, top:bottom, left:right] = torch.where(hit, pooled[:, :3] / cover.clamp_min(1e-12), 0.0)
    out[:, 3:, top:bottom, left:right] = hit.float()
    return out


def hints_image(hints: torch.Tensor) -> Image.Image:
    """4xHxW (or 1x4xHxW) hint channels -> the RGBA hint layer they came from."""
    h = hints.detach().float().cpu()
    h = h[0] if h.dim() == 4 else h
    rgb = ((h[:3].clamp(-1, 1) + 1) * 127.5).round().byte()
    alpha = (h[3:] > 0).byte() * 255
    return Image.fromarray(torch.cat([rgb * (alpha > 0), alpha]).permute(1, 2, 0).numpy(), "RGBA")
