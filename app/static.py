"""`python -m app export-static OUT_DIR [--models NAME ...]`: the studio as one static folder whose generators
run in the visitor's browser (onnxruntime-web), so any static host serves any number of visitors.

The folder holds index.html, the studio's own canvas (app/canvas.*, wrapped as a module here, not copied
in the repo), the page's script (static.js) and input ports (static_inputs.js), each model as ONNX
(models.export) with its settings in models.json, its example drawing, and onnxruntime-web's files from
node_modules (package-lock.json pins them; `npm ci` installs them). Nothing is fetched from another host.
For phones and offline use it also holds a web app manifest with icons, the service worker (app/sw.js, keyed
by a hash of the export) and `_headers` (cross-origin isolation for hosts that read it); model and example
files carry a hash of their bytes in their names, so a page never mixes two exports.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
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
PAGE_FILES = ["static.js", "static_worker.js", "static_inputs.js", "canvas.css"]
# Cross-origin isolation lets onnxruntime-web run WASM on several threads (SharedArrayBuffer).
ISOLATION_HEADERS = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}
ICON_SIZES = (192, 512)


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


def hashed(path: Path, write) -> Path:
    """Call `write(path)`, then rename the file to NAME-HASH.EXT (12 hex digits of its sha256), so that a
    cached page of an earlier export can never load this file under the old name."""
    write(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return path.replace(path.with_name(f"{path.stem}-{digest}{path.suffix}"))


def write_icons(out: Path, key: str, kind: str) -> list[dict]:
    """The home-screen icons: the first model's example drawing on white, framed in the studio's orange."""
    from PIL import Image, ImageOps

    drawing = examples.example_for(key, kind).convert("RGB")
    icons = []
    for size in ICON_SIZES:
        inner = ImageOps.fit(drawing, (size * 7 // 8, size * 7 // 8), Image.Resampling.LANCZOS)
        icon = Image.new("RGB", (size, size), "#f97316")
        icon.paste(inner, ((size - inner.width) // 2, (size - inner.height) // 2))
        name = f"icons/icon-{size}.png"
        icon.save(out / name, optimize=True)
        icons.append({"src": name, "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any"})
    return icons


def write_offline_files(out: Path, manifest: dict) -> str:
    """The web app manifest, `_headers` and the service worker; returns the export's version (a hash of
    every file of the page, which names the worker's cache)."""
    first = manifest["models"][0]
    app_manifest = {
        "name": "pix2pix studio",
        "short_name": "pix2pix",
        "description": "Draw, and a pix2pix generator running in your browser makes a photo of it.",
        "start_url": "./",
        "scope": "./",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#f97316",
        "icons": write_icons(out, first["key"], first["kind"]),
    }
    (out / "manifest.webmanifest").write_text(json.dumps(app_manifest, indent=1), encoding="utf-8")
    (out / "_headers").write_text(
        "/*\n" + "".join(f"  {name}: {value}\n" for name, value in ISOLATION_HEADERS.items()), encoding="utf-8"
    )
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "sw.js")
    version = hashlib.sha256()
    for path in files:
        version.update(path.relative_to(out).as_posix().encode() + b"\0" + path.read_bytes())
    lazy = {m[field] for m in manifest["models"] for field in ("onnx", "example")}
    shell = ["./"] + [
        p.relative_to(out).as_posix() for p in files if p.relative_to(out).as_posix() not in lazy | {"_headers"}
    ]
    worker = (HERE / "sw.js").read_text(encoding="utf-8")
    worker = worker.replace("{{version}}", version.hexdigest()[:16]).replace("{{shell}}", json.dumps(shell))
    (out / "sw.js").write_text(worker, encoding="utf-8")
    return version.hexdigest()[:16]


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
    onnx = hashed(out / "models" / f"{key}.onnx", lambda path: export.save(generator, path, SIZE))
    example = hashed(
        out / "examples" / f"{key}.png",
        lambda path: examples.example_for(key, config.input_kind).save(path, format="PNG", optimize=True),
    )
    return {
        "key": key,
        "label": entry.label,
        "kind": config.input_kind,
        "paper": handlers.background_for(config.input_kind),  # what a blank drawing is
        "onnx": onnx.relative_to(out).as_posix(),
        "example": example.relative_to(out).as_posix(),
        "hints": g.hints,
        "fill": g.hint_fill_mode if g.hint_fill else None,
        "palette": g.palette,
        "channels": export.input_channels(generator),
        "masks": generator.dropout_shapes(SIZE, SIZE),
        "prior": generator.palette_prior.tolist() if g.palette else None,
    }


def export_static(out: str | Path, names: list[str] | None = None, registry: Registry | None = None) -> dict:
    """Write the page to `out` for the models `names` (default: all the registry finds); returns
    models.json, with the export's version (the name of sw.js's cache) added."""
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
    for folder in ("models", "examples", "ort", "icons"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    for stale in [
        *(out / "models").glob("*.onnx"),
        *(out / "examples").glob("*.png"),
    ]:  # from an earlier export
        stale.unlink()
    manifest = {
        "size": SIZE,
        "canvas": handlers.CANVAS,
        "variations": handlers.VARIATIONS,
        "max_seed": handlers.MAX_SEED,
        "labels": handlers.PALETTE,
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
    manifest["version"] = write_offline_files(out, manifest)
    return manifest


def sizes(out: str | Path) -> dict[str, int]:
    """Bytes of the exported page: each model's ONNX and example, the shared files, and the total."""
    out = Path(out)
    files = [p for p in out.rglob("*") if p.is_file()]
    models_json = json.loads((out / "models.json").read_text(encoding="utf-8"))
    per_model = {
        m["key"]: (out / m["onnx"]).stat().st_size + (out / m["example"]).stat().st_size
        for m in models_json["models"]
    }
    total = sum(p.stat().st_size for p in files)
    return {**per_model, "shared": total - sum(per_model.values()), "total": total}


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet: one line per file is noise in tests and benchmarks
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a browser closed mid-download: not an error
            super().handle_error(request, client_address)


def serve(folder: str | Path, host: str = "127.0.0.1", port: int = 0) -> http.server.ThreadingHTTPServer:
    """Serve `folder` as any static host would, from a daemon thread (port 0: a free one);
    `.shutdown()` stops it, `.server_close()` frees the port."""
    server = _Server((host, port), functools.partial(_Files, directory=str(folder)))
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
