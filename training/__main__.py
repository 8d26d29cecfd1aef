"""`python -m training {train,evaluate,retrain,ship,fetch}`: the one entry point for training jobs."""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from hed_edges.pairs import NothingBuiltError
from models.cli import Parser, add_options, device, existing_dir, given, non_negative_int, positive_int
from models.config import PADDINGS
from models.files import CheckpointError
from models.folder import ModelError, repadded_model
from models.shipped import SHIPPED

from .checkpoint import checkpoint_model
from .config import ConfigError, RunConfigError, ScheduleError, TrainConfig, make_config
from .data import DataError
from .fetch import BASE_URL, FETCHED, OFFICIAL, URL_ENV, FetchError, fetch, sha256_arg
from .recipes import RECIPES, SHIP_DEFAULTS, StageError, ship
from .trainer import RunExistsError, RunWriteError, run_training


def steps_arg(text: str) -> list[int]:
    """`--step 7000` or `--step 5000,6000,7000`."""
    try:
        steps = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a step or comma-separated steps, got {text!r}") from None
    if any(s < 0 for s in steps) or len(set(steps)) != len(steps):
        raise argparse.ArgumentTypeError(f"steps must be distinct and not negative, got {text!r}")
    return steps


def run_steps_arg(text: str) -> tuple[Path, list[int]]:
    """`--also runs/NAME:3000,3500`: a run folder and some of its kept steps."""
    run, sep, steps = text.rpartition(":")
    if not sep or not run:
        raise argparse.ArgumentTypeError(f"expected RUN:N[,N...], got {text!r}")
    return Path(existing_dir(run)), steps_arg(steps)


def recipe_flags(options: dict) -> list[str]:
    """The command-line form of a RECIPES entry."""
    flags = []
    for key, value in options.items():
        flags += [f"--{key.replace('_', '-')}"] + ([] if value is True else [str(value)])
    return flags


def chosen_recipe(argv: list[str]) -> str:
    """`retrain --recipe NAME` picks the defaults of the other options, so it is read before they are parsed."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--recipe", choices=sorted(RECIPES), default="shipped")
    return pre.parse_known_args(argv)[0].recipe


def option_groups(p: argparse.ArgumentParser, recipes: bool = False) -> dict:
    """The --help groups the config fields name (basic, recipe, advanced), each holding its options
    (models.cli.add_options). `recipes`: retrain's --recipe heads the recipe group."""
    groups = {"basic": p.add_argument_group("basic"),
              "recipe": p.add_argument_group("recipe", "what is trained: the width and the options beyond the paper"),
              "advanced": p.add_argument_group("advanced")}
    if recipes:
        groups["recipe"].add_argument(
            "--recipe", choices=sorted(RECIPES), default="shipped",
            help="the defaults of the options below. shipped (default): the recipe the shipped edges models share: "
                 + shlex.join(recipe_flags(RECIPES["shipped"])) + "; paper: the paper's (deconv upsampling, no hints, "
                 "strokes or palette), at the compact width. An option given on the command line wins over either")
    return groups


def add_train_args(p: argparse.ArgumentParser, recipes: bool = False) -> dict:
    """`train`'s and `retrain`'s options: the run's name and folder, then every config option."""
    groups = option_groups(p, recipes)
    groups["basic"].add_argument("--name", required=True, help="run name; writes runs/NAME/")
    groups["basic"].add_argument("--runs", default="runs", help="folder that holds run folders (default: runs)")
    add_options(groups, TrainConfig)
    return groups


def schedule(args: argparse.Namespace) -> tuple:
    """--epochs, --max-steps, --decay-epochs as given (None where not): what extends or re-schedules a resumed run."""
    return tuple(getattr(args, k, None) for k in ("epochs", "max_steps", "decay_epochs"))


def config_from_args(args: argparse.Namespace, data: str) -> TrainConfig:
    options = given(args, TrainConfig)
    options.setdefault("decay_epochs", options.get("epochs", 200) // 2)  # the reference code's: half the run
    return make_config(args.name, data, **options, command="python -m training " + shlex.join(sys.argv[1:]))


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = Parser(prog="python -m training", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a pix2pix model on aligned A|B pairs")
    basic = add_train_args(train)["basic"]
    basic.add_argument("--data", required=True, type=existing_dir,
                       help="folder with train/ (and val/) of A|B pair images")
    basic.add_argument("--resume", action="store_true", help="continue runs/NAME from its latest checkpoint")

    ev = sub.add_parser("evaluate", help="metrics and per-image outputs of a model on a split")
    ev.add_argument("--model", required=True, type=existing_dir,
                    help="model folder (model.safetensors + config.json), or a run folder with --step")
    ev.add_argument("--step", type=steps_arg, metavar="N[,N...]",
                    help="evaluate this kept checkpoint of the run folder given as --model; several: the mean of "
                         "their weights (steadier than any one checkpoint; shippable like one)")
    ev.add_argument("--also", type=run_steps_arg, action="append", default=[], metavar="RUN:N[,N...]",
                    help="with --step: also average these kept steps of a run that --model's run continued (its "
                         "--init-from), so the mean spans both; D and Adam are --model's last step's")
    ev.add_argument(
        "--data", required=True, type=existing_dir, help="dataset folder (uses its val/ split) or a folder of pairs"
    )
    ev.add_argument("--split", default="val")
    ev.add_argument("--out", help="where to write outputs and metrics.json (default: MODEL/eval_SPLIT)")
    ev.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB")
    ev.add_argument("--limit", type=non_negative_int, default=0, help="evaluate the first N pairs only")
    ev.add_argument("--no-structure", action="store_true", help="skip the edge-structure metric (needs HED)")
    ev.add_argument("--device", type=device, default="cpu")
    ev.add_argument("--seed", type=non_negative_int, default=0)
    ev.add_argument(
        "--stroke-width",
        type=positive_int,
        default=1,
        metavar="PX",
        help="redraw the input lines PX wide (structure still scored against the 1-px lines): do drawn "
        "strokes leave seams? (default out: MODEL/eval_SPLIT_strokePX)",
    )
    ev.add_argument(
        "--thin-lines",
        action="store_true",
        help="thin the input lines to 1 px first (models.strokes; default: the model on the lines as given; "
        "default out: MODEL/eval_SPLIT[_strokePX]_thinned)",
    )
    ev.add_argument(
        "--padding",
        choices=PADDINGS,
        help="score the same weights with another padding (models.config.GeneratorConfig.padding); the "
        "model folder that does so is written to OUT/model, with the model's D and Adam, shippable "
        "(default out: MODEL/eval_SPLIT_PADDING)",
    )
    ev.add_argument(
        "--cat-faces",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="score realism with OpenCV's cat-face detector: the share of outputs where it finds a face "
        "against the share of real photos (default: on for models with 'cat' in their name)",
    )
    ev.add_argument(
        "--imagenet",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="add an ImageNet classifier's verdicts (torchvision's MobileNetV2): top-5 agreement with the "
        "photo, and for cats the top-1-is-a-cat share and P(cat) (default: on where its weights "
        "are installed)",
    )
    ev.add_argument(
        "--face-seeds",
        type=positive_int,
        default=1,
        metavar="K",
        help="ask the cat-face detector about K dropout seeds of each output and score the share: one seed's "
        "verdict differs between two seeds on a quarter of cat-head crops, so compare models with K >= 5 "
        "(default 1)",
    )

    re = sub.add_parser(
        "retrain",
        help="photos folder -> edge dataset -> trained model in the app",
        description="Your photos -> an edges -> photo model the studio lists, trained with the "
        "shipped models' recipe unless --recipe paper.",
    )
    re.add_argument(
        "photos", type=existing_dir, help="a folder of your photos (nested folders and mixed formats are fine)"
    )
    groups = add_train_args(re, recipes=True)
    groups["basic"].add_argument(
        "--heads",
        choices=("cat",),
        help="train on the largest cat head in each photo (OpenCV's cat-face detector; photos without "
        "one are skipped and counted in the dataset's dataset.json)",
    )
    groups["advanced"].add_argument("--detector", choices=("auto", "hed", "canny"), default="auto")
    groups["advanced"].add_argument(
        "--datasets", default="data", help="where the built edge dataset goes (default: data)"
    )
    re.set_defaults(**RECIPES[chosen_recipe(argv)])

    sh = sub.add_parser("ship", help="a shipped model from raw data to assets/models/NAME (every stage resumes)")
    sh.add_argument("name", choices=sorted(SHIPPED))
    sh.add_argument("--shared", default="../shared/datasets", help="the raw datasets (default: ../shared/datasets)")
    sh.add_argument("--datasets", default="data", help="where prepared pairs go (default: data)")
    sh.add_argument("--runs", default="runs")
    sh.add_argument(
        "--stages",
        default="prepare,train,evaluate,export",
        help="comma-separated subset of prepare,train,evaluate,export; `card` alone re-renders the "
        "shipped card, `rescore` re-measures the shipped model and re-renders its card, `discriminator` "
        "trains a D alone against the shipped generator (--d-warmup STEPS, default 1000; pass the "
        "model's recipe options) and puts it in the model's folder, `shadow` rebuilds its drawing shadow "
        "from the data's train edge maps",
    )
    sh.add_argument(
        "--eval-limit", type=non_negative_int, default=0, help="evaluate on the first N val pairs only (0 = all)"
    )
    sh.add_argument(
        "--fetched",
        default=FETCHED,
        help=f"where `fetch` put the official sets, used when --shared has no NAME (default: {FETCHED})",
    )
    add_options(option_groups(sh), TrainConfig)
    sh.set_defaults(**SHIP_DEFAULTS)  # a new run's (epochs: the model's own, from models.shipped)

    fe = sub.add_parser(
        "fetch", help="download an official pix2pix dataset (resumes; for a checkout without ../shared/datasets)"
    )
    fe.add_argument("name", choices=sorted(OFFICIAL))
    fe.add_argument("--out", default=FETCHED, help=f"the set goes to OUT/NAME (default: {FETCHED})")
    fe.add_argument("--url", help=f"base URL of the NAME.tar.gz files (default: ${URL_ENV} or {BASE_URL})")
    fe.add_argument("--sha256", type=sha256_arg, help="expected sha256 of NAME.tar.gz (default: not pinned)")

    args = parser.parse_args(argv)
    try:
        dispatch(args)
    except (RunWriteError, FetchError) as e:  # the machine or the network, not the values given
        sys.exit(f"error: {e}")
    except (
        RunExistsError,
        ScheduleError,
        DataError,
        ModelError,
        StageError,
        RunConfigError,
        CheckpointError,
        NothingBuiltError,
        ConfigError,
    ) as e:
        parser.exit(2, f"error: {e}\n")


def dispatch(args: argparse.Namespace) -> None:
    if args.command == "train":
        run_training(config_from_args(args, args.data), Path(args.runs) / args.name, args.resume, *schedule(args))
    elif args.command == "evaluate":
        from .evaluate import evaluate

        model = Path(args.model)
        if args.also and args.step is None:
            raise CheckpointError("--also needs --step (the steps of --model's own run to average with them)")
        if args.step is not None:
            model = checkpoint_model(model, args.step, also=args.also)
        stroke = f"_stroke{args.stroke_width}" if args.stroke_width > 1 else ""
        thinned = "_thinned" if args.thin_lines else ""
        padded = f"_{args.padding}" if args.padding else ""
        out = Path(args.out) if args.out else model / f"eval_{args.split}{stroke}{thinned}{padded}"
        if args.padding:
            model = repadded_model(model, args.padding, out / "model", "python -m training " + shlex.join(sys.argv[1:]))
        metrics = evaluate(
            model,
            args.data,
            out,
            split=args.split,
            direction=args.direction,
            limit=args.limit,
            structure=not args.no_structure,
            device=args.device,
            seed=args.seed,
            stroke_width=args.stroke_width,
            thin_lines=args.thin_lines,
            cat_faces=args.cat_faces,
            face_seeds=args.face_seeds,
            imagenet=args.imagenet,
        )
        print(f"metrics: {out / 'metrics.json'}")
        for k, v in metrics["summary"].items():
            print(f"  {k}: {v:.4f}" if isinstance(v, float) else f"  {k}: {v}")
    elif args.command == "retrain":
        from hed_edges.build import build_dataset

        data_dir = Path(args.datasets) / args.name
        build_dataset(args.photos, data_dir, size=256, detector=args.detector, heads=args.heads)
        run_dir = Path(args.runs) / args.name
        run_training(
            config_from_args(args, str(data_dir)), run_dir, (run_dir / "train_config.json").is_file(), *schedule(args)
        )
        print(f"`python app.py` now lists {args.name} (found in {args.runs}/)")
    elif args.command == "ship":
        dest = ship(
            args.name,
            args.shared,
            args.datasets,
            args.runs,
            tuple(args.stages.split(",")),
            args.eval_limit,
            args.fetched,
            given(args, TrainConfig),
        )
        print(f"{'shipped' if 'export' in args.stages else 'model'}: {dest}")
    elif args.command == "fetch":
        fetch(args.name, args.out, args.url, args.sha256)


if __name__ == "__main__":
    main()
