"""Studio speed through its API: launch -> ready, stroke -> photo latency (p50/p95) at 256 and
512 for the compact (ngf=16) and paper-size (ngf=64) generators; with --load, answers per second
under many clients at once.

    python benchmarks/app_latency.py [--strokes 30] [--threads 1] [--out results.json]
    python benchmarks/app_latency.py --load [--clients 1 8 32] [--answers 128] [--before DIR]
        [--settings "--workers 1 --queue-size 64" ...]

--load: each settings line (and, with --before, the old code in DIR, e.g. made by
`git archive 479ecb6 | tar -x -C DIR`, with its own defaults) starts its own server; N clients
then translate back to back (closed loop) with the compact model at 256 px, over the protocol the
page uses (POST /queue/join, read /queue/data), so each answer's time splits into submit, queue
wait, work (the server's preprocess, model call and file write) and fetching the photo; the work
is split further by timing the handler's steps alone in this process. Every answer is compared
byte for byte with the same request made alone; clients draw from 8 drawings, so many requests
at once are identical. Finally --flood requests join at once: each must be answered or told
"busy" (HTTP 503), and the slowest "busy" is reported.

Latency is measured over Gradio's HTTP API the way the page itself talks to the server: call
/translate with the drawing as a PNG data URL in the payload (as the canvas sends it), read the
result from the event stream as soon as it is pushed, fetch the photo. `--browser` also times
mouse-up on the canvas -> the new photo shown, in headless Debian chromium. gradio_client is timed too, for reference:
its event reader polls every 50 ms,
which adds about 90 ms per call that a browser never sees.

Weights are random unless assets/models/edges2cats is present (used as the compact model):
speed does not depend on their values.
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import torch
from gradio_client import Client
from PIL import Image, ImageDraw

import models
from app import handlers

REPO = Path(__file__).resolve().parent.parent

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


def start(tree: Path, flags: list[str]) -> tuple[subprocess.Popen, str]:
    """`python app.py` from `tree` on a free loopback port -> (process, base URL) once it answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "app.py", "--port", str(port), *flags], cwd=tree,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            httpx.get(f"{base}/gradio_api/info", timeout=5).raise_for_status()
            return server, base
        except httpx.HTTPError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise SystemExit(f"the studio in {tree} did not start") from None
            time.sleep(0.3)


class Busy(Exception):
    """The server refused the request: its queue is full (HTTP 503)."""


class PageClient:
    """One visitor, speaking the page's own protocol: POST /queue/join, then the session's event
    stream (/queue/data), which says when the work starts and ends; then the photo is fetched."""

    def __init__(self, base: str, api_name: str = "translate"):
        self.base = base
        # uvicorn closes a connection idle for 5 s, httpx's own expiry: a request sent on one as it
        # closes is reset (1 of 100 once). Dropping idle connections sooner avoids the race.
        self.http = httpx.Client(timeout=120, limits=httpx.Limits(keepalive_expiry=2))
        self.session = uuid.uuid4().hex
        config = self.http.get(f"{base}/config").json()
        self.fn_index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)

    def translate(self, key: str, url: str, seed: int, size: int = 256) -> tuple[bytes, dict]:
        """(photo PNG bytes, seconds spent in each phase) for one request; Busy when refused. A photo
        cut short raises (httpx checks the body against Content-Length)."""
        t0 = time.perf_counter()
        r = self.http.post(f"{self.base}/gradio_api/queue/join", json={
            "data": [key, {"image": url, "hints": None}, seed, size, False, "#000000"],
            "fn_index": self.fn_index, "session_hash": self.session, "event_data": None, "trigger_id": None})
        if r.status_code == 503:
            raise Busy(r.json().get("detail", ""))
        r.raise_for_status()
        event_id, joined, started, done, photo = r.json()["event_id"], time.perf_counter(), None, None, None
        with self.http.stream("GET", f"{self.base}/gradio_api/queue/data",
                              params={"session_hash": self.session}) as stream:
            for line in stream.iter_lines():
                msg = json.loads(line[5:]) if line.startswith("data:") else {}
                if msg.get("event_id") != event_id:
                    continue
                if msg["msg"] == "process_starts":
                    started = time.perf_counter()
                elif msg["msg"] == "process_completed":
                    done = time.perf_counter()
                    if not msg.get("success"):
                        raise RuntimeError(f"translate failed: {msg.get('output')}")
                    photo = msg["output"]["data"][0]["url"]
                    break
        if photo is None:
            raise RuntimeError("the event stream ended without a result")
        r = self.http.get(photo)
        r.raise_for_status()
        end = time.perf_counter()
        started = started or joined
        return r.content, {"submit": joined - t0, "queue": started - joined, "work": done - started,
                           "fetch": end - done, "total": end - t0}


def load(base: str, url: list[str], expected: list[bytes], clients: int, answers: int) -> dict:
    """`clients` visitors at once, each asking again as soon as answered, `answers` in all."""
    per_client = -(-answers // clients)
    records, errors, wrong, busy = [], [], [0], [0]

    def visitor(i: int) -> None:
        page = PageClient(base)
        for j in range(per_client):
            d = (i + j) % len(url)
            try:
                data, phases = page.translate("bench-compact", url[d], d)
            except Busy:
                busy[0] += 1
                continue
            except Exception as e:  # counted and reported
                errors.append(repr(e)[:200])
                continue
            wrong[0] += data != expected[d]
            records.append(phases)

    t0 = time.perf_counter()
    workers = [threading.Thread(target=visitor, args=(i,)) for i in range(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - t0
    totals = [r["total"] * 1000 for r in records]
    return {"clients": clients, "answers": len(records), "answers_per_s": round(len(records) / wall, 1),
            "p50_ms": round(statistics.median(totals)) if totals else None,
            "p95_ms": round(percentile(totals, 0.95)) if totals else None,
            "mean_ms": {k: round(1000 * statistics.mean(r[k] for r in records)) for k in
                        ("submit", "queue", "work", "fetch")} if records else {},
            "errors": len(errors), "error_examples": errors[:3], "not_identical": wrong[0], "busy": busy[0]}


def over_capacity(base: str, url: str, n: int) -> dict:
    """`n` visitors send at once: each must end (answer or "busy"), the refusals within a second."""
    outcome, pages = {}, [PageClient(base) for _ in range(n)]
    go = threading.Barrier(n)

    def one(i: int) -> None:
        go.wait()
        t0 = time.perf_counter()
        try:
            pages[i].translate("bench-compact", url, i)
            outcome[i] = ("answered", time.perf_counter() - t0)
        except Busy:
            outcome[i] = ("busy", time.perf_counter() - t0)
        except Exception as e:  # counted and reported
            outcome[i] = (repr(e)[:100], time.perf_counter() - t0)

    workers = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(300)
    busy = [t for kind, t in outcome.values() if kind == "busy"]
    return {"sent": n, "answered": sum(kind == "answered" for kind, _ in outcome.values()), "busy": len(busy),
            "other": [kind for kind, _ in outcome.values() if kind not in ("answered", "busy")],
            "hung": n - len(outcome), "busy_p50_ms": round(1000 * statistics.median(busy)) if busy else None,
            "slowest_busy_ms": round(1000 * max(busy)) if busy else None}


def work_split(folder: Path, drawing: str, threads: int) -> dict:
    """The handler's steps for one compact @256 answer, alone in this process (median ms)."""
    torch.set_num_threads(threads)
    translator = models.load(folder)
    value = canvas(drawing)
    image, _ = handlers.model_input(value, "edges", 256)
    photo = handlers.run(translator, image, None, 0, 256)
    steps = {"decode and prepare the drawing": lambda: handlers.model_input(value, "edges", 256),
             "model": lambda: handlers.run(translator, image, None, 0, 256),
             "encode and write the photo (PNG level 1)": lambda: handlers.save_photo(photo, folder / "out"),
             "the same at PNG level 6 (Gradio's save_pil_to_cache)": lambda: handlers.png(photo)}
    out = {}
    for name, fn in steps.items():
        fn()
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
        out[name] = round(statistics.median(times), 1)
    return out


def load_main(args, tmp: Path) -> dict:
    """The --load comparison: one server per settings line (and the --before tree), same clients."""
    make_models(tmp / "models")
    drawings = strokes(tmp, 8)
    urls = [canvas(path)["image"] for path in drawings]
    profiles = []
    if args.before:
        profiles.append((f"before ({args.before}, its defaults)", Path(args.before), []))
    for line in args.settings or [""]:
        profiles.append((f"now {line or '(defaults)'}", REPO, line.split()))
    results = {"work_split_ms": work_split(tmp / "models" / "bench-compact", drawings[0], args.threads),
               "load_average_start": os.getloadavg(), "profiles": {}}
    print("work split (ms):", results["work_split_ms"], flush=True)
    for label, tree, flags in profiles:
        server, base = start(tree, ["--models-dir", str(tmp / "models"), "--threads", str(args.threads), *flags])
        try:
            solo = PageClient(base)
            expected = [solo.translate("bench-compact", u, d)[0] for d, u in enumerate(urls)]
            rows = [load(base, urls, expected, clients, args.answers) for clients in args.clients]
            for row in rows:
                print(label, row, flush=True)
            flood = over_capacity(base, urls[0], args.flood)
            print(label, "over capacity:", flood, flush=True)
            results["profiles"][label] = {"levels": rows, "over_capacity": flood}
        finally:
            server.terminate()
            server.wait(30)
    results["load_average_end"] = os.getloadavg()
    return results


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
    p.add_argument("--load", action="store_true", help="answers per second under many clients instead")
    p.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32], help="--load: clients at once")
    p.add_argument("--answers", type=int, default=128, help="--load: answers per number of clients")
    p.add_argument("--flood", type=int, default=100, help="--load: requests sent at once at the end")
    p.add_argument("--settings", action="append", metavar="FLAGS",
                   help="--load: app.py flags for one server (repeatable; default: the app's defaults)")
    p.add_argument("--before", metavar="DIR", help="--load: also the old code checked out in DIR, its defaults")
    args = p.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    if args.load:
        try:
            results = load_main(args, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(json.dumps(results, indent=2))
        if args.out:
            Path(args.out).write_text(json.dumps(results, indent=2))
        return
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
