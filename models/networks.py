"""pix2pix networks (Isola et al. 2017, appendix 6.1) with flat, readable module names.

State-dict keys read like the paper: ``enc3.conv.weight``, ``dec2.norm.weight``, ``layer2.conv.weight``.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from .config import CENTRE_LINE_CHANNELS, HINT_CHANNELS, PALETTE_CHANNELS, DiscriminatorConfig, GeneratorConfig, Norm
from .hints import fill_hints
from .strokes import centre_lines


def make_norm(kind: Norm, channels: int) -> nn.Module:
    # Paper: batch statistics at test time too, so no running averages are kept. With batch
    # size 1 this is instance normalisation, as the paper notes.
    if kind == "batch":
        return nn.BatchNorm2d(channels, track_running_stats=False)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    raise ValueError(f"unknown norm {kind!r}")


@functools.cache  # callers only read it
def _resize_design() -> tuple[torch.Tensor, torch.Tensor]:
    """Both a 4x4 stride-2 deconv and a resize-conv give each of the 4 output phases a 2x2 filter on
    the input. Along one axis, output 2m sees inputs (m-1, m): taps (k3, k1) of the deconv,
    (w0, w1 + w2) of the resize-conv; output 2m+1 sees (m, m+1): taps (k2, k0) vs (w0 + w1, w2).
    Returns the 16x9 map from the 3x3 kernel to the 16 phase taps, and the deconv tap of each."""
    sums = [[(0,), (1, 2)], [(0, 1), (2,)]]  # [phase][neighbour] -> resize-conv taps
    deconv_tap = [[3, 1], [2, 0]]  # [phase][neighbour] -> deconv tap
    design, taps = torch.zeros(16, 9, dtype=torch.float64), []
    for row, (a, b, p, q) in enumerate((a, b, p, q) for a in (0, 1) for b in (0, 1) for p in (0, 1) for q in (0, 1)):
        for u in sums[a][p]:
            for v in sums[b][q]:
                design[row, 3 * u + v] = 1.0
        taps.append(4 * deconv_tap[a][p] + deconv_tap[b][q])
    return design, torch.tensor(taps)


def deconv_to_resize(weight: torch.Tensor) -> torch.Tensor:
    """The resize-conv kernel (cout, cin, 3, 3) nearest to a 4x4 stride-2 deconv's (cin, cout, 4, 4).

    Least squares over the 16 phase taps: what a resize-conv cannot express is the part of the
    deconv that differs between neighbouring output pixels, i.e. its checkerboard. Fine-tuning a
    trained deconv model from this projection (`--init-from ... --upsample resize`) keeps what it
    learned and starts with no checkerboard."""
    design, taps = _resize_design()
    cin, cout = weight.shape[:2]
    target = weight.detach().to(torch.float64).reshape(cin, cout, 16)[..., taps]  # (cin, cout, 16 phase taps)
    kernel = target @ torch.linalg.pinv(design).T  # (cin, cout, 9)
    return kernel.permute(1, 0, 2).reshape(cout, cin, 3, 3).to(weight.dtype).contiguous()


@functools.cache
def _deconv_design() -> torch.Tensor:
    """`_resize_design`'s rows put in deconv tap order: the 16x9 map from a resize-conv's 3x3
    kernel to the 4x4 deconv kernel that equals it."""
    design, taps = _resize_design()
    to_deconv = torch.zeros_like(design)
    to_deconv[taps] = design
    return to_deconv


def resize_to_deconv(kernel: torch.Tensor) -> torch.Tensor:
    """The 4x4 stride-2 deconv weight (cin, cout, 4, 4) that computes exactly what the resize-conv
    `kernel` (cout, cin, 3, 3) does: each deconv tap is a sum of resize-conv taps. Differentiable."""
    cout, cin = kernel.shape[:2]
    flat = kernel.permute(1, 0, 2, 3).reshape(cin, cout, 9) @ _deconv_design().T.to(kernel)
    return flat.reshape(cin, cout, 4, 4)


def resize_state_dict(source: nn.Module) -> dict[str, torch.Tensor]:
    """`source`'s state dict with every deconv weight replaced by its resize-conv projection."""
    state = source.state_dict()
    for name, module in source.named_modules():
        if isinstance(module, nn.ConvTranspose2d):
            state[f"{name}.weight"] = deconv_to_resize(module.weight)
    return state


class SubpixelConv(nn.Conv2d):
    """3x3 conv to 4x channels, then PixelShuffle(2) (Shi et al. 2016), ICNR-initialised."""

    def __init__(self, cin: int, cout: int, bias: bool = True, padding: str = "zeros"):
        # A 1x1 bottleneck cannot be mirrored: past the border it repeats its pixels, as `transposed` does.
        super().__init__(cin, 4 * cout, 3, 1, 1, bias=bias, padding_mode="zeros" if padding == "zeros" else "replicate")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(super().forward(x), 2)


def icnr_(conv: SubpixelConv, std: float = 0.02) -> None:
    """ICNR (Aitken et al. 2017): the 4 sub-pixel kernels of each output channel start equal, so
    at initialisation the layer is a conv followed by nearest upsampling, free of checkerboard."""
    out4, cin, kh, kw = conv.weight.shape
    kernel = torch.randn(out4 // 4, cin, kh, kw) * std
    with torch.no_grad():
        # PixelShuffle reads channel c*4 + i as sub-pixel i of output channel c.
        conv.weight.copy_(kernel.repeat_interleave(4, dim=0))


class ResizeConv(nn.Conv2d):
    """Nearest x2 upsampling then a 3x3 conv: every output pixel sees the same number of inputs,
    so no checkerboard (Odena et al. 2016). A Conv2d itself, so its keys stay ``dec1.conv.weight``.

    Run as the 4x4 stride-2 deconv it equals (`resize_to_deconv`, exact): the same output and
    gradients at the deconv's cost, where upsampling first convolves 4x the pixels (2.4x slower)."""

    def __init__(self, cin: int, cout: int, bias: bool = True, padding: str = "zeros"):
        super().__init__(cin, cout, 3, 1, 1, bias=bias, padding_mode=padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return transposed(x, resize_to_deconv(self.weight), self.bias, self.padding_mode)


class Deconv(nn.ConvTranspose2d):
    """The paper's 4x4 stride-2 transposed conv, with the border handling of `transposed`."""

    def __init__(self, cin: int, cout: int, bias: bool = True, padding: str = "zeros"):
        super().__init__(cin, cout, 4, stride=2, padding=1, bias=bias)
        self.border = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return transposed(x, self.weight, self.bias, self.border)


def transposed(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding: str) -> torch.Tensor:
    """4x4 stride-2 transposed conv (2x the size). "zeros": border outputs see fewer inputs; otherwise the
    input's border pixels are repeated once more, which after nearest x2 is a mirror of the upsampled image,
    and the two extra output pixels a side are cropped (same alignment as padding=1)."""
    if padding == "zeros":
        return F.conv_transpose2d(x, weight, bias, stride=2, padding=1)
    return F.conv_transpose2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), weight, bias, stride=2, padding=3)


OUTER_LEVELS = 4  # "reflect-outer" mirrors at levels 0-3: maps of at least 1/8 of the image (32 px of 256)


def level_padding(padding: str, level: int) -> str:
    """The padding of a conv whose input is 1/2**level of the image. "reflect-outer" mirrors the outer
    levels, where a zero pad paints the frame people see, and zero-pads the deep ones, where a pad is a large
    share of a small map and tells the network where the middle is: the position prior that puts a face in
    the middle of a head crop (all-reflect models lost cat faces on head crops: the edges2cats NOTES)."""
    if padding == "reflect-outer":
        return "reflect" if level < OUTER_LEVELS else "zeros"
    return padding


def upconv(mode: str, cin: int, cout: int, bias: bool = True, padding: str = "zeros") -> nn.Module:
    """A x2 upsampling layer; "deconv" is the paper's 4x4 stride-2 transposed conv."""
    if mode == "deconv":
        return Deconv(cin, cout, bias=bias, padding=padding)
    if mode == "resize":
        return ResizeConv(cin, cout, bias=bias, padding=padding)
    if mode == "subpixel":
        return SubpixelConv(cin, cout, bias=bias, padding=padding)
    raise ValueError(f"upsample must be deconv, resize or subpixel, got {mode!r}")


def init_weights(module: nn.Module) -> None:
    """Paper: weights from N(0, 0.02); norm scales from N(1, 0.02), biases zero."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            if isinstance(m, SubpixelConv):
                icnr_(m)
            else:
                nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class Down(nn.Module):
    """Ck encoder block: LeakyReLU(0.2) on the incoming features, 4x4 stride-2 conv, norm."""

    def __init__(self, cin: int, cout: int, norm: Norm | None, activation: bool = True, padding: str = "zeros"):
        super().__init__()
        self.activation = activation
        # A conv followed by BatchNorm needs no bias (BN has its own shift).
        self.conv = nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=norm != "batch", padding_mode=padding)
        self.norm = make_norm(norm, cout) if norm else nn.Identity()

    def forward(self, x: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        if self.activation:
            x = F.leaky_relu(x, 0.2)
        if hints is not None:  # after the activation: hint colours keep their sign
            x = torch.cat([x, hints], dim=1)
        return self.norm(self.conv(x))


class Up(nn.Module):
    """Ck / CDk decoder block: ReLU, x2 upsampling conv (paper: 4x4 stride-2 transposed), norm,
    optional dropout 0.5."""

    def __init__(self, cin: int, cout: int, norm: Norm | None, dropout: float = 0.0, upsample: str = "deconv",
                 padding: str = "zeros"):
        super().__init__()
        self.conv = upconv(upsample, cin, cout, bias=norm != "batch", padding=padding)
        self.norm = make_norm(norm, cout) if norm else nn.Identity()
        self.dropout = dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = self.norm(self.conv(F.relu(x)))
        if not self.dropout:
            return x
        # Dropout stays on at test time: it is the generator's only source of noise (paper 2.2).
        # A given `mask` (1 = keep) is that noise made explicit, scaled as F.dropout scales it: the
        # static page draws its own and hands the same to PyTorch and to its ONNX copy.
        if mask is None:
            return F.dropout(x, self.dropout, training=True)
        return x * (mask / (1 - self.dropout))


def pooled_hints(hints: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """The hint layer (colour, mask) at full size and halved `levels - 1` times: each cell's colour is
    the mean of the hinted pixels in it, its mask 1 where any pixel is hinted."""
    colour, mask = hints[:, :HINT_CHANNELS - 1], hints[:, HINT_CHANNELS - 1:]
    weighted, out = colour * mask, [hints]
    for _ in range(levels - 1):
        weighted, mask = F.avg_pool2d(weighted, 2), F.avg_pool2d(mask, 2)
        out.append(torch.cat([weighted / mask.clamp_min(1e-6), (mask > 0).to(mask.dtype)], dim=1))
    return out


PALETTE_PRIOR = 512  # object colours kept in a palette model's weights


class Generator(nn.Module):
    """U-Net generator, or the encoder-decoder ablation when ``arch == "encoder_decoder"``.

    Encoder C64-C128-C256-C512-C512-C512-C512-C512 (no norm on enc1, none on the bottleneck
    enc8, per the paper's errata); decoder CD512-CD1024-CD1024-C1024-C1024-C512-C256-C128,
    where the U-Net's widths count the concatenated skip.
    """

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        if cfg.num_downs < 5:
            raise ValueError("num_downs must be at least 5 (C64-C128-C256-C512 + bottleneck)")
        self.cfg = cfg
        self.skips = cfg.arch == "unet"
        self.hint_scales = cfg.hints and cfg.hints_every_scale
        self.hint_fill = cfg.hints and cfg.hint_fill
        if cfg.arch not in ("unet", "encoder_decoder"):
            raise ValueError(f"unknown generator arch {cfg.arch!r}")
        n, g = cfg.num_downs, cfg.ngf
        enc_widths = [g * min(2**i, 8) for i in range(n)]  # 64,128,256,512,512,...
        self.enc_widths = enc_widths
        for i in range(n):
            cin = (cfg.condition_channels + HINT_CHANNELS * self.hint_fill + PALETTE_CHANNELS * cfg.palette
                   + CENTRE_LINE_CHANNELS * cfg.centre_lines if i == 0
                   else enc_widths[i - 1] + HINT_CHANNELS * self.hint_scales)
            first, last = i == 0, i == n - 1
            norm = None if (first or last) else cfg.norm
            setattr(self, f"enc{i + 1}", Down(cin, enc_widths[i], norm, activation=not first,
                                              padding=level_padding(cfg.padding, i)))
        mult = 2 if self.skips else 1
        # dec k mirrors enc (n - k); its output is concatenated with that encoder's output.
        for k in range(1, n):
            cin = enc_widths[n - k] * (1 if k == 1 else mult)
            cout = enc_widths[n - k - 1]
            dropout = cfg.dropout if k <= 3 else 0.0
            setattr(self, f"dec{k}", Up(cin, cout, cfg.norm, dropout, cfg.upsample,
                                        level_padding(cfg.padding, n - k + 1)))  # dec k reads level n - k + 1
        self.dec_out = upconv(cfg.upsample, enc_widths[0] * mult, cfg.out_channels,
                              padding=level_padding(cfg.padding, 1))
        init_weights(self)
        if cfg.palette:
            # The object colours (RGB in [-1, 1]) of training photos, set by the trainer and saved with the
            # weights: the colours a drawing alone is given at test time, one drawn per seed.
            self.register_buffer("palette_prior", torch.zeros(PALETTE_PRIOR, 3))

    def draw_palette(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n object colours (n x 3) drawn from `palette_prior`."""
        return self.palette_prior[torch.randint(len(self.palette_prior), (n,), generator=generator)]

    @property
    def multiple(self) -> int:
        """Input sides must be multiples of this (256 for the paper's 8 downsamplings)."""
        return 2**self.cfg.num_downs

    def dropout_shapes(self, height: int, width: int) -> list[tuple[int, int, int, int]]:
        """The shapes of the dropout masks `net` takes for a 1 x C x height x width input, one per
        decoder block with dropout."""
        n = self.cfg.num_downs
        return [(1, self.enc_widths[n - k - 1], height >> (n - k), width >> (n - k))
                for k in range(1, n) if getattr(self, f"dec{k}").dropout]

    def forward(self, x: torch.Tensor, masks: list[torch.Tensor] | None = None) -> torch.Tensor:
        return self.net(self.features(x), masks)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The first conv's input: the condition (image + hints) and palette planes as given, then what
        the generator derives from them (the hint fill, centre lines). Kept apart from `net` because the
        derived parts are not ONNX-exportable (a sparse solve, a skeleton): the static page computes them."""
        c = self.cfg.in_channels
        x, palette = x[:, :self.cfg.condition_channels], x[:, self.cfg.condition_channels:]
        if self.hint_fill:
            x = torch.cat([x, fill_hints(x[:, :c], x[:, c:c + HINT_CHANNELS], self.cfg.hint_fill_mode)], dim=1)
        if self.cfg.palette:  # after the rest, so a fine-tune that adds them appends zero weights to enc1
            x = torch.cat([x, palette], dim=1)
        if self.cfg.centre_lines:  # last, for the same reason
            x = torch.cat([x, centre_lines(x[:, :c])], dim=1)
        return x

    def net(self, x: torch.Tensor, masks: list[torch.Tensor] | None = None) -> torch.Tensor:
        """The U-Net on `features(...)`; `masks` (see `dropout_shapes`, 1 = keep): the dropout noise
        given, instead of drawn from torch's RNG."""
        n, c = self.cfg.num_downs, self.cfg.in_channels
        masks = list(masks) if masks is not None else None
        feats, levels = [], pooled_hints(x[:, c:c + HINT_CHANNELS], n) if self.hint_scales else [None] * n
        for i in range(1, n + 1):
            x = getattr(self, f"enc{i}")(x, levels[i - 1] if i > 1 else None)
            feats.append(x)
        for k in range(1, n):
            dec = getattr(self, f"dec{k}")
            x = dec(x, masks.pop(0) if masks is not None and dec.dropout else None)
            if self.skips:
                x = torch.cat([x, feats[n - k - 1]], dim=1)
        return torch.tanh(self.dec_out(F.relu(x)))


def widen_state_dict(source: Generator, target: Generator) -> dict[str, torch.Tensor]:
    """`source`'s weights inside the wider `target` (a larger ngf, all else equal), computing what it computed.

    Each layer's old channels keep their weights and take nothing from the new ones (zero weights there);
    the new channels start as `target` was initialised. BatchNorm's statistics are per channel, so the old
    channels see exactly what they saw, and the output, read from old channels only, is the source's. The
    zero weights have gradients, so the new channels join in from the first step (Net2Net's aim, by
    zero-padding rather than copying)."""
    n = source.cfg.num_downs
    old_w, new_w = source.enc_widths, target.enc_widths
    fixed = target.enc1.conv.weight.shape[1]  # the input's channels do not widen
    hint = HINT_CHANNELS * source.hint_scales

    def segments(name: str, widths: list[int]) -> list[int]:
        """The widths of the concatenated parts a layer reads."""
        if name == "enc1":
            return [fixed]
        if name.startswith("enc"):
            return [widths[int(name[3:]) - 2]] + ([hint] if hint else [])
        k = n if name == "dec_out" else int(name[3:])
        return [widths[n - k]] * (2 if source.skips and k > 1 else 1)  # dec k > 1 reads its skip too

    def index(old: list[int], new: list[int]) -> torch.Tensor:
        starts = torch.tensor([0, *new]).cumsum(0)
        return torch.cat([starts[i] + torch.arange(w) for i, w in enumerate(old)])

    state, old_state = target.state_dict(), source.state_dict()
    for key, value in state.items():
        if key == "palette_prior":
            state[key] = old_state[key].clone()
            continue
        layer = key.split(".")[0]
        w = old_state[key]
        module = getattr(target, layer).conv if layer != "dec_out" else target.dec_out
        out_dim = 1 if isinstance(module, nn.ConvTranspose2d) else 0
        new = value.clone()
        if key.endswith("conv.weight") or key == "dec_out.weight":
            rows = torch.arange(w.shape[out_dim])
            cols = index(segments(layer, old_w), segments(layer, new_w))
            if out_dim:
                new[:, rows] = 0
                new[cols[:, None], rows[None, :]] = w
            else:
                new[rows] = 0
                new[rows[:, None], cols[None, :]] = w
        else:  # biases and norm scales/shifts: one value per output channel
            new[: w.shape[0]] = w
        state[key] = new
    return state


class PatchLayer(nn.Module):
    """Conv -> norm -> LeakyReLU(0.2), one PatchGAN stage."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, norm: Norm | None, padding: str = "zeros"):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, 1 if kernel == 4 else 0, bias=norm != "batch",
                              padding_mode=padding)
        self.norm = make_norm(norm, cout) if norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.norm(self.conv(x)), 0.2)


# Receptive field -> number of stride-2 layers (70x70 = C64-C128-C256 + C512 + 1 output map).
PATCH_DEPTH = {16: 1, 70: 3, 286: 5}


class Discriminator(nn.Module):
    """Conditional PatchGAN: classifies each patch of (input, output) as real or fake.

    Outputs logits, one per patch; `patch` picks the receptive field (paper section 4.4).
    """

    def __init__(self, cfg: DiscriminatorConfig, in_channels: int, out_channels: int):
        super().__init__()
        self.cfg = cfg
        cin = in_channels + out_channels if cfg.conditional else out_channels
        d = cfg.ndf
        layers: list[PatchLayer] = []
        if cfg.patch == 1:  # PixelGAN: 1x1 convolutions only
            layers = [PatchLayer(cin, d, 1, 1, None), PatchLayer(d, 2 * d, 1, 1, cfg.norm)]  # no padding to mind
            out_in, depth = 2 * d, 0
        elif cfg.patch in PATCH_DEPTH:
            depth = PATCH_DEPTH[cfg.patch]
            widths = [d * min(2**i, 8) for i in range(depth + 1)]
            layers.append(PatchLayer(cin, widths[0], 4, 2, None, level_padding(cfg.padding, 0)))
            for i in range(1, depth):
                layers.append(PatchLayer(widths[i - 1], widths[i], 4, 2, cfg.norm, level_padding(cfg.padding, i)))
            layers.append(PatchLayer(widths[depth - 1], widths[depth], 4, 1, cfg.norm,
                                     level_padding(cfg.padding, depth)))
            out_in = widths[depth]
        else:
            raise ValueError(f"patch must be 1, 16, 70 or 286, got {cfg.patch!r}")
        for i, layer in enumerate(layers, start=1):
            setattr(self, f"layer{i}", layer)
        self.num_layers = len(layers)
        kernel = 1 if cfg.patch == 1 else 4
        self.out = nn.Conv2d(out_in, 1, kernel, 1, 1 if kernel == 4 else 0,
                             padding_mode=level_padding(cfg.padding, depth))
        init_weights(self)

    def forward(self, condition: torch.Tensor | None, image: torch.Tensor) -> torch.Tensor:
        return self.features(condition, image)[-1]

    def features(self, condition: torch.Tensor | None, image: torch.Tensor) -> list[torch.Tensor]:
        """Every layer's output, the logits last (feature matching compares the others)."""
        x = torch.cat([condition, image], dim=1) if self.cfg.conditional else image
        feats = []
        for i in range(1, self.num_layers + 1):
            x = getattr(self, f"layer{i}")(x)
            feats.append(x)
        return feats + [self.out(x)]


def receptive_field(disc: Discriminator) -> int:
    """Receptive field of one output logit, computed from the layers themselves."""
    convs = [getattr(disc, f"layer{i}").conv for i in range(1, disc.num_layers + 1)] + [disc.out]
    rf = 1
    for conv in reversed(convs):
        rf = (rf - 1) * conv.stride[0] + conv.kernel_size[0]
    return rf
