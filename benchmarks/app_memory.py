"""Studio server memory under many fresh sessions: start `python app.py` in its own process, warm
every endpoint up, then make N /translate calls over Gradio's HTTP API, each call a new session,
and read the server's resident memory (VmRSS, and the peak VmHWM) from /proc.

    python benchmarks/app_memory.py [--calls 400] [--out results.json]

Uses the shipped edges2cats and facades models (compact, ngf 16).
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import re
import socket
import subprocess
import sys
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=400)
    p.add_argument("--out", help="also write the results as JSON here")
    args = p.parse_args()

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
                call(http, base, "translate", ["facades" if i % 2 else "edges2cats", drawing(i), i, 256, False, "#000000"])
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
