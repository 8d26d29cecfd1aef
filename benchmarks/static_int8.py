"""Would int8 graphs make the static page faster, and at what cost? (issue 41's "quantised graphs" lever)

    python benchmarks/static_int8.py [--model edges2shoes] [--data data/edges2shoes] [--limit 16] [--strokes 12]

Quantises the model's float32 ONNX graph to int8 (onnxruntime's static QDQ quantisation: Conv and
ConvTranspose, per-channel int8 weights, uint8 activations, calibrated on `--limit` val drawings with the
page's inputs: the edges, no hints, the palette colour drawn by seed). Prints:
- how far the int8 photo is from the float32 one on those drawings (PSNR, mean and largest difference);
- in headless chromium, the page's pen-up to photo p50 with the shipped graph and with the int8 one swapped in,
  and how far each page photo is from PyTorch's (the int8 one cannot stay within the page's 2/255).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

import models
from app import static
from app.registry import SHIPPED, Registry
from benchmarks.static_page import DESKTOP, latencies
from models import export


def page_inputs(generator, config, files: list[Path], seed: int = 0) -> list[dict]:
    """The ONNX feeds the page would build for each val drawing (no hints; palette colour drawn by seed)."""
    rng = np.random.default_rng(seed)
    channels = export.input_channels(generator)
    prior = generator.palette_prior.numpy() if config.generator.palette else None
    feeds = []
    for f in files:
        pair = np.asarray(Image.open(f).convert("RGB"))
        drawing = Image.fromarray(pair[:, : pair.shape[1] // 2]).resize((256, 256), Image.Resampling.BICUBIC)
        x = np.zeros((1, channels, 256, 256), np.float32)
        x[0, :3] = (np.asarray(drawing, np.float32) / 127.5 - 1).transpose(2, 0, 1)
        if prior is not None:
            x[0, channels - 4 : channels - 1] = prior[rng.integers(len(prior))].reshape(3, 1, 1)
            x[0, channels - 1] = 1
        feed = {"x": x}
        for i, shape in enumerate(generator.dropout_shapes(256, 256)):
            feed[f"mask{i + 1}"] = (rng.random(shape) >= 0.5).astype(np.float32) * 2
        feeds.append(feed)
    return feeds


def quantise(fp32: Path, int8: Path, feeds: list[dict]) -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.left = iter(feeds)

        def get_next(self):
            return next(self.left, None)

    quantize_static(str(fp32), str(int8), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    op_types_to_quantize=["Conv", "ConvTranspose"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="edges2shoes", help="a shipped model")
    ap.add_argument("--data", help="its dataset (default: data/MODEL)")
    ap.add_argument("--limit", type=int, default=16, help="val drawings to calibrate and compare on")
    ap.add_argument("--strokes", type=int, default=12)
    args = ap.parse_args()
    import onnxruntime as ort
    from playwright.sync_api import sync_playwright

    generator, config = models.load_generator(SHIPPED / args.model)
    files = sorted(Path(args.data or f"data/{args.model}", "val").glob("*"))[: args.limit]
    feeds = page_inputs(generator, config, files)
    tmp = Path(tempfile.mkdtemp(prefix="static-int8-"))
    (tmp / "fp32.onnx").write_bytes(export.to_onnx(generator, 256, half=False))
    quantise(tmp / "fp32.onnx", tmp / "int8.onnx", feeds)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    runs = [ort.InferenceSession(str(tmp / f"{n}.onnx"), options) for n in ("fp32", "int8")]
    psnr, mean_diff, max_diff = [], [], []
    for feed in feeds:
        a, b = (np.round((s.run(None, feed)[0] + 1) * 127.5).clip(0, 255) for s in runs)
        psnr.append(10 * np.log10(255**2 / max(np.mean((a - b) ** 2), 1e-12)))
        mean_diff.append(np.abs(a - b).mean())
        max_diff.append(np.abs(a - b).max())
    print(f"{args.model}: int8 against float32 on {len(feeds)} val drawings: PSNR {statistics.mean(psnr):.1f} dB "
          f"(lowest {min(psnr):.1f}), mean difference {statistics.mean(mean_diff):.2f}/255, "
          f"largest {max(max_diff):.0f}/255")
    print(f"ONNX size: float16 weights {len(export.to_onnx(generator, 256)) / 1e6:.1f} MB, "
          f"int8 {(tmp / 'int8.onnx').stat().st_size / 1e6:.1f} MB")

    pages = {}
    for name in ("shipped", "int8"):
        folder = tmp / name
        manifest = static.export_static(folder, [args.model], Registry([SHIPPED]))
        if name == "int8":
            shutil.copyfile(tmp / "int8.onnx", folder / manifest["models"][0]["onnx"])
        pages[name] = folder
    with sync_playwright() as pw:
        for name, folder in pages.items():
            hinted = {m["key"] for m in json.loads((folder / "models.json").read_text())["models"] if m["hints"]}
            server = static.serve(folder)
            rows = latencies(pw, f"http://127.0.0.1:{server.server_port}/", [args.model], args.strokes, hinted, DESKTOP)
            server.shutdown()
            server.server_close()
            for row, r in rows.items():
                print(f"  {name:<8} {row:<24} p50 {r['p50']:5.0f} ms (generator {r['generator_p50']:.0f}); "
                      f"photo vs PyTorch: {r['within_2']:.1%} within 2/255, largest {r['max_diff']}/255")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
