"""The studio page in a real headless browser (Debian's chromium via Playwright): draw with the
mouse and see the photo change, switch to a label model and paint, upload an edge map, download."""
from __future__ import annotations

import os
import socket
import time

import pytest
from PIL import Image, ImageDraw

from app import server
from app.registry import Registry

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SHOTS = os.environ.get("STUDIO_SCREENSHOTS", "/tmp")
WAIT = 180_000  # ms; generous: the CI CPU may be shared and chromium renders in software

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium: apt-get install chromium")


@pytest.fixture(scope="module")
def page(tiny_models):
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo, url = server.serve(Registry([tiny_models]), port=port, block=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
        page.goto(url)
        page.wait_for_selector("#photo img", timeout=WAIT)  # the example is translated on load
        yield page
        browser.close()
    demo.close()


def photo_src(page) -> str:
    return page.eval_on_selector("#photo img", "img => img.src")


def wait_new_photo(page, old: str) -> str:
    page.wait_for_function("old => { const i = document.querySelector('#photo img'); return i && i.src !== old; }",
                           arg=old, timeout=WAIT)
    return photo_src(page)


def stroke(page, points) -> None:
    """Draw one pen stroke; points are fractions of the canvas box."""
    box = page.locator("#editor canvas").first.bounding_box()
    xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=8)
    page.mouse.up()


def downloaded(page, button: str, path) -> Image.Image:
    with page.expect_download(timeout=WAIT) as info:
        page.click(button)
    info.value.save_as(path)
    return Image.open(path).convert("RGB")


def wait_for_input(page, path, check) -> Image.Image:
    """Download the model's input until `check` holds: each stroke and button is its own queued job."""
    deadline = time.monotonic() + WAIT / 1000
    while True:
        image = downloaded(page, "#download-input", path)
        if check(image) or time.monotonic() > deadline:
            return image
        page.wait_for_timeout(1000)


def test_drawing_updates_the_photo(page, tmp_path):
    page.click("#clear")
    before = wait_new_photo(page, photo_src(page))
    stroke(page, [(0.2, 0.8), (0.5, 0.15), (0.8, 0.8), (0.2, 0.8)])
    wait_new_photo(page, before)
    drawn = downloaded(page, "#download-input", tmp_path / "input.png")
    assert drawn.getcolors(1 << 20) and min(drawn.getdata()) < (60, 60, 60)  # black ink reached the model
    assert downloaded(page, "#download-photo", tmp_path / "photo.png").size == (256, 256)
    page.screenshot(path=f"{SHOTS}/studio_drawing.png", full_page=True)


def test_facades_paint_labels_and_rectangles(page, tmp_path):
    page.click("#model input")
    page.get_by_role("option", name="facades").click()
    page.wait_for_selector("#palette", state="visible", timeout=WAIT)
    page.wait_for_selector("#rectangles", state="visible", timeout=WAIT)
    window, background, path = (0, 85, 255), (0, 0, 170), tmp_path / "labels.png"  # the 512 px input
    page.wait_for_timeout(2000)  # let the facade example settle in the canvas, then clear it
    page.click("#clear")
    cleared = wait_for_input(page, path, lambda im: im.getpixel((256, 230)) == background)
    assert cleared.getpixel((256, 230)) == background
    stroke(page, [(0.3, 0.3), (0.7, 0.3), (0.7, 0.6), (0.3, 0.6), (0.3, 0.3)])  # a window outline
    outline = wait_for_input(page, path, lambda im: im.getpixel((int(0.3 * 512), 230)) == window)
    assert outline.getpixel((int(0.3 * 512), 230)) == window and outline.getpixel((256, 230)) == background
    page.click("#rectangles")
    filled = wait_for_input(page, path, lambda im: im.getpixel((256, 230)) == window)
    assert filled.getpixel((256, 230)) == window  # the inside of the outline is filled
    assert filled.getpixel((10, 10)) == background
    page.screenshot(path=f"{SHOTS}/studio_facades.png", full_page=True)


def test_upload_edge_map(page, tmp_path):
    page.click("#model input")
    page.get_by_role("option", name="edges2cats").click()
    page.wait_for_selector("#palette", state="hidden", timeout=WAIT)
    edges = Image.new("L", (640, 320), 255)
    ImageDraw.Draw(edges).ellipse((100, 40, 540, 280), outline=0, width=5)
    edges.save(tmp_path / "edges.png")
    before = photo_src(page)
    with page.expect_file_chooser() as chooser:
        page.click("#upload-map")
    chooser.value.set_files(str(tmp_path / "edges.png"))
    wait_new_photo(page, before)
    page.wait_for_function("() => document.querySelector('#photo img').naturalWidth === 256 &&"
                           " document.querySelector('#photo img').naturalHeight === 128", timeout=WAIT)
    page.screenshot(path=f"{SHOTS}/studio_upload.png", full_page=True)


def test_bad_upload_shows_message(page, tmp_path):
    (tmp_path / "junk.png").write_bytes(b"definitely not a png")
    with page.expect_file_chooser() as chooser:
        page.click("#upload-map")
    chooser.value.set_files(str(tmp_path / "junk.png"))
    page.get_by_text("not a readable image").first.wait_for(timeout=WAIT)
    page.screenshot(path=f"{SHOTS}/studio_error.png", full_page=True)
