"""Checked argparse values shared by the command lines: a bad value stops at parse time, in one line.

Each `type=` function raises argparse.ArgumentTypeError, which argparse turns into
`PROG: error: argument --FLAG: MESSAGE` and exit code 2, before any data is read.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from .checkpoint import CONFIG, WEIGHTS, ModelError, check_folder, is_model_folder


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (the usage is one --help away)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _number(kind, text: str, ok, what: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text}")
    return value


def positive_int(text: str) -> int:
    return _number(int, text, lambda v: v > 0, "a whole number of at least 1")


def non_negative_int(text: str) -> int:
    return _number(int, text, lambda v: v >= 0, "a whole number of at least 0")


def positive_float(text: str) -> float:
    return _number(float, text, lambda v: 0 < v < float("inf"), "a number above 0")


def non_negative_float(text: str) -> float:
    return _number(float, text, lambda v: 0 <= v < float("inf"), "a number of at least 0")


def fraction(text: str) -> float:
    return _number(float, text, lambda v: 0 <= v < 1, "a fraction from 0 up to (not including) 1")


def existing_dir(text: str) -> str:
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text}: no such folder")
    return text


def existing_file(text: str) -> str:
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return text


def model_dir(text: str) -> str:
    """A model folder whose config and weights' header fit (check_folder: milliseconds, nothing loaded);
    '' stands for none (the default of optional --init-from flags)."""
    if text and not is_model_folder(text):
        raise argparse.ArgumentTypeError(f"{text}: not a model folder (needs {WEIGHTS} and {CONFIG})")
    if text:
        try:
            check_folder(text)
        except ModelError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return text


def device(text: str) -> str:
    """'auto' or a torch device this machine has: asking for CUDA without a GPU fails here, not mid-run."""
    if text == "auto":
        return text
    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device (auto, cpu, cuda or cuda:N)") from None
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if not count:
            raise argparse.ArgumentTypeError(f"{text}: torch sees no CUDA device on this machine (use cpu)")
        if dev.index is not None and dev.index >= count:
            raise argparse.ArgumentTypeError(f"{text}: torch sees {count} CUDA device(s)")
    return text
