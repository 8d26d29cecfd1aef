"""A drawing's shadow (ShadowDraw, Lee, Zitnick & Cohen 2011): where the lines of a real shoe, cat or bag usually
go, given the strokes drawn so far, shown faintly under the pen.

The model folder keeps no training edge map: it keeps PROTOTYPES, the means of clusters of training edge maps
(k-means on their blurred ink at GRID x GRID, every cluster at least MIN_MEMBERS maps), so each is a blend of many
drawings. A drawing's shadow is the blend of the prototypes that best match its strokes, each shifted a few
cells to lie on them. app/canvas.js runs the same query in the browser (tests/test_shadow.py holds them equal).
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage
from scipy.cluster.vq import kmeans2

from .images import BadImageError, open_image

GRID = 64  # cells a side: a cell is 4 px of a 256-px edge map, 8 of the 512-px canvas
BLUR = 1.5  # cells: matching tolerates strokes a little off the prototype's lines
PROTOTYPES = 64  # at most; fewer for small sets, so that every cluster keeps MIN_MEMBERS maps
MIN_MEMBERS = 8
TOP = 3  # prototypes blended into a shadow
SHIFT = 3  # cells each prototype may move to lie on the strokes (24 px of the canvas)


def ink_grid(lines: np.ndarray) -> np.ndarray:
    """A bool ink mask (H x W, H and W multiples of GRID) -> the share of each GRID cell that holds ink, as a
    max over the cell: a line through a cell counts however thin it is."""
    h, w = lines.shape
    cells = lines.reshape(GRID, h // GRID, GRID, w // GRID)
    return cells.max(axis=(1, 3)).astype(np.float32)


def descriptor(grid: np.ndarray) -> np.ndarray:
    """Blurred and unit-length: what a drawing and a prototype are compared by (cosine similarity)."""
    d = ndimage.gaussian_filter(grid.astype(np.float32), BLUR)
    return d / max(float(np.linalg.norm(d)), 1e-6)


def edge_maps(folder: Path, split: str = "train") -> list[np.ndarray]:
    """The input halves of a pairs folder's split as bool ink masks (dark lines on white paper); a file that does
    not read as an image is left out (the shadow is built at the end of a run, which must not fail on it)."""
    masks = []
    for path in sorted((Path(folder) / split).glob("*")):
        if path.suffix.lower() not in (".jpg", ".jpeg", ".png"):
            continue
        try:
            pair = open_image(path, name=path.name)
        except BadImageError:
            continue
        w, h = pair.size
        edges = pair.crop((0, 0, w // 2, h)).convert("L").resize((256, 256), Image.BILINEAR)
        masks.append(np.asarray(edges) < 128)
    return masks


def build(masks: list[np.ndarray], seed: int = 0) -> np.ndarray:
    """PROTOTYPES x GRID x GRID uint8 (0-255: the share of a cluster's maps with a line in each cell) from training
    ink masks; clusters under MIN_MEMBERS maps are dropped, so no prototype is close to one drawing."""
    grids = np.stack([ink_grid(m) for m in masks])
    k = max(1, min(PROTOTYPES, len(grids) // (2 * MIN_MEMBERS)))
    features = np.stack([descriptor(g).ravel() for g in grids])
    _, labels = kmeans2(features, k, seed=seed, minit="++")
    kept = [grids[labels == c].mean(axis=0) for c in range(k) if (labels == c).sum() >= MIN_MEMBERS]
    if not kept:  # a set too small to cluster: its mean is the one prototype
        kept = [grids.mean(axis=0)]
    return np.round(np.stack(kept) * 255).astype(np.uint8)


def to_png(prototypes: np.ndarray) -> bytes:
    """The prototypes side by side in one 8-bit grey PNG strip (GRID high, GRID x K wide): what a model folder
    keeps (models.folder.SHADOW) and what a browser decodes."""
    strip = np.concatenate(list(prototypes), axis=1)
    out = io.BytesIO()
    Image.fromarray(strip, "L").save(out, format="PNG", optimize=True)
    return out.getvalue()


def from_png(path: str | Path) -> np.ndarray:
    """K x GRID x GRID uint8 from a strip written by to_png."""
    with Image.open(path) as image:
        strip = np.asarray(image.convert("L"))
    return strip.reshape(GRID, -1, GRID).transpose(1, 0, 2).copy()


def shifted(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """`image` moved by (dy, dx) cells, zeros coming in."""
    out = np.zeros_like(image)
    h, w = image.shape
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = image[max(-dy, 0):h + min(-dy, 0),
                                                                      max(-dx, 0):w + min(-dx, 0)]
    return out


def shadow(drawn: np.ndarray, prototypes: np.ndarray) -> np.ndarray:
    """GRID x GRID in [0, 1]: where lines usually go, given the drawing's ink grid (ink_grid). The TOP prototypes
    by cosine similarity, each moved up to SHIFT cells to where it best fits the strokes, blended by their
    similarity. An empty drawing has no shadow."""
    if not drawn.any():
        return np.zeros((GRID, GRID), np.float32)
    protos = prototypes.astype(np.float32) / 255
    d = descriptor(drawn)
    scores = np.array([float((descriptor(p) * d).sum()) for p in protos])
    order = np.argsort(-scores)[:TOP]
    total = np.zeros((GRID, GRID), np.float32)
    weights = 0.0
    for i in order:
        best, fit = protos[i], -1.0
        blurred = ndimage.gaussian_filter(protos[i], BLUR)
        for dy in range(-SHIFT, SHIFT + 1):
            for dx in range(-SHIFT, SHIFT + 1):
                score = float((shifted(blurred, dy, dx) * d).sum())
                if score > fit:
                    best, fit = shifted(protos[i], dy, dx), score
        w = max(scores[i], 0.0) ** 2
        total += w * best
        weights += w
    return total / max(weights, 1e-6)
