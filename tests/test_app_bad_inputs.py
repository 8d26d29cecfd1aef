"""Every studio endpoint against a corpus of bad images, over Gradio's HTTP API, with the server in
its own process so its memory can be read: each input gets a short message of ours or a sensible
output, the server keeps answering, and its peak RSS stays under 2.5 GB. (Fresh sessions not growing
its memory: test_app_client.py.)"""
from __future__ import annotations

import base64
import io
import re
import socket
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image, ImageDraw

from app import handlers

REPO = Path(__file__).resolve().parent.parent
RSS_LIMIT = 2.5 * 2**30
MODES = ["1", "L", "P", "RGBA", "LA", "I;16", "I", "F", "CMYK"]
# What our messages may say; anything else (a library's own text, a traceback) fails the test.
OURS = re.compile(r"too large|long and thin|not a readable image|can't be read|empty|no image|base64|"
                  r"transparency")
LIBRARY = re.compile(r"Traceback|object at 0x|Errno|cannot identify|PIL\.")


def kib(status: str, field: str) -> int:
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M).group(1)) * 1024


def memory(pid: int) -> tuple[int, int]:
    """(current, peak) resident memory of a process, in bytes."""
    status = Path(f"/proc/{pid}/status").read_text()
    return kib(status, "VmRSS"), kib(status, "VmHWM")


def drawn(mode: str) -> Image.Image:
    image = Image.new("RGB", (300, 200), "white")
    ImageDraw.Draw(image).ellipse((40, 30, 260, 170), outline="black", width=4)
    if mode == "I;16":
        return image.convert("L").convert("I;16")
    if mode in ("I", "F"):
        return image.convert("L").convert(mode)
    return image.convert(mode)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    """name -> file: bombs small on disk, 60+ MP, extreme strips, broken files, every PIL mode."""
    root = tmp_path_factory.mktemp("bad_inputs")
    files = {}

    def save(name, image, fmt="PNG"):
        files[name] = root / name
        image.save(files[name], fmt)

    save("bomb-12000x12000.png", Image.new("1", (12000, 12000), 1))
    save("64mp-8000x8000.png", Image.new("L", (8000, 8000), 255))
    save("strip-10000x10.png", Image.new("L", (10000, 10), 0))
    save("strip-8000x10.png", Image.new("L", (8000, 10), 0))
    save("strip-10x4000.png", Image.new("L", (10, 4000), 0))
    save("one-pixel.png", Image.new("RGB", (1, 1), "white"))
    ok = io.BytesIO()
    drawn("RGB").save(ok, "PNG")
    for name, data in (("zero-bytes.png", b""), ("text.png", b"this is not an image\n" * 10),
                       ("truncated.png", ok.getvalue()[: len(ok.getvalue()) // 2]),
                       ("png-header-only.png", ok.getvalue()[:33])):
        files[name] = root / name
        files[name].write_bytes(data)
    for mode in MODES:
        fmt = "TIFF" if mode in ("F", "CMYK") else "PNG"
        save(f"mode-{mode.replace(';', '_')}.{fmt.lower()}", drawn(mode), fmt)
    return files


def as_url(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


@pytest.fixture(scope="module")
def studio(tiny_models):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, str(REPO / "app.py"), "--models-dir", str(tiny_models), "--port", str(port),
           "--threads", "1"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while True:
        try:
            client = Client(f"http://127.0.0.1:{port}", verbose=False)
            break
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("the studio did not start")
            time.sleep(0.5)
    yield proc, client
    proc.terminate()
    proc.wait(30)


def good_drawing() -> dict:
    return {"image": handlers.data_url(drawn("RGB")), "hints": None}


def sensible(photo_path: str) -> None:
    with Image.open(photo_path) as im:
        assert 1 <= min(im.size) and max(im.size) <= 512


def sensible_canvas(value: dict) -> None:
    with Image.open(io.BytesIO(base64.b64decode(value["image"].partition(",")[2]))) as im:
        assert min(im.size) >= 1 and max(im.size) <= 512


def outcome(call, check) -> str:
    try:
        check(call())
        return "ok"
    except AppError as e:
        message = str(e)
        assert OURS.search(message) and len(message) < 200 and not LIBRARY.search(message), message
        return "refused"


def test_every_endpoint_survives_the_corpus(studio, corpus):
    proc, client = studio
    seen = {}
    for name, path in corpus.items():
        url = as_url(path)
        for key in ("edges2cats", "facades"):
            seen[f"translate {key} {name}"] = outcome(
                partial(client.predict, key, {"image": url, "hints": None}, 0, 256, api_name="/translate"),
                sensible)
            seen[f"upload_map {key} {name}"] = outcome(
                partial(client.predict, handle_file(str(path)), key, api_name="/upload_map"), sensible_canvas)
        seen[f"hints {name}"] = outcome(
            partial(client.predict, "edges2cats", dict(good_drawing(), hints=url), 0, 256, api_name="/translate"),
            sensible)
        seen[f"variations {name}"] = outcome(
            partial(client.predict, "edges2cats", {"image": url}, 0, 256, api_name="/variations"),
            lambda shots: [sensible(s["image"]) for s in shots])
        seen[f"rectangles {name}"] = outcome(
            partial(client.predict, {"image": url}, "facades", api_name="/rectangles"), sensible_canvas)
        if not name.startswith("mode-") or name in ("mode-RGBA.png", "mode-CMYK.tiff"):  # edges cost time
            seen[f"upload_photo {name}"] = outcome(
                partial(client.predict, handle_file(str(path)), "edges2cats", api_name="/upload_photo"),
                sensible_canvas)
        assert proc.poll() is None, f"the server died on {name}"
    refused = {k for k, v in seen.items() if v == "refused"}
    for name in ("bomb-12000x12000.png", "64mp-8000x8000.png", "strip-10000x10.png", "zero-bytes.png",
                 "text.png", "truncated.png"):
        assert f"translate facades {name}" in refused and f"upload_map edges2cats {name}" in refused
    modes = [name for name in corpus if name.startswith("mode-")]
    assert len(modes) == len(MODES) and all(seen[f"translate edges2cats {name}"] == "ok" for name in modes)
    photo = client.predict("edges2cats", good_drawing(), 0, 256, api_name="/translate")  # still answering
    sensible(photo)
    assert memory(proc.pid)[1] < RSS_LIMIT
