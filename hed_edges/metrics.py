"""Edge-map agreement with a pixel tolerance, the way edge benchmarks score it.

Approximation: a predicted edge pixel counts as correct when a reference edge pixel lies within `tolerance`
px (Euclidean distance transform), and a reference pixel counts as found when a predicted pixel lies within
`tolerance`. The official BSDS benchmark (correspondPixels) instead solves a one-to-one bipartite matching,
so one predicted pixel can't explain two reference pixels; the distance-transform version is faster and
never lower, and the two agree closely for thin (1-px) maps such as ours.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage


def near(mask: np.ndarray, other: np.ndarray, tolerance: float) -> int:
    """How many pixels of `mask` lie within `tolerance` px of any pixel of `other`."""
    if not mask.any() or not other.any():
        return 0
    distance = ndimage.distance_transform_edt(~other)
    return int(np.count_nonzero(mask & (distance <= tolerance)))


def edge_f1(pred: np.ndarray, ref: np.ndarray, tolerance: float = 2) -> dict[str, float]:
    """Precision, recall and F1 of bool edge map `pred` against `ref` (same shape) with a px tolerance.
    Also returns the counts (matched_pred, n_pred, matched_ref, n_ref) so callers can pool over images.
    Empty maps count as perfect for their side (nothing predicted -> precision 1)."""
    pred, ref = np.asarray(pred, bool), np.asarray(ref, bool)
    if pred.shape != ref.shape:
        raise ValueError(f"edge maps differ in shape: {pred.shape} vs {ref.shape}")
    counts = {
        "matched_pred": near(pred, ref, tolerance), "n_pred": int(pred.sum()),
        "matched_ref": near(ref, pred, tolerance), "n_ref": int(ref.sum()),
    }
    return {**scores(**counts), **counts}


def frame_share(pred: np.ndarray, ref: np.ndarray, tolerance: float = 2, width: int = 10) -> float:
    """The share of `pred`'s invented edge pixels (none of `ref` within `tolerance`) that lie in the outer
    `width` px: a model that paints a frame round the image puts far more than that band's share of the
    area there (0.15 for 10 px of 256). NaN when nothing is invented."""
    pred, ref = np.asarray(pred, bool), np.asarray(ref, bool)
    invented = pred & (ndimage.distance_transform_edt(~ref) > tolerance) if ref.any() else pred
    band = np.ones_like(pred)
    band[width:-width, width:-width] = False
    total = np.count_nonzero(invented)
    return np.count_nonzero(invented & band) / total if total else float("nan")


def scores(matched_pred: int, n_pred: int, matched_ref: int, n_ref: int) -> dict[str, float]:
    """Precision/recall/F1 from match counts (also for counts summed over a data set)."""
    precision = matched_pred / n_pred if n_pred else 1.0
    recall = matched_ref / n_ref if n_ref else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}
