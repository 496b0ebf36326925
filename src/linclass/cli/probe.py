"""``linclass probe``: a linear probe on feature files, CLIP's protocol, solved exactly."""

from __future__ import annotations

import argparse
import json

from linclass.cli import HelpFormatter, UsageError, common_options

EPILOG = """\
examples:
  linclass probe --train train.npz --test test.npz
      arrays X and y (or features and labels) in each file; validation split from train,
      C searched 1e-6..1e6 coarse then fine, refit on train + validation, test accuracy
  linclass probe --train feats.npz --plot curve.png --json
      a feature file of 'linclass features' brings its own test split
  linclass probe --train X.npy,y.npy --test Xt.npy,yt.npy --Cs 0.01,0.1,1,10 --device cuda
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from linclass.hyperparameters import add_arguments

    parser = subparsers.add_parser(
        "probe",
        parents=[common_options()],
        help="linear probe on feature files: choose C on validation, refit, test",
        description=(
            "Fit a softmax classifier with an L2 penalty on frozen features, as CLIP's evaluation does: "
            "hold out a stratified validation split of --train, search scikit-learn's C (alpha = 1/(2 C N)) "
            "on a log grid from 1e-6 to 1e6, then halve the step around the best C down to 1/8 decade, "
            "refit on train + validation and report test accuracy. Files are memory-mapped."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--train",
        required=True,
        metavar="FILE",
        help="training features: FILE.npz (X/y or features/labels), a feature file, or X.npy,y.npy",
    )
    parser.add_argument(
        "--test", metavar="FILE", help="test features, same forms (default: the feature file's own)"
    )
    parser.add_argument(
        "--Cs", metavar="C1,C2,...", help="explicit grid of C, no refinement (default: CLIP's search)"
    )
    add_arguments(
        parser, ["validation_fraction", "random_state", "device", "tol", "max_iter"],
        defaults={"validation_fraction": 0.2},
        helps={
            "validation_fraction": "share of --train held out for validation",
            "random_state": "seed of the validation split",
            "tol": "solver tolerance: largest gradient component",
            "max_iter": "most L-BFGS iterations per solve",
        },
    )  # fmt: skip
    parser.add_argument("--plot", metavar="FILE.png", help="draw validation accuracy against C into this PNG")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)
    return parser


def _grid(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if not values or not all(0 < value < float("inf") for value in values):
        raise UsageError(f"--Cs must be a comma-separated list of numbers > 0, got {text!r}")
    return values


def run(args: argparse.Namespace) -> int:
    from linclass.app.outputs import check_png_file
    from linclass.app.probe import probe
    from linclass.app.probe_data import ProbeInputError

    Cs = _grid(args.Cs)
    if not args.tol > 0:  # the schema allows 0 (early stopping's threshold); a solve needs > 0
        raise UsageError(f"--tol must be > 0, got {args.tol}")
    if args.plot:
        check_png_file(args.plot, "--plot")
    try:
        report = probe(
            args.train,
            args.test,
            Cs=Cs,
            validation_fraction=args.validation_fraction,
            random_state=args.random_state,
            device=args.device,
            tol=args.tol,
            max_iter=args.max_iter,
            plot=args.plot,
            names=("--train", "--test"),
        )
    except ProbeInputError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    elif not args.quiet:
        _print_report(report)
    return 0


def _print_report(report) -> None:
    print(
        f"train {report.n_train:,} + validation {report.n_validation:,} rows, {report.n_features} features, "
        f"{len(report.classes)} classes"
    )
    print("       C  validation accuracy  iterations")
    for point in report.validation_curve:
        mark = "  <- chosen" if point["C"] == report.C else ""
        print(f"{point['C']:8.3g}  {point['accuracy']:19.4f}  {point['iterations']:10d}{mark}")
    rows = report.n_train + report.n_validation
    print(f"chosen C = {report.C:.4g} (alpha = {report.alpha:.3g} on {rows:,} rows)")
    if report.test_accuracy is not None:
        print(f"test accuracy: {report.test_accuracy:.4f} ({report.n_test:,} rows)")
    else:
        print("no test split: pass --test")
    seconds = report.seconds
    print(
        f"time: {seconds['total']:.1f} s (search {seconds['search']:.1f} s, refit {seconds['refit']:.1f} s); "
        f"iterations: search {report.iterations['search']}, refit {report.iterations['refit']}"
    )
    if report.plot:
        print(f"validation curve drawn in {report.plot}")
