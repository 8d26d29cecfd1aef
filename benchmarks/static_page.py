"""The static page (python -m app export-static) in headless chromium from a local static server: time to the
first photo after load, and mouse-up to photo for each model at 256 px, plus the page's size.

    python benchmarks/static_page.py [--models NAME ...] [--strokes 15] [--loads 3] [--page DIR]
                                     [--return-visit] [--phone] [--out FILE.json]

First photo: `performance.now()` when the first photo is drawn (from navigation start: fetching the page,
onnxruntime-web's WASM and the first model, session start, the first run), in a fresh browser context each
load. Mouse-up to photo: from the pointerup event to the photo drawn, for `--strokes` pen strokes on the
model's example drawing; "hinted" adds a colour-hint stroke first, so every photo also runs the hint fill.
Prints medians and p90s, and the median time of the page's two steps (inputs: reading the drawing, resizing,
the hint fill; generator: onnxruntime-web and drawing the photo), how the last photo compares with PyTorch's
on the same drawing, hints, colour and dropout masks, and the machine's load average (the CPU is shared).

`--return-visit` measures the same again on a second visit: the page and model from sw.js's cache, the page
cross-origin isolated by it, so onnxruntime-web runs on up to 4 threads (first photo: from the reload).
`--phone` measures the same again as a phone: Playwright's Pixel 7 profile (412x839 viewport, 2.625 device
pixels per CSS pixel, touch, a phone's user agent) with the CPU slowed 4x by DevTools' throttling. DevTools
slows the page's main thread only, not onnxruntime-web's worker where the generator runs; so where this
process may write cgroup v1's cpu controller (root), it also measures the phone with the whole browser held
to a quarter of one core (`cpu.cfs_quota_us`), which slows every thread of every process, worker or not.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app import static
from app.registry import SHIPPED, Registry
from benchmarks.browser import page_vs_pytorch, static_last_run, static_page

WAIT = 120_000
PHONE_SLOWDOWN = 4
CGROUP = Path("/sys/fs/cgroup/cpu")


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    phone: bool = False
    slowdown: float = 1  # DevTools' CPU throttling: the main thread only
    cores: float | None = None  # the whole browser held to this many cores (cgroup v1)
    revisit: bool = False  # a second visit: from sw.js's cache, cross-origin isolated


DESKTOP = Profile("desktop", "desktop")
PHONE = Profile("phone", f"Pixel 7, main thread slowed {PHONE_SLOWDOWN}x (DevTools)", True, PHONE_SLOWDOWN)
RETURN = Profile("desktop_return", "desktop, second visit (from the cache, isolated: WASM threads)", revisit=True)
PHONE_CAPPED = Profile("phone_capped", "Pixel 7, whole browser held to 1/4 of a core", True, cores=0.25)


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parent = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def cap_browser(cores: float) -> None:
    """Move every chromium process this benchmark started into a cgroup held to `cores` CPUs (renderers
    forked later by chromium's zygote stay in it)."""
    group = CGROUP / "pix2pix-static-bench"
    group.mkdir(exist_ok=True)
    period = int((group / "cpu.cfs_period_us").read_text())
    (group / "cpu.cfs_quota_us").write_text(str(int(cores * period)))
    for pid in descendants(os.getpid()):
        try:
            if "chrom" in Path(f"/proc/{pid}/comm").read_text():
                (group / "cgroup.procs").write_text(str(pid))
        except OSError:  # gone meanwhile
            pass


def can_cap() -> bool:
    return os.access(CGROUP, os.W_OK) and (CGROUP / "cpu.cfs_quota_us").exists()


def open_page(playwright, url: str, profile: Profile):
    browser, page, blocked = static_page(playwright, url, profile.phone, profile.slowdown)
    if profile.cores:
        cap_browser(profile.cores)
    return browser, page, blocked


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def stroke(page, i: int, colour: bool = False) -> None:
    """The `i`th short pen stroke (or colour-hint stroke) on the canvas; waits for its photo."""
    box = page.locator("#canvas .stack").bounding_box()
    n = page.evaluate("studio.latencies.length")
    x0, y0 = (
        box["x"] + box["width"] * (0.15 + 0.05 * (i % 12)),
        box["y"] + box["height"] * (0.1 + 0.06 * (i % 13)),
    )
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + 40, y0 + 25, steps=3)
    page.mouse.up()
    page.wait_for_function(
        f"() => (!studio.busy && studio.latencies.length > {n}) || studio.error", timeout=WAIT
    )


def visit(page, url: str, profile: Profile) -> None:
    """Open the page and wait for its first photo; on a return visit, first let sw.js cache it, then reload:
    the page comes from the cache, cross-origin isolated (several WASM threads)."""
    first = "() => window.studio && (studio.runs > 0 || studio.error)"
    page.goto(url)
    page.wait_for_function(first, timeout=WAIT)
    if profile.revisit:
        page.wait_for_function("() => studio.offline !== null", timeout=WAIT)
        page.reload()
        page.wait_for_function(first, timeout=WAIT)
        assert page.evaluate("crossOriginIsolated"), page.evaluate("studio.offline")


def first_photos(playwright, url: str, loads: int, profile: Profile) -> list[float]:
    times = []
    for _ in range(loads):
        browser, page, blocked = open_page(playwright, url, profile)  # a fresh browser: nothing cached
        visit(page, url, profile)
        times.append(page.evaluate("studio.firstPhotoMs"))
        assert not blocked and page.evaluate("studio.error") is None
        browser.close()
    return times


def latencies(playwright, url: str, keys: list[str], strokes: int, hinted_keys: set[str], profile: Profile) -> dict:
    browser, page, blocked = open_page(playwright, url, profile)
    visit(page, url, profile)
    out = {}
    for key in keys:
        for hinted in (False, True) if key in hinted_keys else (False,):
            runs = page.evaluate("studio.runs")
            page.select_option("#model", key)
            page.wait_for_function(
                f"() => (!studio.busy && studio.runs > {runs}) || studio.error", timeout=WAIT
            )
            page.click("#example")
            if hinted:
                page.locator("#canvas input.colour").fill("#1e90ff")
                stroke(page, 99, colour=True)
            page.click("[data-tool=pen]")
            stroke(page, 0)  # warm-up: the first run of a session is slower
            start = page.evaluate("studio.latencies.length")
            for i in range(strokes):
                stroke(page, i + 1)
            ms = page.evaluate(f"studio.latencies.slice({start})")
            parts = page.evaluate(f"studio.parts.slice({start})")
            got, expected = page_vs_pytorch(static_last_run(page), SHIPPED / key)
            out[f"{key}{' hinted' if hinted else ''}"] = {
                "p50": statistics.median(ms),
                "p90": p(ms, 0.9),
                "min": min(ms),
                "n": len(ms),
                "inputs_p50": statistics.median(q["inputs"] for q in parts),
                "generator_p50": statistics.median(q["generator"] for q in parts),
                "within_2": float((np.abs(got - expected) <= 2).all(-1).mean()),
                "max_diff": int(np.abs(got - expected).max()),
            }
    assert not blocked and page.evaluate("studio.error") is None
    browser.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", help="shipped models (default: all)")
    ap.add_argument("--strokes", type=int, default=15)
    ap.add_argument("--loads", type=int, default=3)
    ap.add_argument("--page", help="an exported page to reuse (default: export to a temp folder)")
    ap.add_argument("--return-visit", action="store_true", help="also a second visit: cached, several threads")
    ap.add_argument("--phone", action="store_true", help="also as a phone: Pixel 7, CPU slowed 4x")
    ap.add_argument("--out", help="also write the figures as JSON here")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    registry = Registry([SHIPPED])
    keys = args.models or list(registry.entries)
    folder = Path(args.page or tempfile.mkdtemp(prefix="static-page-"))
    if not args.page:
        static.export_static(folder, keys, registry)
    manifest = json.loads((folder / "models.json").read_text())
    hinted = {m["key"] for m in manifest["models"] if m["hints"]}
    server = static.serve(folder)
    url = f"http://127.0.0.1:{server.server_port}/"
    load_before = os.getloadavg()
    result = {"sizes_bytes": static.sizes(folder), "loadavg_before": load_before}
    profiles = [DESKTOP, RETURN] if args.return_visit else [DESKTOP]
    if args.phone:
        profiles += [PHONE, PHONE_CAPPED] if can_cap() else [PHONE]
    with sync_playwright() as pw:
        for profile in profiles:
            first = first_photos(pw, url, args.loads, profile)
            result[profile.name] = {
                "title": profile.title,
                "first_photo_ms": first,
                "first_photo_median_ms": statistics.median(first),
                "mouse_up_to_photo_ms": latencies(pw, url, keys, args.strokes, hinted, profile),
            }
    server.shutdown()
    if PHONE_CAPPED in profiles:
        (CGROUP / "pix2pix-static-bench").rmdir()  # empty again: its browsers are closed
    result["loadavg_after"] = os.getloadavg()
    for profile in profiles:
        r = result[profile.name]
        print(
            f"{profile.title}: first photo after load: median {r['first_photo_median_ms']:.0f} ms "
            f"({', '.join(f'{t:.0f}' for t in r['first_photo_ms'])})"
        )
        print("  mouse-up to photo at 256 px (ms):")
        for name, q in r["mouse_up_to_photo_ms"].items():
            print(
                f"    {name:<24} p50 {q['p50']:6.0f}   p90 {q['p90']:6.0f}   min {q['min']:6.0f}   n={q['n']}   "
                f"(p50 inputs {q['inputs_p50']:.0f}, generator {q['generator_p50']:.0f}; last photo vs PyTorch: "
                f"{q['within_2']:.2%} within 2/255, max {q['max_diff']}/255)"
            )
    print("page size (MB): " + ", ".join(f"{k} {v / 1e6:.1f}" for k, v in result["sizes_bytes"].items()))
    print(
        f"load average (1 min) before / after: {load_before[0]:.1f} / {result['loadavg_after'][0]:.1f} "
        f"on {os.cpu_count()} cores"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
