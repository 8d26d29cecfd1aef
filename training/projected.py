"""A projected discriminator (Sauer et al., "Projected GANs Converge Faster", 2021), simplified, beside the PatchGAN.

Small trainable heads judge frozen ImageNet features (training.imagenet.ImageNetFeatures) of the photo or G's
output, one head per depth. Each feature map is first mixed by a fixed random 1x1 projection (the paper's
cross-channel mixing), so a head cannot lean on a few ImageNet channels, and the input lines (with any hints),
pooled to the map's size, are concatenated: the verdict is conditional, as the PatchGAN's is. What it brings is
ImageNet's knowledge of texture and parts, which 1,000 photos and a few CPU hours cannot teach a fresh D.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .imagenet import TAP_CHANNELS

DEPTHS = (7, 14)  # strides 8 and 16: parts and textures, cheap beside the deepest layers
WIDTH = 64


class ProjectedDiscriminator(nn.Module):
    def __init__(self, condition_channels: int, depths: tuple[int, ...] = DEPTHS, width: int = WIDTH, seed: int = 0):
        super().__init__()
        self.depths = tuple(depths)
        generator = torch.Generator().manual_seed(seed)
        for depth in self.depths:
            # Fixed, saved with the heads (a buffer): the heads learned on this mixing and no other.
            mix = torch.empty(width, TAP_CHANNELS[depth], 1, 1)
            bound = (3.0 / TAP_CHANNELS[depth]) ** 0.5  # unit-variance output for unit-variance input
            self.register_buffer(f"mix{depth}", mix.uniform_(-bound, bound, generator=generator))
        self.heads = nn.ModuleDict({
            str(depth): nn.Sequential(
                spectral_norm(nn.Conv2d(width + condition_channels, width, 3, padding=1)),
                nn.LeakyReLU(0.2, inplace=True),
                spectral_norm(nn.Conv2d(width, width, 3, padding=1)),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(width, 1, 1),
            ) for depth in self.depths
        })
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.normal_(module.parametrizations.weight.original if hasattr(module, "parametrizations")
                                else module.weight, 0.0, 0.02)
                nn.init.zeros_(module.bias)

    def forward(self, features: dict[int, torch.Tensor], condition: torch.Tensor | None) -> list[torch.Tensor]:
        """One logit map per depth."""
        logits = []
        for depth in self.depths:
            x = F.conv2d(features[depth].float(), getattr(self, f"mix{depth}"))
            if condition is not None:
                x = torch.cat([x, F.adaptive_avg_pool2d(condition.float(), x.shape[2:])], dim=1)
            logits.append(self.heads[str(depth)](x))
        return logits
