"""A generator as ONNX, for the static page (app.static): the U-Net part (`Generator.net`) at one size,
behaving as the paper at test time: dropout on, its masks an input; batch statistics at batch 1.

Inputs: ``x`` (1 x C x S x S, `Generator.features`: condition, hints, hint fill, palette planes) and
``mask1``.. (the dropout keep-masks, `Generator.dropout_shapes`); output ``y`` (1 x 3 x S x S in [-1, 1]).
"""

from __future__ import annotations

import copy
import io
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .networks import Generator

OPSET = 17


class PerImageNorm(nn.Module):
    """A BatchNorm2d without running statistics at batch 1: each image's own statistics, exactly what
    InstanceNormalization computes (with the norm's scale and shift), which every ONNX runtime has."""

    def __init__(self, norm: nn.BatchNorm2d):
        super().__init__()
        self.weight, self.bias, self.eps = norm.weight, norm.bias, norm.eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)


class _Net(nn.Module):
    def __init__(self, generator: Generator):
        super().__init__()
        self.generator = copy.deepcopy(generator).cpu().float().eval()
        for name, module in list(self.generator.named_modules()):
            if isinstance(module, nn.BatchNorm2d):
                parent, _, leaf = name.rpartition(".")
                setattr(self.generator.get_submodule(parent), leaf, PerImageNorm(module))

    def forward(self, x: torch.Tensor, *masks: torch.Tensor) -> torch.Tensor:
        return self.generator.net(x, list(masks))


def input_channels(generator: Generator) -> int:
    """C of the ``x`` input: what `Generator.features` hands the first conv."""
    return generator.enc1.conv.in_channels


def to_onnx(generator: Generator, size: int = 256, half: bool = True) -> bytes:
    """The serialised ONNX model of `generator.net` at `size` x `size`; `half`: weights stored as
    float16 (half the download) and cast back to float32 once, when the runtime loads them."""
    import onnx

    shapes = generator.dropout_shapes(size, size)
    args = (torch.zeros(1, input_channels(generator), size, size), *(torch.ones(s) for s in shapes))
    names = ["x", *(f"mask{i + 1}" for i in range(len(shapes)))]
    net = _Net(generator)
    with (
        torch.no_grad()
    ):  # outside the trace first: ResizeConv's cached design tensors, built inside it, export wrong
        net(*args)
    buffer = io.BytesIO()
    with (
        warnings.catch_warnings()
    ):  # the tracer's notes on constants (sizes, instance_norm's statistics) are expected
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            args,
            buffer,
            input_names=names,
            output_names=["y"],
            opset_version=OPSET,
            dynamo=False,
            do_constant_folding=True,
        )
    model = onnx.load_from_string(buffer.getvalue())
    if half:
        model = _half_weights(model)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _half_weights(model):
    """Every float32 initializer stored as float16, followed by a Cast back to float32 (constant-folded
    by the runtime at load): the maths stays float32, the file halves."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    graph, casts = model.graph, []
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        name = init.name
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), f"{name}.f16")
        init.CopyFrom(half)
        casts.append(helper.make_node("Cast", [f"{name}.f16"], [name], to=onnx.TensorProto.FLOAT))
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return model


def save(generator: Generator, path: str | Path, size: int = 256, half: bool = True) -> Path:
    path = Path(path)
    path.write_bytes(to_onnx(generator, size, half))
    return path
