"""``linclass evaluate``: accuracy, per-class precision and recall, and the confusion matrix of a model."""

from __future__ import annotations

import argparse
import json

from linclass.cli import HelpFormatter, check_data_option, common_options
from linclass.datasets.source import forms_text

EPILOG = """\
examples:
  linclass evaluate model.npz --data digits
      accuracy, per-class precision/recall/F1 and the confusion matrix on the digits test split
  linclass evaluate model.npz --data cifar10:~/data/cifar-10-python.tar.gz --plot confusion.png
  linclass evaluate model.npz --data digits --split train --normalize --json
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "evaluate",
        parents=[common_options()],
        help="measure a saved model on a data split",
        description=(
            "Evaluate a saved model on a split of a data source: accuracy, each class's precision,\n"
            "recall (the share of the class's examples classified correctly: its accuracy) and F1,\n"
            "and the confusion matrix (rows: true class, columns: predicted class)."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL", help="model file written by 'linclass train'")
    parser.add_argument(
        "--data", required=True, metavar="SPEC", help=f"data source: {forms_text()}"
    )
    parser.add_argument(
        "--split",
        choices=["test", "train"],
        default="test",
        help="which split to evaluate on (default: test)",
    )
    parser.add_argument(
        "--plot",
        "--out",
        dest="plot",
        metavar="FILE.png",
        help="also draw the confusion matrix into this PNG",
    )
    parser.add_argument(
        "--normalize",
        action="store_true",
        help="show the confusion matrix as row fractions (each class's recall on the diagonal)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from linclass.app.outputs import check_png_file
    from linclass.app.predict import load_classifier, load_split, rows_for_model
    from linclass.metrics import evaluate_model, format_confusion_matrix, format_report, normalize_rows

    check_data_option("--data", args.data)
    if args.plot:
        check_png_file(args.plot, "--plot")
    model = load_classifier(args.model)
    data = load_split(args.data, args.split)
    X, y = rows_for_model(model, data, f"data {args.data!r}")
    evaluation = evaluate_model(model, X, y)
    confusion = normalize_rows(evaluation.confusion) if args.normalize else evaluation.confusion
    if args.plot:
        from linclass.viz import plot_confusion_matrix

        plot_confusion_matrix(evaluation.confusion, evaluation.classes, args.plot, normalize=args.normalize)
    if args.json:
        result = {"model": args.model, "data": args.data, "split": args.split, **evaluation.to_dict()}
        if args.normalize:
            result["confusion_matrix_normalized"] = confusion.tolist()
        if args.plot:
            result["plot"] = args.plot
        print(json.dumps(result, indent=2))
        return 0
    accuracy_line = (
        f"accuracy: {evaluation.accuracy:.4f} ({evaluation.n_correct}/{len(evaluation.y_true)} correct)"
    )
    if args.quiet:
        print(accuracy_line)
        return 0
    print(f"{args.model} ({model.loss}, {len(evaluation.classes)} classes) on {data.name}")
    print(accuracy_line)
    print()
    print(format_report(evaluation.report))
    print()
    title = "row fractions" if args.normalize else "counts"
    print(f"confusion matrix ({title}; rows: true class, columns: predicted class)")
    print(format_confusion_matrix(confusion, evaluation.classes))
    if args.plot:
        print(f"\nconfusion matrix plot written to {args.plot}")
    return 0
