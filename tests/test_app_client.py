"""The running studio driven through gradio_client: translate, upload, switch model, bad input, 8 at once;
and over plain HTTP, fresh sessions that leave no memory behind."""
from __future__ import annotations

import base64
import io
import socket
import sys
import threading

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image, ImageDraw

from app import handlers, server, ui
from app.registry import HOW_TO_GET_MODELS, Registry
from benchmarks.app_memory import malloc_mb


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def studio(tiny_models):
    demo, url = server.serve(Registry([tiny_models]), port=free_port(), block=False)
    yield url
    demo.close()


@pytest.fixture(scope="module")
def client(studio):
    return Client(studio, verbose=False)


@pytest.fixture(scope="module")
def stroke() -> dict:
    image = Image.new("RGB", (512, 512), "white")
    ImageDraw.Draw(image).line([(60, 400), (250, 80), (450, 420)], fill="black", width=4)
    return {"image": handlers.data_url(image), "hints": None}


def opened(path_or_url: str) -> Image.Image:
    if path_or_url.startswith("data:"):
        path_or_url = io.BytesIO(base64.b64decode(path_or_url.partition(",")[2]))
    with Image.open(path_or_url) as im:
        return im.convert("RGB")


@pytest.mark.parametrize("size", [256, 512])
def test_translate(client, stroke, size):
    photo = client.predict("edges2cats", stroke, 0, size, api_name="/translate")
    assert opened(photo).size == (size, size)


def test_upload_map_then_translate(client, tmp_path):
    Image.new("L", (600, 300), 255).save(tmp_path / "edges.png")
    value = client.predict(handle_file(str(tmp_path / "edges.png")), "edges2cats", api_name="/upload_map")
    assert opened(value["image"]).size == (512, 256) and value["kind"] == "edges"
    photo = client.predict("edges2cats", value, 0, 256, api_name="/translate")
    assert opened(photo).size == (256, 128)


def test_switch_model_to_facades(client, stroke):
    value, card = client.predict("facades", dict(stroke, kind="edges"), api_name="/select_model")[:2]
    assert "labels" in card and value["kind"] == "labels" and value["model"] == "facades"
    assert opened(value["image"]).getpixel((0, 0)) == (0, 0, 170)  # the facade example: a label layout
    photo = client.predict("facades", value, 1, 256, api_name="/translate")
    assert opened(photo).size == (256, 256)
    boxes = client.predict(value, "facades", api_name="/rectangles")
    assert opened(boxes["image"]).size == (512, 512)
    # Same input kind: the drawing stays, only the tools and the model change.
    again = client.predict("facades", value, api_name="/select_model")[0]
    assert again["image"] == value["image"]


def test_example_is_each_kinds_own(client):
    labels, edges = (client.predict(key, api_name="/example") for key in ("facades", "edges2cats"))
    assert labels["kind"] == "labels" and opened(labels["image"]).getpixel((0, 0)) == (0, 0, 170)
    assert edges["kind"] == "edges" and opened(edges["image"]).getpixel((0, 0)) == (255, 255, 255)


def test_variations(client, stroke):
    shots = client.predict("edges2cats", stroke, 7, 256, api_name="/variations")
    assert [s["caption"] for s in shots] == [f"seed {s}" for s in range(8, 8 + handlers.VARIATIONS)]


def test_bad_input_is_a_message_and_server_lives(client, tmp_path, stroke):
    (tmp_path / "junk.png").write_bytes(b"\x89PNG but not really")
    with pytest.raises(AppError, match="not a readable image"):
        client.predict(handle_file(str(tmp_path / "junk.png")), "edges2cats", api_name="/upload_map")
    Image.new("L", (9000, 8), 255).save(tmp_path / "huge.png")
    with pytest.raises(AppError, match="too large"):
        client.predict(handle_file(str(tmp_path / "huge.png")), "edges2cats", api_name="/upload_photo")
    with pytest.raises(AppError, match="no-such-model"):
        client.predict("no-such-model", stroke, 0, 256, api_name="/translate")
    with pytest.raises(AppError, match="canvas is empty"):
        client.predict("edges2cats", {"image": ""}, 0, 256, api_name="/translate")
    with pytest.raises(AppError, match="less than minimum value 0"):  # Gradio checks the Number's range
        client.predict("edges2cats", stroke, -5, 256, api_name="/translate")
    with pytest.raises(AppError, match="not a colour"):
        client.predict("edges2cats", stroke, 0, 256, True, "teal-ish", api_name="/translate")
    photo = client.predict("edges2cats", stroke, 0, 256, True, "#00ff00", api_name="/translate")  # no palette: ignored
    assert opened(photo).size == (256, 256)
    photo = client.predict("edges2cats", stroke, 0, 256, api_name="/translate")
    assert opened(photo).size == (256, 256)


def test_upload_over_size_limit_is_refused(client, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (21 * 1024 * 1024))
    with pytest.raises(Exception, match="(?i)size|large|413"):
        client.predict(handle_file(str(big)), "edges2cats", api_name="/upload_map")


def test_eight_clients_at_once(studio, stroke):
    results, errors = {}, []

    def one(i):
        try:
            c = Client(studio, verbose=False)
            photo = c.predict("edges2cats" if i % 2 else "facades", stroke, i, 256, api_name="/translate")
            results[i] = opened(photo).size
        except Exception as e:  # collected, then asserted below
            errors.append(repr(e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert results == {i: (256, 256) for i in range(8)}


def test_no_models_page_says_how_to_get_one(tmp_path):
    config = str(ui.build(Registry([tmp_path])).config)
    assert HOW_TO_GET_MODELS.splitlines()[0] in config and "python -m training train" in config


def held() -> tuple[float, int]:
    """(MB glibc's malloc has handed out and not had back, blocks Python's allocator has handed out),
    after a full collection: what live objects hold, whatever the allocators keep cached for reuse."""
    info = malloc_mb()
    if info is None:
        pytest.skip("needs glibc 2.33+ (mallinfo2)")
    return info["live"], sys.getallocatedblocks()


def test_fresh_sessions_leave_nothing_behind(studio, stroke):
    """60 /translate calls over plain HTTP, each its own session, after 70 that fill Gradio's session
    store (server.SESSIONS = 64) and its caches, leave under 5 MB and 15,000 blocks more held: one
    photo kept per call would be 11 MB, one page config per session 5 MB.

    Live memory, not RSS: RSS also counts what glibc's malloc keeps free in its arenas (one per
    worker thread that allocated, up to 8 a core) for reuse. Under load the calls spread over more
    threads; RSS grew 34.8 MB over such 60 calls (issue 31). `python benchmarks/app_memory.py
    --arenas`: over 240 calls RSS rose and fell by up to 17 MB with the arenas' free memory (25-42 MB)
    while live memory grew 0.5 MB."""
    base = studio.rstrip("/")
    with httpx.Client(timeout=60) as http:
        def call(i: int) -> None:
            key = "facades" if i % 2 else "edges2cats"
            event = http.post(f"{base}/gradio_api/call/translate",
                              json={"data": [key, stroke, i, 256, False, "#000000"]}).json()["event_id"]
            reply = http.get(f"{base}/gradio_api/call/translate/{event}").text
            assert "event: complete" in reply, reply[-300:]

        for i in range(70):
            call(i)
        heap, blocks = held()
        for i in range(70, 130):
            call(i)
        heap, blocks = (after - before for after, before in zip(held(), (heap, blocks)))
    print(f"held after 60 fresh sessions: {heap:+.2f} MB, {blocks:+d} blocks")
    assert heap < 5 and blocks < 15_000, f"{heap:.1f} MB, {blocks} blocks more held"
