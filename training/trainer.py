"""The training loop: one run folder, resumable to the step, CPU or CUDA (DDP via torchrun)."""
from __future__ import annotations

import dataclasses
import errno
import json
import math
import os
import signal
import sys
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from models import shadow
from models.config import HINT_CHANNELS
from models.files import CheckpointError, atomic_write_bytes, naming, remove_temps
from models.folder import (
    DISCRIMINATOR,
    SHADOW,
    MissingWeightsError,
    flatten_optimizers,
    load_carried,
    load_generator,
    save_model,
    write_carried,
)
from models.hints import palette_planes
from models.networks import PALETTE_PRIOR, Discriminator, Generator, resize_state_dict, widen_state_dict
from models.translator import to_image

from .checkpoint import remove_interrupted, resume_checkpoint, save_checkpoint
from .config import HINT_OPTIONS, PROJECTABLE, ConfigError, TrainConfig, read_run_config, validate
from .data import DataError, PairDataset, epoch_order, step_generator
from .diffaugment import Augment, augment_generator, parse_policy
from .hints import object_colours, recolour, sample_hints, sample_palette
from .imagenet import ImageNetFeatures, perceptual_loss
from .losses import discriminator_loss, feature_matching_loss, gan_loss, generator_loss
from .projected import ProjectedDiscriminator
from .report import plot_losses, sample_grid

DISTILL_REACH = 4  # px around the strokes where --distill compares G with its teacher


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but torch sees no CUDA device")
    return device


@dataclass
class Batch:
    """One step's tensors on the device. `condition`: what D sees beside the image (lines and hints; None for an
    unconditional D); `keep`: the pairs D sees (None: all; hue-turned pairs are L1 targets only)."""

    condition: torch.Tensor | None
    g_in: torch.Tensor
    b: torch.Tensor
    keep: torch.Tensor | None
    teacher_out: torch.Tensor | None
    near_lines: torch.Tensor | None

    def for_d(self, fake: torch.Tensor) -> tuple:
        """(condition, real, fake) restricted to the pairs D sees."""
        if self.keep is None or self.keep.all():
            return self.condition, self.b, fake
        return tuple(None if t is None else t[self.keep] for t in (self.condition, self.b, fake))


class Trainer:
    """Owns the networks, optimisers, data and run folder of one training run."""

    def __init__(self, cfg: TrainConfig, run_dir: str | Path, progress: bool = True):
        validate(cfg)  # before the slow parts: data decoding, process group
        self.augment_policy = parse_policy(cfg.diffaugment)
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.progress = progress
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.device = pick_device(cfg.device)
        if self.world > 1:
            if not dist.is_initialized():
                dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
            if self.device.type == "cuda":
                self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
                torch.cuda.set_device(self.device)
        self.is_main = self.rank == 0
        if self.world > 1 and cfg.data.hint_recolour:
            # A rank whose pairs were all hue-turned skips D, and DDP would wait for it forever.
            raise ValueError("--hint-recolour trains D on some steps only: run it in one process, not with torchrun")
        torch.manual_seed(cfg.seed + self.rank)

        nearest = cfg.model.input_kind == "labels"
        self.data = PairDataset(cfg.data.root, cfg.data, "train", nearest, train=True,
                                progress=progress and self.is_main)
        self.samples = self._sample_batch(nearest)
        self.steps_per_epoch = len(self.data) // (cfg.batch_size * self.world)
        if self.steps_per_epoch == 0:
            raise DataError(
                f"{cfg.data.root}: {len(self.data)} training pairs is fewer than one batch "
                f"(--batch-size {cfg.batch_size} x {self.world} processes)"
            )
        self.total_steps = cfg.epochs * self.steps_per_epoch
        if cfg.max_steps:
            self.total_steps = min(self.total_steps, cfg.max_steps)

        cuda = self.device.type == "cuda"
        self.memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
        self.G = Generator(cfg.model.generator).to(self.device, memory_format=self.memory_format)
        if cfg.model.generator.palette:
            self.G.palette_prior.copy_(self._palette_prior())
        self.D = (
            Discriminator(cfg.discriminator, cfg.model.generator.condition_channels, cfg.model.generator.out_channels)
            .to(self.device, memory_format=self.memory_format)
            if cfg.uses_gan else None
        )
        # Frozen ImageNet features for --perceptual and --projected-d; loading them needs the wheel only then.
        self.imagenet = (ImageNetFeatures().to(self.device, memory_format=self.memory_format)
                         if cfg.uses_imagenet else None)
        condition_channels = cfg.model.generator.condition_channels if cfg.discriminator.conditional else 0
        self.P = (ProjectedDiscriminator(condition_channels, seed=cfg.seed).to(self.device)
                  if cfg.projected_d else None)
        betas = (cfg.beta1, cfg.beta2)
        self.optimizers = {"G": torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=betas)}
        if self.D is not None:
            self.optimizers["D"] = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=betas)
        if self.P is not None:
            self.optimizers["P"] = torch.optim.Adam(self.P.parameters(), lr=cfg.lr, betas=betas)
        self.teacher = None
        if cfg.distill:  # frozen, in the studio's mode (eval, dropout on, as the paper tests)
            self.teacher, _ = load_generator(cfg.teacher or cfg.init_from, self.device)
            # G's layout: dropout masks follow the memory order, and the teacher must draw G's noise.
            self.teacher.to(memory_format=self.memory_format)
            self.teacher.requires_grad_(False)
        self.G_train, self.D_train = self.G, self.D
        if self.world > 1:
            ids = [self.device.index] if cuda else None
            self.G_train = DistributedDataParallel(self.G, device_ids=ids)
            if self.D is not None:
                self.D_train = DistributedDataParallel(self.D, device_ids=ids)
        if cfg.compile:
            self.G_train = torch.compile(self.G_train)
            if self.D_train is not None:
                self.D_train = torch.compile(self.D_train)
        self.autocast = (
            torch.autocast("cuda", dtype=torch.bfloat16) if (cuda and cfg.bf16) else nullcontext()
        )
        self.step = 0
        self.wall = 0.0
        self._stop = False
        self.discriminator_from = discriminator_source(cfg)  # for init_discriminator and the card

    # -- data -------------------------------------------------------------------------------
    def _palette_prior(self) -> torch.Tensor:
        """Object colours of PALETTE_PRIOR training photos (seeded; repeated when there are fewer): this run's,
        or those of `--palette-prior`'s train split."""
        data = self.data
        if self.cfg.data.palette_prior:
            data = PairDataset(Path(self.cfg.data.palette_prior), self.cfg.data, "train", self.data.nearest_input,
                               train=False, progress=False)
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(self.cfg.seed))
        picks = order.repeat(-(-PALETTE_PRIOR // len(order)))[:PALETTE_PRIOR]
        return torch.cat([object_colours(data.targets[chunk].float().div(127.5).sub(1.0))
                          for chunk in picks.split(64)])

    def _sample_batch(self, nearest: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """A fixed few val pairs (train pairs when there is no val split) for the sample grids."""
        root = Path(self.cfg.data.root)
        split = self.cfg.data.val_split if (root / self.cfg.data.val_split).is_dir() else "train"
        val = PairDataset(root, self.cfg.data, split, nearest, train=False, progress=False)
        return val.batch(list(range(min(4, len(val)))))

    def _indices(self, step: int) -> list[int]:
        """The samples this process trains on at `step` (rank-sharded global batch)."""
        epoch, pos = divmod(step, self.steps_per_epoch)
        order = epoch_order(len(self.data), epoch, self.cfg.seed)
        per_step = self.cfg.batch_size * self.world
        start = pos * per_step + self.rank * self.cfg.batch_size
        return order[start:start + self.cfg.batch_size]

    def lr_at(self, step: int) -> float:
        """Constant, then linear decay to zero over the last `decay_epochs` (reference pix2pix rule)."""
        if not self.cfg.decay_epochs:
            return self.cfg.lr
        epoch = step // self.steps_per_epoch
        constant = self.cfg.epochs - self.cfg.decay_epochs
        return self.cfg.lr * (1.0 - max(0, epoch + 1 - constant) / (self.cfg.decay_epochs + 1))

    # -- one step ---------------------------------------------------------------------------
    def train_step(self, step: int) -> dict[str, float]:
        """One step, as pix2pix's optimize_parameters: G's forward pass, D's step, then G's (not during
        --d-warmup, when D trains alone against a frozen G)."""
        batch = self.prepare_batch(step)
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = self.lr_at(step)
        warmup = step < self.cfg.d_warmup
        with self.autocast, torch.set_grad_enabled(not warmup):
            fake = self.G_train(batch.g_in)
        terms: dict[str, float] = {}
        fake_logits, fm = self.d_step(batch, fake, step, terms)
        extras = self.imagenet_terms(batch, fake, warmup, terms)
        if not warmup:
            self.g_step(batch, fake, fake_logits, fm, extras, terms)
        return terms

    def prepare_batch(self, step: int) -> Batch:
        """The step's pairs with what the options add: hints (and their hue turn), the palette planes, the
        --distill teacher's output and where it counts; on the device, in the run's memory format."""
        cfg, gen = self.cfg, self.cfg.model.generator
        generator = step_generator(cfg.seed + 7 * self.rank, step)
        a, b, *clean = self.data.batch(self._indices(step), generator, clean=self.teacher is not None)
        keep = hints = None  # keep: the pairs D sees; None: all of them
        if gen.hints:
            # Drawn after crop and flip, from the same per-step generator: aligned with the target,
            # and an exact resume sees the same hints. D is conditioned on them too (via `a`).
            hints = sample_hints(b, cfg.data.hints, generator, max_radius=cfg.data.hint_radius,
                                 max_length=cfg.data.hint_length)
            if cfg.data.hint_recolour:
                b, hints, turned = recolour(b, hints, cfg.data.hint_recolour, generator)
                keep = (~turned).to(self.device)
            a = torch.cat([a, hints], dim=1)
        g_in = a
        if gen.palette:  # after any hue turn: the code is the colour of the target G must match
            colours, given = sample_palette(b, hints, generator)
            g_in = torch.cat([a, palette_planes(colours, given, *a.shape[2:])], dim=1)
        teacher_out = near_lines = None
        if self.teacher is not None and not step < cfg.d_warmup:
            # The teacher's input is G's with the strokes 1 px wide: same hints, same palette.
            t_in = torch.cat([clean[0], g_in[:, clean[0].shape[1]:]], dim=1).to(self.device)
            # With G's dropout noise (the RNG is rewound after it), so where they differ it is the strokes'
            # width, not the noise: a teacher of G's own network then gives a target G can match.
            devices = [self.device] if self.device.type == "cuda" else []
            with torch.random.fork_rng(devices=devices), torch.no_grad(), self.autocast:
                teacher_out = self.teacher(t_in)
            # Where a thick stroke and a thin line differ: the thick ink (it covers the thin), widened by
            # DISTILL_REACH px, so the term is not a whisper averaged over pixels far from any line.
            ink = (a[:, :clean[0].shape[1]] < 0).any(dim=1, keepdim=True).float()
            near_lines = F.max_pool2d(ink, 2 * DISTILL_REACH + 1, stride=1, padding=DISTILL_REACH).to(self.device)
        a, g_in, b = (t.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)
                      for t in (a, g_in, b))
        return Batch(a if cfg.discriminator.conditional else None, g_in, b, keep, teacher_out, near_lines)

    def d_step(self, batch: Batch, fake: torch.Tensor, step: int, terms: dict[str, float]) -> tuple:
        """D's step on the pairs it sees (hue-turned pairs are L1 targets only), then its verdict on G's output,
        with D frozen: (the logits G is judged by, the feature-matching term), None each without a D."""
        condition, real, fake = batch.for_d(fake)
        if self.D is None or not len(real):
            return None, None
        # DiffAugment: a fresh draw for each D call, the same one for its condition and image.
        augment_stream = augment_generator(self.cfg.seed + 7 * self.rank, step)

        def augment() -> Augment:
            return Augment.sample(self.augment_policy, real.shape, augment_stream)

        self.D.requires_grad_(True)
        with self.autocast:
            real_logits = self.D_train(*augment()(condition, real))
            detached_logits = self.D_train(*augment()(condition, fake.detach()))
        loss_d, d_terms = discriminator_loss(real_logits, detached_logits)
        self.optimizers["D"].zero_grad(set_to_none=True)
        loss_d.backward()
        self.optimizers["D"].step()
        terms.update(d_terms)
        # G's pass through D: D frozen, and outside DDP so no gradient sync is expected.
        self.D.requires_grad_(False)
        g_augment = augment()  # feature matching compares fake and real under the same draw
        fm = None
        with self.autocast:
            fake_feats = self.D.features(*g_augment(condition, fake))
            if self.cfg.feature_matching:
                with torch.no_grad():
                    real_feats = self.D.features(*g_augment(condition, real))
                fm = feature_matching_loss(fake_feats[:-1], real_feats[:-1])
        return fake_feats[-1], fm

    def imagenet_terms(self, batch: Batch, fake: torch.Tensor, warmup: bool,
                       terms: dict[str, float]) -> dict[str, tuple[float, torch.Tensor]]:
        """The pretrained-eyes terms of G's loss (name -> (weight, term)): the projected D's verdict after its own
        step, and the feature loss."""
        extras: dict[str, tuple[float, torch.Tensor]] = {}
        if self.imagenet is None:
            return extras
        with self.autocast:
            fake_net = self.imagenet(fake)
            with torch.no_grad():
                real_net = self.imagenet(batch.b)
        condition, real, _ = batch.for_d(fake)
        if self.P is not None and len(real):
            extras["G_projected"] = (self.cfg.projected_d,
                                     self._projected_step(fake_net, real_net, condition, batch.keep, terms))
        if self.cfg.perceptual and not warmup:
            extras["G_perceptual"] = (self.cfg.perceptual, perceptual_loss(fake_net, real_net))
        return extras

    def g_step(self, batch: Batch, fake: torch.Tensor, fake_logits: torch.Tensor | None, fm: torch.Tensor | None,
               extras: dict[str, tuple[float, torch.Tensor]], terms: dict[str, float]) -> None:
        cfg = self.cfg
        if cfg.l2:
            extras = {**extras, "G_l2": (cfg.l2, F.mse_loss(fake.float(), batch.b.float()))}
        loss_g, g_terms = generator_loss(fake_logits, fake, batch.b, cfg.lambda_l1, cfg.uses_l1, fm,
                                         cfg.feature_matching, batch.teacher_out, cfg.distill, batch.near_lines,
                                         extras)
        self.optimizers["G"].zero_grad(set_to_none=True)
        loss_g.backward()
        self.optimizers["G"].step()
        terms.update(g_terms)

    def _projected_step(self, fake_net: dict[int, torch.Tensor], real_net: dict[int, torch.Tensor],
                        condition: torch.Tensor | None, keep: torch.Tensor | None, terms: dict[str,
                                                                                               float]) -> torch.Tensor:
        """One step of the projected D on this batch's ImageNet features (the pairs D sees: `keep`), then its
        verdict on G's output, the term G's loss takes (non-saturating, as the PatchGAN's)."""
        if keep is not None and not keep.all():
            fake_net, real_net = ({d: t[keep] for d, t in net.items()} for net in (fake_net, real_net))
        self.P.requires_grad_(True)
        with self.autocast:
            real_logits = self.P(real_net, condition)
            detached_logits = self.P({d: t.detach() for d, t in fake_net.items()}, condition)
        loss_p, p_terms = discriminator_loss(real_logits, detached_logits, "P")
        self.optimizers["P"].zero_grad(set_to_none=True)
        loss_p.backward()
        self.optimizers["P"].step()
        terms.update(p_terms)
        self.P.requires_grad_(False)
        with self.autocast:
            return gan_loss(self.P(fake_net, condition), True)

    def init_generator(self) -> None:
        """Start G from the weights of `cfg.init_from` (a model folder with the same architecture, or its
        deconv layers projected to resize-convs; the padding may differ; a larger --ngf widens it)."""
        source, config = load_generator(self.cfg.init_from)
        net = self.cfg.model.generator
        project = (config.generator.upsample, net.upsample) == PROJECTABLE
        learns = ("hints", *HINT_OPTIONS, "palette",
                  "centre_lines")  # inputs a fine-tune may add (never drop); the fill mode it may switch
        same_net = dataclasses.replace(config.generator, upsample=net.upsample, hint_fill_mode=net.hint_fill_mode,
                                       padding=net.padding, ngf=net.ngf, **{o: getattr(net, o) for o in learns}) == net
        if (not same_net or any(getattr(config.generator, o) > getattr(net, o) for o in learns)
                or config.generator.ngf > net.ngf or (config.generator.upsample != net.upsample and not project)):
            raise ValueError(
                f"--init-from {self.cfg.init_from}: its generator ({config.generator}) differs from this run's "
                f"({self.cfg.model.generator}); pass the same --preset/--ngf/--arch"
            )
        state = resize_state_dict(source) if project else source.state_dict()
        if config.generator.ngf < net.ngf:  # --ngf wider than the source: its function, with room to grow
            narrow = Generator(dataclasses.replace(config.generator, upsample=net.upsample))
            narrow.load_state_dict(state)
            inputs = {o: getattr(config.generator, o) for o in learns}  # new inputs are added below
            state = widen_state_dict(narrow, Generator(dataclasses.replace(net, **inputs)))
        # A model learns hints it did not take (at the input, spread, or at every encoder level), palette planes or
        # centre lines: zero weights on the new channels start it at exactly its old output, and their gradients
        # are not zero.
        for key, target in self.G.state_dict().items():
            if key == "palette_prior":  # this run's photos' colours (set in __init__), also when the source has some
                state[key] = target
                continue
            w = state[key]
            if key.startswith("enc") and w.ndim == 4 and w.shape[1] < target.shape[1]:
                state[key] = torch.cat([w, w.new_zeros(w.shape[0], target.shape[1] - w.shape[1], *w.shape[2:])], dim=1)
        self.G.load_state_dict(state)
        self.cfg.init_history = dict(config.training)

    def init_discriminator(self) -> None:
        """Start D from `discriminator_from`: D alone from --init-discriminator (a run's checkpoint folder or
        a model folder), or D and Adam (where it fits) from the --init-from folder that carries them."""
        source, explicit = Path(self.discriminator_from), bool(self.cfg.init_discriminator)
        flag = "--init-discriminator" if explicit else "--init-from"
        if self.D is None:
            raise ConfigError(f"{flag} {source}: objective {self.cfg.objective} trains no discriminator")
        if not (source / DISCRIMINATOR).is_file():
            raise MissingWeightsError(f"{flag} {source}: no {DISCRIMINATOR} there (give a checkpoint folder, e.g. "
                                      "runs/NAME/checkpoints/step_00005000, or a model folder that carries one)")
        try:
            notes = load_carried(source, self.D, {} if explicit else self.optimizers, self.P)
        except CheckpointError as e:
            raise ConfigError(f"{flag} {e}" + ("" if explicit else " (or pass --fresh-discriminator)")) from None
        if self.is_main:
            for line in notes:
                print(line, file=sys.stderr)

    # -- run folder -------------------------------------------------------------------------
    @property
    def ckpt_dir(self) -> Path:
        return self.run_dir / "checkpoints"

    def resume(self) -> bool:
        """Continue from the newest checkpoint that reads back (a line for each one skipped); the log
        goes back to its step, or to step 0 when the run has no checkpoint yet."""
        state, skipped = resume_checkpoint(self.ckpt_dir, self.G, self.D, self.optimizers, self.P)
        if state is not None:
            self.step = state["step"]
            self.wall = state.get("wall_seconds", 0.0)
            if self.rank:
                torch.manual_seed(self.cfg.seed + self.rank + self.step)
        if self.is_main:
            for line in skipped:
                print(line, file=sys.stderr)
            self._truncate_log(self.step)
        return state is not None

    def _truncate_log(self, step: int) -> None:
        """Drop log lines written after the step we resume from (they will be redone), and a line torn
        by a kill or a full disk; the loss plot is redrawn from what is left."""
        log, plot = self.run_dir / "log.jsonl", self.run_dir / "loss.png"
        if not log.is_file():
            return
        lines = []
        for line in log.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                break
            if not (isinstance(record, dict) and isinstance(record.get("step"), int)) or record["step"] > step:
                break
            lines.append(line)
        atomic_write_bytes(log, "".join(line + "\n" for line in lines).encode())
        if lines:
            plot_losses(log, plot)
        else:
            plot.unlink(missing_ok=True)

    def save(self) -> None:
        if not self.is_main:
            return
        # A finished run's last step is kept too: a later --resume that extends the run would otherwise
        # prune the very step its model folder was exported from, and with it any mean that takes it.
        keep = (bool(self.cfg.keep_every) and self.step % self.cfg.keep_every == 0) or self.step == self.total_steps
        save_checkpoint(
            self.ckpt_dir, self.step, self.G, self.D, self.optimizers,
            {"wall_seconds": self.wall, "epoch": self.step / self.steps_per_epoch}, keep, self.P,
        )
        self.export()
        plot_losses(self.run_dir / "log.jsonl", self.run_dir / "loss.png")

    def export(self) -> Path:
        """The run's current generator as a model folder the app and `evaluate` can load."""
        cfg = self.cfg
        model_cfg, d = cfg.model, cfg.discriminator
        model_cfg.training = {
            "data": str(cfg.data.root),
            "direction": cfg.data.direction,
            "pairs": len(self.data),
            "objective": cfg.objective,
            "lambda_l1": cfg.lambda_l1,
            **{k: getattr(cfg, k) for k in ("feature_matching", "perceptual", "projected_d") if getattr(cfg, k)},
            "preset": cfg.preset,
            "discriminator": f"{d.patch}x{d.patch} PatchGAN, ndf {d.ndf}",
            "batch_size": cfg.batch_size * self.world,
            "steps": self.step,
            "epochs": round(self.step / self.steps_per_epoch, 2),
            "device": f"{self.device.type}" + (f" ({torch.cuda.get_device_name(self.device)})" if self.device.type ==
            "cuda" else "")
            + (f" x{self.world}" if self.world > 1 else ""),
            "wall_seconds": round(self.wall, 3),  # ms: a tiny run can take under 0.1 s
            "command": cfg.command,
        }
        if cfg.data.palette_prior:
            model_cfg.training["palette_prior"] = cfg.data.palette_prior
        if cfg.init_from:
            model_cfg.training["init_from"] = {"model": cfg.init_from, **cfg.init_history}
            if self.discriminator_from:
                model_cfg.training["init_from"]["discriminator_from"] = self.discriminator_from
        folder = save_model(self.run_dir / "model", self.G, model_cfg)
        if model_cfg.input_kind in ("edges", "sketch") and not (folder / SHADOW).is_file():
            maps = shadow.edge_maps(cfg.data.root)  # once a run: its data does not change
            if maps:
                atomic_write_bytes(folder / SHADOW, shadow.to_png(shadow.build(maps)))
        opt_tensors, opt_meta = flatten_optimizers(self.optimizers)
        write_carried(folder, None if self.D is None else self.D.state_dict(), opt_tensors, opt_meta,
                      None if self.P is None else self.P.state_dict())
        return folder

    def write_samples(self) -> None:
        if not self.is_main:
            return
        a, b = self.samples
        # A hint model's samples show it working from lines alone (evaluate shows hinted outputs); a palette
        # model's, with colours drawn from its prior as the studio draws them.
        net = self.cfg.model.generator
        x = torch.cat([a, a.new_zeros(a.shape[0], HINT_CHANNELS, *a.shape[2:])], 1) if net.hints else a
        if net.palette:
            colours = self.G.draw_palette(len(a), torch.Generator().manual_seed(0)).cpu()
            x = torch.cat([x, palette_planes(colours, torch.ones(len(a), dtype=torch.bool), *a.shape[2:])], 1)
        with torch.no_grad(), self.autocast:
            fake = self.G(x.to(self.device))
        grid = sample_grid(a, fake.float().cpu(), b)
        path = self.run_dir / "samples" / f"step_{self.step:08d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        to_image(grid).save(path, quality=92)

    def _log(self, record: dict[str, Any]) -> None:
        log = self.run_dir / "log.jsonl"  # a line torn by a full disk is dropped on --resume
        with naming(log), open(log, "a") as f:
            f.write(json.dumps(record) + "\n")

    def _on_signal(self, signum, frame) -> None:
        self._stop = True

    # -- the loop ---------------------------------------------------------------------------
    def fit(self) -> dict[str, float]:
        """Train until total_steps (or a SIGINT/SIGTERM, after which it checkpoints and returns)."""
        cfg = self.cfg
        if self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            for folder in (self.run_dir, self.run_dir / "model"):
                remove_temps(folder)
            remove_interrupted(self.ckpt_dir)
            atomic_write_bytes(self.run_dir / "train_config.json", cfg.to_json().encode())
        handlers = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        per_step = cfg.batch_size * self.world
        bar = tqdm(
            total=self.total_steps * per_step, initial=self.step * per_step, unit="img",
            disable=not (self.progress and self.is_main), dynamic_ncols=True, smoothing=0.05,
        )
        window: dict[str, list[float]] = {}
        last: dict[str, float] = {}
        t0 = time.perf_counter()
        try:
            while self.step < self.total_steps and not self._stop:
                terms = self.train_step(self.step)
                self.step += 1
                for k, v in terms.items():
                    window.setdefault(k, []).append(v)
                bar.update(per_step)
                now = time.perf_counter()
                self.wall += now - t0
                t0 = now
                if self.step % cfg.log_every == 0 or self.step == self.total_steps:
                    last = {k: sum(v) / len(v) for k, v in window.items()}
                    window.clear()
                    if not all(math.isfinite(v) for v in last.values()):
                        raise FloatingPointError(f"non-finite loss at step {self.step}: {last}")
                    if self.is_main:
                        self._log({"step": self.step, "epoch": round(self.step / self.steps_per_epoch, 4),
                                   "lr": self.lr_at(self.step - 1), **last})
                    bar.set_postfix({k: f"{v:.3f}" for k, v in last.items()})
                if self.step % cfg.sample_every == 0:
                    self.write_samples()
                if self.step % cfg.save_every == 0 or self.step == self.total_steps:
                    self.save()
            if self._stop:
                self.save()
        finally:
            bar.close()
            for s, h in handlers.items():
                signal.signal(s, h)
        return last


class RunExistsError(FileExistsError):
    """A run folder already holds a run and --resume was not asked for."""


class RunWriteError(RuntimeError):
    """The run folder cannot be written (disk full, read-only); what was saved before is intact."""


WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


@contextmanager
def named_write_errors(run_dir: Path):
    """A full disk or a read-only folder as one line that names the file, not a traceback."""
    try:
        yield
    except OSError as e:
        if e.errno not in WRITE_ERRNOS:
            raise
        raise RunWriteError(
            f"cannot write {e.filename or run_dir}: {e.strerror}; the checkpoints saved before are intact "
            "(free some space, then --resume)"
        ) from e


def discriminator_source(cfg: TrainConfig) -> str:
    """Where D starts: --init-discriminator, else the --init-from folder when it carries a D and the run
    trains one (unless --fresh-discriminator); "" for a fresh D."""
    if cfg.init_discriminator:
        return cfg.init_discriminator
    carried = cfg.init_from and (Path(cfg.init_from) / DISCRIMINATOR).is_file()
    return cfg.init_from if carried and cfg.uses_gan and not cfg.fresh_discriminator else ""


def run_training(cfg: TrainConfig, run_dir: Path, resume: bool, epochs: int | None = None,
                 max_steps: int | None = None, decay_epochs: int | None = None) -> Trainer:
    """Start a run, or resume one with its saved config.

    On resume only the schedule may change (length, LR decay: e.g. anneal a run that was meant to be
    longer); a change is appended to the recorded command so the model card tells how it was made.
    """
    saved = run_dir / "train_config.json"
    if saved.is_file() and not resume:
        raise RunExistsError(f"{run_dir} already holds a run: pass --resume to continue it, or choose another --name")
    command, changed = cfg.command, False
    if resume and saved.is_file():
        cfg = read_run_config(saved)
        schedule = (cfg.epochs, cfg.decay_epochs, cfg.max_steps)
        cfg.epochs = epochs or cfg.epochs
        cfg.decay_epochs = cfg.decay_epochs if decay_epochs is None else decay_epochs
        cfg.max_steps = cfg.max_steps if max_steps is None else max_steps
        changed = (cfg.epochs, cfg.decay_epochs, cfg.max_steps) != schedule
    trainer = Trainer(cfg, run_dir)
    with named_write_errors(run_dir):
        resumed = resume and trainer.resume()
        if resume and trainer.is_main:
            print(f"resuming {run_dir} at step {trainer.step}" if resumed
                  else f"no checkpoint in {run_dir}: starting")
        if resumed and changed and command:
            cfg.command = f"{cfg.command}; from step {trainer.step}: {command}"
        if not resumed and cfg.init_from:
            trainer.init_generator()
        if not resumed and trainer.discriminator_from:
            trainer.init_discriminator()
        trainer.fit()
    if trainer.is_main:
        print(f"model: {run_dir / 'model'}  (step {trainer.step}/{trainer.total_steps})")
    return trainer
