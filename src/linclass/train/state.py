"""Everything needed to continue a training run exactly, and its conversion to a file bundle.

A :class:`TrainState` is immutable; the loop replaces it after every completed step, so the
state it holds at any moment (a KeyboardInterrupt included) is consistent. ``to_bundle`` turns
it into ``(arrays, metadata)`` — numeric arrays plus a JSON-safe dict — for
:func:`linclass.io.write_bundle`, and ``from_bundle`` reverses it losslessly: floats travel
through JSON as their shortest repr, which reads back to the same bits, and the Generator's
``bit_generator.state`` travels as Python integers.

The optimizer state is a tree of tuples and NamedTuples; in a bundle it is stored as its flat
list of leaves, and :func:`restore_tree` rebuilds the tree from the template the optimizer's
``init`` gives when training resumes.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from linclass import io
from linclass._devices import is_tensor, on_device_of, to_host
from linclass.schema import MAX_INT, Fields, check_array

Params = tuple[np.ndarray, ...]

STATE_FORMAT = "linclass.TrainState"
STATE_VERSION = 1


def tree_leaves(tree: Any) -> list:
    """The leaves of nested tuples/lists (NamedTuples included), depth first."""
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in tree_leaves(item)]
    return [tree]


def restore_tree(template: Any, leaves: list) -> Any:
    """Rebuild ``template``'s structure from ``leaves``; array leaves must match in shape and dtype."""
    remaining = list(leaves)

    def build(node: Any) -> Any:
        if isinstance(node, (tuple, list)):
            items = [build(item) for item in node]
            if hasattr(node, "_fields"):
                return type(node)(*items)
            return type(node)(items)
        if not remaining:
            raise ValueError("the saved optimizer state has fewer entries than the optimizer expects")
        leaf = remaining.pop(0)
        if isinstance(node, np.ndarray) or is_tensor(node):
            leaf, expected = np.asarray(to_host(leaf)), to_host(node)
            if leaf.shape != expected.shape or leaf.dtype != expected.dtype:
                raise ValueError(
                    f"the saved optimizer state holds an array of shape {leaf.shape} and dtype {leaf.dtype} "
                    f"where the optimizer expects shape {expected.shape} and dtype {expected.dtype}"
                )
            return on_device_of(node, leaf)
        return leaf

    tree = build(template)
    if remaining:
        raise ValueError("the saved optimizer state has more entries than the optimizer expects")
    return tree


def _encode_float(value: float) -> float | str:
    return float(value) if math.isfinite(value) else repr(float(value))


def _json_tree(value: Any) -> Any:
    """``value`` with arrays turned into lists (a Generator state may hold a key array)."""
    if isinstance(value, dict):
        return {key: _json_tree(item) for key, item in value.items()}
    if isinstance(value, (np.ndarray, list, tuple)):
        return [_json_tree(item) for item in value]
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class TrainState:
    """A training run between two steps.

    Attributes:
        params: current ``(W, b)``.
        opt_state: the optimizer's state (a tree of tuples; a flat list of leaves after
            ``from_bundle``).
        rng_state: ``Generator.bit_generator.state`` as of this state.
        n_samples: training samples, checked on resume.
        batch_size: samples per step (None for full-batch optimizers), checked on resume.
        optimizer: the optimizer's registry name, or None for an optimizer object.
        epoch: completed epochs.
        step: completed steps of the current epoch (0 between epochs).
        n_steps: optimizer steps (updates, search steps or L-BFGS iterations) so far.
        n_evaluations: loss evaluations so far (a gradient step counts as one).
        permutation: the current epoch's sample order ``(n_samples,)`` while ``step > 0``.
        epoch_loss_sum, epoch_batches, epoch_correct, epoch_seen: running sums of the
            current epoch (batch objective values, batches, correct predictions, samples).
        elapsed: seconds spent training so far.
        history: per-epoch lists (see :func:`linclass.train.fit`).
        best_params: weights of the best validation epoch, or None.
        best_score: its validation score (higher is better), ``-inf`` before the first.
        best_epoch: its 1-based epoch number, 0 before the first.
        bad_epochs: epochs since the best one (the early-stopping patience counter).
    """

    params: Params
    opt_state: Any
    rng_state: dict
    n_samples: int
    batch_size: int | None = None
    optimizer: str | None = None
    epoch: int = 0
    step: int = 0
    n_steps: int = 0
    n_evaluations: int = 0
    permutation: np.ndarray | None = None
    epoch_loss_sum: float = 0.0
    epoch_batches: int = 0
    epoch_correct: int = 0
    epoch_seen: int = 0
    elapsed: float = 0.0
    history: dict = field(default_factory=dict)
    best_params: Params | None = None
    best_score: float = -math.inf
    best_epoch: int = 0
    bad_epochs: int = 0

    def to_bundle(self) -> tuple[dict[str, np.ndarray], dict]:
        """``(arrays, metadata)``: numeric arrays by name and a JSON-safe dict.

        Example:
            >>> state = TrainState((np.ones((2, 3)), np.zeros(3)), (), {"bit_generator": "PCG64"}, 5)
            >>> arrays, metadata = state.to_bundle()
            >>> sorted(arrays), metadata["epoch"]
            (['params.0', 'params.1'], 0)
        """
        arrays = {f"params.{i}": np.asarray(to_host(p)) for i, p in enumerate(self.params)}
        leaves = []
        for i, leaf in enumerate(tree_leaves(self.opt_state)):
            leaf = to_host(leaf)  # tensors on a device are saved as their host arrays
            if isinstance(leaf, np.ndarray):
                arrays[f"opt_state.{i}"] = leaf
                leaves.append("array")
            elif isinstance(leaf, (bool, np.bool_)) or not isinstance(leaf, (int, float, np.number)):
                kind = type(leaf).__name__
                raise TypeError(f"optimizer state leaf {i} has type {kind}; expected an array or a number")
            elif isinstance(leaf, (int, np.integer)):
                leaves.append({"int": int(leaf)})
            else:
                leaves.append({"float": _encode_float(leaf)})
        if self.permutation is not None:
            arrays["permutation"] = self.permutation
        if self.best_params is not None:
            best = enumerate(self.best_params)
            arrays.update({f"best_params.{i}": np.asarray(to_host(p)) for i, p in best})
        metadata = {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "n_params": len(self.params),
            "opt_state": leaves,
            "rng_state": _json_tree(self.rng_state),
            "n_samples": self.n_samples,
            "batch_size": self.batch_size,
            "optimizer": self.optimizer,
            "epoch": self.epoch,
            "step": self.step,
            "n_steps": self.n_steps,
            "n_evaluations": self.n_evaluations,
            "epoch_loss_sum": self.epoch_loss_sum,
            "epoch_batches": self.epoch_batches,
            "epoch_correct": self.epoch_correct,
            "epoch_seen": self.epoch_seen,
            "elapsed": self.elapsed,
            "history": {key: list(values) for key, values in self.history.items()},
            "best_score": _encode_float(self.best_score),
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
        }
        return arrays, metadata

    @classmethod
    def from_bundle(
        cls, arrays: dict[str, np.ndarray], metadata: dict, source: str = "training state", prefix: str = ""
    ) -> TrainState:
        """Rebuild a state from :meth:`to_bundle`'s output (the optimizer state as a flat list of leaves).

        Every field is validated (see :func:`_validated`); a bad one raises
        :class:`linclass.io.ModelFileError` naming ``source`` and the field (``prefix`` is the
        state's place in the file's metadata, e.g. ``"state."``).
        """
        return cls(**_validated(arrays, Fields(metadata, source, prefix)))

    def save(self, path: str | os.PathLike) -> None:
        """Write the state to ``path`` as a checkpoint bundle, atomically (see :mod:`linclass.io`)."""
        arrays, metadata = self.to_bundle()
        io.write_bundle(path, arrays, metadata, kind="checkpoint")

    @classmethod
    def load(cls, path: str | os.PathLike) -> TrainState:
        """Read a state written by :meth:`save`."""
        arrays, metadata = io.read_bundle(path, kind="checkpoint")
        return cls.from_bundle(arrays, metadata, os.fspath(path))


_STATE_FIELDS = {
    "format", "version", "n_params", "opt_state", "rng_state", "n_samples", "batch_size", "optimizer",
    "epoch", "step", "n_steps", "n_evaluations", "epoch_loss_sum", "epoch_batches", "epoch_correct",
    "epoch_seen", "elapsed", "history", "best_score", "best_epoch", "bad_epochs",
}  # fmt: skip


def _validated(arrays: dict[str, np.ndarray], f: Fields) -> dict[str, Any]:
    """The keyword arguments of a :class:`TrainState`, each checked for type, range and
    consistency with the arrays and the other fields."""
    f.str("format", (STATE_FORMAT,))
    f.int("version", STATE_VERSION, STATE_VERSION)
    f.only(_STATE_FIELDS, _STATE_FIELDS)
    n_params = f.int("n_params", 2, 2)
    W = check_array(f.source, "params.0", arrays.get("params.0"), shape=(None, None))
    params = (W, check_array(f.source, "params.1", arrays.get("params.1"), shape=(W.shape[1],)))
    has_best = "best_params.0" in arrays
    best = tuple(check_array(f.source, f"best_params.{i}", arrays.get(f"best_params.{i}"), shape=p.shape)
                 for i, p in enumerate(params)) if has_best else None  # fmt: skip
    leaves = _opt_state(arrays, f)
    expected = {f"params.{i}" for i in range(n_params)} | {
        f"best_params.{i}" for i in range(n_params) if has_best
    }
    expected |= {f"opt_state.{i}" for i, leaf in enumerate(f.values["opt_state"]) if leaf == "array"}
    n_samples = f.int("n_samples", 1)
    batch_size = f.int("batch_size", 1, n_samples, optional=True)
    epoch = f.int("epoch")
    step = f.int("step", 0, 0 if batch_size is None else -(-n_samples // batch_size) - 1)
    permutation = arrays.get("permutation")
    if permutation is not None:
        expected.add("permutation")
        check_array(f.source, "permutation", permutation, shape=(n_samples,), kinds="iu")
        if not np.array_equal(np.sort(permutation), np.arange(n_samples)):
            raise io.ModelFileError(
                f"{f.source}: array 'permutation' is not a permutation of 0..{n_samples - 1}"
            )
    elif step > 0:
        raise io.ModelFileError(
            f"{f.source}: array 'permutation' is missing, but the run stopped at step {step}"
        )
    if set(arrays) != expected:
        raise io.ModelFileError(f"{f.source}: holds arrays {sorted(arrays)}; expected {sorted(expected)}")
    rng_state = f.sub("rng_state").values
    try:
        generator_from_state(rng_state)
    except (TypeError, ValueError, KeyError, OverflowError, AttributeError) as exc:
        raise f.fail("rng_state", f"the state of a NumPy bit generator ({exc})") from None
    epoch_seen = f.int("epoch_seen", 0, n_samples)
    return dict(
        params=params, opt_state=leaves, rng_state=rng_state, n_samples=n_samples, batch_size=batch_size,
        optimizer=f.str("optimizer", optional=True), epoch=epoch, step=step, n_steps=f.int("n_steps"),
        n_evaluations=f.int("n_evaluations"), permutation=permutation,
        epoch_loss_sum=f.float("epoch_loss_sum", finite=False), epoch_batches=f.int("epoch_batches"),
        epoch_correct=f.int("epoch_correct", 0, epoch_seen), epoch_seen=epoch_seen,
        elapsed=f.float("elapsed", 0.0), history=f.numbers("history"), best_params=best,
        best_score=f.float("best_score", finite=False), best_epoch=f.int("best_epoch", 0, epoch),
        bad_epochs=f.int("bad_epochs", 0, epoch),
    )  # fmt: skip


def _opt_state(arrays: dict[str, np.ndarray], f: Fields) -> tuple:
    """The optimizer state's leaves: arrays (numeric, finite) and integer or float counters."""
    leaves = []
    for i, leaf in enumerate(f.list("opt_state")):
        if leaf == "array":
            array = arrays.get(f"opt_state.{i}")
            shape = (None,) * (0 if array is None else array.ndim)
            leaves.append(check_array(f.source, f"opt_state.{i}", array, shape=shape, kinds="biuf"))
            continue
        item = Fields(leaf, f.source, f"{f.prefix}opt_state[{i}].")
        item.only({"int", "float"})
        if set(leaf) == {"int"}:
            leaves.append(item.int("int", -MAX_INT - 1))
        elif set(leaf) == {"float"}:
            leaves.append(item.float("float", finite=False))
        else:
            raise f.fail(f"opt_state[{i}]", '"array", {"int": N} or {"float": X}', leaf)
    return tuple(leaves)


def generator_from_state(rng_state: dict) -> np.random.Generator:
    """A new Generator positioned at ``rng_state`` (a ``bit_generator.state`` dict)."""
    name = rng_state.get("bit_generator")
    bit_generator_type = getattr(np.random, str(name), None)
    if not (isinstance(bit_generator_type, type) and issubclass(bit_generator_type, np.random.BitGenerator)):
        raise ValueError(f"rng_state names an unknown bit generator {name!r}")
    bit_generator = bit_generator_type()
    bit_generator.state = rng_state
    return np.random.Generator(bit_generator)
