"""``linclass train``: fit a linear classifier on a data source and save the model."""

from __future__ import annotations

import argparse
import json
import signal
import sys

from linclass.cli import CommandError, common_options
from linclass.config import TrainConfig
from linclass.progress import write
from linclass.train.interrupts import deferred_interrupts

EPILOG = """\
examples:
  linclass train
      softmax classifier on the embedded 8x8 digits, model written to model.npz
  linclass train --data cifar10:~/data/cifar-10-python.tar.gz --loss svm --lr 1e-3 --epochs 10
  linclass train --data fashion-mnist --optimizer lbfgs --alpha 1e-4 --out fmnist.npz
  linclass train --checkpoint run.ckpt --checkpoint-every 1     (Ctrl-C saves and exits 130)
  linclass train --resume run.ckpt                               (continues the same run)
"""

_DEFAULTS = TrainConfig()


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from linclass.losses import LOSSES
    from linclass.optim import OPTIMIZERS
    from linclass.optim.schedules import SCHEDULES
    from linclass.penalties import PENALTIES
    from linclass.preprocess import PREPROCESSORS

    parser = subparsers.add_parser(
        "train",
        parents=[common_options()],
        help="train a classifier and save the model",
        description="Train a multiclass SVM or softmax classifier, print its accuracy and save it.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d = _DEFAULTS
    parser.add_argument("--data", default=d.data, help="data source (default: digits); see docs/data.md")
    parser.add_argument("--loss", default=d.loss, choices=LOSSES.names(), help="loss (default: softmax)")
    parser.add_argument(
        "--penalty", default=d.penalty, choices=PENALTIES.names(), help="regularizer (default: l2)"
    )
    parser.add_argument(
        "--alpha", type=float, default=d.alpha, help=f"regularization strength (default: {d.alpha})"
    )
    parser.add_argument(
        "--l1-ratio", type=float, default=d.l1_ratio, help="elastic-net mixing (default: 0.15)"
    )
    parser.add_argument("--optimizer", default=d.optimizer, choices=OPTIMIZERS.names(), help="(default: sgd)")
    parser.add_argument(
        "--lr", type=float, default=d.learning_rate, help=f"learning rate (default: {d.learning_rate})"
    )
    parser.add_argument(
        "--schedule",
        default=d.schedule,
        choices=SCHEDULES.names(),
        help="learning-rate schedule (default: cosine, decaying over the run)",
    )
    parser.add_argument(
        "--epochs", type=int, default=d.epochs, help=f"passes over the data (default: {d.epochs})"
    )
    parser.add_argument("--batch-size", type=int, default=d.batch_size, help=f"(default: {d.batch_size})")
    parser.add_argument("--momentum", type=float, default=d.momentum, help=f"(default: {d.momentum})")
    parser.add_argument(
        "--preprocess",
        default=d.preprocess,
        choices=PREPROCESSORS.names(),
        help="input transform folded into the weights (default: standardize)",
    )
    parser.add_argument(
        "--val-fraction",
        type=float,
        default=d.val_fraction,
        help="share of the training data held out for validation (default: 0.1)",
    )
    parser.add_argument(
        "--test-data",
        metavar="SPEC",
        help="evaluate on this second source (its test split, or all its rows; default: none)",
    )
    parser.add_argument(
        "--test-fraction",
        type=float,
        metavar="F",
        default=d.test_fraction,
        help="hold out a seeded, stratified share F of a source without a test split (default: 0)",
    )
    parser.add_argument("--early-stopping", action="store_true", help="stop when validation accuracy stalls")
    parser.add_argument(
        "--patience", type=int, default=d.patience, help="early-stopping patience (default: 5)"
    )
    parser.add_argument("--dtype", choices=["float32", "float64"], default=None, help="computation dtype")
    parser.add_argument("--seed", type=int, default=d.seed, help="random seed (default: 0)")
    parser.add_argument("--out", default="model.npz", help="model file to write (default: model.npz)")
    parser.add_argument("--checkpoint", metavar="PATH", help="write resumable checkpoints here")
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        metavar="N",
        default=None,
        help="checkpoint every N epochs (default: 1 when --checkpoint is given)",
    )
    parser.add_argument("--resume", metavar="PATH", help="continue the run saved in this checkpoint")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        data=args.data,
        loss=args.loss,
        penalty=None if args.penalty == "none" else args.penalty,
        alpha=args.alpha,
        l1_ratio=args.l1_ratio,
        optimizer=args.optimizer,
        learning_rate=args.lr,
        schedule=args.schedule,
        epochs=args.epochs,
        batch_size=args.batch_size,
        momentum=args.momentum,
        early_stopping=args.early_stopping,
        patience=args.patience,
        val_fraction=args.val_fraction,
        test_data=args.test_data,
        test_fraction=args.test_fraction,
        preprocess=args.preprocess,
        seed=args.seed,
        dtype=args.dtype,
    )


def no_test_split_note(data: str) -> str:
    """What ``train`` and ``tune`` print for a source without test rows."""
    return f"test accuracy: none ({data} has no test split; give --test-data SPEC or --test-fraction F)"


def _epoch_printer(total_epochs: int):
    def print_epoch(event) -> None:
        metrics = event.metrics
        parts = [f"epoch {event.epoch:>3}/{total_epochs}", f"loss {metrics['loss']:.4f}"]
        for key, label in (
            ("train_accuracy", "train acc"),
            ("val_loss", "val loss"),
            ("val_accuracy", "val acc"),
        ):
            if key in metrics:
                parts.append(f"{label} {metrics[key]:.4f}")
        write("  ".join(parts))

    return print_epoch


def run(args: argparse.Namespace) -> int:
    if args.checkpoint_every is not None and args.checkpoint is None and args.resume is None:
        raise CommandError("--checkpoint-every needs --checkpoint PATH")
    from linclass.experiment import load_checkpoint, resume_training, train_model

    callbacks = []
    try:
        # Ctrl-C and SIGTERM stop training at the next step boundary, where a checkpoint is whole.
        with deferred_interrupts():
            if args.resume:
                config, _ = load_checkpoint(args.resume)
                if not args.quiet and not args.json:
                    print(f"resuming {args.resume}: data={config.data} loss={config.loss}", end=" ")
                    print(f"optimizer={config.optimizer}")
                    callbacks.append(_epoch_printer(config.epochs))
                result = resume_training(
                    args.resume,
                    checkpoint_every=args.checkpoint_every or 1,
                    callbacks=callbacks,
                    verbose=not args.quiet,
                )
            else:
                config = config_from_args(args)
                if not args.quiet and not args.json:
                    callbacks.append(_epoch_printer(config.epochs))
                result = train_model(
                    config,
                    callbacks=callbacks,
                    checkpoint_path=args.checkpoint,
                    checkpoint_every=(args.checkpoint_every or 1) if args.checkpoint else None,
                    verbose=not args.quiet,
                )
    except KeyboardInterrupt as exc:
        terminated = getattr(exc, "signum", signal.SIGINT) == signal.SIGTERM
        saved = "; checkpoint saved" if args.checkpoint or args.resume else ""
        print(f"linclass train: {'terminated' if terminated else 'interrupted'}{saved}", file=sys.stderr)
        return 143 if terminated else 130
    result.model.save(args.out)
    summary = {
        "data": result.splits.dataset.name or config.data,
        "loss": config.loss,
        "optimizer": config.optimizer,
        "epochs": int(result.model.n_iter_),
        "accuracy": {**result.accuracy, "test": result.accuracy.get("test")},
        "model": str(args.out),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    elif not args.quiet:
        for split in ("train", "val", "test"):
            if split in result.accuracy:
                print(f"{split} accuracy: {result.accuracy[split]:.4f}")
        if "test" not in result.accuracy:
            print(no_test_split_note(config.data))
        print(f"model written to {args.out}")
    return 0
