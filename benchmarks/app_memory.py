"""Studio server memory under many fresh sessions: start `python app.py` in its own process, warm
every endpoint up, then make N /translate calls over Gradio's HTTP API, each call a new session,
and read the server's resident memory (VmRSS, and the peak VmHWM) from /proc.

    python benchmarks/app_memory.py [--calls 400] [--out results.json]
    python benchmarks/app_memory.py --soak 600 [--clients 8] [--max-answers 20000]

--soak SECONDS: instead, SECONDS at saturation (--clients visitors asking back to back over the
page's protocol, see app_latency.py --load; it stops at SECONDS or --max-answers, whichever
comes first), RSS sampled every 10 s: answers/s, p50/p95, errors, answers that differ from the
same request made alone, and RSS at the start, after the first minute (warm-up) and at the end.

    python benchmarks/app_memory.py --arenas [--calls 240]

--arenas: where RSS growth comes from. The studio runs in this process (tiny random models) and
takes fresh-session calls; every 60: RSS, what glibc's malloc has handed out and not had back
(live), what it keeps free in its arenas, and Python's allocated blocks; then malloc_trim(0).

Uses the shipped edges2cats and facades models (compact, ngf 16).
"""
from __future__ import annotations

import argparse
import base64
import ctypes
import ctypes.util
import gc
import io
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent


def memory_mb(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    return {f: round(int(re.search(rf"^{f}:\s+(\d+) kB", status, re.M).group(1)) / 1024, 1)
            for f in ("VmRSS", "VmHWM")}


def drawing(i: int) -> dict:
    """A different small drawing for each call, as PNG data URLs arrive from the page."""
    image = Image.new("RGB", (512, 512), "white")
    ImageDraw.Draw(image).line([(20 + i % 400, 60), (250, 80 + i % 300), (450, 420)], fill="black", width=3)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"image": url, "hints": None}


def call(http: httpx.Client, base: str, name: str, data: list) -> None:
    """POST /call/NAME then read its event stream: Gradio gives each such call a new session."""
    r = http.post(f"{base}/gradio_api/call/{name}", json={"data": data})
    r.raise_for_status()
    reply = http.get(f"{base}/gradio_api/call/{name}/{r.json()['event_id']}").text
    if "event: complete" not in reply:
        raise RuntimeError(f"/{name} failed: {reply[-300:]}")


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def malloc_mb() -> dict | None:
    """This process's glibc malloc after a full collection (None without glibc 2.33+): `live` is what
    it has handed out and not had back, `free` what it keeps in its arenas for reuse."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    if not hasattr(libc, "mallinfo2"):
        return None
    libc.mallinfo2.restype = MallInfo2
    gc.collect()
    info = libc.mallinfo2()
    return {"live": round((info.uordblks + info.hblkhd) / 2**20, 2), "free": round(info.fordblks / 2**20, 1)}


def arenas(calls: int) -> dict:
    """Fresh-session /translate calls on an in-process studio: RSS against malloc's live and free."""
    import tempfile

    import models
    from app import server
    from app.registry import Registry

    root = Path(tempfile.mkdtemp(prefix="studio-arenas-"))
    for name, kind in (("edges2cats", "edges"), ("facades", "labels")):
        gen = models.GeneratorConfig(ngf=4)
        models.save_model(root / name, models.Generator(gen), models.ModelConfig(name, gen, input_kind=kind))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo, url = server.serve(Registry([root]), port=port, block=False)
    base, rows = url.rstrip("/"), {}

    def row() -> dict:
        return {"rss": memory_mb(os.getpid())["VmRSS"], **malloc_mb(), "python_blocks": sys.getallocatedblocks()}

    try:
        with httpx.Client(timeout=120) as http:
            for i in range(calls + 70):
                if i >= 70 and (i - 70) % 60 == 0:  # after 70: Gradio's 64-session store is full
                    rows[f"after {i}"] = row()
                    print(i, rows[f"after {i}"], flush=True)
                call(http, base, "translate", ["facades" if i % 2 else "edges2cats", drawing(i), i, 256, False,
                                               "#000000"])
            rows[f"after {calls + 70}"] = row()
            ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)
            rows["then malloc_trim(0)"] = row()
    finally:
        demo.close()
    return rows


def soak(seconds: float, clients: int, max_answers: int) -> dict:
    """`clients` visitors back to back on a fresh server for `seconds` (or `max_answers`)."""
    from app_latency import PageClient, percentile, start

    server, base = start(REPO, [])
    try:
        requests = [(drawing(d)["image"], d % 3) for d in range(8)]
        solo = PageClient(base)
        expected = [solo.translate("edges2cats", url, seed)[0] for url, seed in requests]
        samples = [(0.0, memory_mb(server.pid)["VmRSS"])]
        totals, errors, wrong, stop = [], [], [0], threading.Event()

        def visitor(i: int) -> None:
            page = PageClient(base)
            j = 0
            while not stop.is_set():
                d = (i + j) % len(requests)
                j += 1
                try:
                    data, phases = page.translate("edges2cats", *requests[d])
                except Exception as e:  # counted and reported ("busy" included: it should not happen here)
                    errors.append(repr(e)[:200])
                    continue
                wrong[0] += data != expected[d]
                totals.append(phases["total"] * 1000)
                if len(totals) >= max_answers:
                    stop.set()

        t0 = time.perf_counter()
        threads = [threading.Thread(target=visitor, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        while not stop.wait(10):
            elapsed = time.perf_counter() - t0
            samples.append((round(elapsed), memory_mb(server.pid)["VmRSS"]))
            print(f"{elapsed:.0f} s: {len(totals)} answers, {len(errors)} errors, RSS {samples[-1][1]} MB", flush=True)
            if elapsed >= seconds:
                stop.set()
        for t in threads:
            t.join(120)
        wall = time.perf_counter() - t0
        samples.append((round(wall), memory_mb(server.pid)["VmRSS"]))
        warm = next(rss for t, rss in samples if t >= 60) if wall > 60 else samples[0][1]
        return {"seconds": round(wall), "clients": clients, "answers": len(totals),
                "answers_per_s": round(len(totals) / wall, 1), "p50_ms": round(statistics.median(totals)),
                "p95_ms": round(percentile(totals, 0.95)), "errors": len(errors), "error_examples": errors[:3],
                "not_identical": wrong[0], "rss_mb": {"start": samples[0][1], "after_1_min": warm,
                                                      "end": samples[-1][1], "max": max(r for _, r in samples)},
                "rss_growth_after_warm_up_mb": round(samples[-1][1] - warm, 1), "rss_samples": samples,
                "load_average_end": os.getloadavg()}
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, help="calls after the warm-up (default 400; with --arenas 240)")
    p.add_argument("--out", help="also write the results as JSON here")
    p.add_argument("--soak", type=float, metavar="SECONDS", help="SECONDS at saturation instead (see above)")
    p.add_argument("--clients", type=int, default=8, help="--soak: visitors at once")
    p.add_argument("--max-answers", type=int, default=20000, help="--soak: stop after this many answers")
    p.add_argument("--arenas", action="store_true", help="where RSS growth comes from, in this process (see above)")
    args = p.parse_args()
    args.calls = args.calls or (240 if args.arenas else 400)
    if args.arenas:
        results = arenas(args.calls)
        print(json.dumps(results, indent=2))
        if args.out:
            Path(args.out).write_text(json.dumps(results, indent=2))
        return
    if args.soak:
        results = soak(args.soak, args.clients, args.max_answers)
        print(json.dumps({k: v for k, v in results.items() if k != "rss_samples"}, indent=2))
        if args.out:
            Path(args.out).write_text(json.dumps(results, indent=2))
        return

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--port", str(port), "--threads", "1"],
                              cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(timeout=120) as http:
            deadline = time.monotonic() + 180
            while True:
                try:
                    http.get(f"{base}/gradio_api/info").raise_for_status()
                    break
                except httpx.HTTPError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("the studio did not start") from None
                    time.sleep(0.5)
            results = {"started": memory_mb(server.pid)}
            for i in range(10):  # warm-up: both models, both sizes, variations, boxes
                key = "facades" if i % 2 else "edges2cats"
                call(http, base, "translate", [key, drawing(i), i, 512 if i % 4 < 2 else 256, False, "#000000"])
            call(http, base, "variations", ["edges2cats", drawing(0), 0, 256, False, "#000000"])
            call(http, base, "rectangles", [drawing(0), "facades"])
            results["warm"] = memory_mb(server.pid)
            t0 = time.perf_counter()
            for i in range(args.calls):
                call(http, base, "translate", ["facades" if i % 2 else "edges2cats", drawing(i), i, 256, False,
                                               "#000000"])
                if (i + 1) % 100 == 0:
                    results[f"after_{i + 1}"] = memory_mb(server.pid)
                    print(i + 1, results[f"after_{i + 1}"], flush=True)
            results["seconds"] = round(time.perf_counter() - t0, 1)
            results["calls"] = args.calls
            grown = memory_mb(server.pid)["VmRSS"] - results["warm"]["VmRSS"]
            results["rss_growth_mb"] = round(grown, 1)
    finally:
        server.terminate()
        server.wait(30)
    print(json.dumps(results, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
