"""Command line and launch: local-only by default, bounded uploads, a fixed CPU thread budget."""
from __future__ import annotations

import argparse
import os

import torch

from app import ui
from app.registry import Registry, default_roots

MAX_UPLOAD = "20mb"
# Gradio keeps a copy of the page's config for each session (about 90 KB here, with the canvas and
# the model card); the page keeps no state server-side, so the 64 most recent sessions are plenty
# and memory stays flat however many clients come and go.
SESSIONS = 64
# WORKERS translations at once (one decodes and encodes while the other runs the model; more did not help on 2
# cores: docs/measurements.md); QUEUE more wait, and beyond that Gradio says "busy" (HTTP 503) at once.
WORKERS = 2
QUEUE = 32


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python app.py", description="pix2pix studio: draw, get a photo back.")
    p.add_argument("--models-dir", action="append", default=[], metavar="DIR",
                   help="extra folder of model folders (repeatable); assets/models and runs/ are always searched")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link (off by default)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    # onnxruntime is faster than PyTorch eager on the CPU, within 1/255 (benchmarks/onnx_backend.py).
    p.add_argument("--backend", choices=["onnx", "torch"], default=None,
                   help="what runs the generators: onnx (onnxruntime; default on cpu) or torch (default on cuda)")
    # Half the cores: the web server and the browser need the rest, and OpenMP threads fighting for a busy
    # core are far slower than one.
    p.add_argument("--threads", type=int, default=max(1, min(4, (os.cpu_count() or 2) // 2)),
                   help="torch CPU threads for inference (default: half the cores, 1 to 4)")
    p.add_argument("--workers", type=int, default=WORKERS, help=f"translations at once (default {WORKERS})")
    p.add_argument("--queue-size", type=int, default=QUEUE,
                   help=f"requests that may wait; more are told the studio is busy (default {QUEUE})")
    return p.parse_args(argv)


def serve(registry: Registry, host: str = "127.0.0.1", port: int = 7860, share: bool = False,
          block: bool = True, workers: int = WORKERS, queue_size: int = QUEUE):
    """Start the studio; with block=False return (demo, url) and leave it serving in a thread."""
    # Gradio summarises its last 10,000 events with pandas after every event (Queue.compute_analytics_summary):
    # 10 ms an answer on a busy server. The last 1,000, every 100th event, are plenty; the environment wins.
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "100")
    demo = ui.build(registry, workers)
    # The light events (file links, model card, examples) may run beside the translations.
    demo.queue(max_size=queue_size, default_concurrency_limit=workers)
    _, url, _ = demo.launch(
        server_name=host, server_port=port, share=share, max_file_size=MAX_UPLOAD,
        prevent_thread_lock=not block, show_error=True, theme=ui.THEME, css=ui.CSS, footer_links=["api"],
        state_session_capacity=SESSIONS,
    )
    return demo, url


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    backend = args.backend or ("onnx" if args.device == "cpu" else "torch")
    registry = Registry(default_roots(args.models_dir), device=args.device, backend=backend)
    serve(registry, args.host, args.port, args.share, workers=args.workers, queue_size=args.queue_size)
