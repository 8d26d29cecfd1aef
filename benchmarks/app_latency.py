"""Studio speed through its API: launch -> ready, stroke -> photo latency (p50/p95) at 256 and
512 for the compact (ngf=16) and paper-size (ngf=64) generators, and 8 clients translating at once.

    python benchmarks/app_latency.py [--strokes 30] [--threads 1] [--out results.json]

Latency is measured over Gradio's HTTP API the way the page itself talks to the server: call
/translate with the drawing as a PNG data URL in the payload (as the canvas sends it), read the
result from the event stream as soon as it is pushed, fetch the photo. `--browser` also times
mouse-up on the canvas -> the new photo shown, in headless Debian chromium. gradio_client is timed too, for reference: its event reader polls every 50 ms,
which adds about 90 ms per call that a browser never sees.

Weights are random unless assets/models/edges2cats is present (used as the compact model):
speed does not depend on their values.
"""
from __future__ import annotations

import argparse
import base64
import io
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

import httpx
import numpy as np
import torch
from gradio_client import Client
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
    """The drawing as the page's canvas sends it: a PNG data URL."""
    return {"image": "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii"),
            "hints": None}


class HttpApi:
    """Gradio's documented HTTP API (upload, POST /call/NAME, GET its event stream), as curl uses it."""

    def __init__(self, base: str):
        self.base = base
        self.http = httpx.Client(timeout=60)

    def call(self, name: str, data: list) -> list:
        r = self.http.post(f"{self.base}/gradio_api/call/{name}", json={"data": data})
        r.raise_for_status()
        event_id = r.json()["event_id"]
        with self.http.stream("GET", f"{self.base}/gradio_api/call/{name}/{event_id}") as stream:
            event = None
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    if event == "error":
                        raise RuntimeError(f"/{name} failed: {line[5:].strip()}")
                    return json.loads(line[5:])
        raise RuntimeError(f"/{name}: the event stream ended without a result")

    def translate(self, key: str, drawing: str, seed: int, size: int) -> Image.Image:
        """Translate -> download, one stroke's full round trip."""
        photo = self.call("translate", [key, canvas(drawing), seed, size, False, "#000000"])[0]
        return Image.open(io.BytesIO(self.http.get(photo["url"]).content))


def timed(fn, drawings: list[str]) -> dict:
    """p50/p95 in ms over one call per drawing, after two warm-up calls."""
    for path in drawings[:2]:
        fn(path)
    times = []
    for path in drawings:
        t0 = time.perf_counter()
        fn(path)
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50": round(statistics.median(times)), "p95": round(percentile(times, 0.95)), "n": len(times)}


def browser_latency(url: str, n: int) -> dict:
    """Mouse-up on the canvas -> the photo on the page changes, in Debian's chromium: what a user
    feels, including the page's own upload of the canvas and the image decode."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(url)
        page.wait_for_selector("#photo img", timeout=120_000)
        box = page.locator("#canvas canvas.ink").bounding_box()
        gen = torch.Generator().manual_seed(1)
        times = []
        for i in range(n + 2):
            page.wait_for_timeout(300)  # a pause between strokes, as people draw
            old = page.eval_on_selector("#photo img", "img => img.src")
            x0, y0, x1, y1 = (torch.rand(4, generator=gen) * 0.8 + 0.1).tolist()
            page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
            page.mouse.down()
            page.mouse.move(box["x"] + x1 * box["width"], box["y"] + y1 * box["height"], steps=6)
            t0 = time.perf_counter()
            page.mouse.up()
            page.wait_for_function("old => document.querySelector('#photo img').src !== old", arg=old,
                                   timeout=60_000, polling=5)
            if i >= 2:  # the first two are warm-up
                times.append((time.perf_counter() - t0) * 1000)
        browser.close()
    return {"p50": round(statistics.median(times)), "p95": round(percentile(times, 0.95)), "n": len(times)}


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--strokes", type=int, default=30, help="timed requests per model and size")
    p.add_argument("--threads", type=int, default=1, help="torch threads in the server (app default on 2 cores: 1)")
    p.add_argument("--browser", action="store_true",
                   help="also time mouse-up -> new photo in headless chromium (compact model, 256)")
    p.add_argument("--out", help="also write the results as JSON here")
    args = p.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    kinds = make_models(tmp / "models")
    drawings = strokes(tmp, max(args.strokes, 8))
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
                    raise SystemExit("the studio did not start") from None
                time.sleep(0.1)
        ready = time.perf_counter() - start
        client.predict("bench-compact", canvas(drawings[0]), 0, 256, api_name="/translate")
        first_photo = time.perf_counter() - start

        api = HttpApi(f"http://127.0.0.1:{port}")
        results = {"cpu_threads": args.threads, "models": kinds, "ready_s": round(ready, 2),
                   "first_photo_s": round(first_photo, 2), "latency_ms": {}, "gradio_client_latency_ms": {}}
        for key in kinds:
            for size in (256, 512):
                name = f"{key}@{size}"
                results["latency_ms"][name] = timed(
                    lambda path, key=key, size=size: api.translate(key, path, 0, size), drawings[:args.strokes])
                results["gradio_client_latency_ms"][name] = timed(
                    lambda path, key=key, size=size: client.predict(key, canvas(path), 0, size, api_name="/translate"),
                    drawings[:args.strokes])
                print(f"{name}: http {results['latency_ms'][name]}, "
                      f"gradio_client {results['gradio_client_latency_ms'][name]}", flush=True)

        # 8 clients at once, each its own connection, drawing and seed; each answer must equal the
        # photo the same request gets alone (same drawing + seed = same dropout noise = same photo).
        expected = {i: np.asarray(api.translate("bench-compact", drawings[i], i, 256)) for i in range(8)}
        got, errors = {}, []

        def one(i: int) -> None:
            try:
                got[i] = np.asarray(HttpApi(api.base).translate("bench-compact", drawings[i], i, 256))
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
            "all_correct": not errors and len(got) == 8 and all(np.array_equal(got[i], expected[i]) for i in got)}
        if args.browser:
            results["browser_stroke_to_photo_ms"] = browser_latency(api.base, args.strokes)
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
