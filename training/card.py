"""Model cards: what a shipped model draws well and badly, its samples and key figures first; then what it was
trained on and how. The runs that led to it are the folder's NOTES.md, linked, not repeated; SUMMARY.md (hand
written) says what it draws well and where it is weak. The README's model table comes from the same figures."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from models import shadow
from models.config import ModelConfig
from models.files import atomic_write_bytes
from models.folder import DISCRIMINATOR, SHADOW
from models.networks import PALETTE_PRIOR

METRIC_ROWS = [
    ("L1", "L1 to the real photo ([-1, 1] scale, lower is better)", "{:.3f}"),
    ("PSNR", "PSNR, dB (higher is better)", "{:.2f}"),
    ("SSIM", "SSIM (higher is better)", "{:.3f}"),
    ("sharpness_ratio", "gradient energy / real photo's (1 = as sharp as real)", "{:.2f}"),
    ("color_intersection", "Lab histogram intersection with the real photo, per image (target >= 0.8)", "{:.3f}"),
    ("color_intersection_real_pairs",
     "the same between two different real photos (what realistic but unguessed colours score)", "{:.3f}"),
    ("color_intersection_pooled", "Lab histogram intersection, whole val set pooled (paper Fig. 7)", "{:.3f}"),
    ("color_spread_ratio", "spread of per-image mean colour (Lab a*, b* std across images) / real photos' "
     "(1 = as varied as the photos; target >= 0.6)", "{:.2f}"),
    ("checkerboard", "checkerboard score: log-spectrum peaks at 2/4/8-px periods (0 = none; target: within 0.2 "
     "of the real photos')", "{:.2f}"),
    ("checkerboard_real", "the same for the real photos", "{:.2f}"),
    ("hinted_L1", "L1 with 10 colour hints taken from the real photo (hint models only)", "{:.3f}"),
    ("hinted_PSNR", "PSNR with those hints, dB (target: 3 dB above the no-hint PSNR)", "{:.2f}"),
    ("hinted_color_intersection", "Lab histogram intersection per image with those hints (target >= 0.85)",
     "{:.3f}"),
    ("average_PSNR", "PSNR without a drawn colour (palette models: the model's own averaged palette), dB", "{:.2f}"),
    ("average_color_intersection", "Lab histogram intersection per image without a drawn colour", "{:.3f}"),
    ("average_color_spread_ratio", "colour spread without a drawn colour", "{:.2f}"),
    ("structure_ratio", "edge F1 (2 px) of output vs input edges / same F1 for the real photo (target >= 0.8)",
     "{:.3f}"),
    ("edge_f1_fake", "edge F1 of output vs input edges", "{:.3f}"),
    ("edge_f1_real", "edge F1 of the real photo vs input edges", "{:.3f}"),
    ("edge_precision_fake", "edge precision of the output: its edges that are input lines (low = invented edges)",
     "{:.3f}"),
    ("edge_recall_fake", "edge recall of the output: input lines found in it (low = lines left out)", "{:.3f}"),
    ("edge_frame_fake", "share of the output's invented edges in the outer 10 px (15% of the area; more = a frame)",
     "{:.2f}"),
    ("cat_face_ratio", "outputs in which OpenCV's cat-face detector finds a face / real photos in which it does "
     "(1 = as recognisable as the photos)", "{:.2f}"),
    ("cat_faces_fake", "share of outputs with a cat face found", "{:.2f}"),
    ("cat_faces_real", "share of real photos with a cat face found", "{:.2f}"),
    ("imagenet_top5_agreement", "outputs whose top-5 ImageNet classes (torchvision's MobileNetV2) hold the real "
     "photo's top-1 class", "{:.2f}"),
    ("imagenet_cat_ratio", "outputs the ImageNet classifier calls a domestic cat (top-1) / real photos it does",
     "{:.2f}"),
    ("imagenet_cat_fake", "share of outputs whose ImageNet top-1 is a domestic cat", "{:.2f}"),
    ("imagenet_cat_real", "share of real photos whose ImageNet top-1 is a domestic cat", "{:.2f}"),
    ("imagenet_p_cat_fake", "mean ImageNet P(domestic cat) of the outputs", "{:.2f}"),
    ("imagenet_p_cat_real", "mean ImageNet P(domestic cat) of the real photos", "{:.2f}"),
]


UPSAMPLING = {"deconv": "4x4 stride-2 transposed conv (the paper)", "resize": "resize-conv (nearest x2, 3x3 conv)",
              "subpixel": "sub-pixel conv (3x3 conv, PixelShuffle, ICNR init)"}
PADDING = {"reflect": "convs mirror the image past its border",
           "reflect-outer": "convs mirror the image past its border where maps are 1/8 of the image or more, "
                            "zero-pad deeper"}
FILL_WHAT = {"nearest": "geodesic nearest hint's colour", "harmonic": "hint colours blended smoothly between lines"}


# The figures that matter, for the card's first screen and the README's model table: (metric, column, format).
KEY_FIGURES = [
    ("PSNR", "PSNR (dB)", "{:.1f}"),
    ("hinted_PSNR", "with 10 colour hints (dB)", "{:.1f}"),
    ("color_intersection_pooled", "colour, pooled", "{:.2f}"),
    ("structure_ratio", "structure", "{:.2f}"),
]
# The card adds the two defects its scores were made for, each beside what real photos score.
CARD_FIGURES = KEY_FIGURES + [
    ("color_spread_ratio", "colour spread", "{:.2f}"),
    ("checkerboard", "checkerboard (real photos)", "{:.2f}"),
    ("cat_face_ratio", "cat faces found / in the photos", "{:.2f}"),
    ("imagenet_top5_agreement", "ImageNet: photo's class in top-5", "{:.2f}"),
    ("imagenet_cat_ratio", "ImageNet: cats / in the photos", "{:.2f}"),
]
# Trained with ImageNet features (--perceptual, --projected-d): the classifier's verdict is no longer independent.
IMAGENET_OPTIONS = {"perceptual": "an ImageNet feature loss (--perceptual)",
                    "projected_d": "a projected discriminator on ImageNet features (--projected-d)"}
# docs/measurements.md's table: every headline score of each model.
ALL_FIGURES = [
    ("L1", "L1", "{:.3f}"), ("PSNR", "PSNR", "{:.1f}"), ("SSIM", "SSIM", "{:.3f}"),
    ("sharpness_ratio", "sharpness", "{:.2f}"),
    ("color_intersection", "colour per image (two real photos)", "{:.2f}"),
    ("color_intersection_pooled", "colour, pooled", "{:.2f}"), ("color_spread_ratio", "colour spread", "{:.2f}"),
    ("checkerboard", "checkerboard (real photos)", "{:.2f}"), ("structure_ratio", "structure", "{:.2f}"),
    ("average_PSNR", "PSNR without a colour", "{:.1f}"), ("hinted_PSNR", "with 10 hints: PSNR", "{:.1f}"),
    ("hinted_color_intersection", "with 10 hints: colour", "{:.2f}"),
    ("imagenet_top5_agreement", "ImageNet: photo's class in top-5", "{:.2f}"),
]
HAND_DRAWN = "drawn.jpg"  # benchmarks/hand_drawn.py --sheet: a drawing as a person draws it, 3/6/12 px pens, 4 seeds


def figure(metrics: dict, key: str, fmt: str) -> str:
    if key not in metrics:
        return "-"
    text = fmt.format(metrics[key])
    beside = {"checkerboard": "checkerboard_real", "color_intersection": "color_intersection_real_pairs"}.get(key)
    if beside in metrics:
        text += f" ({metrics[beside]:.2f})"
    return text


def trained(training: dict) -> tuple[float, float]:
    """Epochs and wall hours of a model and every model it was fine-tuned from."""
    epochs, seconds = training.get("epochs", 0), training.get("wall_seconds", 0)
    if isinstance(training.get("init_from"), dict):
        more_epochs, more_hours = trained(training["init_from"])
        return epochs + more_epochs, seconds / 3600 + more_hours
    return epochs, seconds / 3600


def models_table(assets: Path, titles: dict[str, str], columns: list = KEY_FIGURES, up: str = "") -> str:
    """The shipped models' table (README: KEY_FIGURES; docs/measurements.md: ALL_FIGURES, links one folder `up`):
    one row each, the figures from its config.json (= metrics.json), a link to its card."""
    lines = ["| model | " + " | ".join(c for _, c, _ in columns) + " | trained on CPU, all runs | card |",
             "|---" * (len(columns) + 3) + "|"]
    for name, title in titles.items():
        config = ModelConfig.from_file(assets / name / "config.json")
        epochs, hours = trained(config.training)
        cells = [figure(config.metrics, key, fmt) for key, _, fmt in columns]
        lines.append(f"| {title} | " + " | ".join(cells) + f" | {epochs:.0f} epochs, {hours:.1f} h | "
                     f"[{name}]({up}assets/models/{name}/README.md) |")
    return "\n".join(lines)


def sample_sheet(eval_dir: Path, out: Path, rows: int = 6) -> bool:
    """Stack the first val triplets (input | output | ground truth) into one JPEG."""
    images = sorted((eval_dir / "images").glob("*.png"))[:rows]
    if not images:
        return False
    sheet = np.concatenate([np.asarray(Image.open(p).convert("RGB")) for p in images], axis=0)
    Image.fromarray(sheet).save(out, quality=90)
    return True


def write_card(recipe, dest: Path, config: ModelConfig, eval_dir: Path | None = None) -> Path:
    """README.md for a shipped model; without `eval_dir` the folder's existing sample sheet is kept."""
    t = config.training
    g = config.generator
    if eval_dir is not None:
        sample_sheet(eval_dir, dest / "samples.jpg")
    has_samples = (dest / "samples.jpg").is_file()
    pairs = config.metrics.get("pairs", "?")
    lines = [
        f"# {recipe.title}",
        "",
        f"pix2pix (Isola et al., CVPR 2017) generator trained by this project: {recipe.input_kind} in, photo out. "
        "It ships with the studio (`python app.py`).",
    ]
    summary = dest / "SUMMARY.md"
    if summary.is_file():
        lines += ["", summary.read_text().strip()]
    key_figures = [(k, c, f) for k, c, f in CARD_FIGURES if k in config.metrics]
    lines += ["", f"## Key figures (val split, {pairs} pairs; all of them under *Metrics*)", "",
              "| " + " | ".join(c for _, c, _ in key_figures) + " |", "|---" * len(key_figures) + "|",
              "| " + " | ".join(figure(config.metrics, k, f) for k, _, f in key_figures) + " |"]
    if has_samples:
        output = "output (colour drawn by the seed)" if g.palette else "output"
        columns = (f"input | {output} | hints | output with hints | ground truth" if "hinted_PSNR" in config.metrics
                   else f"input | {output} | ground truth")
        lines += ["", f"## Samples (val: {columns})", "", "![samples](samples.jpg)"]
    if (dest / HAND_DRAWN).is_file():
        lines += ["", "## Drawn by hand (a drawing as a person makes it, pens 3, 6 and 12 px; seeds 0-3; "
                  "`benchmarks/hand_drawn.py`, commands in docs/measurements.md)", "",
                  f"![drawn by hand]({HAND_DRAWN})"]
    lines += [
        "",
        "## Data",
        f"{recipe.about} Source folder: `../shared/datasets/{recipe.source}` (not redistributed).",
        f"Training pairs: {t.get('pairs', '?')}; evaluated on the held-out `val` split.",
        "",
        "## Training",
        f"- Command: `python -m training ship {recipe.name}`",
        f"- Underlying run: `{t.get('command') or 'n/a'}`",
        f"- Generator: {g.arch} U-Net, ngf {g.ngf}, {g.norm} norm, dropout {g.dropout} "
        f"({g.num_downs} downsamplings), upsampling by {UPSAMPLING[g.upsample]}"
        + (f"; {PADDING[g.padding]} (--padding {g.padding})" if g.padding in PADDING else "")
        + ("; takes colour hints (3 colour + 1 mask channels beside the input)" if g.hints else "")
        + (f", also spread over the drawing (--hint-fill {g.hint_fill_mode}: {FILL_WHAT[g.hint_fill_mode]} + reach)"
           if g.hints and g.hint_fill else "")
        + (", also pooled into every encoder level" if g.hints and g.hints_every_scale else "")
        + ("; takes one colour for the whole object (--palette: without hints, drawn by the seed from "
           + (f"the colours of {t['palette_prior']}'s train photos)" if t.get("palette_prior") else
              f"{min(PALETTE_PRIOR, t.get('pairs') or PALETTE_PRIOR)} training photos' colours)") if g.palette else "")
        + ("; also sees its strokes' centre lines (--centre-lines: one more input channel)" if g.centre_lines else ""),
        f"- Discriminator: {t.get('discriminator', '?')}; objective {t.get('objective', '?')}, "
        f"lambda {t.get('lambda_l1', '?')}"
        + ("; carried in this folder with its Adam state, so `--init-from` it continues with them"
           if (dest / DISCRIMINATOR).is_file() else "")
        + (f" (trained {d['steps']} steps alone against this generator: `{d['command']}`)"
           if (d := t.get("discriminator_carried")) else ""),
        *([f"- Also trained with {' and '.join(w for k, w in IMAGENET_OPTIONS.items() if t.get(k))}, on the "
           "MobileNetV2 that gives the ImageNet figures: those figures are not an independent judge of this model; "
           "the cat-face detector, structure, colour and the sample sheets decide what ships"]
          if any(t.get(k) for k in IMAGENET_OPTIONS) else []),
        *([f"- Shadow (`{SHADOW}`): {len(shadow.from_png(dest / SHADOW))} prototypes of the training edge maps, "
           f"each the mean of at least {shadow.MIN_MEMBERS} of them (no training map is kept)"]
          if (dest / SHADOW).is_file() else []),
        f"- Device: {t.get('device', '?')}; batch size {t.get('batch_size', '?')}",
        f"- Trained: {t.get('steps', '?')} steps = {t.get('epochs', '?')} epochs, "
        f"{t.get('wall_seconds', 0) / 3600:.2f} h wall time",
    ]
    if init := t.get("init_from"):
        lines.append(
            f"- Started from `{init['model']}` ("
            + ("its own discriminator and Adam state" if init.get("discriminator_from") == init["model"]
               else f"discriminator from `{init['discriminator_from']}` and fresh optimiser"
               if init.get("discriminator_from") else "fresh discriminator and fresh optimiser")
            + "), itself trained "
            f"{init.get('steps', '?')} steps = {init.get('epochs', '?')} epochs, "
            f"{init.get('wall_seconds', 0) / 3600:.2f} h on {init.get('device', '?')}: `{init.get('command', 'n/a')}`"
        )
    lines += [
        "",
        "## Metrics (val split, `python -m training evaluate`)",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    for key, label, fmt in METRIC_ROWS:
        if key in config.metrics:
            lines.append(f"| {label} | {fmt.format(config.metrics[key])} |")
    if (dest / "ablation.md").is_file():
        lines += ["", "## What the adversarial term adds", "", (dest / "ablation.md").read_text().strip()]
    if (dest / "NOTES.md").is_file():
        lines += ["", "## History", "",
                  "How these weights were made, run by run, with what was tried and not shipped: [NOTES.md](NOTES.md)."]
    atomic_write_bytes(dest / "README.md", ("\n".join(lines) + "\n").encode())
    (dest / "metrics.json").write_text(json.dumps(config.metrics, indent=2))
    return dest / "README.md"
