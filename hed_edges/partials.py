"""Pairs for the shadow's completion route (issue 40): some of an edge map's strokes | the whole edge map, so that
a pix2pix learns where the rest of a drawing goes (Interactive Sketch & Fill, Ghosh et al. 2019)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.measure import label
from tqdm import tqdm

from models.images import BadImageError, open_image

from . import pairs
from .importers import halves

PARTIAL2EDGES = {"kind": "partial2edges", "layout": "AtoB: left = some strokes of an edge map, right = all of them"}
KEEP = (0.3, 0.7)  # the share of strokes a partial drawing keeps, drawn uniformly


def keep_strokes(lines: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    """The ink of a random `share` of the strokes (8-connected components) of a bool line mask; at least one."""
    parts, n = label(lines, connectivity=2, return_num=True)
    kept = rng.permutation(n)[: max(1, round(n * share))] + 1
    return np.isin(parts, kept)


def build_partials(src_dir: str | Path, out_dir: str | Path, copies: int = 3, progress: bool = True) -> dict:
    """For each edges|photo pair of SRC_DIR's splits, `copies` pairs partial|whole edge map in OUT_DIR (PNG, the
    same split). Each copy's strokes are drawn from a generator seeded by its name, so a rerun resumes and
    rebuilds the same pairs."""
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    pairs.remove_stale_temps(out_dir)
    files = [f for s in pairs.SPLITS if (src_dir / s).is_dir() for f in sorted((src_dir / s).iterdir())
             if f.suffix.lower() in pairs.IMAGE_SUFFIXES]
    if not files:
        raise pairs.NothingBuiltError(f"{src_dir}: no pair images in train/, val/ or test/")
    skipped = []
    for src in tqdm(files, desc=f"partials of {src_dir.name}", unit="map", disable=not progress):
        rel = src.relative_to(src_dir)
        outs = [out_dir / rel.parent / f"{rel.stem}_{k}.png" for k in range(copies)]
        if all(o.exists() for o in outs):
            continue
        try:
            edges = halves(open_image(src, name=rel.as_posix()), rel.as_posix())[0].convert("L")
        except BadImageError as e:
            skipped.append({"file": rel.as_posix(), "reason": str(e)})
            continue
        lines = np.asarray(edges) < 128
        for k, out in enumerate(outs):
            seed = int.from_bytes(hashlib.sha256(f"{rel.as_posix()}:{k}".encode()).digest()[:8], "little")
            rng = np.random.default_rng(seed)
            partial = keep_strokes(lines, rng, rng.uniform(*KEEP))
            drawn = Image.fromarray(np.where(partial, 0, 255).astype(np.uint8))
            pairs.save_atomic(pairs.side_by_side(drawn, edges), out)
    data = {**PARTIAL2EDGES, "source": str(src_dir.resolve()), "copies": copies, "keep": KEEP,
            "counts": pairs.count_pairs(out_dir), "skipped": skipped}
    pairs.write_json_atomic(data, out_dir / pairs.MANIFEST)
    return pairs.require_pairs(data, out_dir, len(files), "maps")
