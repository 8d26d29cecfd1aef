"""Turning whatever a user hands us into a clean 8-bit RGB image, with clear errors."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 40_000_000  # refuse decompression bombs well before they exhaust memory
MAX_SIDE = 8192


class BadImageError(ValueError):
    """An input image that can't be used; the message names it and says why."""


def open_image(source: str | Path | bytes | Image.Image, name: str | None = None) -> Image.Image:
    """Open and fully decode an image from a path, bytes or PIL image; raise BadImageError if unusable."""
    label = name or (str(source) if isinstance(source, (str, Path)) else "image")
    if isinstance(source, Image.Image):
        image = source
    else:
        try:
            data = io.BytesIO(source) if isinstance(source, bytes) else source
            image = Image.open(data)
            check_size(image, label)
            image.load()
        except BadImageError:
            raise
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
            raise BadImageError(f"{label}: not a readable image ({e})") from e
    check_size(image, label)
    return image


def check_size(image: Image.Image, label: str = "image") -> None:
    w, h = image.size
    if w < 1 or h < 1:
        raise BadImageError(f"{label}: empty image ({w}x{h})")
    if w * h > MAX_PIXELS or max(w, h) > MAX_SIDE:
        raise BadImageError(
            f"{label}: {w}x{h} is too large (at most {MAX_SIDE} px a side and {MAX_PIXELS // 1_000_000} MP)"
        )


def to_rgb(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Any PIL mode -> 8-bit RGB: EXIF rotation applied, alpha composited on `background`,
    16-bit and float images rescaled to their own range."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(image, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        if image.mode.startswith("I;16") and hi > 255:
            arr = arr / 257.0
        elif hi > 255 or lo < 0:
            arr = (arr - lo) / max(hi - lo, 1e-12) * 255.0
        image = Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "RGB" and "transparency" in image.info):
        image = image.convert("RGBA")
        canvas = Image.new("RGB", image.size, background)
        canvas.paste(image, mask=image.getchannel("A"))
        return canvas
    return image.convert("RGB")
