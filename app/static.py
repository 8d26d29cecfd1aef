"""`python -m app export-static OUT_DIR [--models NAME ...]`: the studio as one static folder whose generators
run in the visitor's browser (onnxruntime-web), so any static host serves any number of visitors.

The folder holds index.html, the studio's own canvas (app/canvas.*, wrapped as a module here, not copied
in the repo), the page's script (static.js) and input ports (static_inputs.js), each model as ONNX
(models.export) with its settings in models.json, its example drawing, and onnxruntime-web's files from
node_modules (package-lock.json pins them; `npm ci` installs them). Nothing is fetched from another host.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import re
import shutil
import sys
import threading
from pathlib import Path

import models
from app import examples, handlers
from app.canvas import HERE, label_swatches
from app.registry import Registry, default_roots
from models import export

SIZE = 256  # the page's model size (the Python studio also offers 512)
REPO = HERE.parent
ORT = REPO / "node_modules" / "onnxruntime-web"
# The single-threaded WASM build (threads need cross-origin isolation, which plain static hosts lack).
ORT_FILES = ["dist/ort.wasm.min.mjs", "dist/ort-wasm-simd-threaded.mjs", "dist/ort-wasm-simd-threaded.wasm"]
PAGE_FILES = ["static.js", "static_inputs.js", "canvas.css"]


class ExportError(Exception):
    """Something the export needs is missing; the message says what to do."""


def canvas_html() -> str:
    """canvas.html with its one Handlebars block (the facade label buttons) filled in, as gr.HTML does."""
    template = (HERE / "canvas.html").read_text(encoding="utf-8")

    def labels(match: re.Match) -> str:
        return "".join(
            match.group(1).replace("{{this.[0]}}", name).replace("{{this.[1]}}", colour)
            for name, colour in label_swatches()
        )

    return re.sub(r"\{\{#each labels\}\}(.*?)\{\{/each\}\}", labels, template, flags=re.S)


def canvas_module() -> str:
    """canvas.js (a gr.HTML js_on_load body over `element`, `props` and `watch`) as an ES module."""
    body = (HERE / "canvas.js").read_text(encoding="utf-8")
    head = "// app/canvas.js, the studio's canvas, wrapped by app/static.py."
    return f"{head}\nexport function mountCanvas(element, props, watch) {{\n{body}}}\n"


def model_entry(key: str, registry: Registry, out: Path) -> dict:
    """Write model `key`'s ONNX and example drawing under `out`; return its models.json entry."""
    entry = registry.entries[key]
    generator, config = models.load_generator(entry.folder)
    g = config.generator
    if generator.multiple > SIZE:
        raise ExportError(f"{key}: needs inputs of {generator.multiple} px; the page runs {SIZE}")
    if g.centre_lines or g.hints_every_scale or g.in_channels != 3:
        raise ExportError(
            f"{key}: centre lines, hints at every scale and non-RGB inputs are not in the page yet"
        )
    export.save(generator, out / "models" / f"{key}.onnx", SIZE)
    example = out / "examples" / f"{key}.png"
    examples.example_for(key, config.input_kind).save(example, optimize=True)
    return {
        "key": key,
        "label": entry.label,
        "kind": config.input_kind,
        "onnx": f"models/{key}.onnx",
        "example": f"examples/{key}.png",
        "hints": g.hints,
        "fill": g.hint_fill_mode if g.hint_fill else None,
        "palette": g.palette,
        "channels": export.input_channels(generator),
        "masks": generator.dropout_shapes(SIZE, SIZE),
        "prior": generator.palette_prior.tolist() if g.palette else None,
    }


def export_static(out: str | Path, names: list[str] | None = None, registry: Registry | None = None) -> dict:
    """Write the page to `out` for the models `names` (default: all the registry finds); returns
    models.json."""
    out = Path(out)
    missing = [f for f in ORT_FILES if not (ORT / f).is_file()]
    if missing:
        raise ExportError(
            f"onnxruntime-web is not installed ({ORT / missing[0]} is missing): run `npm ci` "
            "in the repository (Node 20 and npm), or `make install-dev`"
        )
    registry = registry or Registry(default_roots())
    names = names or list(registry.entries)
    unknown = [n for n in names if n not in registry.entries]
    if unknown or not names:
        raise ExportError(
            f"unknown model(s) {unknown or names}; known: {', '.join(registry.entries) or 'none'}"
        )
    for folder in ("models", "examples", "ort"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    for stale in [
        *(out / "models").glob("*.onnx"),
        *(out / "examples").glob("*.png"),
    ]:  # from an earlier export
        stale.unlink()
    manifest = {
        "size": SIZE,
        "labels": handlers.PALETTE,
        "paper": {"labels": handlers.background_for("labels")},
        "models": [model_entry(name, registry, out) for name in names],
    }
    (out / "models.json").write_text(json.dumps(manifest), encoding="utf-8")
    for name in ORT_FILES:
        shutil.copyfile(ORT / name, out / "ort" / Path(name).name)
    for name in PAGE_FILES:
        shutil.copyfile(HERE / name, out / name)
    (out / "canvas.js").write_text(canvas_module(), encoding="utf-8")
    page = (HERE / "static.html").read_text(encoding="utf-8").replace("{{canvas}}", canvas_html())
    (out / "index.html").write_text(page, encoding="utf-8")
    return manifest


def sizes(out: str | Path) -> dict[str, int]:
    """Bytes of the exported page: each model's ONNX and example, the shared files, and the total."""
    out = Path(out)
    files = [p for p in out.rglob("*") if p.is_file()]
    per_model = {
        p.stem: p.stat().st_size + (out / "examples" / f"{p.stem}.png").stat().st_size
        for p in (out / "models").glob("*.onnx")
    }
    total = sum(p.stat().st_size for p in files)
    return {**per_model, "shared": total - sum(per_model.values()), "total": total}


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet: one line per file is noise in tests and benchmarks
        pass


def serve(folder: str | Path, host: str = "127.0.0.1", port: int = 0) -> http.server.ThreadingHTTPServer:
    """Serve `folder` as any static host would, from a daemon thread (port 0: a free one);
    `.shutdown()` stops it."""
    server = http.server.ThreadingHTTPServer((host, port), functools.partial(_Files, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m app export-static",
        description="Write the studio as a static page whose models run in the browser.",
    )
    p.add_argument("out", metavar="OUT_DIR", help="folder to write (serve it with any static web server)")
    p.add_argument("--models", nargs="+", metavar="NAME", help="models to include (default: all found)")
    p.add_argument(
        "--models-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="extra folder of model folders, as for the studio",
    )
    args = p.parse_args(argv)
    try:
        export_static(args.out, args.models, Registry(default_roots(args.models_dir)))
    except (ExportError, models.ModelError) as e:
        sys.exit(f"export-static: {e}")
    for name, size in sizes(args.out).items():
        print(f"{name:>16}: {size / 1e6:6.1f} MB")
    print(f"serve it with: python -m http.server -d {args.out} 8000  (then open http://127.0.0.1:8000)")
