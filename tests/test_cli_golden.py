"""The training CLI is generated from the config fields: every command the shipped models were trained with
must still parse to the config it gave before (tests/golden/train_configs.json, written by the old CLI)."""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
import shlex
from pathlib import Path

import pytest

import training.__main__ as cli
import training.trainer

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden" / "train_configs.json"


class Captured(Exception):
    """Raised by the stand-in for run_training, so nothing trains or writes."""


def shipped_commands() -> list[str]:
    """Every `train` / `ship` command in the shipped configs' histories, with its own run folder's name
    (`--init-from runs/...` points at the shipped folder of the same model: a stand-in that exists)."""
    commands = []
    for config in sorted((REPO / "assets" / "models").glob("*/config.json")):
        for found in re.findall(r'"command": "(python -m training [^"]*)"', config.read_text()):
            for part in found.split(";"):
                command = part[part.find("python -m training"):].strip()
                if command.split()[3:4] in (["train"], ["ship"]):
                    commands.append(re.sub(r"--init-from runs/\S+", f"--init-from assets/models/{config.parent.name}",
                                           command))
    return sorted(set(commands))


def captured_config(command: str, monkeypatch, tmp_path: Path) -> dict:
    """The TrainConfig the CLI builds for `command`, run in a folder where its data and model folders exist, or
    its refusal (an old command whose --init-from folder has since gained inputs it does not pass)."""
    argv = shlex.split(command)[3:]
    monkeypatch.chdir(tmp_path)
    if not (tmp_path / "assets").exists():
        (tmp_path / "assets").symlink_to(REPO / "assets")
    for i, arg in enumerate(argv[:-1]):
        if arg == "--data":
            (tmp_path / argv[i + 1]).mkdir(parents=True, exist_ok=True)

    def capture(cfg, *args, **kwargs):
        raise Captured(cfg)

    monkeypatch.setattr(cli, "run_training", capture)
    monkeypatch.setattr(training.trainer, "run_training", capture)
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            cli.main(argv)
    except Captured as caught:
        data = dataclasses.asdict(caught.args[0])
    except SystemExit:
        return {"refused": stderr.getvalue()}
    else:
        raise AssertionError(f"{command}: nothing trained")
    data.pop("command")
    return json.loads(json.dumps(data).replace(str(REPO), "REPO"))  # the same on any clone


def test_every_shipped_command_is_covered():
    assert sorted(json.loads(GOLDEN.read_text())) == shipped_commands()


@pytest.mark.parametrize("command", shipped_commands())
def test_shipped_command_parses_as_before(command, monkeypatch, tmp_path):
    assert captured_config(command, monkeypatch, tmp_path) == json.loads(GOLDEN.read_text())[command]


if __name__ == "__main__":  # write the golden file (only with the CLI it was first written by)
    with pytest.MonkeyPatch.context() as mp:
        import tempfile
        golden = {}
        for command in shipped_commands():
            with tempfile.TemporaryDirectory() as tmp:
                golden[command] = captured_config(command, mp, Path(tmp))
    GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
