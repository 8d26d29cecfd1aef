"""Headless Debian chromium on the studio and on the static page, for the benchmarks and the tests: the browser's
path and flags, the page opened with every other host blocked, and its last photo against PyTorch's."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PHONE = "Pixel 7"  # Playwright's device profile: viewport, scale, touch, a phone's user agent


def static_page(playwright, url: str, phone: bool = False, cpu_slowdown: float = 1):
    """(browser, page, blocked): headless Debian chromium on the static page at `url`, every request to any
    other host aborted and recorded in `blocked`. `phone`: as a Pixel 7; `cpu_slowdown`: DevTools' CPU
    throttling (it slows the page's main thread only, not its workers)."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    options = {"viewport": {"width": 1200, "height": 900}}
    if phone:
        options = {k: v for k, v in playwright.devices[PHONE].items() if k != "default_browser_type"}
    page = browser.new_context(**options).new_page()
    if cpu_slowdown != 1:
        cdp = page.context.new_cdp_session(page)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu_slowdown})
    blocked: list[str] = []

    def route(r):
        if r.request.url.startswith(url):
            return r.continue_()
        blocked.append(r.request.url)
        return r.abort()

    page.route("**/*", route)
    return browser, page, blocked


def static_last_run(page) -> dict:
    """The static page's last run (window.studio.last) with its masks as lists and the photo as a PNG data URL."""
    return page.evaluate("""() => {
        const l = studio.last;
        return {...l, masks: l.masks.map(m => Array.from(m)), photo: document.getElementById('photo').toDataURL()};
    }""")


def png_array(data_url: str) -> np.ndarray:
    """A PNG data URL -> HxWx3 int array."""
    from app import handlers

    return np.asarray(Image.open(io.BytesIO(handlers.data_url_bytes(data_url, "image"))).convert("RGB")).astype(int)


def page_vs_pytorch(last: dict, folder: Path, flip_masks: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(page photo, PyTorch's photo) as int arrays for the static page's run `last` (static_last_run): the
    model in `folder` on the same drawing, hints, colour, seed and dropout masks (`flip_masks`: the opposite
    masks, other noise)."""
    import torch

    import models
    from app import handlers

    translator = models.load(folder)
    value = {"image": last["image"], "hints": last["hints"]}
    image, hints = handlers.model_input(value, translator.config.input_kind, 256)
    shapes = translator.generator.dropout_shapes(256, 256)
    masks = [torch.tensor(m, dtype=torch.float32).reshape(s) for m, s in zip(last["masks"], shapes)]
    masks = [1 - m for m in masks] if flip_masks else masks
    colour = tuple(last["colour"]) if last["colour"] != "auto" else "auto"
    expected = translator(image, hints=hints, seed=last["seed"], size=256, colour=colour, masks=masks)
    return png_array(last["photo"]), np.asarray(expected).astype(int)
