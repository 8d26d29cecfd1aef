"""CMP Facade labels: names and the colours pix2pix's facades set uses (label value v -> LABELS[v-1]),
and the importer that turns the CMP photos + label maps into label|photo pairs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from models.images import BadImageError, open_image, to_rgb

from .pairs import (
    LABELS2FACADE,
    MANIFEST,
    count_pairs,
    remove_stale_temps,
    require_pairs,
    save_atomic,
    side_by_side,
    split_of,
    write_json_atomic,
)

FACADE_LABELS: list[tuple[str, tuple[int, int, int]]] = [
    ("background", (0, 0, 170)),
    ("facade", (0, 0, 255)),
    ("window", (0, 85, 255)),
    ("door", (0, 170, 255)),
    ("cornice", (0, 255, 255)),
    ("sill", (85, 255, 170)),
    ("balcony", (170, 255, 85)),
    ("blind", (255, 255, 0)),
    ("deco", (255, 170, 0)),
    ("molding", (255, 85, 0)),
    ("pillar", (255, 0, 0)),
    ("shop", (170, 0, 0)),
]


def label_image(labels: Image.Image, name: str) -> Image.Image:
    """Label map (palette or grey PNG, values 1..12) -> the pix2pix facade colours."""
    if labels.mode not in ("P", "L"):
        raise BadImageError(f"{name}: label map must be a palette or greyscale PNG of values 1..12, "
                            f"not {labels.mode}")
    values = np.asarray(labels)
    bad = np.setdiff1d(np.unique(values), np.arange(1, len(FACADE_LABELS) + 1))
    if bad.size:
        raise BadImageError(f"{name}: label values {bad.tolist()} outside 1..{len(FACADE_LABELS)}")
    palette = np.array([(0, 0, 0)] + [colour for _, colour in FACADE_LABELS], np.uint8)
    return Image.fromarray(palette[values], "RGB")


def import_facades(src_dir: str | Path, out_dir: str | Path, size: int = 256, val_fraction: float = 0.1,
                   progress: bool = True) -> dict:
    """CMP facades (cmp_*.jpg photo + cmp_*.png label map) -> label|photo pairs at size x size in
    OUT_DIR/train and OUT_DIR/val (split by a hash of the name). Both sides are stretched to the square, as
    pix2pix's facades set is; labels with NEAREST so no new colours appear. NothingBuiltError when no pair
    is made (dataset.json lists why each photo was skipped)."""
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    photos = sorted(src_dir.glob("*.jpg"))
    if not photos:
        raise FileNotFoundError(f"{src_dir}: no facade photos (*.jpg beside *.png label maps)")
    remove_stale_temps(out_dir)
    skipped = []
    for photo_path in tqdm(photos, desc="import facades", unit="pair", disable=not progress):
        label_path = photo_path.with_suffix(".png")
        out = out_dir / split_of(photo_path.name, (1 - val_fraction, val_fraction)) / f"{photo_path.stem}.jpg"
        if out.exists():
            continue
        try:
            if not label_path.is_file():
                raise BadImageError(f"{photo_path.name}: no label map {label_path.name} beside it")
            photo = to_rgb(open_image(photo_path, name=photo_path.name))
            labels = label_image(open_image(label_path, name=label_path.name), label_path.name)
            if labels.size != photo.size:
                raise BadImageError(f"{label_path.name}: {labels.size} label map for a {photo.size} photo")
        except BadImageError as e:
            skipped.append({"file": photo_path.name, "reason": str(e)})
            continue
        square = (size, size)
        save_atomic(side_by_side(labels.resize(square, Image.Resampling.NEAREST),
                                 photo.resize(square, Image.Resampling.BICUBIC)), out)
    data = {
        **LABELS2FACADE,
        "source": str(src_dir.resolve()), "size": size, "split": [1 - val_fraction, val_fraction],
        "labels": [{"value": i, "name": n, "colour": list(c)} for i, (n, c) in enumerate(FACADE_LABELS, 1)],
        "counts": count_pairs(out_dir), "skipped": skipped,
    }
    write_json_atomic(data, out_dir / MANIFEST)
    return require_pairs(data, out_dir, len(photos), "photos")
