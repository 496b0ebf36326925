"""``linclass train``: fit a linear classifier on a data source and save the model."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import signal
import sys

from linclass.app.config import TrainConfig
from linclass.cli import (
    HelpFormatter,
    UsageError,
    check_data_option,
    common_options,
    refuse_conflicting_test_rows,
    refuse_ignored_options,
)
from linclass.cli.cluster import add_cluster_arguments, cluster_backend, on_cluster
from linclass.datasets.source import forms_text
from linclass.hyperparameters import HYPERPARAMETERS, add_arguments, ignored
from linclass.progress import write
from linclass.train.interrupts import deferred_interrupts

EPILOG = """\
examples:
  linclass train
      softmax classifier on the embedded 8x8 digits, model written to model.npz
  linclass train --data cifar10:~/data/cifar-10-python.tar.gz --loss svm --lr 1e-3 --epochs 10
  linclass train --data table.csv#label=species --test-fraction 0.2
      your own table: a seeded, stratified fifth of its rows is the test split
  linclass train --data fashion-mnist --optimizer lbfgs --alpha 1e-4 --out fmnist.npz
  linclass train --checkpoint run.ckpt --checkpoint-every 1
      Ctrl-C saves a checkpoint and exits 130
  linclass train --resume run.ckpt --epochs 40
      continues the same run (to 40 epochs) and writes its model file
  linclass train --data fashion-mnist --device cuda
      PyTorch on the GPU
  linclass train --data fashion-mnist --optimizer lbfgs --workers 2
      on a local Dask cluster of 2 workers (--scheduler tcp://host:8786 for a running one);
      the same weights, bit for bit, for any number of workers
"""

_DEFAULTS = TrainConfig()
DEFAULT_OUT = "model.npz"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "train",
        parents=[common_options()],
        help="train a classifier and save the model",
        description="Train a multiclass SVM or softmax classifier, print its accuracy and save it.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    d = _DEFAULTS
    parser.add_argument(
        "--data", default=d.data, metavar="SPEC", help=f"data source: {forms_text()} (default: digits)"
    )
    add_arguments(parser, ["loss", "penalty", "alpha", "l1_ratio", "penalize_intercept", "optimizer",
                           "learning_rate", "schedule"])
    add_arguments(
        parser, ["epochs", "max_iter"], defaults={"epochs": None, "max_iter": None},
        helps={
            "epochs": f"{HYPERPARAMETERS['epochs'].help} (default: {d.epochs}; with --resume: the run's, or "
            "more to extend it)",
            "max_iter": f"{HYPERPARAMETERS['max_iter'].help} (default: {d.max_iter}; with --resume: the "
            "run's)",
        },
    )  # fmt: skip
    add_arguments(parser, ["batch_size", "momentum", "preprocess", "validation_fraction"])
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
    add_arguments(parser, ["early_stopping", "n_iter_no_change", "dtype", "device", "random_state"])
    parser.add_argument(
        "--out",
        metavar="PATH",
        help=f"model file to write (default: {DEFAULT_OUT}; with --resume, the run's own model file)",
    )
    parser.add_argument("--checkpoint", metavar="PATH", help="write resumable checkpoints here")
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        metavar="N",
        default=None,
        help="checkpoint every N epochs (default: 1 when --checkpoint is given)",
    )
    parser.add_argument("--resume", metavar="PATH", help="continue the run saved in this checkpoint")
    add_cluster_arguments(parser, "train")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The run the options describe: every ``TrainConfig`` field is an option's destination."""
    settings = {field.name: getattr(args, field.name) for field in dataclasses.fields(TrainConfig)}
    for name in ("epochs", "max_iter"):  # None: not given (a resumed run keeps its own)
        if settings[name] is None:
            settings[name] = getattr(_DEFAULTS, name)
    return TrainConfig(**settings)


def no_test_split_note(data: str) -> str:
    """What ``train`` and ``tune`` print for a source without test rows."""
    return f"test accuracy: none ({data} has no test split; give --test-data SPEC or --test-fraction F)"


def _length(config: TrainConfig) -> int:
    """The most epochs the run has: ``max_iter`` for an optimizer that counts iterations (L-BFGS)."""
    return config.max_iter if "epochs" in ignored(config.to_dict()) else config.epochs


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


#: Options that may change when a run is resumed; any other option must match the checkpoint.
RESUME_MAY_CHANGE = (
    "epochs", "max_iter", "device", "out", "checkpoint", "checkpoint_every", "quiet", "json", "debug",
    "scheduler", "workers",
)  # fmt: skip


def _resume_conflicts(args: argparse.Namespace, saved: TrainConfig) -> list[str]:
    """``--flag VALUE (the run has X)`` for every typed option that disagrees with the checkpoint."""
    typed = config_from_args(args)
    conflicts = []
    for dest in sorted(set(args.given) - {"resume", *RESUME_MAY_CHANGE}, key=args.given.get):
        theirs = getattr(saved, dest)
        if getattr(typed, dest) != theirs:
            flag = args.given[dest]
            value = "" if isinstance(getattr(args, dest), bool) else f" {getattr(args, dest)}"
            setting = ("on" if theirs else "off") if isinstance(theirs, bool) else theirs
            conflicts.append(f"{flag}{value} (the run has {'none' if theirs is None else setting})")
    return conflicts


def _file_identity(path: str | None) -> tuple | None:
    """What tells a file written since: its inode and modification time (None if absent)."""
    try:
        info = os.stat(path) if path else None
    except OSError:
        return None
    return None if info is None else (info.st_ino, info.st_mtime_ns, info.st_size)


def _interrupt_message(args: argparse.Namespace, terminated: bool, before: tuple | None) -> str:
    what = "terminated" if terminated else "interrupted"
    checkpoint = args.checkpoint or args.resume
    now = _file_identity(checkpoint)
    if now is not None and now == before:
        return (
            f"linclass train: {what} before a new checkpoint was written; {checkpoint} is unchanged"
            + (f"; continue with: linclass train --resume {shlex.quote(checkpoint)}" if args.resume else "")
        )
    if now is not None:
        return (
            f"linclass train: {what}; checkpoint saved to {checkpoint}; "
            f"continue with: linclass train --resume {shlex.quote(checkpoint)}"
        )
    if checkpoint:
        return f"linclass train: {what} before the first checkpoint; nothing was saved"
    return (
        f"linclass train: {what}; nothing was saved (add --checkpoint PATH to save a checkpoint you can "
        "resume with --resume PATH)"
    )


def run(args: argparse.Namespace) -> int:
    from linclass.app.experiment import read_checkpoint, resume_training, train_model
    from linclass.app.outputs import check_output_file

    if args.checkpoint_every is not None and args.checkpoint is None and args.resume is None:
        raise UsageError("--checkpoint-every needs --checkpoint PATH")
    if args.device is not None:
        from linclass._devices import resolve_device

        try:  # before any data is read
            resolve_device(args.device, f"--device {args.device}")
        except (ImportError, ValueError) as exc:
            raise UsageError(str(exc)) from exc
    if args.device is not None and on_cluster(args):
        raise UsageError(
            "--device trains with PyTorch here and --scheduler/--workers on a Dask cluster; pick one"
        )
    if args.resume:
        config, state, model_path = read_checkpoint(args.resume)
        conflicts = _resume_conflicts(args, config)
        if conflicts:
            raise UsageError(
                f"--resume {args.resume}: {', '.join(conflicts)}: a resumed run keeps its settings; "
                f"only {', '.join('--' + d.replace('_', '-') for d in RESUME_MAY_CHANGE)} may change"
            )
        if args.epochs is not None and args.epochs < state.epoch:
            raise UsageError(
                f"--epochs {args.epochs}: the run in {args.resume} has already done {state.epoch} epochs; "
                "give at least that many"
            )
        out = args.out or model_path or DEFAULT_OUT
        check_output_file(args.resume, "--resume")
        length = {key: getattr(args, key) for key in ("epochs", "max_iter") if getattr(args, key) is not None}
        refuse_ignored_options(args.given, dataclasses.replace(config, **length))
    else:
        out = args.out or DEFAULT_OUT
        check_data_option("--data", args.data)
        if args.test_data:
            check_data_option("--test-data", args.test_data)
        refuse_conflicting_test_rows(args)
        refuse_ignored_options(args.given, config_from_args(args))
    check_output_file(out, "--out" if args.out or not args.resume else "the run's model file")
    if args.checkpoint:
        check_output_file(args.checkpoint, "--checkpoint")
    callbacks = []
    before = _file_identity(args.checkpoint or args.resume)
    try:
        # Ctrl-C and SIGTERM stop training at the next step boundary, where a checkpoint is whole,
        # and loading or evaluation at once.
        with deferred_interrupts(then_ignore=True), cluster_backend(args) as backend:
            if args.resume:
                epochs = _length(dataclasses.replace(config, **length))
                if not args.quiet and not args.json:
                    print(f"resuming {args.resume}: data={config.data} loss={config.loss}", end=" ")
                    print(f"optimizer={config.optimizer}, epoch {state.epoch}/{epochs}")
                    callbacks.append(_epoch_printer(epochs))
                result = resume_training(
                    args.resume,
                    epochs=args.epochs,
                    max_iter=args.max_iter,
                    device=args.device,
                    checkpoint_path=args.checkpoint or args.resume,
                    checkpoint_every=args.checkpoint_every or 1,
                    callbacks=callbacks,
                    verbose=not args.quiet,
                    model_path=out,
                    backend=backend,
                )
            else:
                config = config_from_args(args)
                if not args.quiet and not args.json:
                    callbacks.append(_epoch_printer(_length(config)))
                result = train_model(
                    config,
                    callbacks=callbacks,
                    checkpoint_path=args.checkpoint,
                    checkpoint_every=(args.checkpoint_every or 1) if args.checkpoint else None,
                    verbose=not args.quiet,
                    model_path=out,
                    backend=backend,
                )
    except KeyboardInterrupt as exc:
        terminated = getattr(exc, "signum", signal.SIGINT) == signal.SIGTERM
        print(_interrupt_message(args, terminated, before), file=sys.stderr)
        return 143 if terminated else 130
    result.model.save(out)
    summary = {
        "data": result.splits.dataset.name or config.data,
        "loss": config.loss,
        "optimizer": config.optimizer,
        "epochs": int(result.model.n_iter_),
        "accuracy": {**result.accuracy, "test": result.accuracy.get("test")},
        "model": str(out),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    elif not args.quiet:
        for split in ("train", "val", "test"):
            if split in result.accuracy:
                print(f"{split} accuracy: {result.accuracy[split]:.4f}")
        if "test" not in result.accuracy:
            print(no_test_split_note(config.data))
        print(f"model written to {out}")
    return 0
