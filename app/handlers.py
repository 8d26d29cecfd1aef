"""What the studio's buttons do, as plain functions of PIL images and editor values.

Nothing here imports Gradio, so tests call these directly. An editor value is the dict
gr.ImageEditor passes and accepts: {"background": img, "layers": [img, ...], "composite": img}.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

import models
from hed_edges.facades import FACADE_LABELS

CANVAS = 512
WHITE = (255, 255, 255)
PALETTE = [colour for _, colour in FACADE_LABELS]


def background_for(kind: str) -> tuple[int, int, int]:
    """A blank label map is all 'background' label; every other input is drawn on white."""
    return PALETTE[0] if kind == "labels" else WHITE


def editor_value(image: Image.Image) -> dict:
    """An editor value with `image` as the (editable) background and no strokes on top."""
    return {"background": image, "layers": [], "composite": image}


def blank(kind: str) -> dict:
    return editor_value(Image.new("RGB", (CANVAS, CANVAS), background_for(kind)))


def flatten(value: dict | None, kind: str) -> Image.Image | None:
    """The picture an editor value shows, as RGB; None when the canvas holds nothing."""
    if not value:
        return None
    if value.get("composite") is not None:
        return models.to_rgb(value["composite"], background_for(kind))
    base = value.get("background")
    layers = value.get("layers") or []
    if base is None and not layers:
        return None
    size = base.size if base is not None else layers[0].size
    image = Image.new("RGBA", size, background_for(kind) + (255,))
    for layer in ([base] if base is not None else []) + list(layers):
        image.alpha_composite(layer.convert("RGBA").resize(size))
    return image.convert("RGB")


def nearest_label(rgb: np.ndarray) -> np.ndarray:
    """Index of the closest facade label colour for each pixel (HxWx3 -> HxW)."""
    palette = np.asarray(PALETTE, dtype=np.int32)
    dist = ((rgb[..., None, :].astype(np.int32) - palette) ** 2).sum(-1)
    return dist.argmin(-1)


def snap_to_palette(image: Image.Image) -> Image.Image:
    """Label maps are categorical: anti-aliased stroke edges become the nearest real label."""
    rgb = np.asarray(image.convert("RGB"))
    return Image.fromarray(np.asarray(PALETTE, dtype=np.uint8)[nearest_label(rgb)], "RGB")


def model_input(value: dict | None, kind: str) -> Image.Image:
    """The image the model will see; raises BadImageError for an empty canvas."""
    image = flatten(value, kind)
    if image is None:
        raise models.BadImageError("The canvas is empty: draw something or upload a map first.")
    return snap_to_palette(image) if kind == "labels" else image


def translate(translator: models.Translator, value: dict | None, seed: int, size: int) -> tuple[Image.Image, Image.Image]:
    """(model input, photo) for the drawing; a fixed seed keeps live updates from flickering."""
    image = model_input(value, translator.config.input_kind)
    return image, translator(image, seed=int(seed), size=int(size))


def variations(translator: models.Translator, value: dict | None, seed: int, size: int,
               count: int = 4) -> list[tuple[Image.Image, str]]:
    """Several photos for one drawing: dropout stays on at test time, as in the paper,
    so each seed gives a different sample."""
    image = model_input(value, translator.config.input_kind)
    seeds = [int(seed) + i for i in range(1, count + 1)]
    return [(translator(image, seed=s, size=int(size)), f"seed {s}") for s in seeds]


def fit_canvas(image: Image.Image, kind: str) -> Image.Image:
    """Scale so the long side is the canvas size, keeping the aspect ratio (labels: no blending)."""
    w, h = image.size
    scale = CANVAS / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return image.resize(size, Image.NEAREST if kind == "labels" else Image.LANCZOS)


def load_map(path: str | Path, kind: str) -> dict:
    """An uploaded edge, sketch or label map (any size or mode) as an editable canvas."""
    image = models.to_rgb(models.open_image(path, name=Path(path).name), background_for(kind))
    image = fit_canvas(image, kind)
    return editor_value(snap_to_palette(image) if kind == "labels" else image)


def photo_to_edges(path: str | Path) -> dict:
    """An uploaded photo -> HED edges on the canvas, ready to edit before translating."""
    from hed_edges import extract_edges  # heavy (network weights); only needed on this path

    photo = models.to_rgb(models.open_image(path, name=Path(path).name))
    edges = extract_edges(photo, size=CANVAS)
    return editor_value(edges.convert("RGB"))


def rectangles(value: dict | None, kind: str) -> dict:
    """Each painted stroke becomes the filled rectangle around it, in its label's colour,
    as in the original facades demo. Larger boxes go down first so windows stay on facades."""
    base = flatten({"background": value.get("background")}, kind) if value else None
    if base is None:
        return blank(kind)
    boxes = []
    for layer in value.get("layers") or []:
        rgba = np.asarray(layer.convert("RGBA").resize(base.size, Image.NEAREST))
        painted = rgba[..., 3] >= 128
        labels = nearest_label(rgba[..., :3])
        for index, colour in enumerate(PALETTE):
            blobs, _ = ndimage.label(painted & (labels == index))
            for ys, xs in ndimage.find_objects(blobs):
                boxes.append(((xs.stop - xs.start) * (ys.stop - ys.start), colour, xs, ys))
    out = np.asarray(base).copy()
    for _, colour, xs, ys in sorted(boxes, key=lambda b: -b[0]):
        out[ys, xs] = colour
    return editor_value(Image.fromarray(out, "RGB"))


def save_png(image: Image.Image, folder: Path, stem: str) -> Path:
    """Write `image` for download; the name is its content hash, so re-saving costs nothing."""
    digest = hashlib.sha1(f"{image.mode}{image.size}".encode() + image.tobytes()).hexdigest()[:12]
    path = folder / f"{stem}-{digest}.png"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        image.save(path)
    return path
