"""The studio page in a real headless browser (Debian's chromium via Playwright): draw, erase, undo
and redo with the mouse and keys, paint colour hints and facade labels, upload, download; each time
the photo must change (or come back) accordingly."""
from __future__ import annotations

import os
import shutil
import socket
import time

import pytest
import torch
from PIL import Image, ImageDraw

import models
from app import handlers, server
from app.registry import Registry
from benchmarks.browser import CHROMIUM, CHROMIUM_ARGS

SHOTS = os.environ.get("STUDIO_SCREENSHOTS", "/tmp")
WAIT = 180_000  # ms; generous: the CI CPU may be shared and chromium renders in software
WINDOW, BACKGROUND = (0, 85, 255), (0, 0, 170)

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason="needs Debian's chromium: apt-get install chromium")


@pytest.fixture(scope="module")
def translations(tiny_models, tmp_path_factory):
    """The tiny models plus a tiny colour-hint model with a palette; counts the translations the server makes."""
    root = tmp_path_factory.mktemp("browser_models")
    for name in ("edges2cats", "facades"):
        shutil.copytree(tiny_models / name, root / name)
    torch.manual_seed(0)
    gen = models.GeneratorConfig(ngf=4, hints=True, palette=True)
    config = models.ModelConfig(name="hinted", generator=gen)
    models.save_model(root / "hinted", models.Generator(gen), config)
    return root


@pytest.fixture(scope="module")
def calls(monkeypatch_module):
    seen = []
    translate = handlers.translate

    def counting(*args, **kwargs):
        seen.append(args)
        return translate(*args, **kwargs)

    monkeypatch_module.setattr(handlers, "translate", counting)
    return seen


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture(scope="module")
def page(translations, calls):
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo, url = server.serve(Registry([translations]), port=port, block=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
        page.goto(url)
        page.wait_for_selector("#photo img", timeout=WAIT)  # the example is translated on load
        yield page
        browser.close()
    demo.close()


def photo_src(page) -> str:
    return page.eval_on_selector("#photo img", "img => img.src")


def wait_photo(page, old: str | None = None, equal: str | None = None) -> str:
    """Wait until the photo differs from `old` (or is `equal`); returns its src."""
    script = ("([old, equal]) => { const i = document.querySelector('#photo img');"
              " return i && (equal ? i.src === equal : i.src !== old); }")
    page.wait_for_function(script, arg=[old, equal], timeout=WAIT, polling=20)
    return photo_src(page)


def stroke(page, points) -> None:
    """Drag the mouse through `points`, fractions of the canvas box."""
    box = page.locator("#canvas canvas.ink").bounding_box()
    xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=8)
    page.mouse.up()


def pixel(page, layer: str, fx: float, fy: float) -> tuple[int, ...]:
    """RGBA of the canvas `layer` ('ink' or 'hints') at a fraction of its size."""
    return tuple(page.evaluate(
        "([layer, fx, fy]) => { const c = document.querySelector('#canvas canvas.' + layer);"
        " const x = Math.floor(fx * c.width), y = Math.floor(fy * c.height);"
        " return Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data); }",
        [layer, fx, fy]))


def tool(page, name: str) -> None:
    page.click(f"#canvas [data-tool={name}]")


def pick_model(page, name: str) -> None:
    page.click("#model input")
    page.get_by_role("option", name=name).click()


def downloaded(page, button: str, path, ready=lambda image: True) -> Image.Image:
    """The button's file, once `ready(image)` holds (or the wait is over): the download buttons get their files
    in an event after the photo's, so a click right after a photo may still get the previous ones."""
    deadline = time.monotonic() + WAIT / 1000
    while True:
        with page.expect_download(timeout=WAIT) as info:
            page.click(button)
        info.value.save_as(path)
        image = Image.open(path).convert("RGB")
        if ready(image) or time.monotonic() > deadline:
            return image
        page.wait_for_timeout(200)


LINE = [(0.2, 0.3), (0.5, 0.5), (0.8, 0.3)]


def test_pen_eraser_undo_redo(page, tmp_path):
    before = photo_src(page)
    page.click("#canvas [data-action=clear]")
    blank = wait_photo(page, before)
    assert pixel(page, "ink", 0.5, 0.5) == (255, 255, 255, 255)
    stroke(page, LINE)
    drawn = wait_photo(page, blank)
    assert pixel(page, "ink", 0.5, 0.5)[:3] < (80, 80, 80)  # black ink on the canvas...
    sent = downloaded(page, "#download-input", tmp_path / "in.png", lambda image: min(image.getdata()) < (80, 80, 80))
    assert min(sent.getdata()) < (80, 80, 80)  # ...and sent
    assert downloaded(page, "#download-photo", tmp_path / "photo.png").size == (256, 256)
    tool(page, "eraser")
    stroke(page, LINE)
    assert wait_photo(page, equal=blank) == blank  # erased: the same drawing as blank, the same photo
    assert pixel(page, "ink", 0.5, 0.5) == (255, 255, 255, 255)
    page.keyboard.press("Control+z")
    assert wait_photo(page, equal=drawn) == drawn
    page.click("#canvas [data-action=redo]")
    assert wait_photo(page, equal=blank) == blank
    page.click("#canvas [data-action=undo]")
    assert wait_photo(page, equal=drawn) == drawn
    page.keyboard.press("Control+Shift+z")
    assert wait_photo(page, equal=blank) == blank
    page.keyboard.press("Control+z")
    assert wait_photo(page, equal=drawn) == drawn
    tool(page, "pen")
    page.screenshot(path=f"{SHOTS}/studio_drawing.png", full_page=True)


def test_colour_hints(page):
    assert not page.is_visible("#canvas [data-tool=colour]")  # edges2cats takes no hints
    old = photo_src(page)  # read before the click: the blank's photo can be back before a read after it
    page.click("#canvas [data-action=clear]")  # a drawing of its own: the test also runs alone
    before = wait_photo(page, old)
    stroke(page, LINE)
    before = wait_photo(page, before)
    pick_model(page, "hinted")
    page.wait_for_selector("#canvas [data-tool=colour]", state="visible", timeout=WAIT)
    plain = wait_photo(page, before)  # same input kind: the drawing stays, the new model translates it
    assert pixel(page, "ink", 0.5, 0.5)[:3] < (80, 80, 80)
    tool(page, "colour")
    stroke(page, [(0.3, 0.7), (0.7, 0.7)])
    hinted = wait_photo(page, plain)
    assert pixel(page, "hints", 0.5, 0.7)[3] == 255 and pixel(page, "ink", 0.5, 0.7) == (255, 255, 255, 255)
    page.screenshot(path=f"{SHOTS}/studio_hints.png", full_page=True)
    tool(page, "eraser")
    stroke(page, [(0.3, 0.7), (0.7, 0.7)])
    assert wait_photo(page, equal=plain) == plain  # hints erased: the photo without them again
    assert hinted != plain
    tool(page, "pen")


def test_model_without_hints_clears_them(page):
    """Hints are only for models that take them: switching to one that doesn't clears the layer
    (it used to stay on screen, unsent), and the colour brush goes away."""
    before = photo_src(page)
    tool(page, "colour")
    stroke(page, [(0.3, 0.7), (0.7, 0.7)])
    hinted = wait_photo(page, before)
    assert pixel(page, "hints", 0.5, 0.7)[3] == 255
    pick_model(page, "edges2cats")
    page.wait_for_selector("#canvas [data-tool=colour]", state="hidden", timeout=WAIT)
    wait_photo(page, hinted)
    page.wait_for_function("() => document.querySelector('#canvas canvas.hints').getContext('2d')"
                           ".getImageData(0, 0, 512, 512).data.every((v, i) => i % 4 !== 3 || v === 0)",
                           timeout=WAIT, polling=50)
    assert not page.is_visible("#canvas canvas.hints")
    assert tool_now(page) == "pen"


def test_overall_colour(page):
    """The colour row shows for palette models only; ticking it paints the picture that colour, unticking
    gives back the seed's drawn colour (the same picture as before), picking a colour ticks it."""
    pick_model(page, "edges2cats")
    page.wait_for_selector("#colour-row", state="hidden", timeout=WAIT)
    before = photo_src(page)
    pick_model(page, "hinted")
    page.wait_for_selector("#colour-row", state="visible", timeout=WAIT)
    drawn = wait_photo(page, before)
    page.check("#use-colour input[type=checkbox]")
    painted = wait_photo(page, drawn)
    page.screenshot(path=f"{SHOTS}/studio_colour.png", full_page=True)
    page.uncheck("#use-colour input[type=checkbox]")
    assert wait_photo(page, equal=drawn) == drawn and painted != drawn
    # Picking a colour means using it: the box ticks itself and the picture takes the new colour.
    page.click("#colour button.dialog-button")
    page.click("#colour .color-gradient", position={"x": 5, "y": 5})  # near white: not the default red
    page.wait_for_function("() => document.querySelector('#use-colour input').checked", timeout=WAIT)
    assert wait_photo(page, drawn) not in (drawn, painted)


def tool_now(page) -> str:
    return page.eval_on_selector("#canvas [data-tool].active", "b => b.dataset.tool")


def test_facades_paint_labels_and_boxes(page):
    before = photo_src(page)
    pick_model(page, "facades")
    page.wait_for_selector("#canvas .palette", state="visible", timeout=WAIT)
    page.wait_for_selector("#rectangles", state="visible", timeout=WAIT)
    example = wait_photo(page, before)
    page.wait_for_function("() => document.querySelector('#canvas .studio-canvas').dataset.kind === 'labels'")
    assert pixel(page, "ink", 0.01, 0.01)[:3] == BACKGROUND  # the facade example, a label layout
    page.click("#canvas [data-action=clear]")
    cleared = wait_photo(page, example)
    assert pixel(page, "ink", 0.5, 0.45)[:3] == BACKGROUND
    page.click("#canvas [data-label='#0055ff']")  # window
    stroke(page, [(0.3, 0.3), (0.7, 0.3), (0.7, 0.6), (0.3, 0.6), (0.3, 0.3)])  # a window outline
    outline = wait_photo(page, cleared)
    assert pixel(page, "ink", 0.3, 0.45)[:3] == WINDOW and pixel(page, "ink", 0.5, 0.45)[:3] == BACKGROUND
    page.click("#rectangles")  # strokes -> boxes: the outline's inside is filled
    page.wait_for_function("() => { const c = document.querySelector('#canvas canvas.ink');"
                           " const ctx = c.getContext('2d');"
                           " return ctx.getImageData(c.width / 2, c.height * 0.45, 1, 1).data[1] === 85; }",
                           timeout=WAIT)
    filled = wait_photo(page, outline)
    assert pixel(page, "ink", 0.05, 0.05)[:3] == BACKGROUND
    page.click("#canvas [data-label='#ff0000']")  # pillar
    tool(page, "box")
    stroke(page, [(0.1, 0.7), (0.2, 0.95)])
    wait_photo(page, filled)
    assert pixel(page, "ink", 0.15, 0.8)[:3] == (255, 0, 0)
    page.screenshot(path=f"{SHOTS}/studio_facades.png", full_page=True)


def test_upload_edge_map_translates_once(page, tmp_path, calls):
    pick_model(page, "edges2cats")
    page.wait_for_selector("#canvas .palette", state="hidden", timeout=WAIT)
    edges = Image.new("L", (640, 320), 255)
    ImageDraw.Draw(edges).ellipse((100, 40, 540, 280), outline=0, width=5)
    edges.save(tmp_path / "edges.png")
    page.wait_for_timeout(1500)  # let the model switch's translation finish
    before, count = photo_src(page), len(calls)
    with page.expect_file_chooser() as chooser:
        page.click("#upload-map")
    chooser.value.set_files(str(tmp_path / "edges.png"))
    wait_photo(page, before)
    page.wait_for_function("() => document.querySelector('#photo img').naturalWidth === 256 &&"
                           " document.querySelector('#photo img').naturalHeight === 128", timeout=WAIT)
    assert page.evaluate("() => [document.querySelector('#canvas canvas.ink').width,"
                         " document.querySelector('#canvas canvas.ink').height]") == [512, 256]
    page.wait_for_timeout(1500)
    assert len(calls) - count == 1  # the upload lands in the canvas and is translated once
    page.screenshot(path=f"{SHOTS}/studio_upload.png", full_page=True)


def test_touch_strokes_draw(page):
    """A finger draws like the mouse (the canvas listens to pointer events; touches come from CDP)."""
    before = photo_src(page)
    box = page.locator("#canvas canvas.ink").bounding_box()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 1})
    for i, kind in enumerate(["touchStart"] + ["touchMove"] * 10 + ["touchEnd"]):
        fx = 0.1 + min(i, 10) * 0.08
        point = {"x": box["x"] + fx * box["width"], "y": box["y"] + 0.9 * box["height"]}
        touches = [] if kind == "touchEnd" else [point]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touches})
    cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": False})
    wait_photo(page, before)
    assert pixel(page, "ink", 0.5, 0.9)[:3] < (80, 80, 80)


def test_second_finger_neither_draws_nor_splits_the_stroke(page):
    """A second touch during a stroke (a pinch) is ignored: one undo takes the whole stroke away."""
    before = photo_src(page)
    page.click("#canvas [data-action=clear]")
    blank = wait_photo(page, before)
    box = page.locator("#canvas canvas.ink").bounding_box()

    def at(fx, fy, finger):
        return {"x": box["x"] + fx * box["width"], "y": box["y"] + fy * box["height"], "id": finger}

    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 2})
    for kind, points in [("touchStart", [at(0.1, 0.5, 0)]), ("touchMove", [at(0.3, 0.5, 0)]),
                         ("touchStart", [at(0.3, 0.5, 0), at(0.8, 0.2, 1)]),
                         ("touchMove", [at(0.5, 0.5, 0), at(0.8, 0.3, 1)]),
                         ("touchMove", [at(0.7, 0.5, 0), at(0.8, 0.4, 1)]), ("touchEnd", [])]:
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})
    cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": False})
    wait_photo(page, blank)
    assert pixel(page, "ink", 0.6, 0.5)[:3] < (80, 80, 80)  # the first finger kept drawing
    assert pixel(page, "ink", 0.8, 0.3) == (255, 255, 255, 255)  # the second drew nothing
    page.click("#canvas [data-action=undo]")
    assert wait_photo(page, equal=blank) == blank
    assert pixel(page, "ink", 0.2, 0.5) == (255, 255, 255, 255)
    page.click("#canvas [data-action=redo]")  # and back, leaving a drawing for the tests that follow
    wait_photo(page, blank)
    assert pixel(page, "ink", 0.2, 0.5)[:3] < (80, 80, 80)


def test_photo_to_edges_lands_in_the_canvas(page, tmp_path, calls):
    photo = Image.new("RGB", (400, 300), (230, 220, 200))
    ImageDraw.Draw(photo).rectangle((80, 60, 320, 240), fill=(40, 60, 150))
    photo.save(tmp_path / "photo.jpg")
    drawn = photo_src(page)  # read before the click: a fast translation could land before it is read
    page.click("#canvas [data-action=clear]")
    before = wait_photo(page, drawn)
    page.wait_for_timeout(1000)
    count = len(calls)
    with page.expect_file_chooser() as chooser:
        page.click("#upload-photo")
    chooser.value.set_files(str(tmp_path / "photo.jpg"))
    wait_photo(page, before)
    assert page.evaluate("() => [document.querySelector('#canvas canvas.ink').width,"
                         " document.querySelector('#canvas canvas.ink').height]") == [512, 384]
    dark = page.evaluate("() => { const c = document.querySelector('#canvas canvas.ink');"
                         " const a = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                         " let n = 0; for (let i = 0; i < a.length; i += 4) n += a[i] < 128; return n; }")
    assert 200 < dark < 20_000  # the box's outline, as edges (the canvas was blank)
    page.wait_for_timeout(1500)
    assert len(calls) - count == 1


def test_bad_upload_shows_message(page, tmp_path):
    (tmp_path / "junk.png").write_bytes(b"definitely not a png")
    with page.expect_file_chooser() as chooser:
        page.click("#upload-map")
    chooser.value.set_files(str(tmp_path / "junk.png"))
    page.get_by_text("not a readable image").first.wait_for(timeout=WAIT)
    page.screenshot(path=f"{SHOTS}/studio_error.png", full_page=True)


def test_keys_typed_in_a_field_stay_there(page):
    """Tool keys and Ctrl+Z typed in the seed box are the box's own: no tool change, no canvas undo.
    Runs after the bad upload: its error must not leave an overlay on the canvas that takes clicks."""
    tool(page, "pen")
    drawing = page.eval_on_selector("#canvas canvas.ink", "c => c.toDataURL()")
    seed = page.get_by_label("Seed (noise and drawn colours)")
    seed.click()
    for key in ("e", "b", "Control+z", "Control+Shift+z"):
        seed.press(key)
    page.wait_for_timeout(500)
    assert tool_now(page) == "pen"
    assert page.eval_on_selector("#canvas canvas.ink", "c => c.toDataURL()") == drawing
    page.keyboard.press("Escape")
