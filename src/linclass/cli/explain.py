"""``linclass explain``: the lecture's SVM and softmax losses, worked out number by number."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from linclass import limits
from linclass.app.explain import LECTURE_LABELS, LECTURE_SCORES, explain_scores, format_table
from linclass.cli import CommandError, HelpFormatter, check_data_option, common_options

EPILOG = """\
examples:
  linclass explain
      the lecture's three images (cat, car, frog): SVM losses 2.90, 0.00, 12.90 (mean 5.27)
  linclass explain --scores "3.2,5.1,-1.7;1.3,4.9,2.0" --labels 0,1 --classes cat,car,frog
  linclass explain --scores-file scores.npy --labels-file labels.csv --margin 0.5 --json
  linclass explain --model model.npz --data digits --index 12
      the scores a trained model gives test example 12 of the digits, with their losses
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "explain",
        parents=[common_options()],
        help="show the SVM and softmax losses of some scores step by step",
        description=(
            "Work out the multiclass SVM loss (margins max(0, s_j - s_y + margin)) and the\n"
            "softmax cross-entropy (probabilities, -ln p_y) for each example, as in the lecture.\n"
            "Without scores it uses the lecture's cat/car/frog example; with --model and --data it\n"
            "uses a trained model's scores of one real example."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    scores = parser.add_mutually_exclusive_group()
    scores.add_argument(
        "--scores",
        metavar="ROWS",
        help='class scores, one row per example, rows separated by ";" (e.g. "3.2,5.1,-1.7;1.3,4.9,2.0")',
    )
    scores.add_argument("--scores-file", type=Path, metavar="FILE", help="scores (N, C) as .npy or .csv")
    labels = parser.add_mutually_exclusive_group()
    labels.add_argument("--labels", metavar="LIST", help="correct class index per example (e.g. 0,1)")
    labels.add_argument("--labels-file", type=Path, metavar="FILE", help="labels (N,) as .npy or .csv")
    parser.add_argument("--classes", metavar="NAMES", help="class names, comma-separated (e.g. cat,car,frog)")
    parser.add_argument("--margin", type=float, default=1.0, help="the SVM margin (default: 1)")
    parser.add_argument(
        "--model", metavar="MODEL", help="explain a saved model's scores of one example of --data"
    )
    parser.add_argument("--data", metavar="SPEC", help="data source of the example (with --model)")
    parser.add_argument("--index", type=int, metavar="I", help="the example's row (default: 0)")
    parser.add_argument("--split", choices=["test", "train"], help="the example's split (default: test)")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON instead of a table")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    example = None
    if args.model is not None or args.data is not None:
        explanation, example = _explain_model_example(args)
    else:
        if args.index is not None or args.split is not None:
            raise CommandError("--index and --split choose an example of --data for --model")
        scores, labels = _read_scores_and_labels(args)
        classes = None if args.classes is None else [name.strip() for name in args.classes.split(",")]
        explanation = explain_scores(scores, labels, classes, margin=args.margin)
    if args.json:
        document = explanation.to_dict()
        if example is not None:
            document["example"] = example
        print(json.dumps(document, indent=2))
        return 0
    if not args.quiet:
        if example is not None:
            print(
                f"example {example['index']} of the {example['source']}: true class {example['class']}, "
                f"predicted {example['predicted']} ({example['model']})"
            )
        print(
            f"SVM: L_i = sum over j != y_i of max(0, s_j - s_y + {explanation.margin:g}); "
            "softmax: p = exp(s) / sum(exp(s)), L_i = -ln p_y"
        )
    print(format_table(explanation))
    return 0


def _explain_model_example(args: argparse.Namespace):
    """The explanation of one data example's scores under a saved model, and what the example is."""
    from linclass.app.explain import explain_example
    from linclass.app.predict import load_classifier, load_split, rows_for_model

    if args.model is None or args.data is None:
        raise CommandError("--model and --data go together: --model MODEL --data SPEC [--index I]")
    given = [
        flag
        for flag, value in (
            ("--scores", args.scores),
            ("--scores-file", args.scores_file),
            ("--labels", args.labels),
            ("--labels-file", args.labels_file),
            ("--classes", args.classes),
        )
        if value is not None
    ]
    if given:
        raise CommandError(f"{given[0]} cannot be combined with --model (the model gives the scores)")
    check_data_option("--data", args.data)
    model = load_classifier(args.model)
    split = args.split or "test"
    data = load_split(args.data, split)
    n_rows = len(data.y)
    index = 0 if args.index is None else args.index
    if not -n_rows <= index < n_rows:
        raise CommandError(
            f"--index {index} is out of range: the {data.name} has {n_rows} examples (0..{n_rows - 1})"
        )
    index %= n_rows
    row = data._replace(X=data.X[index : index + 1], y=data.y[index : index + 1])
    X, y = rows_for_model(model, row, f"data {args.data!r}")
    explanation = explain_example(model, X[0], int(y[0]), margin=args.margin)
    predicted = explanation.classes[int(explanation.scores[0].argmax())]
    example = {
        "model": args.model,
        "data": args.data,
        "split": split,
        "source": data.name,
        "index": index,
        "class": explanation.classes[int(y[0])],
        "predicted": predicted,
    }
    return explanation, example


def _read_scores_and_labels(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    """The scores and labels from the options; the lecture's example when none are given."""
    if args.scores is None and args.scores_file is None:
        if args.labels is not None or args.labels_file is not None:
            raise CommandError("--labels/--labels-file need --scores or --scores-file")
        return LECTURE_SCORES, LECTURE_LABELS
    if args.labels is None and args.labels_file is None:
        raise CommandError("--labels or --labels-file is required with --scores/--scores-file")
    if args.scores is not None:
        scores = _parse_scores(args.scores)
    else:
        scores = _load_array(args.scores_file, "--scores-file", ndim=2)
    if args.labels is not None:
        labels = _parse_labels(args.labels)
    else:
        labels = _load_array(args.labels_file, "--labels-file", ndim=1)
    if labels.shape[0] != scores.shape[0]:
        raise CommandError(f"got {labels.shape[0]} labels for {scores.shape[0]} rows of scores")
    return scores, labels


def _parse_scores(text: str) -> np.ndarray:
    rows = []
    for number, row in enumerate(text.split(";"), start=1):
        values = []
        for item in row.split(","):
            try:
                values.append(float(item))
            except ValueError:
                raise CommandError(f"--scores: {item.strip()!r} in row {number} is not a number") from None
        if rows and len(values) != len(rows[0]):
            raise CommandError(
                f"--scores: row {number} has {len(values)} values but row 1 has {len(rows[0])}"
            )
        rows.append(values)
    return np.array(rows)


def _parse_labels(text: str) -> np.ndarray:
    labels = []
    for item in text.split(","):
        try:
            labels.append(int(item))
        except ValueError:
            raise CommandError(f"--labels: {item.strip()!r} is not an integer class index") from None
    return np.array(labels)


def _load_array(path: Path, option: str, ndim: int) -> np.ndarray:
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            array = limits.read_npy(path, CommandError, limits.max_bytes())
        elif suffix in (".csv", ".txt"):
            limits.require_regular(path, "a .csv file", CommandError)
            array = np.loadtxt(path, delimiter=",", ndmin=ndim)
        else:
            raise CommandError(f"{option} must be a .npy or .csv file, got {str(path)!r}")
    except ValueError as exc:
        raise CommandError(f"{option} {str(path)!r} could not be read: {exc}") from None
    if array.ndim != ndim:
        raise CommandError(f"{option} must hold a {ndim}-D array, got shape {array.shape}")
    return array
