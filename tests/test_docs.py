"""README and docs/: short, linked, every command in them runs, and every model figure is the one in metrics.json."""
import os
import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.shipped import SHIPPED
from training.card import ALL_FIGURES, CARD_FIGURES, figure, models_table
from training.recipes import ASSETS

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
SCREENSHOT = REPO / "docs" / "studio.png"
TITLES = {name: recipe.title for name, recipe in SHIPPED.items()}


def code_lines(text: str) -> list[str]:
    """The command lines of the ```bash blocks, comments dropped."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def test_readme_is_short_and_opens_with_the_screenshot():
    assert len(README) <= 10_000, len(README)
    top = README.split("\n## ")[0]
    assert re.search(r"!\[[^\]]+\]\(docs/studio\.png\)", top)
    assert SCREENSHOT.stat().st_size <= 300 * 1024
    with Image.open(SCREENSHOT) as image:
        assert image.format == "PNG" and image.width >= 1000 and image.height >= 500


def test_every_docs_page_is_linked_from_the_readme_and_every_link_resolves():
    pages = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md"))
    assert {"docs/training.md", "docs/datasets.md", "docs/measurements.md", "docs/method.md"} <= set(pages)
    for page in pages:
        assert f"]({page})" in README, page
    for doc in [REPO / "README.md", REPO / "benchmarks" / "README.md", *(REPO / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", doc.read_text()):
            if "://" not in target:
                assert (doc.parent / target).exists(), f"{doc.name}: {target}"
    for doc in (REPO / "docs").glob("*.md"):
        assert doc.read_text().split("\n\n")[1].startswith("What this page is for"), doc.name


def test_model_tables_are_the_figures_in_metrics_json():
    """README's table and docs/measurements.md's are rendered from each model's metrics: after re-shipping a
    model, paste the table this test prints."""
    readme_table = models_table(ASSETS, TITLES)
    assert readme_table in README, f"README's model table should read:\n{readme_table}"
    full = models_table(ASSETS, TITLES, ALL_FIGURES, up="../")
    assert full in (REPO / "docs" / "measurements.md").read_text(), f"measurements.md's table should read:\n{full}"
    for name in SHIPPED:  # the card shows the same figures, the same way
        config = __import__("json").loads((ASSETS / name / "metrics.json").read_text())
        row = "| " + " | ".join(figure(config, k, f) for k, _, f in CARD_FIGURES if k in config) + " |"
        assert row in (ASSETS / name / "README.md").read_text(), name


def test_benchmarks_readme_lists_every_script():
    index = (REPO / "benchmarks" / "README.md").read_text()
    listed = set(re.findall(r"^\| `([\w]+\.py)` \|", index, flags=re.M))
    assert listed == {p.name for p in (REPO / "benchmarks").glob("*.py")} - {"__init__.py"}


def help_argv(line: str) -> tuple[str, list[str]]:
    """A README python command cut to its program (and sub-command), asking for --help: (module or script, argv)."""
    tokens = shlex.split(re.sub(r"\[|\]", " ", line))
    assert tokens[0] == "python", line
    if tokens[1] == "-m":
        return tokens[2], tokens[3:4] + ["--help"]
    return tokens[1], ["--help"]


@pytest.mark.parametrize("line", [line for line in code_lines(README) if line.startswith("python")])
def test_readme_python_commands_run(line, monkeypatch, capsys):
    """Each with --help (a real run would train for hours), in this process: it runs, and knows every option the
    README gives it."""
    program, argv = help_argv(line)
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(sys, "argv", [program, *argv])
    with pytest.raises(SystemExit) as done:
        if program.endswith(".py"):
            runpy.run_path(str(REPO / program), run_name="__main__")
        else:
            runpy.run_module(program, run_name="__main__", alter_sys=True)
    assert done.value.code in (0, None), capsys.readouterr().err[-2000:]
    out = capsys.readouterr().out
    for flag in re.findall(r"(?<![\w-])(--[a-z][\w-]*)", line):
        assert flag in out, (line, flag)


@pytest.mark.parametrize("target", [line.split()[1] for line in code_lines(README) if line.startswith("make ")])
def test_readme_make_targets_exist(target):
    out = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip(), out.stderr


def test_readme_clone_command_gets_the_files_without_history(tmp_path):
    """The clone command as given, with this checkout's repository as the URL."""
    [line] = [line for line in code_lines(README) if line.startswith("git clone")]
    command = [tmp if tmp != "$URL" else REPO.as_uri() for tmp in shlex.split(line.replace('"$URL"', "$URL"))]
    subprocess.run(command, cwd=tmp_path, check=True, capture_output=True, timeout=300)
    clone = tmp_path / command[-1]
    count = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=clone, capture_output=True, text=True)
    assert count.stdout.strip() == "1"
    assert all((clone / "assets" / "models" / name / "model.safetensors").is_file() for name in SHIPPED)


@pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="needs Debian's chromium")
def test_screenshot_script_makes_the_committed_picture(tmp_path):
    """docs/screenshot.py drives the studio in headless chromium; its picture is the one committed."""
    shoot = runpy.run_path(str(REPO / "docs" / "screenshot.py"))["shoot"]
    size = shoot(tmp_path / "studio.png")
    assert size <= 300 * 1024
    with Image.open(tmp_path / "studio.png") as new, Image.open(SCREENSHOT) as old:
        assert new.size == old.size
        diff = np.abs(np.asarray(new.convert("RGB"), dtype=np.int16) - np.asarray(old.convert("RGB"), dtype=np.int16))
    assert diff.mean() < 1.0, diff.mean()  # the same page, the same drawing, the same photo
