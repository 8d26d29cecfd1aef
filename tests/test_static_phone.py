"""The static page on a phone and offline, in headless chromium: the photo stays in view while drawing (Pixel 7,
upright at two sizes and on its side), the generator runs in a worker, the page draws with the server
stopped after one visit (then cross-origin isolated by its service worker, so onnxruntime-web may use
threads), and a new export replaces the cached one."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from app import static
from app.registry import SHIPPED, Registry
from benchmarks.browser import CHROMIUM, CHROMIUM_ARGS, PHONE, page_vs_pytorch, static_last_run
from tests.helpers import needs_static_page, static_stroke

WAIT = 180_000  # ms; generous: the CI CPU may be shared
pytestmark = needs_static_page()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield p, b
        b.close()


def phone_page(browser, url: str, width: int | None = None, height: int | None = None):
    p, b = browser
    options = {k: v for k, v in p.devices[PHONE].items() if k != "default_browser_type"}
    if width:
        options["viewport"] = {"width": width, "height": height}
    context = b.new_context(**options)
    page = context.new_page()
    page.goto(url)
    wait_photo(page, 0)
    return context, page


def wait_photo(page, runs_before: int) -> None:
    page.wait_for_function(
        f"() => window.studio && ((!studio.busy && studio.runs > {runs_before}) || studio.error)", timeout=WAIT
    )
    assert page.evaluate("studio.error") is None


def inside(box: dict, width: int, height: int) -> bool:
    return box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width and box["y"] + box["height"] <= height


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("phone")
    static.export_static(out, ["edges2shoes"], Registry([SHIPPED]))
    server = static.serve(out)
    yield out, f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


@pytest.mark.parametrize("width,height", [(390, 844), (360, 740), (844, 390)])
def test_photo_in_view_while_drawing(browser, site, width, height):
    context, page = phone_page(browser, site[1], width, height)
    page.evaluate("document.querySelector('#canvas .stack').scrollIntoView({block: 'center'})")
    stack = page.locator("#canvas .stack").bounding_box()
    assert inside(stack, width, height), "the whole canvas fits on the screen"
    assert not page.locator("#upload").is_visible()  # the page's own styles apply (a styled label opens it)
    scrolled = page.evaluate("[scrollX, scrollY]")
    runs = page.evaluate("studio.runs")
    static_stroke(page, [(0.2, 0.9), (0.5, 0.7), (0.8, 0.95)])  # low on the canvas, where a pinned photo could sit
    wait_photo(page, runs)
    photo = page.locator("#photo").bounding_box()
    assert inside(photo, width, height), f"photo at {photo} in a {width}x{height} screen"
    assert photo["width"] >= 0.25 * min(width, height)
    assert page.evaluate("[scrollX, scrollY]") == scrolled, "drawing scrolled the page"
    assert page.locator("#canvas .stack").bounding_box() == stack, "the canvas moved under the finger"
    # The photo does not cover the canvas: every point of the canvas can still be drawn on.
    apart = (
        photo["y"] >= stack["y"] + stack["height"] - 1
        or photo["x"] >= stack["x"] + stack["width"] - 1
        or photo["y"] + photo["height"] <= stack["y"] + 1
    )
    assert apart, f"photo {photo} over canvas {stack}"
    if width < height:  # upright: a tap enlarges the pinned photo, another shrinks it
        page.click("#photo-box")
        assert page.locator("#photo").bounding_box()["width"] > 0.9 * width
        page.click("#photo-box")
        assert page.locator("#photo").bounding_box()["width"] == pytest.approx(photo["width"], abs=1)
    context.close()


def test_generator_runs_in_a_worker(browser, site):
    context, page = phone_page(browser, site[1])
    assert any("static_worker.js" in w.url for w in page.workers), [w.url for w in page.workers]
    assert page.evaluate("studio.threads") >= 1
    context.close()


def cache_names(page) -> list[str]:
    return page.evaluate("async () => await caches.keys()")


def test_offline_after_one_visit_then_updated(browser, tmp_path):
    out = tmp_path / "page"
    old = static.export_static(out, ["edges2shoes"], Registry([SHIPPED]))["version"]
    server = static.serve(out)
    port = server.server_port
    url = f"http://127.0.0.1:{port}/"
    context, page = phone_page(browser, url)
    page.wait_for_function("() => studio.offline !== null", timeout=WAIT)
    assert page.evaluate("studio.offline") == "ready"
    assert cache_names(page) == [f"pix2pix-studio-{old}"]
    assert not page.evaluate("crossOriginIsolated")  # a plain host, first visit: one thread
    server.shutdown()
    server.server_close()

    # Offline: the page, onnxruntime-web and the model come from the cache, and it draws.
    page.reload()
    wait_photo(page, 0)
    assert page.evaluate("crossOriginIsolated"), "the service worker isolates the page from the second visit"
    threads = page.evaluate("studio.threads")
    assert threads == min(4, math.ceil((os.cpu_count() or 1) / 2))  # onnxruntime-web's choice once isolated
    runs = page.evaluate("studio.runs")
    page.click("[data-tool=pen]")
    static_stroke(page, [(0.1, 0.5), (0.6, 0.55)])
    wait_photo(page, runs)
    got, expected = page_vs_pytorch(static_last_run(page), SHIPPED / "edges2shoes")
    assert (np.abs(got - expected) <= 2).all(-1).mean() >= 0.999, f"on {threads} threads"

    # A new export on the same address replaces the cache, whole: the next visit is the new page.
    new = static.export_static(out, ["edges2shoes", "facades"], Registry([SHIPPED]))["version"]
    assert new != old
    server = static.serve(out, port=port)
    try:
        page.reload()  # still the old page (from its cache); the browser fetches the new sw.js meanwhile
        page.wait_for_function(
            f"async () => JSON.stringify(await caches.keys()) === '[\"pix2pix-studio-{new}\"]'", timeout=WAIT
        )
        page.wait_for_function("() => /new version/.test(document.getElementById('status').textContent)")
        page.reload()
        wait_photo(page, 0)
        assert page.locator("#model option").count() == 2
        assert cache_names(page) == [f"pix2pix-studio-{new}"]
    finally:
        server.shutdown()
    context.close()
