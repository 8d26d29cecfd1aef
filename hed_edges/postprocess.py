"""pix2pix's PostprocessHED.m in NumPy: soft edge map -> 1-px black lines on white.

MATLAB original (pix2pix/scripts/edges/PostprocessHED.m with Piotr Dollar's toolbox):
    E = imresize(E, [size size]); E1 = convTri(E, 1);
    [Ox, Oy] = gradient2(convTri(E1, 4)); [Oxx, ~] = gradient2(Ox); [Oxy, Oyy] = gradient2(Oy);
    O = mod(atan(Oyy .* sign(-Oxy) ./ (Oxx + 1e-5)), pi);
    E2 = edgesNmsMex(E1, O, 1, 5, 1.01, 1); E2 = double(E2 >= threshold);
    E2 = bwmorph(E2, 'thin', inf); E2 = bwareaopen(E2, 5); E3 = 1 - E2;
"""
from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.measure import label
from skimage.morphology import thin

THRESHOLD = 25 / 255
SMALL_EDGE = 5


def conv_tri(image: np.ndarray, r: int) -> np.ndarray:
    """Dollar's convTri for integer r >= 1: separable triangle filter [1..r+1..1]/(r+1)^2 with symmetric
    padding (MATLAB 'symmetric' == scipy 'reflect')."""
    kernel = np.concatenate([np.arange(1, r + 2), np.arange(r, 0, -1)]).astype(np.float64) / (r + 1) ** 2
    out = ndimage.correlate1d(image, kernel, axis=0, mode="reflect")
    return ndimage.correlate1d(out, kernel, axis=1, mode="reflect")


def orientation(edges: np.ndarray) -> np.ndarray:
    """Edge normal orientation in [0, pi) from second derivatives of the r=4 triangle-smoothed map."""
    oy, ox = np.gradient(conv_tri(edges, 4))  # np.gradient == MATLAB gradient: central, one-sided at borders
    oxx = np.gradient(ox, axis=1)
    oyy, oxy = np.gradient(oy)
    return np.mod(np.arctan(oyy * np.sign(-oxy) / (oxx + 1e-5)), np.pi)


def _interp(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear sample with edgesNms.cpp's clamping (x to [0, w-1.001], y to [0, h-1.001])."""
    h, w = image.shape
    x = np.clip(x, 0, w - 1.001)
    y = np.clip(y, 0, h - 1.001)
    x0, y0 = x.astype(np.intp), y.astype(np.intp)
    dx, dy = x - x0, y - y0
    return (image[y0, x0] * (1 - dx) * (1 - dy) + image[y0, x0 + 1] * dx * (1 - dy)
            + image[y0 + 1, x0] * (1 - dx) * dy + image[y0 + 1, x0 + 1] * dx * dy)


def edges_nms(edges: np.ndarray, orient: np.ndarray, r: int = 1, s: int = 5, m: float = 1.01) -> np.ndarray:
    """Port of Dollar's edgesNmsMex: zero a pixel when a neighbour up to r px along the normal is stronger
    than m times it, then fade the s-px border linearly to zero (edges there are unreliable)."""
    h, w = edges.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    cos, sin = np.cos(orient), np.sin(orient)
    keep = edges * m
    out = edges.copy()
    for d in range(-r, r + 1):
        if d:
            out[keep < _interp(edges, xs + d * cos, ys + d * sin)] = 0
    s = min(s, w // 2, h // 2)
    if s > 0:
        ramp = np.arange(s) / s
        out[:, :s] *= ramp
        out[:, w - s:] *= ramp[::-1]
        out[:s, :] *= ramp[:, None]
        out[h - s:, :] *= ramp[::-1, None]
    return out


def remove_small(mask: np.ndarray, min_pixels: int = SMALL_EDGE) -> np.ndarray:
    """MATLAB bwareaopen: drop 8-connected components with fewer than `min_pixels` pixels."""
    labels = label(mask, connectivity=2)
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_pixels
    keep[0] = False
    return keep[labels]


def nms_map(prob: np.ndarray) -> np.ndarray:
    """Soft map -> smoothed, non-maximum-suppressed soft map (the part the BSDS evaluation thresholds)."""
    e1 = conv_tri(prob.astype(np.float64), 1)
    return edges_nms(e1, orientation(e1))


def thin_edges(mask: np.ndarray) -> np.ndarray:
    """bwmorph(mask, 'thin', inf): scikit-image's thin implements the same Lam-Lee-Suen algorithm."""
    return thin(mask)


def resize_map(prob: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a float map to (width, height) with antialiased bicubic, like MATLAB's imresize."""
    h, w = prob.shape
    if (w, h) == tuple(size):
        return prob.astype(np.float64)
    image = Image.fromarray(prob.astype(np.float32), "F").resize(size, Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.float64)


def postprocess(prob: np.ndarray, size: tuple[int, int] | None = None, threshold: float = THRESHOLD,
                small_edge: int = SMALL_EDGE) -> np.ndarray:
    """Soft edge map in [0, 1] (H, W) -> bool mask of 1-px edges at `size` (width, height) or its own size."""
    if size is not None:
        prob = resize_map(prob, size)
    mask = nms_map(prob) >= max(threshold, np.finfo(np.float32).eps)
    return remove_small(thin_edges(mask), small_edge)


def to_image(mask: np.ndarray) -> Image.Image:
    """Edge mask -> mode 'L' image with black (0) lines on white (255)."""
    return Image.fromarray(np.where(mask, 0, 255).astype(np.uint8), "L")
