"""Inference: `load(folder)` -> `Translator`, callable on any PIL image."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .config import HINT_CHANNELS, ModelConfig
from .folder import load_generator, read_card
from .hints import hint_tensor, palette_planes
from .images import to_rgb
from .networks import Generator
from .strokes import thin_strokes


def to_tensor(image: Image.Image) -> torch.Tensor:
    """8-bit RGB -> 1x3xHxW in [-1, 1]."""
    arr = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy())
    return arr.permute(2, 0, 1).unsqueeze(0).float().div(127.5).sub(1.0)


def to_image(tensor: torch.Tensor) -> Image.Image:
    """1x3xHxW (or 3xHxW) in [-1, 1] -> 8-bit RGB."""
    t = tensor.detach().float().cpu()
    t = t[0] if t.dim() == 4 else t
    arr = ((t.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    return Image.fromarray(arr, "RGB")


class Translator:
    """A loaded generator plus what it needs to take any image: mode, size and aspect handling.

    Thread-safe: one forward at a time per translator (seeded dropout uses the global RNG).
    """

    def __init__(self, generator: Generator, config: ModelConfig, card: str = "", device: str = "cpu",
                 backend: str = "torch"):
        if backend not in ("torch", "onnx") or (backend == "onnx" and torch.device(device).type != "cpu"):
            raise ValueError(f"backend must be torch, or onnx on the cpu; got {backend!r} on {device}")
        # Contiguous (NCHW) whatever layout it was trained in (the trainer uses channels-last): a model's
        # output must not depend on the machine that trained it.
        self.generator = generator.to(device, memory_format=torch.contiguous_format).eval()
        self.config = config
        self.card = card
        self.device = torch.device(device)
        self.backend = backend
        self._sessions: dict[int, object] = {}  # size -> onnxruntime session (backend "onnx")
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def accepts_hints(self) -> bool:
        """Whether this model takes colour hints (`hints=` in a call); without them it works from lines alone."""
        return self.config.generator.hints

    @property
    def has_palette(self) -> bool:
        """Whether this model takes one colour for the whole object (`colour=` in a call)."""
        return self.config.generator.palette

    @property
    def takes_lines(self) -> bool:
        """Whether the input is black-on-white lines (edges, sketches), whose strokes `thin_lines` thins."""
        return self.config.input_kind in ("edges", "sketch")

    def prepare(self, image: Image.Image, size: int) -> tuple[Image.Image, tuple[int, int, int, int]]:
        """Pad to a square with the model's pad colour, then resize to `size`.

        Returns the square input and the box (in `size` pixels) that holds the original content.
        """
        image = to_rgb(image, self.config.pad_color)
        w, h = image.size
        side = max(w, h)
        square = Image.new("RGB", (side, side), self.config.pad_color)
        left, top = (side - w) // 2, (side - h) // 2
        square.paste(image, (left, top))
        # Label maps are categorical: never blend colours into labels that don't exist.
        resample = Image.NEAREST if self.config.input_kind == "labels" else Image.BICUBIC
        square = square.resize((size, size), resample)
        s = size / side
        box = (round(left * s), round(top * s), round((left + w) * s), round((top + h) * s))
        return square, box

    @torch.inference_mode()
    def __call__(self, image: Image.Image, hints: Image.Image | None = None, seed: int | None = None,
                 size: int = 256, colour: tuple[int, int, int] | str | None = "auto", thin_lines: bool = False,
                 masks: list[torch.Tensor] | None = None) -> Image.Image:
        """Translate `image`; the result keeps its aspect ratio with its long side = `size`.

        `hints` (hint models only): an RGBA layer over `image` (any size; it is stretched to the
        image) whose pixels with alpha > 0 ask for their RGB colour there.
        `seed` fixes the dropout noise and any drawn colour (same seed, same picture); None draws afresh.
        `colour` (palette models only): the object's overall colour as 8-bit RGB; "auto" (default): one
        drawn by `seed` from the training photos' colours when no hints are given, none with hints (they
        say the colours); None: none, the model's own averaged palette.
        `thin_lines` (line models only): thin strokes of any width to the training edges' width first
        (models.strokes); off by default, the model takes the lines as drawn.
        `masks` (`Generator.dropout_shapes`, 1 = keep): the dropout noise as given, e.g. the static page's,
        instead of drawn from `seed` (which still draws any colour).
        """
        multiple = self.generator.multiple
        if size < multiple or size % multiple:
            raise ValueError(f"size must be a positive multiple of {multiple}, got {size}")
        if hints is not None and not self.accepts_hints:
            raise ValueError(f"model {self.name} takes no colour hints (its accepts_hints is False)")
        if colour not in ("auto", None) and not self.has_palette:
            raise ValueError(f"model {self.name} takes no overall colour (its has_palette is False)")
        square, box = self.prepare(image, size)
        if thin_lines and self.takes_lines:
            square = thin_strokes(square)
        x = to_tensor(square)
        if self.accepts_hints:
            # No hint layer = all-zero hint channels: the model was trained to work from lines alone.
            h = hint_tensor(hints, box, size) if hints is not None else torch.zeros(1, HINT_CHANNELS, size, size)
            x = torch.cat([x, h], dim=1)
        if self.has_palette:
            x = torch.cat([x, self._palette(colour, hints is not None, seed, size)], dim=1)
        x = x.to(self.device)
        with self._lock:
            with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
                if seed is not None:
                    torch.manual_seed(seed)
                else:
                    torch.seed()
                masks = None if masks is None else [m.to(self.device) for m in masks]
                y = self.generator(x, masks) if self.backend == "torch" else self._onnx(x, masks, size)
        out = to_image(y)
        if box != (0, 0, size, size):
            out = out.crop(box)
        return out

    def _onnx(self, x: torch.Tensor, masks: list[torch.Tensor] | None, size: int) -> torch.Tensor:
        """The generator with its U-Net in onnxruntime (models.export, float32, exported at the first call of
        each size): the hint fill and palette in torch, then the dropout masks drawn as F.dropout draws them
        from the seeded RNG, so a seed gives the noise the torch backend gives."""
        import onnxruntime

        from .export import to_onnx

        if size not in self._sessions:
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads, options.inter_op_num_threads = torch.get_num_threads(), 1
            self._sessions[size] = onnxruntime.InferenceSession(
                to_onnx(self.generator, size, half=False), options, providers=["CPUExecutionProvider"])
        features = self.generator.features(x)
        if masks is None:
            p = self.generator.cfg.dropout
            masks = [torch.empty(shape).bernoulli_(1 - p) for shape in self.generator.dropout_shapes(size, size)]
        feeds = {"x": features.numpy(), **{f"mask{i + 1}": m.numpy() for i, m in enumerate(masks)}}
        return torch.from_numpy(self._sessions[size].run(None, feeds)[0])

    def _palette(self, colour: tuple[int, int, int] | str | None, hinted: bool, seed: int | None, size: int
                 ) -> torch.Tensor:
        """The 1x4xSxS palette planes for `colour` (see __call__); a drawn colour has its own RNG, so it
        leaves the dropout noise of the same seed as it was."""
        if colour == "auto":
            if hinted:
                colour = None
            else:
                rng = torch.Generator()
                rng.manual_seed(seed) if seed is not None else rng.seed()
                drawn = self.generator.draw_palette(1, rng).float().cpu()
                return palette_planes(drawn, torch.ones(1, dtype=torch.bool), size, size)
        if colour is None:
            return palette_planes(torch.zeros(1, 3), torch.zeros(1, dtype=torch.bool), size, size)
        if (isinstance(colour, str) or len(colour) != 3
                or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in colour)):
            raise ValueError(f"colour must be \"auto\", None or 8-bit (r, g, b), got {colour!r}")
        rgb = torch.tensor([colour], dtype=torch.float32).div(127.5).sub(1.0)
        return palette_planes(rgb, torch.ones(1, dtype=torch.bool), size, size)


def load(folder: str | Path, device: str = "cpu", backend: str = "torch") -> Translator:
    """Load a model folder (``model.safetensors`` + ``config.json``) for inference; `backend` "onnx": the
    U-Net in onnxruntime on the CPU (see Translator._onnx)."""
    folder = Path(folder)
    generator, config = load_generator(folder, device)
    return Translator(generator, config, read_card(folder), device, backend)
