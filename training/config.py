"""Typed training configuration; saved with every run so `--resume` needs no flags."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from models.config import FILL_MODES, ConfigError, DiscriminatorConfig, GeneratorConfig, JsonConfig, ModelConfig, Range

# The paper's objective ablations (Table 1): which terms the generator is trained with.
Objective = Literal["l1", "gan", "cgan", "l1+gan", "l1+cgan"]
OBJECTIVES: tuple[str, ...] = ("l1", "gan", "cgan", "l1+gan", "l1+cgan")

# Widths per preset. `paper` is appendix 6.1 exactly. `compact` (ngf 16, ndf 32) is what we
# ship: a 3.4M-parameter U-Net, 13 MiB in float32 (under the 16 MiB per-file budget without
# quantisation), ~15 ms per 256x256 image on 2 CPU cores; see benchmarks/train_infer.py.
PRESETS: dict[str, dict[str, int]] = {
    "paper": {"ngf": 64, "ndf": 64},
    "compact": {"ngf": 16, "ndf": 32},
}


@dataclass
class DataConfig:
    root: str = ""
    direction: Literal["AtoB", "BtoA"] = "AtoB"  # AtoB: left half is the input
    load_size: int = 286  # paper jitter: resize to 286, random crop 256
    crop_size: int = 256
    jitter: bool = True
    flip: bool = True
    val_split: str = "val"
    # Issue 11. `hints`: up to this many colour hints drawn from each target photo (none half the
    # time); > 0 gives the generator hint channels, 0 is the paper. `stroke_aug`: line inputs
    # redrawn 1-6 px thick with wobble and gaps, so drawn strokes are in distribution.
    # `hint_radius` / `hint_length`: the largest training hint (px at crop size); evaluation always
    # uses the defaults, so hinted scores compare across runs. `hint_recolour`: the probability that
    # a hinted pair's photo and hints are hue-turned, so hint colours are followed; turned pairs are
    # L1 targets only, D never sees them (training/hints.py). `stroke_thick`: the probability that a
    # stroke-augmented line is drawn 4-6 px (the widths whose seams show), else 1-6 uniformly.
    # `zoom_out`: the probability that a pair is shrunk onto white paper (objects drawn small).
    # `palette_prior`: a pairs folder whose train photos' colours a palette model draws its colour from at
    # test time ("" = this run's own): a mix of cat heads and whole rooms should still draw a cat's colour.
    hints: int = 0
    hint_radius: Annotated[int, Range(1, 64)] = 3
    hint_length: Annotated[int, Range(0, 256)] = 8
    hint_recolour: Annotated[float, Range(0, 1)] = 0.0
    stroke_aug: bool = False
    stroke_thick: Annotated[float, Range(0, 1)] = 0.0
    zoom_out: Annotated[float, Range(0, 1)] = 0.0
    palette_prior: str = ""


@dataclass
class TrainConfig(JsonConfig):
    name: str = "pix2pix"
    preset: Literal["paper", "compact"] = "paper"
    model: ModelConfig = field(default_factory=ModelConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    data: DataConfig = field(default_factory=DataConfig)
    objective: Objective = "l1+cgan"
    lambda_l1: float = 100.0
    # For small sets (issue 11): DiffAugment on everything D sees ("" = off, the paper; any of
    # "color,translation,cutout"), and the weight of feature matching on D's layers (0 = off).
    diffaugment: str = ""
    feature_matching: float = 0.0
    # Pretrained eyes (training.imagenet: torchvision's ImageNet MobileNetV2, frozen). `perceptual`: the weight of
    # the L1 between its features of output and photo (pix2pixHD's VGG loss); `projected_d`: the weight in G's loss
    # of a projected discriminator on those features (training.projected), trained beside the PatchGAN. 0 = off.
    perceptual: Annotated[float, Range(0, 1e6)] = 0.0
    projected_d: Annotated[float, Range(0, 1e6)] = 0.0
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    batch_size: int = 1
    epochs: int = 200
    decay_epochs: int = 0  # linear LR decay to 0 over the last N epochs (0 = constant LR)
    max_steps: int = 0  # stop after this many steps (0 = run all epochs)
    seed: int = 0
    device: str = "auto"
    bf16: bool = True  # autocast on CUDA only
    # NHWC tensors: on this 2-core CPU x1.5 train img/s at one thread, and batch 4 added nothing per image
    # (benchmarks/throughput.py --rows base batch4 channels_last batch4+channels_last --threads 1).
    channels_last: bool = True
    compile: bool = False
    save_every: int = 500  # steps between `latest` checkpoints
    keep_every: int = 5000  # steps between checkpoints that are never pruned (0 = none)
    sample_every: int = 500
    log_every: int = 50
    command: str = ""
    # Fine-tuning: a model folder whose generator weights start the run, and that model's own
    # training record, copied when the run starts so the card can tell the whole history even if the
    # source folder is later replaced. D (and Adam, where it fits) comes from the folder when it carries
    # them (training.checkpoint.CARRIED): fine-tunes with a fresh D lost 1-px structure every time (issue 28).
    # `fresh_discriminator` starts D afresh instead; `init_discriminator` takes D from another folder
    # (a run's checkpoint or a model folder; its Adam stays fresh).
    init_from: str = ""
    init_history: dict[str, Any] = field(default_factory=dict)
    init_discriminator: str = ""
    fresh_discriminator: bool = False
    # Steps at the start that train D alone, G frozen: a fresh D catches up with an already trained G
    # before G is judged by it (fine-tunes where the source run's D is lost; see the edges2handbags card).
    d_warmup: Annotated[int, Range(0, 10**9)] = 0
    # Thick strokes (issue 11 item 4): add `distill` x L1 between G's output on the stroke-augmented lines
    # and a frozen teacher's output on the same strokes drawn 1 px wide (same gaps and wobble, hints, palette
    # colour and dropout noise), over the pixels near the strokes (trainer.DISTILL_REACH).
    # Where the photo is an ambiguous, noisy target, the teacher's drawing from thin lines is one
    # consistent answer, so a fine-tune learns "a thick stroke means what its centre line means" without
    # forgetting what it draws from thin ones. `teacher`: a model folder ("" = init_from) that takes the
    # run's inputs (lines, hints, palette); its network may differ. It is read again on --resume: replacing
    # that folder (shipping the run's own model there) changes the teacher of a resumed run.
    distill: Annotated[float, Range(0, 1e6)] = 0.0
    teacher: str = ""

    @property
    def uses_gan(self) -> bool:
        return "gan" in self.objective

    @property
    def uses_l1(self) -> bool:
        return "l1" in self.objective

    @property
    def uses_imagenet(self) -> bool:
        return bool(self.perceptual or self.projected_d)


# --init-from a deconv model with --upsample resize starts from its checkerboard-free projection
# (models.networks.deconv_to_resize); no other change of upsampling keeps what the source learned.
# How the hint layer reaches G, beyond its first conv: config field -> (flag, what it gives G). A
# model trained with one keeps it when fine-tuned (its weights on those channels would be lost).
HINT_OPTIONS = {"hints_every_scale": ("--hints-every-scale", "hints at every encoder level"),
                "hint_fill": ("--hint-fill", "its hints spread over the drawing")}
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


def make_config(
    name: str,
    data: str,
    preset: str | None = None,
    objective: str = "l1+cgan",
    arch: str = "unet",
    patch: int = 70,
    ngf: int | None = None,
    ndf: int | None = None,
    norm: str = "batch",
    input_kind: str = "edges",
    num_downs: int = 8,
    init_from: str = "",
    upsample: str | None = None,
    padding: str | None = None,
    hints: int = 0,
    hints_every_scale: bool = False,
    hint_fill: bool | str = False,
    palette: bool = False,
    centre_lines: bool = False,
    stroke_aug: bool = False,
    **overrides: Any,
) -> TrainConfig:
    """One place that turns flags into a consistent TrainConfig (presets, ablations, widths).

    Fine-tuning (`init_from`) keeps the source model's generator (a deconv one may become resize, and its
    padding may change) and, unless one is given, its preset. D pads as G does."""
    gen = GeneratorConfig(arch=arch, ngf=ngf or 0, norm=norm, num_downs=num_downs, upsample=upsample or "deconv",
                          padding=padding or "zeros")
    if init_from:
        source = ModelConfig.from_file(Path(init_from) / "config.json")
        if ngf is not None and ngf < source.generator.ngf:
            raise ConfigError(f"--ngf {ngf}: --init-from {init_from} has ngf {source.generator.ngf} (a fine-tune "
                              "may widen a generator, not narrow it)")
        if upsample not in (None, source.generator.upsample) and (source.generator.upsample, upsample) != PROJECTABLE:
            raise ConfigError(f"--upsample {upsample}: --init-from {init_from} has upsample {source.generator.upsample}"
                              " (only deconv -> resize can be converted)")
        gen = dataclasses.replace(source.generator, upsample=upsample or source.generator.upsample,
                                  padding=padding or source.generator.padding,  # same weights either way
                                  ngf=ngf or source.generator.ngf)  # wider: Trainer.init_generator widens it
        num_downs = source.generator.num_downs
        preset = preset or source.training.get("preset")
    preset = preset or "paper"
    if hints < 0:
        raise ConfigError(f"--hints {hints}: the most hints per pair must be 0 (no hint channels) or more")
    if init_from and gen.hints and not hints:
        raise ConfigError(f"--init-from {init_from} takes colour hints: pass --hints N (N > 0)")
    # hint_fill True (--hint-fill alone): the source model's fill mode, or nearest for a new model.
    if isinstance(hint_fill, str) and hint_fill and hint_fill not in FILL_MODES:
        raise ConfigError(f"--hint-fill {hint_fill}: must be one of {FILL_MODES}")
    fill_mode = hint_fill if isinstance(hint_fill, str) and hint_fill else gen.hint_fill_mode
    wanted = {"hints_every_scale": hints_every_scale, "hint_fill": bool(hint_fill)}
    for option, (flag, what) in HINT_OPTIONS.items():
        if init_from and getattr(gen, option) and not wanted[option]:
            raise ConfigError(f"--init-from {init_from} takes {what}: pass {flag}")
        if wanted[option] and not hints:
            raise ConfigError(f"{flag}: pass --hints N (N > 0) too")
    if overrides.get("palette_prior") and not palette:
        raise ConfigError("--palette-prior is where the drawn colour comes from: pass --palette too")
    if init_from and gen.palette and not palette:
        raise ConfigError(f"--init-from {init_from} takes a palette colour: pass --palette")
    if init_from and gen.centre_lines and not centre_lines:
        raise ConfigError(f"--init-from {init_from} takes its strokes' centre lines: pass --centre-lines")
    gen = dataclasses.replace(gen, hints=hints > 0, hint_fill_mode=fill_mode, palette=palette,
                              centre_lines=centre_lines, **wanted)
    if overrides.get("stroke_thick") and not stroke_aug:
        raise ConfigError("--stroke-thick weights --stroke-aug's widths: pass --stroke-aug too")
    line_options = {"--stroke-aug redraws lines": stroke_aug,
                    "--zoom-out shrinks lines onto white paper": overrides.get("zoom_out"),
                    "--centre-lines thins lines": centre_lines}
    for what, on in line_options.items():
        if on and input_kind not in ("edges", "sketch"):
            raise ConfigError(f"{what}: it needs --input-kind edges or sketch, not {input_kind}")
    if objective not in OBJECTIVES:
        raise ConfigError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if overrides.get("fresh_discriminator") and (not init_from or overrides.get("init_discriminator")):
        raise ConfigError("--fresh-discriminator: only with --init-from, and not with --init-discriminator")
    if overrides.get("projected_d") and "gan" not in objective:
        raise ConfigError(f"--projected-d weighs a discriminator: objective {objective} trains none")
    if overrides.get("d_warmup") and "gan" not in objective:
        raise ConfigError(f"--d-warmup trains the discriminator alone: objective {objective} has none")
    if preset not in PRESETS:
        raise ConfigError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
    widths = PRESETS[preset]
    gen.ngf = gen.ngf or widths["ngf"]
    if overrides.get("distill"):
        if not stroke_aug:
            raise ConfigError("--distill teaches thick strokes from thin lines: pass --stroke-aug too")
        teacher = overrides.get("teacher") or init_from
        if not teacher:
            raise ConfigError("--distill needs a teacher: pass --teacher MODEL_DIR or --init-from MODEL_DIR")
        theirs = ModelConfig.from_file(Path(teacher) / "config.json").generator
        inputs = ("in_channels", "out_channels", "hints", "palette")  # what the trainer feeds G; the rest is G's own
        if any(getattr(theirs, k) != getattr(gen, k) for k in inputs):
            raise ConfigError(f"--distill: the teacher {teacher} takes other inputs than this run's generator ("
                              + ", ".join(f"{k} {getattr(theirs, k)} vs {getattr(gen, k)}" for k in inputs) + ")")
    elif overrides.get("teacher"):
        raise ConfigError("--teacher is the --distill teacher: pass --distill W too")
    pad = (0, 0, 170) if input_kind == "labels" else (255, 255, 255)
    model = ModelConfig(name=name, generator=gen, input_kind=input_kind, pad_color=pad)
    # "gan" (unconditional) vs "cgan": whether D also sees the input (paper section 4.2).
    disc = DiscriminatorConfig(
        patch=patch, conditional=objective.endswith("cgan"), ndf=ndf or widths["ndf"], norm=gen.norm,
        padding=gen.padding)
    data_fields = {f.name for f in dataclasses.fields(DataConfig)}
    data_over = {k: overrides.pop(k) for k in list(overrides) if k in data_fields}
    data_cfg = DataConfig(root=data, hints=hints, stroke_aug=stroke_aug, **data_over)
    if data_cfg.crop_size % 2**num_downs:
        raise ConfigError(
            f"crop size {data_cfg.crop_size} must be a multiple of 2**num_downs = {2**num_downs} "
            "(the U-Net halves the image num_downs times)"
        )
    return TrainConfig(
        name=name, preset=preset, model=model, discriminator=disc,
        data=data_cfg, objective=objective, init_from=init_from, **overrides,
    )
