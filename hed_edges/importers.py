"""Ready-made paired sets -> the AtoB layout the trainer reads (left = edges, right = photo)."""
from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from models.images import BadImageError, open_image, to_rgb

from .pairs import (
    EDGES2PHOTO,
    IMAGE_SUFFIXES,
    MANIFEST,
    SPLITS,
    NothingBuiltError,
    count_pairs,
    remove_stale_temps,
    require_pairs,
    save_atomic,
    side_by_side,
    write_json_atomic,
)


def halves(pair, name: str):
    """(left, right) halves of a side-by-side pair."""
    w, h = pair.size
    if w % 2 or w < 2:
        raise BadImageError(f"{name}: {w}x{h} is not a side-by-side pair (odd width)")
    return pair.crop((0, 0, w // 2, h)), pair.crop((w // 2, 0, w, h))


def import_paired(src_dir: str | Path, out_dir: str | Path, photo_side: str = "left",
                  progress: bool = True, layout: dict[str, str] = EDGES2PHOTO) -> dict:
    """Rewrite SRC_DIR/{train,val,test}/*.jpg pairs as edges|photo into OUT_DIR/<same split>/<same name>.
    photo_side says where the photo is in the source ('left' for the shared edges2shoes/edges2handbags);
    layout is the manifest's kind and layout (LABELS2FACADE for the official facades set).
    Existing outputs are kept (resumable); unreadable files are skipped and listed in dataset.json;
    NothingBuiltError when OUT_DIR ends up with no pair."""
    if photo_side not in ("left", "right"):
        raise ValueError(f"photo_side must be 'left' or 'right', not {photo_side!r}")
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    splits = [s for s in SPLITS if (src_dir / s).is_dir()]
    if not splits:
        raise FileNotFoundError(f"{src_dir}: no train/, val/ or test/ folder of pairs")
    remove_stale_temps(out_dir)
    files = [f for s in splits for f in sorted((src_dir / s).iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise NothingBuiltError(f"{src_dir}: no pair images in {', '.join(s + '/' for s in splits)}")
    skipped = []
    for src in tqdm(files, desc=f"import {src_dir.name}", unit="pair", disable=not progress):
        rel = src.relative_to(src_dir).as_posix()
        out = out_dir / rel
        if out.exists():
            continue
        try:
            left, right = halves(to_rgb(open_image(src, name=rel)), rel)
        except BadImageError as e:
            skipped.append({"file": rel, "reason": str(e)})
            continue
        edges, photo = (right, left) if photo_side == "left" else (left, right)
        save_atomic(side_by_side(edges, photo), out)
    data = {
        **layout,
        "source": str(src_dir.resolve()), "imported_from": f"photo on the {photo_side}",
        "counts": count_pairs(out_dir), "skipped": skipped,
    }
    write_json_atomic(data, out_dir / MANIFEST)
    return require_pairs(data, out_dir, len(files), "pairs")
