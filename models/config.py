"""Typed configuration saved inside every checkpoint, so a model loads without retyping flags."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Norm = Literal["batch", "instance"]


class JsonConfig:
    """JSON round-trip for the config dataclasses saved beside weights and runs."""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        return _from_dict(cls, data)

    @classmethod
    def from_file(cls, path: str | Path):
        return cls.from_dict(json.loads(Path(path).read_text()))


@dataclass
class GeneratorConfig:
    """U-Net (paper appendix 6.1.1) or the same net without skips ("encoder_decoder")."""

    arch: Literal["unet", "encoder_decoder"] = "unet"
    in_channels: int = 3
    out_channels: int = 3
    ngf: int = 64
    norm: Norm = "batch"
    dropout: float = 0.5
    num_downs: int = 8  # 8 downsamplings take 256x256 to 1x1


@dataclass
class DiscriminatorConfig:
    """PatchGAN; `patch` is the receptive field (1 = PixelGAN, 16, 70, 286 = ImageGAN at 256)."""

    patch: Literal[1, 16, 70, 286] = 70
    conditional: bool = True
    ndf: int = 64
    norm: Norm = "batch"


@dataclass
class ModelConfig(JsonConfig):
    """What a shipped or trained model folder describes: how to build it and how to feed it."""

    name: str = "pix2pix"
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    # What the input looks like; the app and the translator pick resampling and padding from it.
    input_kind: Literal["edges", "labels", "sketch", "image"] = "edges"
    pad_color: tuple[int, int, int] = (255, 255, 255)
    # Free-form provenance: data, command, device, steps, wall time, metrics.
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


def _from_dict(cls, data: dict[str, Any]):
    """Build a (nested) dataclass from plain JSON data, rejecting unknown keys loudly."""
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(known)
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown config keys {sorted(unknown)}")
    kwargs = {}
    for name, value in data.items():
        default = getattr(cls(), name)
        if dataclasses.is_dataclass(default) and isinstance(value, dict):
            value = _from_dict(type(default), value)
        elif isinstance(default, tuple) and isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)
