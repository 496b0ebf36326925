"""``linclass plot``: a model's templates, training curves and confusion matrix; the lecture's figures."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from linclass.cli import CommandError, HelpFormatter, check_data_option, common_options

LECTURE = "lecture"
LECTURE_FIGURES = ("hinge_loss.png", "softmax_example.png", "nll_bases.png")
MODEL_FIGURES = ("templates.png", "history.png", "confusion.png")

EPILOG = """\
examples:
  linclass plot model.npz
      templates.png (one image per class: the template view of W) and history.png (loss and
      accuracy per epoch) in the current folder
  linclass plot model.npz --data digits --out figures
      the same plus confusion.png on the digits test split, in figures/
  linclass plot lecture --out figures
      the lecture's figures: hinge_loss.png, softmax_example.png, nll_bases.png
      (a model file named 'lecture' is plotted with: linclass plot ./lecture)
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "plot",
        parents=[common_options()],
        help="draw a model's templates, curves and confusion matrix, or the lecture's figures",
        description=(
            "Write PNG figures of a saved model: its weight templates (each class's column of W as\n"
            "it scores the preprocessed image, reshaped to the image shape and rescaled to 0..255),\n"
            "its loss and accuracy curves, and\n"
            "with --data its confusion matrix. 'linclass plot lecture' draws the lecture's figures\n"
            "(hinge loss against the margin, the softmax worked example, the three bases for NLL)."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL", help="model file written by 'linclass train', or 'lecture'")
    parser.add_argument(
        "--out", default=".", metavar="DIR", help="folder for the PNGs (default: current folder)"
    )
    parser.add_argument("--data", metavar="SPEC", help="also draw the confusion matrix on this data source")
    parser.add_argument(
        "--split",
        choices=["test", "train"],
        default="test",
        help="split for the confusion matrix (default: test)",
    )
    parser.add_argument("--normalize", action="store_true", help="confusion matrix as row fractions")
    parser.add_argument("--json", action="store_true", help="print the written files as JSON")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from linclass import viz
    from linclass.app.outputs import check_output_folder

    figures = LECTURE_FIGURES if args.model == LECTURE else MODEL_FIGURES[: 3 if args.data else 2]
    out_dir = check_output_folder(args.out, "--out", figures)
    if args.data:
        check_data_option("--data", args.data)
    out_dir.mkdir(parents=True, exist_ok=True)
    skipped: list[str] = []
    if args.model == LECTURE:
        if args.data:
            raise CommandError("--data applies to a model, not to the lecture's figures")
        written = viz.plot_lecture(out_dir)
    else:
        written = _plot_model(args, out_dir, skipped)
    if args.json:
        print(json.dumps({"files": [str(p) for p in written], "skipped": skipped}, indent=2))
        return 0
    if not args.quiet:
        for note in skipped:
            print(f"skipped {note}")
    for path in written:
        print(path)
    return 0


def _plot_model(args: argparse.Namespace, out_dir: Path, skipped: list[str]) -> list[Path]:
    from linclass import viz
    from linclass.app.predict import load_classifier, model_class_names

    model = load_classifier(args.model)
    names = model_class_names(model)
    written = []
    image_shape = getattr(model, "image_shape_", None)
    if image_shape:
        # W as it meets the preprocessed image: with per-pixel standardization the raw-pixel
        # weights are dominated by rarely lit border pixels (scaled by 1 / their tiny std).
        W, _ = model.params_
        written.append(viz.plot_weight_templates(W, image_shape, names, out_dir / MODEL_FIGURES[0]))
    else:
        skipped.append("templates.png: the model has no image shape (it was trained on feature vectors)")
    if any(model.history_.get(key) for key in ("loss", "train_accuracy", "val_accuracy")):
        written.append(viz.plot_history(model.history_, out_dir / MODEL_FIGURES[1]))
    else:
        skipped.append("history.png: the model file holds no training history")
    if args.data:
        written.append(_plot_confusion(model, args, out_dir / MODEL_FIGURES[2]))
    if not written:
        raise CommandError(f"nothing to plot for {args.model}: {'; '.join(skipped)}; give --data SPEC")
    return written


def _plot_confusion(model, args: argparse.Namespace, path: Path) -> Path:
    from linclass import viz
    from linclass.app.predict import load_split, rows_for_model
    from linclass.metrics import evaluate_model

    X, y = rows_for_model(model, load_split(args.data, args.split), f"data {args.data!r}")
    evaluation = evaluate_model(model, X, y)
    return viz.plot_confusion_matrix(evaluation.confusion, evaluation.classes, path, normalize=args.normalize)
