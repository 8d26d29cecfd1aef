"""What the studio's buttons do, as plain functions of canvas values, file paths and PIL images.

Nothing here imports Gradio, so tests call these directly. A canvas value is the JSON object the
page's canvas sends and accepts: {"image": PNG data URL, "hints": PNG data URL or None, plus "kind",
"brush" and "model", which only tell the page which tools to show}.

Every input goes through `decode` (one size check on the header, before decoding) and is brought
to at most the canvas size before any other work, so no request costs more than a 512 px drawing.
"""
from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

import models
from hed_edges.facades import FACADE_LABELS
from models.files import atomic_write_bytes
from models.images import data_url_bytes

CANVAS = 512
VARIATIONS = 4  # "More variations" gives this many photos, seeds seed+1 ...
MAX_SEED = 2**31 - 1
WHITE = (255, 255, 255)
PALETTE = [colour for _, colour in FACADE_LABELS]


def background_for(kind: str) -> tuple[int, int, int]:
    """A blank label map is all 'background' label; every other input is drawn on white."""
    return PALETTE[0] if kind == "labels" else WHITE


def png(image: Image.Image, level: int = 6) -> bytes:
    """PNG bytes; level 1 (zlib's fastest) for answers: a quarter of the time of the default level 6
    for a 256 px photo (benchmarks/app_latency.py --load), about 18% larger."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=level)
    return buffer.getvalue()


def data_url(image: Image.Image) -> str:
    return "data:image/png;base64," + base64.b64encode(png(image)).decode("ascii")


def publish(data: bytes, folder: Path, name: str) -> Path:
    """Write `data` to folder/<content hash>/<name>, complete before anyone can open that name.

    Equal answers share a path, and a response may still be streaming the file when the next equal
    answer is written: so the bytes go to a temporary name and are renamed over (`atomic_write_bytes`;
    a reader of the old file keeps its complete inode). Rewriting also renews
    the file's ctime, which Gradio's delete_cache ages files by. (Gradio's own save_pil_to_cache, in
    gradio/processing_utils.py, writes its content-hashed path in place, which truncated answers
    under load; the studio hands Gradio finished files instead of PIL images.)"""
    path = folder / hashlib.sha256(data).hexdigest()[:32] / name
    atomic_write_bytes(path, data, durable=False)
    return path


def save_photo(image: Image.Image, folder: Path) -> Path:
    """An answer as a file the server can hand out (see `publish`)."""
    return publish(png(image, level=1), folder, "photo.png")


def canvas_value(image: Image.Image, kind: str, brush: bool = False, model: str = "",
                 hints: str | None = None) -> dict:
    return {"image": data_url(image), "hints": hints, "kind": kind, "brush": brush, "model": model}


def decode(source: str | Path | None, name: str) -> Image.Image:
    """A data URL or a file path -> a PIL image whose size was checked before it was decoded."""
    if not isinstance(source, (str, Path)) or not str(source):
        raise models.BadImageError(f"{name}: no image given")
    return models.open_image(source, name=name)


def scaled(image: Image.Image, side: int, kind: str) -> Image.Image:
    """Long side = `side`, aspect kept; label maps are categorical, so never blended."""
    w, h = image.size
    scale = side / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return image.resize(size, Image.NEAREST if kind == "labels" else Image.LANCZOS, reducing_gap=3.0)


def shrink(image: Image.Image, side: int, kind: str) -> Image.Image:
    """Long side at most `side`."""
    return image if max(image.size) <= side else scaled(image, side, kind)


def drawing(value: dict | None, kind: str) -> tuple[Image.Image, Image.Image | None]:
    """(RGB drawing at most canvas-sized, RGBA hint layer of the same size or None) from a canvas value."""
    if not isinstance(value, dict) or not value.get("image"):
        raise models.BadImageError("The canvas is empty: draw something or upload a map first.")
    image = shrink(models.to_rgb(decode(value["image"], "drawing"), background_for(kind)), CANVAS, kind)
    hints = None
    if value.get("hints"):
        hints = decode(value["hints"], "colour hints")
        if hints.mode not in ("RGBA", "LA", "PA") and "transparency" not in hints.info:
            raise models.BadImageError("colour hints: a PNG with transparency is needed "
                                       "(transparent = no hint)")
        # BOX keeps a thin stroke (as partial alpha) where NEAREST would skip it; the translator
        # area-pools the layer to model size itself.
        hints = hints.convert("RGBA").resize(image.size, Image.BOX)
        if hints.getchannel("A").getbbox() is None:
            hints = None
    return image, hints


def nearest_label(rgb: np.ndarray) -> np.ndarray:
    """Index of the closest facade label colour for each pixel (HxWx3 -> HxW); only ever called
    on canvas- or model-sized images (the distance array is 36 values a pixel)."""
    palette = np.asarray(PALETTE, dtype=np.int32)
    dist = ((rgb[..., None, :].astype(np.int32) - palette) ** 2).sum(-1)
    return dist.argmin(-1)


def snap_to_palette(image: Image.Image) -> Image.Image:
    """Label maps are categorical: anti-aliased stroke edges become the nearest real label."""
    rgb = np.asarray(image.convert("RGB"))
    return Image.fromarray(np.asarray(PALETTE, dtype=np.uint8)[nearest_label(rgb)], "RGB")


def model_input(value: dict | None, kind: str, size: int) -> tuple[Image.Image, Image.Image | None]:
    """(image, hints) as the model will see them: labels are resized to the model size, then snapped
    (the translator fits the hint layer to the image itself)."""
    image, hints = drawing(value, kind)
    if kind == "labels":
        image = snap_to_palette(shrink(image, size, kind))
    return image, hints


def parse_colour(text: str) -> tuple[int, int, int]:
    """A colour picker's value ("#rrggbb", "#rgb", "rgb(r, g, b)" or "rgba(r, g, b, a)") -> 8-bit RGB."""
    t = text.strip().lower() if isinstance(text, str) else ""
    try:
        if t.startswith("#") and len(t) in (4, 7):
            digits = t[1:] if len(t) == 7 else "".join(c * 2 for c in t[1:])
            return tuple(int(digits[i:i + 2], 16) for i in (0, 2, 4))
        if t.startswith(("rgb(", "rgba(")) and t.endswith(")"):
            parts = [float(v) for v in t[t.index("(") + 1:-1].split(",")]
            if len(parts) in (3, 4) and all(0 <= v <= 255 for v in parts[:3]):
                return tuple(round(v) for v in parts[:3])
    except ValueError:
        pass
    raise ValueError(f"{text!r} is not a colour: pick one, or give #rrggbb")


def run(translator: models.Translator, image: Image.Image, hints: Image.Image | None, seed: int,
        size: int, colour: tuple[int, int, int] | None = None) -> Image.Image:
    """One forward pass; colour hints and an overall colour go only to models that take them
    (without one a palette model's colour is drawn by the seed)."""
    kwargs = {}
    if hints is not None and getattr(translator, "accepts_hints", False):
        kwargs["hints"] = hints
    if colour is not None and getattr(translator, "has_palette", False):
        kwargs["colour"] = colour
    return translator(image, seed=seed, size=size, **kwargs)


def translate(translator: models.Translator, value: dict | None, seed: int, size: int,
              colour: tuple[int, int, int] | None = None) -> Image.Image:
    """The photo for the drawing; a fixed seed keeps live updates from flickering."""
    image, hints = model_input(value, translator.config.input_kind, int(size))
    return run(translator, image, hints, int(seed), int(size), colour)


def variations(translator: models.Translator, value: dict | None, seed: int, size: int,
               count: int = 4, colour: tuple[int, int, int] | None = None) -> list[tuple[Image.Image, str]]:
    """Several photos for one drawing: dropout stays on at test time, as in the paper,
    so each seed gives a different sample (and, without a chosen colour, a different drawn one)."""
    image, hints = model_input(value, translator.config.input_kind, int(size))
    seeds = [int(seed) + i for i in range(1, count + 1)]
    return [(run(translator, image, hints, s, int(size), colour), f"seed {s}") for s in seeds]


def load_map(path: str | Path | None, kind: str) -> Image.Image:
    """An uploaded edge, sketch or label map (any size or mode), sized for the canvas."""
    image = decode(path, Path(str(path)).name if path else "upload")
    image = scaled(models.to_rgb(image, background_for(kind)), CANVAS, kind)
    return snap_to_palette(image) if kind == "labels" else image


def photo_to_edges(path: str | Path | None) -> Image.Image:
    """An uploaded photo -> HED edges sized for the canvas, ready to edit before translating."""
    from hed_edges import extract_edges  # heavy (network weights); only needed on this path

    photo = models.to_rgb(decode(path, Path(str(path)).name if path else "upload"))
    photo = shrink(photo, 2 * CANVAS, "photo")
    return extract_edges(photo, size=CANVAS).convert("RGB")


def rectangles(value: dict | None) -> Image.Image:
    """Each painted label region becomes the filled rectangle around it, as in the original facades
    demo (strokes -> boxes); larger boxes go down first so windows stay on facades."""
    image, _ = drawing(value, "labels")
    labels = nearest_label(np.asarray(image))
    out = np.empty(labels.shape + (3,), np.uint8)
    out[:] = PALETTE[0]
    boxes = []
    for index, colour in enumerate(PALETTE[1:], start=1):
        blobs, _ = ndimage.label(labels == index)
        for ys, xs in ndimage.find_objects(blobs):
            boxes.append(((xs.stop - xs.start) * (ys.stop - ys.start), colour, xs, ys))
    for _, colour, xs, ys in sorted(boxes, key=lambda b: -b[0]):
        out[ys, xs] = colour
    return Image.fromarray(out, "RGB")


def save_drawing(value: dict | None, folder: Path) -> Path | None:
    """The drawing's PNG for the download button (see `publish`)."""
    url = value.get("image") if isinstance(value, dict) else None
    if not isinstance(url, str) or not url.startswith("data:image/png;base64,"):
        return None
    return publish(data_url_bytes(url, "drawing"), folder, "drawing.png")
