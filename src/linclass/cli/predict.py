"""``linclass predict``: class labels and probabilities of a saved model for images, arrays or data splits."""

from __future__ import annotations

import argparse
import csv
import io
import json

from linclass.cli import HelpFormatter, common_options

EPILOG = """\
examples:
  linclass predict model.npz cat.jpg ship.png --top 3
      the 3 most probable classes of each image (resized and converted to the model's input)
  linclass predict model.npz "digits:test[0:5]"
      the first five test digits, with their true labels
  linclass predict model.npz seven.png --pixel-max 16 --invert
      a dark-on-white drawing for a model trained on the 0..16 light-on-dark digits
  linclass predict model.npz features.npy --json --out predictions.json
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "predict",
        parents=[common_options()],
        help="predict the classes of images, arrays or a data split",
        description=(
            "Predict class labels and probabilities with a saved model. INPUT is an image file\n"
            "(converted to grey or RGB and resized to the model's image shape), a .npy/.npz array\n"
            "of examples, or a data split SPEC:SPLIT[rows] such as digits:test or digits:test[0:10].\n"
            "Probabilities are the softmax of the scores, or Platt-scaled scores for SVM losses."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL", help="model file written by 'linclass train'")
    parser.add_argument(
        "inputs", metavar="INPUT", nargs="+", help="image, .npy/.npz file or SPEC:SPLIT[rows]"
    )
    parser.add_argument(
        "--top", type=int, default=1, metavar="K", help="show the K most probable classes (default: 1)"
    )
    parser.add_argument(
        "--pixel-max",
        type=int,
        default=255,
        metavar="N",
        help="value of a white pixel in the model's training images (default: 255; digits: 16)",
    )
    parser.add_argument("--invert", action="store_true", help="invert image files (dark ink on light paper)")
    parser.add_argument("--json", action="store_true", help="print the predictions as JSON")
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="also write the predictions to FILE (.json, otherwise CSV with every probability)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from linclass.app.outputs import check_output_file
    from linclass.app.predict import load_classifier, model_class_names, predict_top, read_inputs
    from linclass.atomic import atomic_write_text

    if args.out:
        check_output_file(args.out, "--out")
    model = load_classifier(args.model)
    inputs = read_inputs(model, args.inputs, pixel_max=args.pixel_max, invert=args.invert)
    predictions = predict_top(model, inputs.X, args.top)
    names = model_class_names(model)
    rows = []
    for i, name in enumerate(inputs.names):
        row = {
            "input": name,
            "label": predictions.labels[i][0],
            "probability": float(predictions.probabilities[i, 0]),
            "top": [
                {"label": label, "probability": float(p)}
                for label, p in zip(predictions.labels[i], predictions.probabilities[i], strict=True)
            ],
        }
        if inputs.y is not None and inputs.y[i] >= 0:
            row["true_label"] = names[inputs.y[i]]
        rows.append(row)
    if args.out:
        if args.out.lower().endswith(".json"):
            atomic_write_text(args.out, json.dumps(rows, indent=2) + "\n")
        else:
            atomic_write_text(args.out, _csv(rows, names, predictions.all_probabilities))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(name) for name in inputs.names)
    for row in rows:
        guesses = ", ".join(f"{t['label']} {t['probability']:.3f}" for t in row["top"])
        truth = f"  (true: {row['true_label']})" if "true_label" in row else ""
        print(f"{row['input']:<{width}}  {guesses}{truth}")
    if inputs.y is not None and not args.quiet:
        known = inputs.y >= 0
        correct = sum(row["label"] == row.get("true_label") for row in rows)
        print(f"{correct} of {int(known.sum())} labelled examples predicted correctly")
    if args.out and not args.quiet:
        print(f"predictions written to {args.out}")
    return 0


def _csv(rows: list[dict], names: tuple[str, ...], probabilities) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["input", "label", "probability", "true_label", *(f"p({name})" for name in names)])
    for row, p in zip(rows, probabilities, strict=True):
        writer.writerow(
            [
                row["input"],
                row["label"],
                repr(row["probability"]),
                row.get("true_label", ""),
                *(repr(float(v)) for v in p),
            ]
        )
    return buffer.getvalue()
