"""Studio speed through its API, as a user's browser sees it: launch -> ready, stroke -> photo
latency (p50/p95) at 256 and 512 for the compact (ngf=16) and paper-size (ngf=64) generators,
and 8 clients translating at once.

    python benchmarks/app_latency.py [--strokes 30] [--threads 1] [--out results.json]

Weights are random unless assets/models/edges2cats is present (used as the compact model):
speed does not depend on their values.
"""
from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch
from gradio_client import Client, handle_file
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import models  # noqa: E402

SHIPPED_COMPACT = REPO / "assets" / "models" / "edges2cats"


def make_models(root: Path) -> dict[str, str]:
    """bench-compact and bench-paper model folders; returns what each one is."""
    if models.is_model_folder(SHIPPED_COMPACT):
        shutil.copytree(SHIPPED_COMPACT, root / "bench-compact")
        compact = "shipped edges2cats"
    else:
        gen = models.GeneratorConfig(ngf=16)
        models.save_model(root / "bench-compact", models.Generator(gen), models.ModelConfig("bench-compact", gen))
        compact = "random weights, ngf=16"
    gen = models.GeneratorConfig(ngf=64)
    models.save_model(root / "bench-paper", models.Generator(gen), models.ModelConfig("bench-paper", gen))
    return {"bench-compact": compact, "bench-paper": "random weights, ngf=64 (paper)"}


def strokes(folder: Path, n: int) -> list[str]:
    """A drawing growing one stroke at a time, like a user drawing: each file one more stroke."""
    image = Image.new("RGB", (512, 512), "white")
    draw = ImageDraw.Draw(image)
    gen = torch.Generator().manual_seed(0)
    paths = []
    for i in range(n):
        pts = [tuple(int(v) for v in torch.randint(20, 492, (2,), generator=gen)) for _ in range(4)]
        draw.line(pts, fill="black", width=3)
        paths.append(str(folder / f"stroke{i:03d}.png"))
        image.save(paths[-1])
    return paths


def canvas(path: str) -> dict:
    """The drawing as an API user sends it: flattened (the browser also uploads its layers)."""
    return {"background": None, "layers": [], "composite": handle_file(path)}


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--strokes", type=int, default=30, help="timed requests per model and size")
    p.add_argument("--threads", type=int, default=1, help="torch threads in the server (app default on 2 cores: 1)")
    p.add_argument("--out", help="also write the results as JSON here")
    args = p.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    kinds = make_models(tmp / "models")
    drawings = strokes(tmp, args.strokes)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, str(REPO / "app.py"), "--models-dir", str(tmp / "models"), "--port", str(port),
           "--threads", str(args.threads)]
    start = time.perf_counter()
    server = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                client = Client(f"http://127.0.0.1:{port}", verbose=False)
                break
            except Exception:
                if server.poll() is not None or time.perf_counter() - start > 120:
                    raise SystemExit("the studio did not start")
                time.sleep(0.1)
        ready = time.perf_counter() - start
        client.predict("bench-compact", canvas(drawings[0]), 0, 256, api_name="/translate")
        first_photo = time.perf_counter() - start

        results = {"cpu_threads": args.threads, "models": kinds, "ready_s": round(ready, 2),
                   "first_photo_s": round(first_photo, 2), "latency_ms": {}}
        for key in kinds:
            for size in (256, 512):
                for path in drawings[:2]:  # warm-up: model load, allocator
                    client.predict(key, canvas(path), 0, size, api_name="/translate")
                times = []
                for path in drawings:
                    t0 = time.perf_counter()
                    client.predict(key, canvas(path), 0, size, api_name="/translate")
                    times.append((time.perf_counter() - t0) * 1000)
                results["latency_ms"][f"{key}@{size}"] = {
                    "p50": round(statistics.median(times)), "p95": round(percentile(times, 0.95)), "n": len(times)}
                print(f"{key}@{size}: {results['latency_ms'][f'{key}@{size}']}", flush=True)

        sizes, errors = {}, []

        def one(i: int) -> None:
            try:
                photo = Client(f"http://127.0.0.1:{port}", verbose=False).predict(
                    "bench-compact", canvas(drawings[i]), i, 256, api_name="/translate")
                with Image.open(photo) as im:
                    sizes[i] = im.size
            except Exception as e:  # counted and reported
                errors.append(repr(e))

        t0 = time.perf_counter()
        workers = [threading.Thread(target=one, args=(i,)) for i in range(8)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        results["eight_clients"] = {
            "wall_s": round(time.perf_counter() - t0, 2), "errors": errors,
            "all_correct": not errors and all(s == (256, 256) for s in sizes.values()) and len(sizes) == 8}
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
