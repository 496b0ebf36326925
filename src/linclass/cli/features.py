"""``linclass features``: compute image features of a data source and write a feature file."""

from __future__ import annotations

import argparse
import json

from linclass.cli import HelpFormatter, UsageError, common_options

EPILOG = """\
examples:
  linclass features --data folder:cifar10-jpeg.tar.gz --kind kmeans --centroids 1600 --out feats.npz
      Coates-Lee-Ng k-means features (6,400 per image); then:
  linclass train --data feats.npz --loss svm --out svm.npz
  linclass features --data folder:cifar10-jpeg.tar.gz --kind kmeans --augment flip --out flip.npz
      the same, with the mirrored training images as 50,000 more training rows
  linclass features --data folder:cifar10-jpeg.tar.gz --kind hog-color --out hog.npz
  linclass features --data digits --kind hog --json
"""

KIND_HELP = "hog, color (HSV hue histogram), hog-color (both), kmeans (Coates et al. 2011)"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from linclass.features import EXTRACTORS
    from linclass.features.extract import AUGMENTATIONS

    parser = subparsers.add_parser(
        "features",
        parents=[common_options()],
        help="compute image features and write a feature file for --data",
        description=(
            "Fit a feature extractor on the training images of a data source, compute the features\n"
            "of the train and test images, and write them with the class names and the extractor's\n"
            "settings to a checksummed feature file that 'linclass train --data FILE' reads."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--data", default="digits", metavar="SPEC", help="image data source (default: digits)"
    )
    parser.add_argument("--kind", required=True, choices=EXTRACTORS.names(), help=KIND_HELP)
    parser.add_argument("--centroids", type=int, help="kmeans: number of centroids K (default: 1600)")
    parser.add_argument("--patches", type=int, help="kmeans: random patches to learn from (default: 400000)")
    parser.add_argument("--max-iter", type=int, help="kmeans: k-means iterations (default: 50)")
    parser.add_argument(
        "--init",
        choices=("random", "normal"),
        help="kmeans: start from random patches (default) or N(0, 0.1²) centroids (the authors' code)",
    )
    parser.add_argument("--bins", type=int, help="color, hog-color: hue bins (default: 10)")
    parser.add_argument("--cell", type=int, help="hog, hog-color: pixels per (square) cell (default: 8)")
    parser.add_argument("--plot", metavar="FILE.png", help="kmeans: draw the learned centroids into this PNG")
    parser.add_argument(
        "--augment",
        choices=AUGMENTATIONS,
        help="flip: also write the features of each training image mirrored left to right, as "
        "more training rows (the test split is not augmented)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed for kmeans (default: 0)")
    parser.add_argument("--out", default="features.npz", help="feature file to write (default: features.npz)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)
    return parser


def _extractor(args: argparse.Namespace, verbose: bool):
    from linclass.features import EXTRACTORS

    options = {
        "centroids": "n_centroids",
        "patches": "n_patches",
        "max_iter": "max_iter",
        "init": "init",
        "bins": "bins",
        "cell": "pixels_per_cell",
        "plot": None,
    }
    allowed = {
        "kmeans": ("centroids", "patches", "max_iter", "init", "plot"),
        "color": ("bins",),
        "hog": ("cell",),
        "hog-color": ("bins", "cell"),
    }
    params = {}
    for option, name in options.items():
        value = getattr(args, option)
        if value is None:
            continue
        if option not in allowed[args.kind]:
            raise UsageError(f"--{option.replace('_', '-')} does not apply to --kind {args.kind}")
        if name is not None:
            params[name] = (value, value) if option == "cell" else value
    if args.kind == "kmeans":
        params["random_state"] = args.seed
    return EXTRACTORS.get(args.kind)(verbose=verbose, **params)


def run(args: argparse.Namespace) -> int:
    from linclass.app.outputs import check_output_file, check_png_file
    from linclass.datasets import load_source, save_features
    from linclass.features import extract_features

    extractor = _extractor(args, verbose=not args.quiet)
    check_output_file(args.out, "--out")
    if args.plot:
        check_png_file(args.plot, "--plot")
    dataset = load_source(args.data)
    features, settings = extract_features(dataset, extractor, augment=args.augment)
    settings["kind"] = args.kind
    save_features(args.out, features, source=args.data, settings=settings)
    if args.plot:
        from linclass.viz import plot_centroids

        patch = (extractor.patch_size, extractor.patch_size, *dataset.image_shape[2:])
        count = extractor.n_centroids
        title = f"k-means centroids ({min(count, 256)} of {count}, whitened), {args.data.rsplit('/', 1)[-1]}"
        plot_centroids(extractor.centroids_, patch, args.plot, title=title)
    summary = {
        "data": args.data,
        "kind": args.kind,
        "train": list(features.X_train.shape),
        "test": list(features.X_test.shape),
        "fit_seconds": round(settings["fit_seconds"], 3),
        "transform_seconds": round(settings["transform_seconds"], 3),
        **({"augment_seconds": round(settings["augment_seconds"], 3)} if args.augment else {}),
        "out": str(args.out),
        "plot": args.plot,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    elif not args.quiet:
        print(f"{args.kind} features: train {features.X_train.shape}, test {features.X_test.shape}")
        mirrored = f", mirrored training images {settings['augment_seconds']:.1f} s" if args.augment else ""
        timings = f"fit {settings['fit_seconds']:.1f} s, transform {settings['transform_seconds']:.1f} s"
        print(timings + mirrored)
        print(f"features written to {args.out}")
        if args.plot:
            print(f"centroids drawn in {args.plot}")
    return 0
