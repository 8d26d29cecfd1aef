"""Pictures of a run: sample grids and the loss plot."""
from __future__ import annotations

import json
from pathlib import Path

import torch


def sample_grid(inputs: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Rows of input | output | target, as one 3xHxW tensor in [-1, 1]."""
    rows = [torch.cat([a, o, t], dim=-1) for a, o, t in zip(inputs, outputs.clamp(-1, 1), targets)]
    return torch.cat(rows, dim=-2)


def plot_losses(log: Path, out: Path) -> None:
    if not log.is_file():
        return
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    if not records:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in records[-1] if k.startswith(("G_", "D_"))]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    steps = [r["step"] for r in records]
    for k in keys:
        ax = axes[0] if k == "G_l1" else axes[1]
        ax.plot(steps, [r.get(k, float("nan")) for r in records], label=k)
    for ax, title in zip(axes, ("L1 (generator vs target)", "adversarial terms")):
        ax.set_title(title)
        ax.set_xlabel("step")
        if ax.lines:
            ax.legend(loc="upper right")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    tmp.replace(out)
