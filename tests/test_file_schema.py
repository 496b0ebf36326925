"""Model files and checkpoints that are validly signed but hostile are refused field by field.

Each file is written with ``write_bundle`` (so its checksum is right) from a real model or
state whose metadata one case edits; loading must raise ``ModelFileError`` naming the file and
the field, never ``OverflowError``, ``IndexError``, ``ZeroDivisionError`` or ``RecursionError``.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import linclass
from linclass.app.config import TrainConfig
from linclass.app.experiment import CHECKPOINT_FORMAT, load_checkpoint
from linclass.io import ModelFileError, read_bundle, write_bundle
from linclass.train import TrainState


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    y = np.array(["cat", "dog", "frog"] * 10)
    model = linclass.LinearClassifier(epochs=2, random_state=0).fit(X, y)
    model.image_shape_, model.class_names_ = (2, 2), ("Cat", "Dog", "Frog")
    path = tmp_path_factory.mktemp("m") / "model.npz"
    model.save(path)
    return read_bundle(path, kind="model")


def _edited_model(tmp_path, bundle, edit):
    arrays, meta = copy.deepcopy(bundle)
    edit(arrays, meta)
    path = tmp_path / "hostile.npz"
    write_bundle(path, arrays, meta, kind="model")
    return path


def _set(key, value):
    return lambda arrays, meta: meta.__setitem__(key, value)


def _hyper(key, value):
    return lambda arrays, meta: meta["hyperparameters"].__setitem__(key, value)


def _array(key, value):
    return lambda arrays, meta: arrays.__setitem__(key, value)


MODEL_CASES = [
    (_set("n_iter", 10**30), r"field n_iter is 1000000000000000000000000000000; expected an integer in 0\.\."),
    (_set("n_iter", -3), r"field n_iter is -3; expected an integer in 0\.\."),
    (_set("n_features_in", 5), r"field n_features_in is 5; expected an integer in 4\.\.4"),
    (_set("image_shape", [8, 9]), r"field image_shape is \[8, 9\]; expected \(H, W\) or \(H, W, C\) positive sizes "
                                  r"of 4 values"),  # fmt: skip
    (_set("image_shape", [10**20, 0]), r"field image_shape is \[100000000000000000000, 0\]; expected"),
    (_set("image_shape", "2x2"), r"field image_shape is '2x2'; expected a list"),
    (_set("class_names", ["Cat"]), r"field class_names is \['Cat'\]; expected a list of 3 items"),
    (_set("class_names", ["Cat", 1, None]), r"field class_names is \['Cat', 1, None\]; expected a list of 3 strings"),
    (_set("classes", ["cat", "dog"]), r"field classes is \['cat', 'dog'\]; expected a list of 3 items"),
    (_set("classes", ["cat", "cat", "dog"]), r"field classes is .*; expected 3 distinct classes"),
    (lambda a, m: m.update(classes=[1, 2, 1000], classes_dtype="|i1"),
     r"field classes is \[1, 2, 1000\]; expected a list of 3 values of dtype '\|i1'"),  # fmt: skip
    (_set("classes_dtype", "O4"), r"field classes is .*; expected a list of 3 values of dtype 'O4'"),
    (_set("probability_slope", float("inf")), r"field probability_slope is inf; expected a finite number"),
    (_set("estimator", "os.system"), r"field estimator is 'os.system'; expected one of \['LinearClassifier', "),
    (_set("history", {"loss": [1.0, "x"]}), r"field history.loss is \[1.0, 'x'\]; expected a list of numbers"),
    (_set("extra", 1), r"the metadata has unknown fields \['extra'\]"),
    (_hyper("alpha", -1.0), r"field hyperparameters is refused \(alpha must be"),
    (_hyper("batch_size", 0), r"field hyperparameters is refused \(batch_size must be"),
    (_hyper("loss", "evil"), r"field hyperparameters is refused \(.*'evil'"),
    (_hyper("__class__", 1), r"field hyperparameters has unknown fields \['__class__'\]"),
    (_array("W", np.full((4, 3), np.nan)), r"array 'W' holds NaN or infinite values"),
    (_array("b", np.zeros(2)), r"array 'b' has shape \(2,\) and dtype float64; expected shape \(3,\)"),
    (_array("W", np.zeros((4, 3), dtype=np.int64)), r"array 'W' has shape \(4, 3\) and dtype int64; expected shape"),
    (_array("preprocess_shift", np.zeros(5)), r"array 'preprocess_shift' has shape \(5,\)"),
    (_array("class_weight", -np.ones(3)), r"array 'class_weight' holds negative weights"),
    (_array("evil", np.zeros(1)), r"holds unknown arrays \['evil'\]"),
]


def test_the_unedited_model_loads_and_keeps_its_image_shape_and_names(tmp_path, model_file):
    model = linclass.load(_edited_model(tmp_path, model_file, lambda a, m: None))
    assert model.image_shape_ == (2, 2) and model.class_names_ == ("Cat", "Dog", "Frog")
    assert model.classes_.tolist() == ["cat", "dog", "frog"]


@pytest.mark.parametrize(("edit", "message"), MODEL_CASES)
def test_hostile_model_metadata_is_refused_naming_the_field(tmp_path, model_file, edit, message):
    path = _edited_model(tmp_path, model_file, edit)
    with pytest.raises(ModelFileError, match=rf"hostile\.npz: {message}"):
        linclass.load(path)


# --------------------------------------------------------------------------- checkpoints


def _state(opt_state=()) -> TrainState:
    return TrainState(
        params=(np.ones((4, 3)), np.zeros(3)), opt_state=opt_state,
        rng_state=np.random.default_rng(7).bit_generator.state, n_samples=10, batch_size=4, optimizer="sgd",
        epoch=1, step=1, n_steps=4, n_evaluations=4, permutation=np.arange(10)[::-1].copy(), epoch_loss_sum=1.5,
        epoch_batches=1, epoch_correct=2, epoch_seen=4, elapsed=0.25, history={"loss": [1.0]},
        best_params=(np.ones((4, 3)), np.ones(3)), best_score=0.5, best_epoch=1, bad_epochs=0,
    )  # fmt: skip


def _checkpoint(tmp_path, edit=lambda arrays, meta: None, state=None):
    arrays, meta = (state or _state()).to_bundle()
    metadata = {"format": CHECKPOINT_FORMAT, "config": TrainConfig().to_dict(), "state": meta}
    edit(arrays, metadata)
    path = tmp_path / "run.ckpt"
    write_bundle(path, arrays, metadata, kind="checkpoint")
    return path


def _st(key, value):
    return lambda arrays, meta: meta["state"].__setitem__(key, value)


CHECKPOINT_CASES = [
    (_st("batch_size", 0), r"field state.batch_size is 0; expected an integer in 1\.\.10 or null"),
    (_st("n_samples", 10**400), r"field state.n_samples is 1000.*; expected an integer in 1\.\.9223372036854775807"),
    (_st("step", 3), r"field state.step is 3; expected an integer in 0\.\.2"),
    (_st("epoch_correct", 5), r"field state.epoch_correct is 5; expected an integer in 0\.\.4"),
    (_st("epoch_seen", 11), r"field state.epoch_seen is 11; expected an integer in 0\.\.10"),
    (_st("best_epoch", 2), r"field state.best_epoch is 2; expected an integer in 0\.\.1"),
    (_st("elapsed", -1.0), r"field state.elapsed is -1.0; expected a finite number in 0.0\.\.inf"),
    (_st("epoch", True), r"field state.epoch is True; expected an integer"),
    (_st("rng_state", {"bit_generator": "PCG64", "state": "garbage"}), r"field state.rng_state is .*; expected the "
     r"state of a NumPy bit generator"),  # fmt: skip
    (_st("rng_state", {"bit_generator": "os.system"}), r"field state.rng_state is .*; expected the state of a NumPy "
     r"bit generator \(rng_state names an unknown bit generator 'os.system'\)"),  # fmt: skip
    (_st("rng_state", [1, 2]), r"field state.rng_state is \[1, 2\]; expected a JSON object"),
    (_st("opt_state", [{"int": "x"}]), r"field state.opt_state\[0\].int is 'x'; expected an integer"),
    (_st("opt_state", [{"evil": 1}]), r"field state.opt_state\[0\] has unknown fields \['evil'\]"),
    (_st("opt_state", ["array"]), r"array 'opt_state.0' is missing"),
    (_st("history", {"loss": [None]}), r"field state.history.loss is \[None\]; expected a list of numbers"),
    (_st("n_params", 3), r"field state.n_params is 3; expected an integer in 2\.\.2"),
    (_array("permutation", np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 10**6])),
     r"array 'permutation' is not a permutation of 0\.\.9"),  # fmt: skip
    (_array("permutation", np.zeros(10, dtype=np.int64)), r"array 'permutation' is not a permutation of 0\.\.9"),
    (_array("permutation", np.arange(9)), r"array 'permutation' has shape \(9,\)"),
    (lambda a, m: a.pop("permutation"), r"array 'permutation' is missing, but the run stopped at step 1"),
    (_array("best_params.1", np.ones(4)), r"array 'best_params.1' has shape \(4,\)"),
    (_array("params.0", np.full((4, 3), np.inf)), r"array 'params.0' holds NaN or infinite values"),
    (lambda a, m: m["config"].__setitem__("learning_rate", -1.0), r"field config is refused \(learning_rate"),
    (lambda a, m: m["config"].__setitem__("evil", 1), r"field config is refused \(unknown training settings"),
    (lambda a, m: m.__setitem__("extra", 1), r"the metadata has unknown fields \['extra'\]"),
]


@pytest.mark.parametrize(("edit", "message"), CHECKPOINT_CASES)
def test_hostile_checkpoint_fields_are_refused_naming_the_field(tmp_path, edit, message):
    path = _checkpoint(tmp_path, edit)
    with pytest.raises(ModelFileError, match=rf"run\.ckpt: {message}"):
        load_checkpoint(path)


def test_an_optimizer_state_of_arrays_and_counters_survives_a_checkpoint_bit_for_bit(tmp_path):
    rng = np.random.default_rng(3)
    # the shape of an L-BFGS memory: m pairs (s, y) of W-sized arrays, curvatures, a position, counters
    memory = (rng.standard_normal((5, 4, 3)), rng.standard_normal((5, 4, 3)), rng.standard_normal(5))
    opt_state = (memory, 3, 17, 0.125, float("nan"))
    _, state = load_checkpoint(_checkpoint(tmp_path, state=_state(opt_state)))
    restored = state.opt_state
    for saved, loaded in zip(memory, restored[:3], strict=True):
        assert loaded.dtype == saved.dtype and loaded.tobytes() == saved.tobytes()
    assert restored[3:5] == (3, 17) and type(restored[3]) is int
    assert restored[5] == 0.125 and np.isnan(restored[6])
    assert state.permutation.tolist() == list(range(9, -1, -1)) and state.rng_state == _state().rng_state


def test_the_state_alone_is_validated_by_trainstate_load(tmp_path):
    arrays, meta = _state().to_bundle()
    meta["step"] = -1
    path = tmp_path / "state.npz"
    write_bundle(path, arrays, meta, kind="checkpoint")
    with pytest.raises(ModelFileError, match=r"state\.npz: field step is -1; expected an integer in 0\.\.2"):
        TrainState.load(path)


def test_labels_holding_none_are_a_clear_error_not_a_recursion_error():
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"Unknown label type: y holds None of type NoneType; expected class "
                       r"labels that are all numbers or all strings"):  # fmt: skip
        linclass.LinearClassifier(epochs=1).fit(X, [None, 1, None, 1])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # {b'data': [[[...]]]} nested 20,000 deep: MARK ... LIST, built without recursion
        (b"U\x04data" + b"(" * 20_000 + b"l" * 20_000, r"data is a list nested more than 32 deep"),
        # {(((),),...): 1} nested 20,000 deep: hashing that key recurses in C (200,000 deep segfaults)
        (b")" + b"\x85" * 20_000 + b"K\x01", r"the pickle builds a tuple nested 65 deep"),
    ],
)
def test_deeply_nested_pickles_are_refused_without_recursion(tmp_path, body, message):
    from linclass.datasets import DataFormatError, load_cifar10

    path = tmp_path / "data_batch_1"
    path.write_bytes(b"\x80\x02}" + body + b"s.")
    with pytest.raises(DataFormatError, match=rf"data_batch_1: {message}"):
        load_cifar10(path)
