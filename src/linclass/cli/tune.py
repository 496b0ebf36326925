"""``linclass tune``: search the learning rate and regularization strength on a validation split."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math

from linclass.app.config import TrainConfig
from linclass.cli import (
    HelpFormatter,
    UsageError,
    check_data_option,
    common_options,
    refuse_conflicting_test_rows,
    refuse_ignored_options,
)
from linclass.cli.train import no_test_split_note
from linclass.hyperparameters import HYPERPARAMETERS, add_arguments, ignored

EPILOG = """\
examples:
  linclass tune --data digits --epochs 5
      the 3 x 3 grid of learning rates 1e-3,1e-2,1e-1 and alphas 1e-4,1e-3,1e-2
  linclass tune --data digits --loss svm --lr-range 1e-4:1e-1 --alpha-range 1e-5:1e-1 --trials 20 --jobs 2
      random search (log-uniform), as in the CS231n assignment, on two cores
  linclass tune --data cifar10:~/data/cifar-10-python.tar.gz --loss svm --lr 1e-7,5e-7 --alpha 2.5e4,5e4 \\
      --preprocess center --out best.npz
"""

_DEFAULTS = TrainConfig()
#: What tune's two axes are, for their help.
AXES = {"learning_rate": "learning rates", "alpha": "regularization strengths"}


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from linclass.app.config import DEFAULT_ALPHAS, DEFAULT_LEARNING_RATES, SEARCHES

    parser = subparsers.add_parser(
        "tune",
        parents=[common_options()],
        help="search learning rate and regularization on a validation split",
        description=(
            "Train one model per (learning rate, alpha) setting, measure each on the validation\n"
            "split and print them best first. --search grid tries every pair of the --lr and\n"
            "--alpha lists; --search random draws --trials pairs log-uniformly from --lr-range and\n"
            "--alpha-range (the default search when a range is given). Every trial uses --seed,\n"
            "so the results are the same for any --jobs."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    d = _DEFAULTS
    parser.add_argument("--data", default=d.data, metavar="SPEC", help="data source (default: digits)")
    add_arguments(parser, ["loss", "penalty", "l1_ratio"])
    for name, values in (("learning_rate", DEFAULT_LEARNING_RATES), ("alpha", DEFAULT_ALPHAS)):
        h, axis = HYPERPARAMETERS[name], parser.add_mutually_exclusive_group()
        axis.add_argument(
            *h.flags, dest=f"{name}_list", metavar="LIST",
            help=f"{AXES[name]} (default: {','.join(f'{v:g}' for v in values)})",
        )  # fmt: skip
        axis.add_argument(
            *(f"{flag}-range" for flag in h.flags), dest=f"{name}_range", metavar="LOW:HIGH",
            help=f"{AXES[name]} range for random search",
        )  # fmt: skip
    parser.add_argument(
        "--search", choices=SEARCHES, help="grid or random (default: random if a range is given)"
    )
    parser.add_argument(
        "--trials", type=int, default=10, metavar="N", help="random-search trials (default: 10)"
    )
    add_arguments(parser, ["optimizer"])
    add_arguments(parser, ["epochs"], helps={"epochs": f"{HYPERPARAMETERS['epochs'].help}, per trial"})
    add_arguments(parser, ["batch_size", "momentum", "preprocess", "validation_fraction"])
    parser.add_argument(
        "--test-data",
        metavar="SPEC",
        help="measure the best model on this second source (its test split, or all its rows)",
    )
    parser.add_argument(
        "--test-fraction",
        type=float,
        metavar="F",
        default=d.test_fraction,
        help="hold out a seeded, stratified share F of a source without a test split (default: 0)",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="worker processes (-1: all cores; default 1)"
    )
    add_arguments(
        parser, ["random_state"], helps={"random_state": "seed of the split, the trials and the search"}
    )
    parser.add_argument(
        "--out",
        metavar="PATH",
        default="best.npz",
        help="write the best model to this file (default: best.npz)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(func=run)
    return parser


def _parse_list(text: str, option: str, rule=None) -> list[float]:
    """Comma-separated numbers, each in ``rule`` (a ``linclass.cli.values.Range``) when given."""
    values = []
    for item in text.split(","):
        try:
            value = float(item)
        except ValueError:
            raise UsageError(f"{option}: {item.strip()!r} is not a number") from None
        if rule is not None and not rule.holds(value):
            raise UsageError(f"{option} values must be {rule}, got {item.strip()}")
        values.append(value)
    return values


def _parse_range(text: str, option: str):
    from linclass.app.tune import LogRange

    low, colon, high = text.partition(":")
    if not colon:
        raise UsageError(f"{option}: expected LOW:HIGH (e.g. 1e-4:1e-1), got {text!r}")
    low_value, high_value = _parse_list(low, option)[0], _parse_list(high, option)[0]
    if not 0 < low_value <= high_value:
        raise UsageError(f"{option}: expected 0 < LOW <= HIGH, got {text!r}")
    return LogRange(low_value, high_value)


def _axis(args: argparse.Namespace, name: str, default):
    """The values of tune's axis ``name`` (a list, a ``LogRange`` or ``default``), each checked
    against the hyperparameter's rule; errors name the flag as typed."""
    rule = HYPERPARAMETERS[name].rule
    flag = HYPERPARAMETERS[name].flag
    range_text, list_text = getattr(args, f"{name}_range"), getattr(args, f"{name}_list")
    if range_text:
        return _parse_range(range_text, args.given.get(f"{name}_range", f"{flag}-range"))
    if list_text:
        return _parse_list(list_text, args.given.get(f"{name}_list", flag), rule)
    return list(default)


def run(args: argparse.Namespace) -> int:
    from linclass.app import tune as tuning
    from linclass.app.outputs import check_output_file

    check_output_file(args.out, "--out")
    check_data_option("--data", args.data)
    if args.test_data:
        check_data_option("--test-data", args.test_data)
    refuse_conflicting_test_rows(args)
    learning_rates = _axis(args, "learning_rate", tuning.DEFAULT_LEARNING_RATES)
    alphas = _axis(args, "alpha", tuning.DEFAULT_ALPHAS)
    search = args.search or ("random" if args.learning_rate_range or args.alpha_range else "grid")
    names = {field.name for field in dataclasses.fields(TrainConfig)}
    config = TrainConfig(**{name: value for name, value in vars(args).items() if name in names})
    if "learning_rate" in ignored(config.to_dict()):
        raise UsageError(
            f"--optimizer {config.optimizer} takes no learning rate, but tune searches learning rates; "
            "choose an optimizer that has one"
        )
    refuse_ignored_options(args.given, config)
    pairs = tuning.search_space(
        learning_rates, alphas, search=search, n_trials=args.trials, random_state=config.random_state
    )
    chatty = not (args.quiet or args.json)
    finished = []

    def report_trial(record: dict) -> None:
        finished.append(record)
        accuracy = "diverged" if record["diverged"] else f"val acc {record['val_accuracy']:.4f}"
        print(
            f"trial {len(finished):>3}/{len(pairs)}: lr {record['learning_rate']:.3g}  "
            f"alpha {record['alpha']:.3g}  {accuracy}  ({record['seconds']:.2f} s)",
            flush=True,
        )

    result = tuning.tune(
        config,
        learning_rates=learning_rates,
        alphas=alphas,
        search=search,
        n_trials=args.trials,
        n_jobs=args.jobs,
        callback=report_trial if chatty else None,
    )
    result.best.model.save(args.out)
    best = result.results[0]
    if args.json:
        document = {
            "data": args.data,
            "loss": args.loss,
            "search": search,
            "results": [_json_record(r) for r in result.results],
            "best": {
                "learning_rate": best["learning_rate"],
                "alpha": best["alpha"],
                "accuracy": {**result.best.accuracy, "test": result.best.accuracy.get("test")},
            },
            "model": args.out,
        }
        print(json.dumps(document, indent=2))
        return 0
    if chatty:
        print()
    print(_table(result.results))
    if not args.quiet:
        print()
        accuracy = ", ".join(f"{split} {value:.4f}" for split, value in result.best.accuracy.items())
        print(f"best: learning rate {best['learning_rate']:.3g}, alpha {best['alpha']:.3g} ({accuracy})")
        if "test" not in result.best.accuracy:
            print(no_test_split_note(args.data))
        print(f"best model written to {args.out}")
    return 0


def _json_record(record: dict) -> dict:
    return {key: None if isinstance(v, float) and math.isnan(v) else v for key, v in record.items()}


def _table(results: list[dict]) -> str:
    lines = ["rank  learning_rate     alpha  train_acc  val_acc  seconds"]
    for rank, r in enumerate(results, start=1):
        accuracies = (
            f"{'diverged':>9}  {'':>7}"
            if r["diverged"]
            else f"{r['train_accuracy']:>9.4f}  {r['val_accuracy']:>7.4f}"
        )
        lines.append(
            f"{rank:>4}  {r['learning_rate']:>13.3g}  {r['alpha']:>8.3g}  {accuracies}  {r['seconds']:>7.2f}"
        )
    return "\n".join(lines)
