"""`python -m training fetch` against a tarball served from 127.0.0.1: resume, a server that ignores Range,
size/sha256 checks, refused tar members, and `ship` preparing from the fetched set."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import socket
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from helpers import make_pair
from PIL import Image

from training.__main__ import main
from training.data import DataError
from training.fetch import OFFICIAL, FetchError, download, fetch
from training.recipes import ship


class Server:
    """What the handler serves and how it misbehaves; it records each request's Range header."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.honour_range = True
        self.cut_next = False  # send half of the next response's body, then close the connection
        self.ranges: list[str | None] = []


@pytest.fixture
def server():
    state = Server()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            state.ranges.append(self.headers.get("Range"))
            body = state.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            start = 0
            m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
            if m and state.honour_range:
                start = int(m.group(1))
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            payload = body[start:]
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if state.cut_next:
                state.cut_next = False
                payload = payload[: len(payload) // 2]
            self.wfile.write(payload)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield state
    httpd.shutdown()
    httpd.server_close()


def jpeg(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=95)
    return buf.getvalue()


def make_tarball(members: dict[str, bytes], links: tuple[tarfile.TarInfo, ...] = ()) -> bytes:
    """A .tar.gz holding MEMBERS (names written as given, so '../' and '/' survive) and extra entries."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in links:
            tar.addfile(info)
    return buf.getvalue()


def official_pairs(name: str, swap: bool = False, seed: int = 0) -> dict[str, bytes]:
    """NAME/{train,val}/*_AB.jpg as the official tarballs lay them out: edges|photo (photo|edges if SWAP)."""
    rng = np.random.default_rng(seed)
    members = {}
    for split, n in (("train", 3), ("val", 2)):
        for i in range(n):
            pair = make_pair(rng, 32)
            if swap:
                pair = Image.fromarray(np.roll(np.asarray(pair), 32, axis=1))
            members[f"{name}/{split}/{i + 1}_AB.jpg"] = jpeg(pair)
    return members


def test_fetch_downloads_extracts_and_skips_a_finished_set(server, tmp_path, capsys):
    members = official_pairs("edges2shoes")
    tarball = make_tarball(members)
    server.files["/edges2shoes.tar.gz"] = tarball
    out = tmp_path / "official"
    main(["fetch", "edges2shoes", "--out", str(out), "--url", server.url])
    for name, data in members.items():
        assert (out / name).read_bytes() == data
    assert hashlib.sha256(tarball).hexdigest() in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["edges2shoes"]  # no tarball, .part or staging left

    requests = len(server.ranges)
    main(["fetch", "edges2shoes", "--out", str(out), "--url", server.url])
    assert len(server.ranges) == requests
    assert "already fetched" in capsys.readouterr().out


def test_cut_connection_then_rerun_resumes_with_range(server, tmp_path, monkeypatch):
    members = official_pairs("facades")
    tarball = make_tarball(members)
    server.files["/facades.tar.gz"] = tarball
    server.cut_next = True
    out = tmp_path / "official"
    monkeypatch.setenv("PIX2PIX_DATASETS_URL", server.url)
    with pytest.raises(FetchError, match="run the same command again to resume"):
        fetch("facades", out, progress=False)
    part = out / "facades.tar.gz.part"
    assert part.stat().st_size == len(tarball) // 2
    assert not (out / "facades").exists()

    fetch("facades", out, progress=False)
    assert server.ranges == [None, f"bytes={len(tarball) // 2}-"]
    for name, data in members.items():
        assert (out / name).read_bytes() == data


def test_download_resume_gives_the_served_bytes(server, tmp_path):
    body = bytes(range(256)) * 41
    server.files["/x.tar.gz"] = body
    server.cut_next = True
    dest = tmp_path / "x.tar.gz"
    with pytest.raises(FetchError, match="closed at 5248 of 10496 bytes"):
        download(f"{server.url}/x.tar.gz", dest, progress=False)
    digest = download(f"{server.url}/x.tar.gz", dest, size=len(body), progress=False)
    assert dest.read_bytes() == body and digest == hashlib.sha256(body).hexdigest()


def test_server_that_ignores_range_restarts_from_zero(server, tmp_path):
    body = b"the whole file " * 100
    server.files["/x.tar.gz"] = body
    server.honour_range = False
    dest = tmp_path / "x.tar.gz"
    (tmp_path / "x.tar.gz.part").write_bytes(b"stale bytes")
    download(f"{server.url}/x.tar.gz", dest, progress=False)
    assert server.ranges == ["bytes=11-"]
    assert dest.read_bytes() == body


def test_complete_part_answered_416_is_kept(server, tmp_path):
    body = b"complete " * 50
    server.files["/x.tar.gz"] = body
    (tmp_path / "x.tar.gz.part").write_bytes(body)
    download(f"{server.url}/x.tar.gz", tmp_path / "x.tar.gz", progress=False)
    assert (tmp_path / "x.tar.gz").read_bytes() == body


def test_size_and_sha256_mismatch_keep_nothing_as_complete(server, tmp_path, capsys):
    body = b"payload " * 64
    server.files["/x.tar.gz"] = body
    dest = tmp_path / "x.tar.gz"
    with pytest.raises(FetchError, match=f"offers {len(body)} bytes, expected {len(body) + 1}"):
        download(f"{server.url}/x.tar.gz", dest, size=len(body) + 1, progress=False)
    with pytest.raises(FetchError, match="sha256 .* expected 0{64}; removed it"):
        download(f"{server.url}/x.tar.gz", dest, sha256="0" * 64, progress=False)
    assert list(tmp_path.iterdir()) == []

    server.files["/edges2shoes.tar.gz"] = make_tarball(official_pairs("edges2shoes"))
    out = tmp_path / "official"
    with pytest.raises(SystemExit, match="^error: .*sha256"):
        main(["fetch", "edges2shoes", "--out", str(out), "--url", server.url, "--sha256", "a" * 64])
    assert list(out.iterdir()) == []


def test_pinned_size_in_the_table_and_a_sha256_given_on_the_command_line(server, tmp_path, monkeypatch):
    tarball = make_tarball(official_pairs("maps"))
    server.files["/maps.tar.gz"] = tarball
    monkeypatch.setitem(OFFICIAL, "maps", dataclasses.replace(OFFICIAL["maps"], size=len(tarball) - 1))
    with pytest.raises(FetchError, match=f"offers {len(tarball)} bytes, expected {len(tarball) - 1}"):
        fetch("maps", tmp_path, url=server.url, progress=False)
    fetch("maps", tmp_path, url=server.url, sha256=hashlib.sha256(tarball).hexdigest(), progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps"]


def test_network_failure_missing_file_and_foreign_tarball_are_one_clear_line(server, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(SystemExit, match="^error: http://127.0.0.1:.*run the command again$"):
        main(["fetch", "maps", "--out", str(tmp_path), "--url", f"http://127.0.0.1:{port}"])
    with pytest.raises(FetchError, match="maps.tar.gz: HTTP 404"):
        fetch("maps", tmp_path, url=server.url, progress=False)
    server.files["/maps.tar.gz"] = make_tarball({"photos/1.jpg": b"x"})
    with pytest.raises(FetchError, match="no maps/train/ folder inside; not a pix2pix dataset"):
        fetch("maps", tmp_path, url=server.url, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps.tar.gz"]


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def device(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.CHRTYPE
    return info


@pytest.mark.parametrize("bad, why", [
    ({"edges2shoes/../../evil": b"x"}, "'..'"),
    ({"ABSOLUTE": b"x"}, "absolute path"),
    ((link("edges2shoes/train/up", "../../../evil"),), "links outside"),
    ((link("edges2shoes/train/root", "/etc"),), "links outside"),
    ((link("edges2shoes/train/hard", "../evil", tarfile.LNKTYPE),), "links outside"),
    ((device("edges2shoes/train/null"),), "device file"),
])
def test_unsafe_members_are_refused(server, tmp_path, bad, why):
    outside = tmp_path / "evil"
    if isinstance(bad, dict):
        bad = {str(outside) if k == "ABSOLUTE" else k: v for k, v in bad.items()}
        tarball = make_tarball({**official_pairs("edges2shoes"), **bad})
    else:
        tarball = make_tarball(official_pairs("edges2shoes"), bad)
    server.files["/edges2shoes.tar.gz"] = tarball
    out = tmp_path / "a" / "b" / "official"
    with pytest.raises(FetchError, match=f"refused: member .* {why}"):
        fetch("edges2shoes", out, url=server.url, progress=False)
    assert not outside.exists()
    assert sorted(p.name for p in out.iterdir()) == ["edges2shoes.tar.gz"]  # no set, no staging folder
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "a/b/official/edges2shoes.tar.gz"]


def test_killed_extraction_starts_over_without_downloading(server, tmp_path):
    members = official_pairs("maps")
    out = tmp_path / "official"
    out.mkdir()
    (out / "maps.tar.gz").write_bytes(make_tarball(members))
    (out / ".maps.extracting" / "maps" / "train").mkdir(parents=True)
    (out / ".maps.extracting" / "maps" / "train" / "torn.jpg").write_bytes(b"half")
    fetch("maps", out, url=server.url, progress=False)
    assert server.ranges == []
    assert sorted(p.name for p in (out / "maps" / "train").iterdir()) == ["1_AB.jpg", "2_AB.jpg", "3_AB.jpg"]
    assert sorted(p.name for p in out.iterdir()) == ["maps"]


def halves(path: Path) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(Image.open(path).convert("RGB"), np.float32)
    return a[:, : a.shape[1] // 2], a[:, a.shape[1] // 2:]


@pytest.mark.parametrize("name, official_has_input_left", [("edges2shoes", True), ("facades", False)])
def test_ship_prepares_fetched_sets_with_the_input_on_the_left(server, tmp_path, name,
                                                              official_has_input_left):
    """Official edges2* are edges|photo; official facades is photo|labels: both become input|photo."""
    members = official_pairs(name, swap=not official_has_input_left)
    server.files[f"/{name}.tar.gz"] = make_tarball(members)
    fetched = tmp_path / "official"
    fetch(name, fetched, url=server.url, progress=False)
    data = tmp_path / "data"
    ship(name, shared=str(tmp_path / "no-shared"), data_root=str(data), runs=str(tmp_path / "runs"),
         stages=("prepare",), fetched=str(fetched))
    for member in members:
        src_left, src_right = halves(fetched / member)
        src_input = src_left if official_has_input_left else src_right
        src_photo = src_right if official_has_input_left else src_left
        left, right = halves(data / member)
        assert np.abs(left - src_input).mean() < 4 and np.abs(right - src_photo).mean() < 4
    manifest = json.loads((data / name / "dataset.json").read_text())
    assert manifest["counts"] == {"train": 3, "val": 2}
    assert manifest["kind"] == ("edges2photo" if name == "edges2shoes" else "labels2facade")


def test_ship_without_shared_or_fetched_names_the_fetch_command(tmp_path):
    args = dict(data_root=str(tmp_path / "data"), runs=str(tmp_path / "runs"), stages=("prepare",))
    hint = f"run `python -m training fetch edges2handbags --out {tmp_path}/off` first"
    with pytest.raises(DataError, match=re.escape(hint)):
        ship("edges2handbags", shared=str(tmp_path), fetched=str(tmp_path / "off"), **args)
    with pytest.raises(DataError, match="edges2cats is built from the photos there and has no official"):
        ship("edges2cats", shared=str(tmp_path), **args)
