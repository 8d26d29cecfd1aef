"""The pix2pix objective (paper eq. 4): cGAN + lambda * L1, with the paper's training tricks."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def gan_loss(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """Binary cross-entropy on PatchGAN logits, averaged over all patches."""
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits.float(), target.float())


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Halved, to slow D relative to G (paper section 3.3)."""
    real = gan_loss(real_logits, True)
    fake = gan_loss(fake_logits, False)
    return 0.5 * (real + fake), {"D_real": real.item(), "D_fake": fake.item()}


def generator_loss(
    fake_logits: torch.Tensor | None, fake: torch.Tensor, target: torch.Tensor, lambda_l1: float, use_l1: bool
) -> tuple[torch.Tensor, dict[str, float]]:
    """Non-saturating: G maximises log D(x, G(x)) instead of minimising log(1 - D)."""
    terms: dict[str, float] = {}
    total = fake.new_zeros(())
    if fake_logits is not None:
        adv = gan_loss(fake_logits, True)
        total = total + adv
        terms["G_gan"] = adv.item()
    l1 = F.l1_loss(fake.float(), target.float())
    terms["G_l1"] = l1.item()  # logged for every objective, as a comparable number
    if use_l1:
        total = total + lambda_l1 * l1
    return total, terms
