"""`python -m training fetch NAME`: the official pix2pix datasets, for a checkout without ../shared/datasets.

The tarballs are the ones the reference code's `datasets/download_pix2pix_dataset.sh` names. A download
resumes from `NAME.tar.gz.part` (HTTP Range), is checked against the server's size (and a sha256 when one
is pinned), and is extracted member by member into a temp folder that is renamed into place, so a kill at
any moment leaves either nothing or the complete set.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import re
import shutil
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm import tqdm

BASE_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets"
URL_ENV = "PIX2PIX_DATASETS_URL"
FETCHED = "data/official"  # where fetch puts the sets and `ship` looks for them
CHUNK = 1 << 20


class FetchError(RuntimeError):
    """A download or extraction that cannot go on; the message says what to do."""


@dataclass(frozen=True)
class OfficialSet:
    name: str
    left: str  # what the A (left) half of each pair shows
    right: str  # the B (right) half
    about: str
    size: int | None = None  # bytes of NAME.tar.gz where stated (None: trust the server's Content-Length)
    sha256: str | None = None  # None: not pinned; the digest of what arrived is printed either way
    withdrawn: str = ""  # why the authors no longer serve it


# A|B orders from the reference docs: facades and cityscapes train BtoA (labels -> photo), night2day BtoA
# for day -> night; the edges2* sets put the edges on the left.
OFFICIAL = {s.name: s for s in [
    OfficialSet("facades", "photo", "labels", "400 train / 100 val / 106 test CMP facades, 256x256 halves"),
    OfficialSet("edges2shoes", "edges", "photo", "50k UT Zappos50K shoes with HED edges"),
    OfficialSet("edges2handbags", "edges", "photo", "137k Amazon handbags (iGAN) with HED edges"),
    OfficialSet("maps", "aerial", "map", "1096 train Google Maps aerial photos and map tiles"),
    OfficialSet("night2day", "night", "day", "about 20k webcam scenes (Transient Attributes)"),
    OfficialSet("cityscapes", "photo", "labels", "2975 train Cityscapes street scenes",
                withdrawn="the pix2pix authors no longer distribute Cityscapes (its license): download "
                          "gtFine_trainvaltest.zip and leftImg8bit_trainvaltest.zip from "
                          "https://www.cityscapes-dataset.com and pair them with the reference code's "
                          "datasets/prepare_cityscapes_dataset.py"),
]}


def sha256_arg(text: str) -> str:
    """argparse type for --sha256: a typo is refused before anything downloads."""
    if not re.fullmatch(r"[0-9a-fA-F]{64}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a sha256 (64 hex digits)")
    return text.lower()


def dataset_url(name: str, base: str | None = None) -> str:
    return f"{(base or os.environ.get(URL_ENV) or BASE_URL).rstrip('/')}/{name}.tar.gz"


def _file_sha256(path: Path) -> hashlib._Hash:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest


def _check(path: Path, size: int | None, sha256: str | None, digest: hashlib._Hash) -> str:
    """Size and digest of a finished download; a bad file is removed so it is never taken as complete."""
    got = path.stat().st_size
    if size is not None and got != size:
        path.unlink()
        raise FetchError(f"{path.name}: {got} bytes, expected {size}; removed it, run the command again")
    hexdigest = digest.hexdigest()
    if sha256 and hexdigest != sha256.lower():
        path.unlink()
        raise FetchError(f"{path.name}: sha256 {hexdigest}, expected {sha256}; removed it, "
                         f"run the command again")
    return hexdigest


def _total_from(resp: http.client.HTTPResponse, url: str, offset: int) -> int | None:
    """Full size of the file: a 206's Content-Range (which must start where we asked) or a 200's length."""
    if resp.status == 206:
        m = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", resp.headers.get("Content-Range", ""))
        if not m or int(m.group(1)) != offset:
            raise FetchError(f"{url}: the server answered the resume request with "
                             f"Content-Range {resp.headers.get('Content-Range')!r}, not bytes {offset}-")
        return None if m.group(2) == "*" else int(m.group(2))
    length = resp.headers.get("Content-Length")
    return int(length) if length else None


def download(url: str, dest: Path, size: int | None = None, sha256: str | None = None,
             progress: bool = True) -> str:
    """URL -> DEST via DEST.part, resuming a partial .part with a Range request; returns the sha256."""
    if dest.is_file():  # an earlier run finished the download and stopped before extracting
        return _check(dest, size, sha256, _file_sha256(dest))
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        resp = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:  # the .part already holds every byte (or more: then start over)
            m = re.fullmatch(r"bytes \*/(\d+)", e.headers.get("Content-Range", ""))
            if m and int(m.group(1)) == offset:
                os.replace(part, dest)
                return _check(dest, size, sha256, _file_sha256(dest))
            part.unlink()
            raise FetchError(f"{url}: the partial {part.name} does not fit the server's file; "
                             f"removed it, run the command again") from None
        raise FetchError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (OSError, http.client.HTTPException) as e:
        raise FetchError(f"{url}: {getattr(e, 'reason', e)}; check the connection and run the command again"
                         + (" (it resumes)" if offset else "")) from None
    with resp:
        if resp.status != 206:
            offset = 0  # the server ignored Range and sends the whole file: start over
        total = _total_from(resp, url, offset)
        if size is not None and total is not None and total != size:
            raise FetchError(f"{url}: the server offers {total} bytes, expected {size} (the file changed "
                             f"upstream?); pass --sha256 of a trusted copy to accept another file")
        digest = _file_sha256(part) if offset else hashlib.sha256()
        done = offset
        with open(part, "ab" if offset else "wb") as out, \
                tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                     desc=dest.name, disable=not progress) as bar:
            while True:
                try:
                    block = resp.read(CHUNK)
                except (OSError, http.client.HTTPException) as e:
                    raise FetchError(f"{url}: connection lost at {done} bytes ({e}); "
                                     f"run the same command again to resume") from None
                if not block:
                    break
                try:
                    out.write(block)
                except OSError as e:
                    raise FetchError(f"{part}: cannot write ({e.strerror}); free space and run the command "
                                     f"again to resume") from None
                digest.update(block)
                done += len(block)
                bar.update(len(block))
    if total is not None and done < total:
        raise FetchError(f"{url}: connection closed at {done} of {total} bytes; "
                         f"run the same command again to resume")
    os.replace(part, dest)
    return _check(dest, size if size is not None else total, sha256, digest)


def _unsafe(member: tarfile.TarInfo) -> str:
    """Why MEMBER may not be extracted ('' if it may): it must stay inside the target and be a plain
    file, folder or inside link."""
    path = PurePosixPath(member.name)
    if path.is_absolute():
        return "has an absolute path"
    if ".." in path.parts:
        return "has a '..' in its path"
    if member.isdev():
        return "is a device file"
    if member.issym() or member.islnk():
        base = path.parent if member.issym() else PurePosixPath()
        target = PurePosixPath(os.path.normpath(base / member.linkname))
        if PurePosixPath(member.linkname).is_absolute() or target.parts[:1] == ("..",):
            return f"links outside the dataset (to {member.linkname})"
    return ""


def safe_extract(tarball: Path, dest: Path, progress: bool = True) -> None:
    """Extract TARBALL into the new folder DEST, refusing any member that could write outside it."""
    try:
        with tarfile.open(tarball) as tar:
            for member in tqdm(tar, desc=f"extract {tarball.name}", unit="file", disable=not progress):
                if why := _unsafe(member):
                    raise FetchError(f"{tarball}: refused: member {member.name!r} {why}")
                tar.extract(member, dest, filter="data")
    except (tarfile.TarError, EOFError) as e:
        raise FetchError(f"{tarball}: cannot extract ({e}); delete it and run the command again") from None
    except OSError as e:
        raise FetchError(f"{e.filename or dest}: cannot write ({e.strerror}); free space and run the command "
                         f"again (the download is kept)") from None


def fetch(name: str, out: str | Path = FETCHED, url: str | None = None, sha256: str | None = None,
          progress: bool = True) -> Path:
    """Download and extract the official set NAME into OUT/NAME (train/, val/, maybe test/); resumable."""
    spec = OFFICIAL[name]
    if spec.withdrawn:
        raise FetchError(f"{name}: {spec.withdrawn}")
    out = Path(out)
    target = out / name
    if target.is_dir():
        print(f"{target}: already fetched")
        return target
    tarball = out / f"{name}.tar.gz"
    source = dataset_url(name, url)
    print(f"{name}: {spec.about}; A (left) = {spec.left}, B (right) = {spec.right}\n  from {source}")
    # a digest given on the command line is the authority: it may accept a file of another size
    digest = download(source, tarball, None if sha256 else spec.size, sha256 or spec.sha256, progress)
    print(f"sha256 {digest}  {tarball.name}" + ("" if sha256 or spec.sha256 else "  (not pinned)"))
    staging = out / f".{name}.extracting"
    shutil.rmtree(staging, ignore_errors=True)  # a killed extraction starts over from the complete tarball
    try:
        safe_extract(tarball, staging, progress)
        top = staging / name if (staging / name).is_dir() else staging
        if not (top / "train").is_dir():
            raise FetchError(f"{tarball}: no {name}/train/ folder inside; not a pix2pix dataset")
        os.replace(top, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    tarball.unlink()
    counts = {s.name: sum(1 for _ in s.iterdir()) for s in sorted(target.iterdir()) if s.is_dir()}
    print(f"{target}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return target
