"""The README's screenshot: the studio with the shipped models, a shoe drawn by hand and its photo.

    python docs/screenshot.py [--out docs/studio.png]

Starts the studio on 127.0.0.1 (shipped models only), opens it in headless Debian chromium
(Playwright), picks edges -> shoes, clears the canvas, draws a high-top with the mouse (the shoe
of benchmarks/hand_drawn.py, 6 px pen), paints one colour hint stroke on it, waits for the photo and
saves the drawing-and-photo part of the page as a palette PNG (kept under 300 KB for the repository).
"""
from __future__ import annotations

import argparse
import io
import socket
from pathlib import Path

import torch
from PIL import Image

from app import server
from app.registry import Registry
from benchmarks.browser import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]

WAIT = 180_000  # ms
# The shoe of benchmarks/hand_drawn.py, on the 512 px canvas: outline, second sole line, two lace lines.
SHOE = [[(120, 120), (200, 110), (230, 260), (330, 300), (420, 330), (440, 380), (430, 410), (90, 410), (80, 300),
         (120, 120)], [(85, 385), (435, 385)], [(160, 170), (210, 160)], [(170, 220), (220, 210)]]
HINT = [(150, 300), (250, 320), (350, 340)]  # a stroke of colour along the upper
BLANK = ("() => document.querySelector('#canvas canvas.ink').getContext('2d').getImageData(0, 0, 512, 512).data"
         ".every(v => v === 255)")


def stroke(page, points, canvas: int = 512) -> None:
    box = page.locator("#canvas canvas.ink").bounding_box()
    xy = [(box["x"] + x / canvas * box["width"], box["y"] + y / canvas * box["height"]) for x, y in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=12)
    page.mouse.up()


def wait_photo(page, old: str) -> str:
    page.wait_for_function("old => { const i = document.querySelector('#photo img'); return i && i.src !== old; }",
                           arg=old, timeout=WAIT, polling=50)
    page.wait_for_timeout(500)  # let the image paint
    return page.eval_on_selector("#photo img", "img => img.src")


def shoot(out: Path, hint_colour: str = "#1e64c8") -> int:
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo, url = server.serve(Registry([ROOT / "assets" / "models"]), port=port, block=False)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            page.wait_for_selector("#photo img", timeout=WAIT)
            photo = page.eval_on_selector("#photo img", "img => img.src")
            page.click("#model input")
            page.get_by_role("option", name="edges → shoes").click()
            page.wait_for_selector("#canvas [data-tool=colour]", state="visible", timeout=WAIT)
            photo = wait_photo(page, photo)  # the model switch translates the drawing there (the cats example)
            page.click("#canvas [data-action=clear]")
            photo = wait_photo(page, photo)
            page.wait_for_function(BLANK, timeout=WAIT)
            page.select_option("#canvas .size select", "6")
            for line in SHOE:  # one translation per stroke: wait for each, so the last photo is the last stroke's
                stroke(page, line)
                photo = wait_photo(page, photo)
            page.click("#canvas [data-tool=colour]")
            page.eval_on_selector("#canvas input.colour", "(el, c) => { el.value = c;"
                                  " el.dispatchEvent(new Event('input', {bubbles: true})); }", hint_colour)
            stroke(page, HINT)
            photo = wait_photo(page, photo)
            page.wait_for_timeout(2000)
            assert page.eval_on_selector("#photo img", "img => img.src") == photo, "the photo is still changing"
            page.click("#canvas [data-tool=pen]")
            top = page.locator("#model").bounding_box()
            bottom = max(b["y"] + b["height"] for b in (page.locator("#photo").bounding_box(),
                                                        page.locator("#canvas .stack").bounding_box()))
            clip = {"x": 0, "y": max(0, top["y"] - 12), "width": 1280, "height": bottom - top["y"] + 24}
            png = page.screenshot(clip=clip)
            browser.close()
    finally:
        demo.close()
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    return out.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "studio.png")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{args.out}: {shoot(args.out) / 1024:.0f} KB")


if __name__ == "__main__":
    main()
