"""Colour hints: sparse colour strokes and their mask, the extra input of a hint model.

On the wire a hint layer is an RGBA image: pixels with alpha > 0 carry a hint colour in RGB.
Inside the model it is 4 channels: the colour in [-1, 1] (0 where there is no hint) and the mask.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .config import FILL_MODES, HINT_CHANNELS, PALETTE_CHANNELS


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


def palette_planes(colours: torch.Tensor, given: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Bx3 object colours in [-1, 1] and which of them are given (B bools) -> Bx4xHxW constant planes
    (colour, flag); a colour not given is all zero."""
    given = given.to(colours.dtype)[:, None]
    planes = torch.cat([colours * given, given], dim=1)
    return planes[:, :, None, None].expand(-1, PALETTE_CHANNELS, height, width).contiguous()


FILL_SIZE = 64  # the fill runs on a 64x64 grid: a quarter of the 256 crop, cheap enough for every step
# Extra path cost of crossing an inked cell, twice the grid's side: a path goes around a line if it can
# at all (a hint colours its own region, leaking only through gaps, as a paint bucket would), and a
# region without hints takes the colour of the nearest one a line away.
FILL_WALL = 2.0 * FILL_SIZE


def fill_hints(lines: torch.Tensor, hints: torch.Tensor, mode: str = "nearest") -> torch.Tensor:
    """Spread sparse hints over the drawing: Bx3xHxW lines + Bx4xHxW hints -> Bx4xHxW (colour, reach).

    A U-Net fed only sparse hints learns, in the steps CPU training affords, to stamp each hint's
    colour around it and paint the rest as before; a dense colour is one it copies, as it copies the
    lines. `reach` is exp(-path / size) along the geodesic path to the nearest hint (paths pay extra
    for crossing ink), 0 where no hint is: the model can tell a colour given in a pixel's own region
    from one carried over a line. The colour, by `mode`:
    - "nearest": the geodesic nearest hint's, so a stroke on the sole colours the sole and one on
      the upper the upper (flat regions, seams where two hints meet);
    - "harmonic": the hints' colours interpolated smoothly over the drawing, lines conducting 1/65 as
      well as paper (Levin et al. 2004's colourisation by optimisation, on the grid): two hints in one
      region blend into a gradient, which tracks a photo's shading (luminance dominates PSNR).
    """
    if mode not in FILL_MODES:
        raise ValueError(f"fill mode must be one of {FILL_MODES}, got {mode!r}")
    h, w = lines.shape[2:]
    s = FILL_SIZE
    ink = (1 - lines.mean(1, keepdim=True)) / 2  # 0 on white paper, 1 on black ink
    cost = 1 + FILL_WALL * F.adaptive_max_pool2d(ink, s)  # max: a 1-px line still walls its cell
    mask = F.adaptive_avg_pool2d(hints[:, 3:], s)
    hinted = mask > 0
    colour = torch.where(hinted, F.adaptive_avg_pool2d(hints[:, :3] * hints[:, 3:], s) / mask.clamp_min(1e-6), 0.0)
    reach, nearest = _geodesic(cost, hinted, colour)
    if mode == "harmonic":
        colour = torch.stack([_harmonic(cost[i, 0], hinted[i, 0], colour[i]) for i in range(len(cost))])
    else:
        colour = nearest
    return F.interpolate(torch.cat([colour, reach], 1), size=(h, w), mode="bilinear", align_corners=False)


def _geodesic(cost: torch.Tensor, hinted: torch.Tensor, colour: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Reach (exp(-path length / size), 0 where no hint is) of the nearest hint and its colour, per grid
    cell (8-neighbour paths)."""
    s = cost.shape[-1]
    far = float(s * s * (FILL_WALL + 2))  # longer than any path on the grid: "no hint reaches here"
    dist = torch.where(hinted, 0.0, far)
    moves = [(dy, dx, math.hypot(dy, dx)) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
    for _ in range(s * s):  # Bellman-Ford relaxation; it stops as soon as no path shortens
        pd, pc = F.pad(dist, (1, 1, 1, 1), value=far), F.pad(colour, (1, 1, 1, 1))
        new_d, new_c = dist, colour
        for dy, dx, step in moves:
            cand = pd[:, :, 1 + dy:1 + dy + s, 1 + dx:1 + dx + s] + step * cost
            better = cand < new_d
            new_d = torch.where(better, cand, new_d)
            new_c = torch.where(better, pc[:, :, 1 + dy:1 + dy + s, 1 + dx:1 + dx + s], new_c)
        if torch.equal(new_d, dist):
            break
        dist, colour = new_d, new_c
    return torch.exp(-dist / s) * (dist < far), colour


def _harmonic(cost: torch.Tensor, hinted: torch.Tensor, colour: torch.Tensor) -> torch.Tensor:
    """SxS cell costs, hint mask and 3xSxS hint colours -> the 3xSxS harmonic interpolant: hinted cells
    keep their colour, every other cell is the conductance-weighted mean of its 4 neighbours (a sparse
    solve; conductance between two cells = 1 / their mean cost). No hint: all zero."""
    if not hinted.any():
        return torch.zeros_like(colour)
    from scipy.sparse import coo_matrix, diags
    from scipy.sparse.linalg import factorized

    s = cost.shape[-1]
    c = cost.detach().cpu().double().numpy().ravel()
    idx = np.arange(s * s).reshape(s, s)
    a = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    b = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    g = 2.0 / (c[a] + c[b])
    weights = coo_matrix((np.concatenate([g, g]), (np.concatenate([a, b]), np.concatenate([b, a]))),
                         shape=(s * s, s * s)).tocsr()
    laplacian = (diags(np.asarray(weights.sum(axis=1)).ravel()) - weights).tocsr()
    fixed = hinted.detach().cpu().numpy().ravel()
    free = ~fixed
    known = colour.detach().cpu().double().numpy().reshape(3, -1)[:, fixed]
    out = np.zeros((3, s * s))
    out[:, fixed] = known
    if free.any():
        solve = factorized(laplacian[free][:, free].tocsc())
        rhs = -(laplacian[free][:, fixed] @ known.T)  # (free, 3)
        out[:, free] = np.stack([solve(rhs[:, k]) for k in range(3)])
    return torch.from_numpy(out.reshape(3, s, s)).to(colour)
