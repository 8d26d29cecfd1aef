"""Checked argparse values shared by the command lines: a bad value stops at parse time, in one line.

Each `type=` function raises argparse.ArgumentTypeError, which argparse turns into
`PROG: error: argument --FLAG: MESSAGE` and exit code 2, before any data is read.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import torch

from .config import Range
from .folder import CONFIG, WEIGHTS, ModelError, check_folder, is_model_folder


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


def option_fields(cls: type, path: tuple[str, ...] = ()) -> dict[str, tuple[tuple[str, ...], dataclasses.Field, Any]]:
    """The fields declared with models.config.option in a config dataclass and the dataclasses it nests:
    name -> (path from `cls`, field, type hint). Names are unique, so a flag names one field."""
    found: dict[str, tuple[tuple[str, ...], dataclasses.Field, Any]] = {}
    hints = typing.get_type_hints(cls, include_extras=True)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            nested = option_fields(hints[f.name], (*path, f.name))
            assert not set(nested) & set(found), f"option names declared twice: {set(nested) & set(found)}"
            found.update(nested)
        elif "option" in f.metadata:
            assert f.name not in found, f"option {f.name} declared twice"
            found[f.name] = ((*path, f.name), f, hints[f.name])
    return found


def _ranged(kind: type, bound: Range):
    """An argparse type for Annotated[int | float, Range(lo, hi)], with the message the hand-written ones give."""
    number = "a whole number" if kind is int else "a number"
    lo = int(bound.lo) if kind is int else bound.lo
    what = (f"{number} of at least {lo}" if math.isinf(bound.hi)
            else f"{number} from {lo} to {int(bound.hi) if kind is int else bound.hi}")

    def check(text: str):
        return _number(kind, text, lambda v: bound.lo <= v <= bound.hi, what)
    check.__name__ = kind.__name__  # argparse names the type in its own messages
    return check


def _argparse_kwargs(f: dataclasses.Field, hint: Any) -> dict[str, Any]:
    """What argparse needs for a field, from its type: a switch for a bool, choices for a Literal, a checked
    number for a Range. The field's own `option(...)` keywords win."""
    spec = dict(f.metadata["option"])
    spec.pop("group")
    flag = "--" + f.name.replace("_", "-")
    base, bounds = hint, [m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Range)]
    if typing.get_origin(hint) is Annotated:
        base = typing.get_args(hint)[0]
    kwargs: dict[str, Any] = {}
    if "nargs" in spec:
        pass  # an option of its own shape (--hint-fill [MODE]): all in `spec`
    elif base is bool:
        if f.default is True:  # on by default: the flag turns it off
            flag = "--no-" + f.name.replace("_", "-")
            kwargs["action"] = "store_false"
        else:
            kwargs["action"] = "store_true"
    elif typing.get_origin(base) is Literal:
        choices = typing.get_args(base)
        kwargs.update(choices=choices, type=type(choices[0]))
    elif bounds:
        kwargs["type"] = _ranged(base, bounds[0])
    elif base in (int, float):
        kwargs["type"] = base
    default = f.default if f.default is not dataclasses.MISSING else None
    if default is not None and default != "" and not isinstance(default, bool) and "default" not in spec["help"]:
        spec["help"] += f" (default: {default})"
    return {"flag": flag, **kwargs, **spec}


def add_options(groups: dict[str, Any], cls: type, skip: tuple[str, ...] = ()) -> None:
    """One argparse option per option field of `cls` (option_fields), in the --help group the field names
    (`groups`: group name -> parser or argument group). Options not given are left out of the namespace
    (default SUPPRESS), so `given` tells a default from a value that happens to equal it."""
    for name, (_, f, hint) in option_fields(cls).items():
        if name in skip:
            continue
        kwargs = _argparse_kwargs(f, hint)
        flag = kwargs.pop("flag")
        groups[f.metadata["option"]["group"]].add_argument(flag, dest=name, default=argparse.SUPPRESS, **kwargs)


def given(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The option fields of `cls` that the command line (or a parser default) set."""
    names = option_fields(cls)
    return {k: v for k, v in vars(args).items() if k in names}


def options_table(cls: type, group: str) -> str:
    """The option fields of `cls` in one --help group as a markdown table (docs/training.md shows these, and a
    test keeps them equal): flag, then the field's help text."""
    rows = ["| option | what |", "|---|---|"]
    for name, (_, f, hint) in option_fields(cls).items():
        if f.metadata["option"]["group"] != group:
            continue
        kwargs = _argparse_kwargs(f, hint)
        value = kwargs.get("metavar") or ("|".join(map(str, kwargs["choices"])) if "choices" in kwargs else None)
        if kwargs.get("action") in ("store_true", "store_false"):
            value = None
        elif value is None:
            value = name.upper()
        flag = kwargs["flag"] + (f" [{value}]" if kwargs.get("nargs") == "?" else f" {value}" if value else "")
        what = kwargs["help"].replace("%%", "%").replace("|", "\\|")
        rows.append(f"| `{flag.replace('|', chr(92) + '|')}` | {what} |")
    return "\n".join(rows)
