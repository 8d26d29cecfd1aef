"""`python -m training evaluate`: how close a model's outputs are to the real photos.

Pixel fidelity (L1, PSNR, SSIM) rewards blur, so two measures from the paper's section 4
come with it: sharpness (gradient energy relative to the real photo) and colour (Lab histogram
intersection with the real photos, the idea of paper Figure 7; per image it is read against the
same score between two different real photos, since colour is rarely implied by the input).
For edge models, structure: edges re-extracted from the output against the input edges, as a
fraction of the same score for the real photo. Two defects people see at a glance: a
checkerboard (spectral peaks at the 2/4/8-px periods of a stride-2 decoder, read against the
real photos' score) and one palette for every object (colour-spread ratio).

A hint model is also scored with 10 seeded colour hints drawn from each real photo (`hinted_*`:
how far a few strokes of the right colour take it), and `stroke_width` redraws the input lines
thicker (structure still against the 1-px lines) to check that drawn strokes leave no seams.
The model is scored on the lines as given; `thin_lines` thins them first (models.strokes; the
studio does not).
A palette model's plain scores are with its colour drawn by seed, as the studio draws it; `average_*`
are without one (its own averaged palette).
Realism for a cats model, as the paper judged realism with an off-the-shelf detector: the share of outputs
in which OpenCV's cat-face cascade (hed_edges.catfaces) finds a face, read against the same share for the
real photos (`cat_face_ratio`; 1 = as recognisable as the photos).
An ImageNet classifier's verdict (training.imagenet: torchvision's MobileNetV2), where its weights are installed:
for every model the share of outputs whose top-5 classes hold the real photo's top-1 (`imagenet_top5_agreement`),
and for a cats model the share whose top-1 is a domestic cat and the mean P(cat), outputs against photos. It is
not an independent judge of a model trained with `--perceptual` or `--projected-d` (the same network's features).
"""
from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from skimage.color import rgb2lab
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from tqdm import tqdm

from models.files import atomic_write_bytes
from models.hints import hints_image
from models.translator import load

from .config import DataConfig
from .data import DataError, PairDataset
from .hints import draw_hints
from .strokes import thicken_lines

EVAL_HINTS = 10  # hints per image in the hinted pass
FACE_SEED_STRIDE = 100_003  # --face-seeds: image i's k-th seed is seed + i + k * stride, no other image's

# Lab channel ranges and bin counts for the colour histograms.
LAB_BINS = {"L": (0.0, 100.0, 50), "a": (-110.0, 110.0, 110), "b": (-110.0, 110.0, 110)}


def gradient_energy(rgb: np.ndarray) -> float:
    """Mean squared gradient of luminance: higher is sharper."""
    gray = rgb.astype(np.float64).mean(axis=2) / 255.0
    gy, gx = np.gradient(gray)
    return float((gx**2 + gy**2).mean())


def lab_histograms(rgb: np.ndarray) -> dict[str, np.ndarray]:
    lab = rgb2lab(rgb)
    out = {}
    for i, (name, (lo, hi, bins)) in enumerate(LAB_BINS.items()):
        out[name] = np.histogram(lab[..., i], bins=bins, range=(lo, hi))[0].astype(np.float64)
    return out


def intersection(h1: np.ndarray, h2: np.ndarray) -> float:
    """Histogram intersection of two (unnormalised) histograms, in [0, 1]."""
    return float(np.minimum(h1 / max(h1.sum(), 1), h2 / max(h2.sum(), 1)).sum())


def colour_score(h1: dict[str, np.ndarray], h2: dict[str, np.ndarray]) -> float:
    """Per-image colour: the Lab histogram intersection, averaged over the channels."""
    return float(np.mean([intersection(h1[k], h2[k]) for k in LAB_BINS]))


def mean_pairwise_intersection(hists: list[dict[str, np.ndarray]]) -> float:
    """Mean colour intersection over all pairs of different images.

    Computed on the real photos, this is the per-image score of a model whose colours are
    realistic but not guessed from the input: the level to read the per-image score against,
    since one edge map fits a red shoe and a black one alike.
    """
    if len(hists) < 2:
        return float("nan")
    n, scores = len(hists), []
    for k in LAB_BINS:
        h = np.stack([x[k] / max(x[k].sum(), 1) for x in hists])
        pair = np.minimum(h[:, None, :], h[None, :, :]).sum(axis=2)
        scores.append((pair.sum() - np.trace(pair)) / (n * (n - 1)))
    return float(np.mean(scores))


def checkerboard_score(rgb: np.ndarray, radius: int = 4) -> float:
    """How far the spectrum peaks at the 2/4/8-px periods a stride-2 decoder leaves.

    Log-magnitude spectrum of the Hann-windowed grayscale image; at every frequency whose
    period along y and x is 2, 4, 8 px or none (not both none), the value there minus the median
    of its (2 * radius + 1)^2 neighbourhood, averaged. Photos score about 0; a woven grid > 0.4.
    """
    gray = rgb.astype(np.float64).mean(axis=2) if rgb.ndim == 3 else rgb.astype(np.float64)
    h, w = gray.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    spectrum = np.log(np.abs(np.fft.fft2((gray - gray.mean()) * window)) + 1e-8)
    offsets = np.arange(-radius, radius + 1)
    scores = []
    # Periods 2, 4, 8 px and their mirror frequencies; the spectrum is periodic, so indices wrap.
    fys = {0} | {round(h / p) % h for p in (2, 4, 8, -4, -8)}
    fxs = {0} | {round(w / p) % w for p in (2, 4, 8, -4, -8)}
    for fy in fys:
        for fx in fxs:
            if fy == fx == 0:
                continue
            patch = spectrum[np.ix_((fy + offsets) % h, (fx + offsets) % w)]
            scores.append(spectrum[fy, fx] - np.median(patch))
    return float(np.mean(scores))


def lab_mean_ab(rgb: np.ndarray) -> np.ndarray:
    """Mean Lab a*, b* of an image: its overall colour."""
    return rgb2lab(rgb)[..., 1:].reshape(-1, 2).mean(axis=0)


def color_spread_ratio(fake_ab: np.ndarray, real_ab: np.ndarray) -> float:
    """Spread (std across images) of the outputs' mean a*, b* over the real photos' (mean of the two).

    1 = outputs vary in colour as much as the photos do; near 0 = one palette for everything.
    """
    fake_std, real_std = np.std(fake_ab, axis=0), np.std(real_ab, axis=0)
    if len(fake_ab) < 2 or not (real_std > 0).all():
        return float("nan")
    return float(np.mean(fake_std / real_std))


def l1_distance(fake: np.ndarray, real: np.ndarray) -> float:
    """Mean absolute error in [-1, 1] units, as the generator is trained."""
    return float(np.abs(fake.astype(np.float64) - real).mean() / 127.5)


def to_uint8(t) -> np.ndarray:
    return ((t.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()


def pixel_scores(fake: np.ndarray, real: np.ndarray, hf: dict, hr: dict) -> dict:
    """Fidelity and colour of one output: L1, PSNR, SSIM (blur scores well on these), sharpness, the Lab histogram
    intersection (hf, hr: the output's and the photo's histograms) and the checkerboard of each."""
    return {
        "L1": l1_distance(fake, real),
        "PSNR": float(peak_signal_noise_ratio(real, fake, data_range=255)),
        "SSIM": float(structural_similarity(real, fake, channel_axis=2, data_range=255)),
        "sharpness_ratio": gradient_energy(fake) / max(gradient_energy(real), 1e-12),
        "color_intersection": colour_score(hf, hr),
        "checkerboard": checkerboard_score(fake),
        "checkerboard_real": checkerboard_score(real),
    }


def structure_scores(fake: np.ndarray, real: np.ndarray, ref: np.ndarray) -> dict:
    """Edges found again in the output against the input lines `ref` (1 px), beside the real photo's. Precision
    and recall say which way structure fails: invented edges, or drawn lines left out."""
    from hed_edges import extract_edges
    from hed_edges.metrics import edge_f1, frame_share

    found = np.asarray(extract_edges(Image.fromarray(fake), size=None)) < 128
    scored = edge_f1(found, ref)
    f1_real = edge_f1(np.asarray(extract_edges(Image.fromarray(real), size=None)) < 128, ref)["f1"]
    return {"edge_f1_fake": scored["f1"], "edge_f1_real": f1_real, "edge_precision_fake": scored["precision"],
            "edge_recall_fake": scored["recall"], "edge_frame_fake": frame_share(found, ref)}


def judge_scores(fakes: list[np.ndarray], real: np.ndarray, cat_faces: bool, classifier) -> dict:
    """Off-the-shelf judges of realism: OpenCV's cat-face detector over every seed's output in `fakes` (the share
    with a face), and the ImageNet classifier's verdict on the first."""
    row: dict = {}
    if cat_faces:
        from hed_edges.catfaces import has_face

        row.update(cat_face_fake=float(np.mean([has_face(f) for f in fakes])), cat_face_real=float(has_face(real)))
    if classifier is not None:
        from .imagenet import CAT_CLASSES

        p_fake, p_real = classifier.probabilities(fakes[0]), classifier.probabilities(real)
        row["imagenet_top5_agree"] = float(int(p_real.argmax()) in p_fake.topk(5).indices.tolist())
        if cat_faces:
            row.update(imagenet_cat_fake=float(int(p_fake.argmax()) in CAT_CLASSES),
                       imagenet_cat_real=float(int(p_real.argmax()) in CAT_CLASSES),
                       imagenet_p_cat_fake=float(p_fake[list(CAT_CLASSES)].sum()),
                       imagenet_p_cat_real=float(p_real[list(CAT_CLASSES)].sum()))
    return row


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("nan")


def summarise(per_image: list[dict], pooled: dict, judges: dict) -> dict:
    """Means of the per-image scores by family, and the dataset-level colour figures (paper Fig. 7) from
    `pooled` (summed histograms, per-image mean a*b*)."""
    def mean(key: str) -> float:
        vals = [r[key] for r in per_image if key in r and math.isfinite(r[key])]
        return float(np.mean(vals)) if vals else float("nan")

    summary = {k: mean(k) for k in ("L1", "PSNR", "SSIM", "sharpness_ratio", "color_intersection")}
    real_ab = np.array(pooled["real_ab"])
    if pooled["average_ab"]:
        summary.update({k: mean(k) for k in ("average_PSNR", "average_color_intersection")})
        summary["average_color_spread_ratio"] = color_spread_ratio(np.array(pooled["average_ab"]), real_ab)
    if judges["hints"]:
        summary.update({k: mean(k) for k in ("hinted_L1", "hinted_PSNR", "hinted_color_intersection")})
        summary["hints"] = EVAL_HINTS
    summary["color_intersection_pooled"] = colour_score(pooled["fake_hist"], pooled["real_hist"])
    summary["color_intersection_real_pairs"] = mean_pairwise_intersection(pooled["real_hists"])
    summary["color_spread_ratio"] = color_spread_ratio(np.array(pooled["fake_ab"]), real_ab)
    summary["checkerboard"], summary["checkerboard_real"] = mean("checkerboard"), mean("checkerboard_real")
    if judges["structure"]:
        f1_fake, f1_real = mean("edge_f1_fake"), mean("edge_f1_real")
        summary.update(edge_f1_fake=f1_fake, edge_f1_real=f1_real, edge_precision_fake=mean("edge_precision_fake"),
                       edge_recall_fake=mean("edge_recall_fake"), edge_frame_fake=mean("edge_frame_fake"),
                       structure_ratio=ratio(f1_fake, f1_real))
    if judges["cat_faces"]:
        found, real_found = mean("cat_face_fake"), mean("cat_face_real")
        summary.update(cat_faces_fake=found, cat_faces_real=real_found, cat_face_ratio=ratio(found, real_found))
    if judges["classifier"] is not None:
        summary["imagenet_top5_agreement"] = mean("imagenet_top5_agree")
        if judges["cat_faces"]:
            cats, real_cats = mean("imagenet_cat_fake"), mean("imagenet_cat_real")
            summary.update(imagenet_cat_fake=cats, imagenet_cat_real=real_cats,
                           imagenet_cat_ratio=ratio(cats, real_cats), imagenet_p_cat_fake=mean("imagenet_p_cat_fake"),
                           imagenet_p_cat_real=mean("imagenet_p_cat_real"))
    summary["pairs"] = len(per_image)
    return summary


def evaluate(model_dir: str | Path, data: str | Path, out: str | Path, split: str = "val",
             direction: str = "AtoB", limit: int = 0, structure: bool = True, device: str = "cpu",
             seed: int = 0, stroke_width: int = 1, thin_lines: bool = False, cat_faces: bool | None = None,
             face_seeds: int = 1, imagenet: bool | None = None) -> dict:
    """Translate every pair of `split`, write input|output|target images and metrics.json.

    Hint models also get input | output | hints | hinted output | target grids and `hinted_*` scores.
    `cat_faces` (default: for models with "cat" in their name) adds the cat-face detector's realism score;
    `face_seeds` > 1 asks the detector about that many dropout seeds of each output and scores the share (one
    seed's verdict is noisy: docs/measurements.md). `imagenet` (default: where its weights are installed) adds the
    ImageNet classifier's verdicts; the cat ones go with `cat_faces`."""
    from .imagenet import available

    translator = load(model_dir, device=device)
    kind = translator.config.input_kind
    if stroke_width > 1 and not translator.takes_lines:
        raise DataError(f"--stroke-width redraws lines: {Path(model_dir).name} takes {kind}, not edges or sketches")
    judges = {"structure": structure and translator.takes_lines, "hints": translator.accepts_hints,
              "cat_faces": "cat" in translator.config.name.lower() if cat_faces is None else cat_faces,
              "classifier": None}
    if imagenet or (imagenet is None and available()):
        from .imagenet import Classifier

        judges["classifier"] = Classifier()  # ImageNetWeightsError says how to install the weights
    cfg = DataConfig(root=str(data), direction=direction, jitter=False, flip=False)
    pairs = PairDataset(data, cfg, split, nearest_input=kind == "labels", train=False)
    n = min(limit, len(pairs)) if limit else len(pairs)
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    per_image = []
    pooled: dict = {"fake_hist": {k: 0.0 for k in LAB_BINS}, "real_hist": {k: 0.0 for k in LAB_BINS},
                    "real_hists": [], "fake_ab": [], "real_ab": [], "average_ab": []}
    for i in tqdm(range(n), desc=f"evaluating {Path(model_dir).name}", leave=False):
        a, b = pairs.batch([i])
        inp, real = to_uint8(a[0]), to_uint8(b[0])
        ref = inp.mean(axis=2) < 128  # the 1-px input lines, also when the model is fed thicker ones
        if stroke_width > 1:
            inp = thicken_lines(inp, stroke_width)
        translate = functools.partial(translator, Image.fromarray(inp), seed=seed + i, size=cfg.crop_size,
                                      thin_lines=thin_lines)
        fake = np.asarray(translate())
        hf, hr = lab_histograms(fake), lab_histograms(real)
        row = {"file": pairs.files[i].name, **pixel_scores(fake, real, hf, hr)}
        pooled["real_hists"].append(hr)
        pooled["fake_ab"].append(lab_mean_ab(fake))
        pooled["real_ab"].append(lab_mean_ab(real))
        for k in LAB_BINS:
            pooled["fake_hist"][k] = pooled["fake_hist"][k] + hf[k]
            pooled["real_hist"][k] = pooled["real_hist"][k] + hr[k]
        if judges["structure"]:
            row.update(structure_scores(fake, real, ref))
        seeds = range(1, face_seeds) if judges["cat_faces"] else ()
        others = [np.asarray(translate(seed=seed + i + FACE_SEED_STRIDE * k)) for k in seeds]
        row.update(judge_scores([fake, *others], real, judges["cat_faces"], judges["classifier"]))
        if translator.has_palette:  # its own averaged palette (no colour given), beside the drawn colour
            average = np.asarray(translate(colour=None))
            row.update(average_PSNR=float(peak_signal_noise_ratio(real, average, data_range=255)),
                       average_color_intersection=colour_score(lab_histograms(average), hr))
            pooled["average_ab"].append(lab_mean_ab(average))
        columns = [inp, fake, real]
        if judges["hints"]:
            layer = hints_image(draw_hints(b[0], EVAL_HINTS, torch.Generator().manual_seed(seed * 1_000_003 + i)))
            hinted = np.asarray(translate(hints=layer))
            row.update(hinted_L1=l1_distance(hinted, real),
                       hinted_PSNR=float(peak_signal_noise_ratio(real, hinted, data_range=255)),
                       hinted_color_intersection=colour_score(lab_histograms(hinted), hr))
            shown = np.asarray(Image.alpha_composite(Image.fromarray(inp).convert("RGBA"), layer).convert("RGB"))
            columns = [inp, fake, shown, hinted, real]
        per_image.append(row)
        Image.fromarray(np.concatenate(columns, axis=1)).save(out / "images" / f"{Path(pairs.files[i]).stem}.png")
    result = {"model": str(model_dir), "data": str(data), "split": split, "seed": seed, "stroke_width": stroke_width,
              "thin_lines": thin_lines, **({"face_seeds": face_seeds} if judges["cat_faces"] else {}),
              "summary": summarise(per_image, pooled, judges), "per_image": per_image}
    atomic_write_bytes(out / "metrics.json", json.dumps(result, indent=2).encode())
    return result
