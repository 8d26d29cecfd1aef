"""The pix2pix objective (paper eq. 4): cGAN + lambda * L1, with the paper's training tricks."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def gan_loss(logits: torch.Tensor | list[torch.Tensor], real: bool) -> torch.Tensor:
    """Binary cross-entropy on PatchGAN logits, averaged over all patches; a list (the projected D's heads):
    the mean of each head's, so a coarse head counts as much as a fine one."""
    if isinstance(logits, list):
        return torch.stack([gan_loss(head, real) for head in logits]).mean()
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits.float(), target.float())


def discriminator_loss(real_logits: torch.Tensor | list[torch.Tensor], fake_logits: torch.Tensor | list[torch.Tensor],
                       name: str = "D") -> tuple[torch.Tensor, dict[str, float]]:
    """Halved, to slow D relative to G (paper section 3.3)."""
    real = gan_loss(real_logits, True)
    fake = gan_loss(fake_logits, False)
    return 0.5 * (real + fake), {f"{name}_real": real.item(), f"{name}_fake": fake.item()}


def feature_matching_loss(fake_feats: list[torch.Tensor], real_feats: list[torch.Tensor]) -> torch.Tensor:
    """Mean over D's layers of the L1 between its features of fake and real (pix2pixHD, Wang et al.
    2018): a denser signal than the logits alone, so G matches real statistics at every scale."""
    losses = [F.l1_loss(f.float(), r.detach().float()) for f, r in zip(fake_feats, real_feats)]
    return torch.stack(losses).mean()


def generator_loss(
    fake_logits: torch.Tensor | None, fake: torch.Tensor, target: torch.Tensor, lambda_l1: float, use_l1: bool,
    feature_matching: torch.Tensor | None = None, lambda_fm: float = 0.0,
    teacher: torch.Tensor | None = None, lambda_distill: float = 0.0, near_lines: torch.Tensor | None = None,
    extras: dict[str, tuple[float, torch.Tensor]] | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Non-saturating: G maximises log D(x, G(x)) instead of minimising log(1 - D). `teacher`: a frozen
    model's output on the same strokes 1 px wide, pulled towards by `lambda_distill` x L1 over the pixels where
    `near_lines` (N x 1 x H x W, 0/1) is set (TrainConfig.distill). `extras`: more terms, name -> (weight, term)
    (the ImageNet ones: TrainConfig.perceptual, TrainConfig.projected_d)."""
    terms: dict[str, float] = {}
    total = fake.new_zeros(())
    if fake_logits is not None:
        adv = gan_loss(fake_logits, True)
        total = total + adv
        terms["G_gan"] = adv.item()
    if feature_matching is not None:
        total = total + lambda_fm * feature_matching
        terms["G_fm"] = feature_matching.item()
    l1 = F.l1_loss(fake.float(), target.float())
    terms["G_l1"] = l1.item()  # logged for every objective, as a comparable number
    if use_l1:
        total = total + lambda_l1 * l1
    if teacher is not None:
        error = (fake.float() - teacher.float()).abs().mean(dim=1, keepdim=True)
        distill = (error * near_lines).sum() / near_lines.sum().clamp(min=1.0)
        total = total + lambda_distill * distill
        terms["G_distill"] = distill.item()
    for name, (weight, term) in (extras or {}).items():
        total = total + weight * term
        terms[name] = term.item()
    return total, terms
