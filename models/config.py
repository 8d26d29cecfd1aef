"""Typed configuration saved inside every checkpoint, so a model loads without retyping flags."""
from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

Norm = Literal["batch", "instance"]
Padding = Literal["zeros", "reflect", "reflect-outer"]
PADDINGS = typing.get_args(Padding)
HINT_CHANNELS = 4  # hint colour RGB + hint mask
PALETTE_CHANNELS = 4  # an object colour RGB + whether one is given, as constant planes
CENTRE_LINE_CHANNELS = 1  # the strokes' centre lines, 1 on a line
FillMode = Literal["nearest", "harmonic"]  # how --hint-fill spreads hints (models.hints.fill_hints)
FILL_MODES = typing.get_args(FillMode)
MAX_CONFIG_BYTES = 1024 * 1024


class ConfigError(ValueError):
    """A config that can't describe a model or run; the one-line message names the key and why."""


def option(default: Any = dataclasses.MISSING, *, help: str, group: str = "advanced",
           default_factory: Any = dataclasses.MISSING, **argparse_kwargs: Any) -> Any:
    """A config field that is also a `python -m training` option. Its help text and --help group (basic, recipe,
    advanced) sit beside the value; the command lines are generated from them (models.cli.add_options), so a new
    option is one field. `argparse_kwargs` (flag, metavar, nargs, ...) only where the field's type does not say."""
    return field(default=default, default_factory=default_factory,
                 metadata={"option": {"help": help, "group": group, **argparse_kwargs}})


@dataclass(frozen=True)
class Range:
    """Inclusive bounds for a number field (or each number of a tuple field), used as
    ``Annotated[int, Range(1, 512)]``: checked when a config is read, before anything is built."""

    lo: float
    hi: float


class JsonConfig:
    """JSON round-trip for the config dataclasses saved beside weights and runs."""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """Checked against the field annotations (types, Literal choices, Range bounds), so a
        hand-edited or hostile config fails here with the key's name, not deep inside a network."""
        return _from_dict(cls, data, "")

    @classmethod
    def from_file(cls, path: str | Path):
        path = Path(path)
        with open(path, "rb") as f:  # capped: a config is a few KB, a huge file is a mistake or an attack
            raw = f.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path.name}: larger than {MAX_CONFIG_BYTES // 1024} KB, not a config")
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as e:
            where = f"line {e.lineno} column {e.colno}"
            raise ConfigError(f"{path.name}: not valid JSON ({e.msg} at {where})") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path.name}: not UTF-8 text") from None
        except RecursionError:
            raise ConfigError(f"{path.name}: JSON nested too deeply") from None
        try:
            return cls.from_dict(data)
        except ConfigError as e:
            raise ConfigError(f"{path.name}: {e}") from None


@dataclass
class GeneratorConfig:
    """U-Net (paper appendix 6.1.1) or the same net without skips ("encoder_decoder")."""

    arch: Literal["unet", "encoder_decoder"] = option("unet", help="the U-Net, or the same net without skips")
    in_channels: Annotated[int, Range(1, 16)] = 3
    out_channels: Annotated[int, Range(1, 16)] = 3
    ngf: Annotated[int, Range(1, 512)] = option(  # bounded: a config alone must not ask for gigabytes
        64, metavar="N",
        help="generator width (default: the preset's); with --init-from, a larger one widens its generator: the same "
             "output at step 0, new channels that learn")
    norm: Norm = option("batch", help="G's and D's normalisation")
    dropout: Annotated[float, Range(0, 1)] = 0.5
    num_downs: Annotated[int, Range(5, 10)] = option(
        8, metavar="N", help="U-Net depth: 8 halvings take 256x256 to 1x1; the crop must be a multiple of 2**N")
    # How the decoder doubles resolution. "deconv" is the paper (4x4 stride-2 transposed conv);
    # it leaves a 2/4/8-px checkerboard (Odena et al. 2016). "resize": nearest x2 + 3x3 conv;
    # "subpixel": 3x3 conv to 4x channels + PixelShuffle, ICNR-initialised (Aitken et al. 2017).
    upsample: Literal["deconv", "resize", "subpixel"] = option(
        "deconv", group="recipe",
        help="decoder upsampling: deconv (default, the paper), resize (nearest x2 + 3x3 conv) or subpixel "
             "(PixelShuffle, ICNR init); the last two leave no checkerboard. With --init-from a deconv model, resize "
             "starts from its deconvs projected to resize-convs")
    # The weights are the same under every padding, so a fine-tune may switch (networks.level_padding).
    padding: Padding = option(
        "zeros", group="recipe",
        help="what G's and D's convs see past the image border: zeros (default, the paper's code), reflect (the image "
             "mirrored; zero-padded models paint a frame round white paper) or reflect-outer (mirrored where maps are "
             "at least 1/8 of the image, zeros deeper: no frame, and the deep layers still know where the middle is). "
             "With --init-from: the source's, unless given (the weights are the same either way)")
    # Colour hints: the input also carries sparse hint colours (3 ch, [-1, 1], 0 where none) and their mask
    # (1 ch). `in_channels` stays the condition image's own channels.
    hints: bool = False
    # At the input alone a U-Net learns to stamp a hint's colour round it; the deep levels that paint the whole
    # object see it only through seven convs. New channels are zero-initialised when fine-tuning.
    hints_every_scale: bool = option(
        False, help="feed the hint layer, pooled, to every encoder level too, not only to the first conv, so a few "
                    "hints can colour the whole object (needs --hints)")
    # models.hints.fill_hints: a colour and its reach, 4 more channels into the first conv only; D's condition
    # stays lines + hints.
    hint_fill: bool = option(
        False, group="recipe", nargs="?", const=True, choices=FILL_MODES, metavar="MODE",
        help="also give G the hints spread over the drawing, so a few hints colour whole regions (needs --hints). "
             "MODE nearest (the default; with --init-from, the source's mode): each pixel takes the colour of the "
             "hint nearest without crossing a line; harmonic: the hints' colours blend smoothly between lines, like "
             "shading")
    hint_fill_mode: FillMode = "nearest"
    # Constant planes into the first conv only (D does not see them); the training photos' colours are kept in
    # the weights (`palette_prior`). BicycleGAN's latent code with a hand-made encoder.
    palette: bool = option(
        False, group="recipe",
        help="also give G one colour for the whole object: the photo's in training, and at test time, for a drawing "
             "without hints, one drawn by seed from the training photos' colours, so seeds give different plausible "
             "colours instead of one averaged palette")
    # G also sees the centre lines of its strokes (skeletonised to 1 px, models.strokes.centre_lines: one
    # more channel into the first conv, after everything else; D does not see it): thinned 5-px val lines
    # score as 1-px ones, while the strokes as drawn still carry what thinning loses (filled shapes).
    centre_lines: bool = option(
        False, help="also give G its strokes thinned to their 1-px centre lines, one more input channel beside the "
                    "strokes as drawn (edges/sketch inputs; no shipped model uses it: see the shoes card)")

    @property
    def condition_channels(self) -> int:
        """What D sees beside the output: the image plus any hint channels."""
        return self.in_channels + (HINT_CHANNELS if self.hints else 0)


@dataclass
class DiscriminatorConfig:
    """PatchGAN; `patch` is the receptive field (1 = PixelGAN, 16, 70, 286 = ImageGAN at 256)."""

    patch: Literal[1, 16, 70, 286] = option(70, help="PatchGAN receptive field")
    conditional: bool = True
    ndf: Annotated[int, Range(1, 512)] = option(64, metavar="N", help="discriminator width (default: the preset's)")
    norm: Norm = "batch"  # as the generator's
    padding: Padding = "zeros"  # as the generator's (GeneratorConfig.padding)


@dataclass
class ModelConfig(JsonConfig):
    """What a shipped or trained model folder describes: how to build it and how to feed it."""

    name: str = "pix2pix"
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    # What the input looks like; the app and the translator pick resampling and padding from it.
    input_kind: Literal["edges", "labels", "sketch", "image"] = option("edges", help="what the input images are")
    pad_color: Annotated[tuple[int, int, int], Range(0, 255)] = (255, 255, 255)
    # Free-form provenance: data, command, device, steps, wall time, metrics.
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


def _from_dict(cls, data: Any, key: str):
    """Build a (nested) dataclass from plain JSON data, checking each value against its annotation."""
    if not isinstance(data, dict):
        raise ConfigError(f"{key + ' ' if key else ''}must be a JSON object, got {_show(data)}")
    hints = typing.get_type_hints(cls, include_extras=True)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"{key + ': ' if key else ''}unknown keys {sorted(map(str, unknown))}")
    return cls(**{name: _check(value, hints[name], f"{key}.{name}" if key else name)
                  for name, value in data.items()})


def _check(value: Any, hint: Any, key: str) -> Any:
    """`value` as the type `hint` describes (lists -> tuples, ints -> floats), or ConfigError naming `key`."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Annotated:
        value = _check(value, args[0], key)
        for bound in (m for m in hint.__metadata__ if isinstance(m, Range)):
            numbers = value if isinstance(value, (tuple, list)) else (value,)
            if not all(bound.lo <= v <= bound.hi for v in numbers):
                raise ConfigError(f"{key} must be in {bound.lo}..{bound.hi}, got {_show(value)}")
        return value
    if hint is Any:
        return value
    if dataclasses.is_dataclass(hint):
        return _from_dict(hint, value, key)
    if origin is Literal:
        # `type(a) is type(value)`: JSON true must not pass for 1, nor 70.0 for 70.
        if any(a == value and type(a) is type(value) for a in args):
            return value
        raise ConfigError(f"{key} must be one of {', '.join(map(repr, args))}, got {_show(value)}")
    if origin in (typing.Union, types.UnionType):
        for option in args:
            try:
                return _check(value, option, key)
            except ConfigError:
                pass
        raise ConfigError(f"{key} must be {_name(hint)}, got {_show(value)}")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list, got {_show(value)}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{key} must have {len(args)} items, got {_show(value)}")
            items = [_check(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args))]
        else:
            items = [_check(v, args[0], f"{key}[{i}]") if args else v for i, v in enumerate(value)]
        return origin(items)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a JSON object, got {_show(value)}")
        kt, vt = args or (Any, Any)
        return {_check(k, kt, key): _check(v, vt, f"{key}.{k}") for k, v in value.items()}
    if hint is type(None):
        if value is None:
            return None
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(hint, type) and isinstance(value, hint):
        return value
    raise ConfigError(f"{key} must be {_name(hint)}, got {_show(value)}")


def _name(hint: Any) -> str:
    if hint is type(None):
        return "null"
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_name(a) for a in typing.get_args(hint))
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(hint, str(hint))


def _show(value: Any) -> str:
    """A short, one-line rendering of a bad value for an error message."""
    text = json.dumps(value, default=repr)
    return text if len(text) <= 40 else text[:37] + "..."
