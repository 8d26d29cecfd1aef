"""DiffAugment (Zhao et al. 2020): differentiable augmentation of everything the discriminator sees.

On small sets D memorises the real photos and its gradient stops teaching G. Augmenting D's
inputs, real and fake alike and differentiably (G's gradient passes through), keeps D honest
without changing what G is asked to produce.

For pix2pix the condition and the image are one input to D, so the geometric ops (translation,
cutout) move and mask both with the same random parameters, keeping them aligned. Colour ops
touch the image only: the condition's colours are a code, not an appearance (facade labels: the
colour is the class; edge maps: black lines on white paper), D must read it as G receives it,
and a brightness shift would turn the paper grey, an input G is never given.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import torch
import torch.nn.functional as F

# In the order they are applied; a policy is any subset ("color,translation,cutout" = all).
OPS = ("color", "translation", "cutout")
TRANSLATION_RATIO = 0.125  # the paper's: shift by up to 1/8 of the side
CUTOUT_RATIO = 0.5  # the paper's: mask a square of half the side


def parse_policy(policy: str) -> tuple[str, ...]:
    """The ops a policy names, in the order they apply: "cutout,color" -> ("color", "cutout"); "" -> () (off)."""
    names = [p.strip() for p in policy.split(",") if p.strip()]
    unknown = [p for p in names if p not in OPS]
    if unknown:
        raise ValueError(f"DiffAugment policy: unknown op(s) {', '.join(unknown)}; choose from {','.join(OPS)}")
    return tuple(op for op in OPS if op in names)


def policy_arg(text: str) -> str:
    """argparse type for --diffaugment: the policy checked at parse time, in canonical order."""
    try:
        return ",".join(parse_policy(text))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def augment_generator(seed: int, step: int) -> torch.Generator:
    """The step's own random stream, from the run seed and step like the data's (so an exact resume
    redoes the same augmentation) but disjoint from it (turning augmentation on changes nothing else)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step) * 7919 + 23)


@dataclass
class Augment:
    """One draw of augmentation parameters for a batch; calling it applies that same draw."""

    brightness: torch.Tensor | None = None  # (B,) added
    saturation: torch.Tensor | None = None  # (B,) scale of the distance to the pixel's grey
    contrast: torch.Tensor | None = None  # (B,) scale of the distance to the image mean
    shift: torch.Tensor | None = None  # (B, 2) dy, dx in pixels
    cutout: torch.Tensor | None = None  # (B, 2) centre y, x of the masked square
    cutout_size: tuple[int, int] = (0, 0)

    @classmethod
    def sample(cls, policy: tuple[str, ...], shape: torch.Size, generator: torch.Generator) -> Augment:
        n, _, h, w = shape
        aug = cls()
        if "color" in policy:
            aug.brightness = torch.rand(n, generator=generator) - 0.5
            aug.saturation = torch.rand(n, generator=generator) * 2
            aug.contrast = torch.rand(n, generator=generator) + 0.5
        if "translation" in policy:
            sy, sx = int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)
            aug.shift = torch.stack([torch.randint(-sy, sy + 1, (n,), generator=generator),
                                     torch.randint(-sx, sx + 1, (n,), generator=generator)], dim=1)
        if "cutout" in policy:
            aug.cutout_size = (int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5))
            aug.cutout = torch.stack([torch.randint(0, h + 1, (n,), generator=generator),
                                      torch.randint(0, w + 1, (n,), generator=generator)], dim=1)
        return aug

    def __call__(self, condition: torch.Tensor | None, image: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor]:
        if self.brightness is not None:
            image = self._color(image)
        if self.shift is None and self.cutout is None:
            return condition, image
        # Geometric ops on the stacked channels: one shift and one mask for both.
        split = 0 if condition is None else condition.shape[1]
        x = image if condition is None else torch.cat([condition, image], dim=1)
        if self.shift is not None:
            x = self._translate(x)
        if self.cutout is not None:
            x = x * self._cutout_mask(x)
        return (None if condition is None else x[:, :split]), x[:, split:]

    def _color(self, x: torch.Tensor) -> torch.Tensor:
        def per_sample(t: torch.Tensor) -> torch.Tensor:
            return t.to(x.device, x.dtype).view(-1, 1, 1, 1)

        x = x + per_sample(self.brightness)
        grey = x.mean(dim=1, keepdim=True)
        x = (x - grey) * per_sample(self.saturation) + grey
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        return (x - mean) * per_sample(self.contrast) + mean

    def _translate(self, x: torch.Tensor) -> torch.Tensor:
        """Shift each sample by its (dy, dx); what moves in from outside is zero (mid-grey)."""
        h, w = x.shape[2:]
        py, px = int(self.shift[:, 0].abs().max()), int(self.shift[:, 1].abs().max())
        padded = F.pad(x, (px, px, py, py))
        return torch.stack([padded[i, :, py - dy:py - dy + h, px - dx:px - dx + w]
                            for i, (dy, dx) in enumerate(self.shift.tolist())])

    def _cutout_mask(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W): zero inside each sample's square (clipped at the border), one elsewhere."""
        h, w = x.shape[2:]
        hy, hx = self.cutout_size[0] // 2, self.cutout_size[1] // 2
        centre = self.cutout.to(x.device)
        ys, xs = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
        in_y = (ys >= centre[:, :1] - hy) & (ys < centre[:, :1] + hy)
        in_x = (xs >= centre[:, 1:] - hx) & (xs < centre[:, 1:] + hx)
        return (~(in_y[:, :, None] & in_x[:, None, :]))[:, None].to(x.dtype)
