"""Turning whatever a user hands us into a clean 8-bit RGB image, with clear errors."""
from __future__ import annotations

import base64
import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# The one set of input limits, checked from the header before any pixel is decoded: bombs and
# huge photos are refused before they cost memory, and a strip thinner than 8:1 would leave the
# model a few pixels (a 10000x10 drawing gave a 0-pixel photo).
MAX_PIXELS = 40_000_000
MAX_SIDE = 8192
MAX_ASPECT = 8
MAX_DATA_URL_BYTES = 32 * 1024 * 1024  # decoded size, checked before base64-decoding
CORRUPT = "not a readable image (truncated or corrupt data)"
LIMITS = f"at most {MAX_SIDE} px a side, {MAX_PIXELS // 1_000_000} MP and {MAX_ASPECT}:1"

# Pillow's own bomb check runs inside Image.open, before check_size could name the limits: its
# error is translated below, and its warning (only ever for images check_size refuses) silenced.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


class BadImageError(ValueError):
    """An input image that can't be used; the message names it and says why."""


def open_image(source: str | Path | bytes | Image.Image, name: str | None = None) -> Image.Image:
    """Open and fully decode an image from a path, bytes, a ``data:image/...;base64,`` URL or a PIL
    image, after checking its size from the header; raise BadImageError (one line) if unusable."""
    if isinstance(source, Image.Image):
        check_size(source, name or "image")
        return source
    if isinstance(source, str) and source.startswith("data:"):
        label = name or "image"
        source = data_url_bytes(source, label)
    else:
        label = name or (str(source) if isinstance(source, (str, Path)) else "image")
    try:
        image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
    except FileNotFoundError:
        raise BadImageError(f"{label}: file not found") from None
    except IsADirectoryError:
        raise BadImageError(f"{label}: a folder, not an image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        over = 2 * Image.MAX_IMAGE_PIXELS // 1_000_000
        raise BadImageError(f"{label}: too large (over {over} MP; {LIMITS})") from None
    except UnidentifiedImageError:
        empty = len(source) == 0 if isinstance(source, bytes) else Path(source).stat().st_size == 0
        why = "empty file" if empty else "unknown format"
        raise BadImageError(f"{label}: not a readable image ({why})") from None
    except OSError as e:  # the file system's errors carry an errno; a decoder's (WebP decodes at open) don't
        why = f"can't be opened ({e.strerror})" if e.errno else CORRUPT
        raise BadImageError(f"{label}: {why}") from None
    check_size(image, label)
    try:
        image.load()
    except Exception:  # noqa: BLE001 - any decoder failure on user data means the same thing to them
        raise BadImageError(f"{label}: {CORRUPT}") from None
    return image


def data_url_bytes(url: str, label: str = "image") -> bytes:
    """The bytes of a base64 data URL, refused before decoding when larger than MAX_DATA_URL_BYTES."""
    header, comma, payload = url.partition(",")
    if not comma or not header.endswith(";base64"):
        raise BadImageError(f"{label}: only base64 data URLs are read (data:image/png;base64,...)")
    if len(payload) * 3 // 4 > MAX_DATA_URL_BYTES:
        raise BadImageError(f"{label}: larger than {MAX_DATA_URL_BYTES // 2**20} MB")
    try:
        return base64.b64decode(payload, validate=True)
    except ValueError:  # binascii.Error, or non-ASCII text
        raise BadImageError(f"{label}: the data URL is not valid base64") from None


def check_size(image: Image.Image | tuple[int, int], label: str = "image") -> None:
    """Refuse sizes outside the limits (pixel count, side, aspect ratio); takes an image or (w, h)."""
    w, h = image.size if isinstance(image, Image.Image) else image
    if w < 1 or h < 1:
        raise BadImageError(f"{label}: empty image ({w}x{h})")
    if w * h > MAX_PIXELS or max(w, h) > MAX_SIDE:
        raise BadImageError(f"{label}: {w}x{h} is too large ({LIMITS})")
    if max(w, h) > MAX_ASPECT * min(w, h):
        ratio = max(w, h) / min(w, h)
        raise BadImageError(f"{label}: {w}x{h} is too long and thin ({ratio:.0f}:1; {LIMITS})")


def to_rgb(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Any PIL mode -> 8-bit RGB: EXIF rotation applied, alpha composited on `background`,
    16-bit and float images rescaled to their own range."""
    image = ImageOps.exif_transpose(image)
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        arr = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
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
