"""What every dataset writer here shares: pix2pix AtoB pairs, hash splits, crash-safe writes, the manifest."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from PIL import Image, ImageOps

SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
MANIFEST = "dataset.json"
# What dataset.json says of the pairs: edges (HED, Canny, the official edges2* sets) or facade labels.
EDGES2PHOTO = {"kind": "edges2photo", "layout": "AtoB: left = edges (black on white), right = photo"}
LABELS2FACADE = {"kind": "labels2facade", "layout": "AtoB: left = label colours, right = photo"}


def split_of(key: str, ratios: tuple[float, ...]) -> str:
    """Split for `key` (a relative path) from its sha1: stable, so adding photos never moves old ones."""
    u = int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:12], 16) / 16**12
    total, edge = sum(ratios), 0.0
    for name, ratio in zip(SPLITS, ratios):
        edge += ratio / total
        if u < edge:
            return name
    return SPLITS[len(ratios) - 1]


def parse_split(text: str) -> tuple[float, ...]:
    """'0.9,0.05,0.05' -> (0.9, 0.05, 0.05) for train, val, test (1 to 3 non-negative numbers)."""
    try:
        ratios = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"--split {text!r}: expected numbers like 0.9,0.05,0.05") from None
    if not 1 <= len(ratios) <= 3 or min(ratios) < 0 or sum(ratios) <= 0:
        raise ValueError(f"--split {text!r}: give 1 to 3 non-negative ratios for train,val,test")
    return ratios


def square(image: Image.Image, size: int, fit: str = "crop", fill=(255, 255, 255)) -> Image.Image:
    """Centre-crop ('crop') or pad with `fill` ('pad') to a square, then resize to size x size."""
    if fit == "crop":
        return ImageOps.fit(image, (size, size), Image.Resampling.BICUBIC)
    if fit == "pad":
        return ImageOps.pad(image, (size, size), Image.Resampling.BICUBIC, color=fill)
    raise ValueError(f"fit must be 'crop' or 'pad', not {fit!r}")


def side_by_side(left: Image.Image, right: Image.Image) -> Image.Image:
    """The AtoB pair the trainer reads: left = input (edges or labels), right = target photo."""
    pair = Image.new("RGB", (left.width + right.width, max(left.height, right.height)), (255, 255, 255))
    pair.paste(left.convert("RGB"), (0, 0))
    pair.paste(right.convert("RGB"), (left.width, 0))
    return pair


def save_atomic(image: Image.Image, path: Path) -> None:
    """Write via a temp file in the same folder and os.replace, so a kill never leaves a torn image."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if path.suffix.lower() in (".jpg", ".jpeg"):
                image.save(f, "JPEG", quality=95)
            else:
                image.save(f, "PNG")
        os.replace(tmp, path)
    except BaseException:
        os.remove(tmp)
        raise


def write_json_atomic(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def read_manifest(out_dir: Path) -> dict | None:
    path = out_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: unreadable manifest ({e}); delete it to start over") from e


def remove_stale_temps(out_dir: Path) -> None:
    """Drop temp files a killed run left behind (they were never renamed into place)."""
    for tmp in out_dir.glob("*/.*.tmp"):
        tmp.unlink(missing_ok=True)


class NothingBuiltError(ValueError):
    """A build or import that leaves no pair at all (no inputs, or every one skipped): nothing to train on."""


def require_pairs(data: dict, out_dir: Path, tried: int, what: str) -> dict:
    """`data` (a written manifest) if OUT_DIR holds at least one pair; else NothingBuiltError saying why."""
    if sum(data["counts"].values()):
        return data
    first = data["skipped"][0]["reason"] if data["skipped"] else "none"
    raise NothingBuiltError(f"{out_dir}: no pairs made; {len(data['skipped'])} of {tried} {what} skipped "
                            f"(first: {first}); see {out_dir / MANIFEST}")


def count_pairs(out_dir: Path) -> dict[str, int]:
    return {
        s: sum(1 for p in (out_dir / s).iterdir()
               if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
        for s in SPLITS if (out_dir / s).is_dir()
    }
