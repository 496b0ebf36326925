"""``linclass gradcheck``: the objective's analytic gradient against finite differences."""

from __future__ import annotations

import argparse
import json

import numpy as np

from linclass.cli import HelpFormatter, UsageError, common_options
from linclass.cli.cluster import add_cluster_arguments, cluster_backend, on_cluster

EPILOG = """\
examples:
  linclass gradcheck --loss svm --penalty l2
      every coordinate of dW and db on 20 random examples (10 features, 5 classes), in float64
  linclass gradcheck --loss softmax --penalty elasticnet --alpha 0.5 --seed 3 --json
  linclass gradcheck --loss svm --data digits --samples 50 --sparse 100
      100 random coordinates of W (and of b) on 50 real digits
  linclass gradcheck --loss crammer_singer --backend numpy
      the NumPy reference kernels (the functions of linclass.losses) instead of the fused ones
  linclass gradcheck --backend dask --workers 2
      the Dask kernels, summing chunk gradients on a local cluster of 2 workers
      (--scheduler tcp://host:8786 for a running one; --backend dask alone starts 2 workers)

Thresholds on the largest relative error: 1e-7 for smooth losses (softmax, squared_hinge,
ovr_squared_hinge) and 1e-4 for hinge-type losses (svm, multi_margin, crammer_singer), whose
kinks make finite differences inexact where a margin is within h of 0; random data keeps away
from the kinks (and random weights away from the L1 kink at 0). Exit code 0 when the check
passes, 1 when it fails.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from linclass.hyperparameters import add_arguments

    parser = subparsers.add_parser(
        "gradcheck",
        parents=[common_options()],
        help="compare the objective's analytic gradient with a numerical one",
        description=(
            "Gradient check of the full objective\n"
            "L = mean_i L_i(x_i W + b, y_i) + alpha R(W): the analytic dW and db against\n"
            "centred differences (f(x + h) - f(x - h)) / 2h, on random data or a few\n"
            "examples of a data set, in float64. Prints the largest relative error of W and\n"
            "of b and the verdict."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    add_arguments(
        parser, ["loss", "penalty", "alpha", "l1_ratio"], defaults={"alpha": 0.1},
        helps={"alpha": "regularization strength (default: 0.1, large enough to matter)"},
    )  # fmt: skip
    parser.add_argument("--samples", type=int, default=20, metavar="N", help="examples (default: 20)")
    parser.add_argument("--features", type=int, default=10, metavar="D", help="random features (default: 10)")
    parser.add_argument("--classes", type=int, default=5, metavar="C", help="random classes (default: 5)")
    parser.add_argument(
        "--data", metavar="SPEC", help="check on N random training examples of this data source instead"
    )
    parser.add_argument(
        "--sparse", type=int, metavar="K", help="check K random coordinates of W and of b instead of all"
    )
    parser.add_argument("--h", type=float, default=1e-5, help="finite-difference step (default: 1e-5)")
    add_arguments(
        parser, ["backend", "random_state"],
        helps={
            "backend": "kernels to check: the fused Numba ones training uses, or the NumPy reference "
            "(default: numba when installed; dask with --scheduler or --workers)",
        },
    )  # fmt: skip
    add_cluster_arguments(parser, "check")
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    parser.set_defaults(func=run)
    return parser


#: Workers of the local cluster that ``--backend dask`` without ``--scheduler``/``--workers`` starts.
DEFAULT_WORKERS = 2


def run(args: argparse.Namespace) -> int:
    if on_cluster(args) and args.backend not in (None, "dask"):
        flag = "--scheduler" if args.scheduler is not None else "--workers"
        raise UsageError(f"{flag} checks the dask kernels, not --backend {args.backend}; drop one")
    if on_cluster(args) or args.backend == "dask":
        with cluster_backend(args, workers=DEFAULT_WORKERS) as backend:
            return _check(args, backend)
    return _check(args, args.backend)


def _check(args: argparse.Namespace, backend: str | None) -> int:
    from linclass.datasets import load_source
    from linclass.gradcheck import check_objective_gradient, data_problem, random_problem
    from linclass.kernels import get_kernels
    from linclass.losses import get_loss
    from linclass.objective import Objective
    from linclass.penalties import get_penalty

    rng = np.random.default_rng(args.random_state)
    transform = None
    if args.data:
        dataset = load_source(args.data)
        n_samples = min(args.samples, len(dataset.y_train))
        rows = np.sort(rng.choice(len(dataset.y_train), size=n_samples, replace=False))
        params, X, y, transform = data_problem(
            dataset.X_train[rows], dataset.y_train[rows], dataset.n_classes, rng
        )
        where = f"{n_samples} examples of {dataset.name or args.data} ({X.shape[1]} features, standardized)"
    else:
        params, X, y = random_problem(args.samples, args.features, args.classes, rng)
        where = f"{args.samples} random examples ({args.features} features)"
    objective = Objective(
        loss=get_loss(args.loss, "classification"),
        penalty=get_penalty(args.penalty),
        alpha=args.alpha,
        l1_ratio=args.l1_ratio,
        transform=transform,
        kernels=get_kernels(backend),
    )
    backend = objective.kernels.name
    check = check_objective_gradient(objective, params, X, y, k=args.sparse, h=args.h, random_state=rng)
    kind = "smooth loss" if objective.loss.smooth else "hinge-type loss, with kinks"
    verdict = (
        f"gradient check {'passed' if check.passed else 'FAILED'}: max relative error "
        f"{max(check.W.max_rel_error, check.b.max_rel_error):.2e} "
        f"({'<' if check.passed else 'not <'} threshold {check.threshold:.0e}, {kind})"
    )
    if args.json:
        document = {**check.to_dict(), "data": args.data or "random", "seed": args.random_state}
        document["backend"] = backend
        print(json.dumps(document, indent=2))
    elif args.quiet:
        print(verdict)
    else:
        penalty = "" if objective.penalty.fn is None else f" + {args.alpha:g} * {args.penalty}"
        print(
            f"objective: {args.loss}{penalty} on {where}, {len(params[1])} classes, float64, "
            f"{backend} kernels"
        )
        print(f"value L = {check.value:.6g}")
        for name, report, value in (("W", check.W, params[0]), ("b", check.b, params[1])):
            shape = "x".join(str(s) for s in value.shape)
            print(
                f"  {name} ({shape}, {report.n_checked} checked): "
                f"max relative error {report.max_rel_error:.2e} at {report.argmax}: "
                f"analytic {report.analytic:.8g}, numeric {report.numeric:.8g}"
            )
        print(verdict)
    return 0 if check.passed else 1
