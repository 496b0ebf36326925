"""The defaults suite's floor table and targets, from a made-up result (no timing here)."""

import numpy as np
import pytest
from benchmarks import defaults, floors, passes

SHAPE = [60000, 784]
# 256 GFLOP/s: a 64-row step's 4 B D C = 2,007,040 flops take 7.84 us
FLOPS = 256e9


def _result(cifar_time, cifar_accuracy):
    return {
        "sklearn": {"time": 8.0},
        "fits": [],
        "epochs": [{"batch": 64, "compiled": 0.030, "limit": 0.0075}],
        "full batch": [{"stored": "uint8", "seconds": 0.010, "limit": 0.0075}],
        "cifar": [
            {"estimator": "LinearClassifier()", "batch": 64, "accuracy": 0.40, "time": 3.0},
            {"estimator": "LinearClassifier(batch_size=256)", "batch": 256, "accuracy": cifar_accuracy,
             "time": cifar_time},
        ],
    }  # fmt: skip


def test_the_floor_table_gives_each_floor_as_a_multiple_of_the_steps_limit():
    result = {"shape": SHAPE, "rows": [
        {"batch": 64, "blas one thread": 30e-6, "blas all threads": 15.68e-6, "fused one thread": 11.76e-6,
         "fused fresh one thread": 23.52e-6, "fused fresh half one thread": 15.68e-6},
        {"batch": 60000, "blas one thread": 0.0147, "blas all threads": 0.00735, "fused one thread": 0.02205},
    ], "per row": {"per row s": 60e-9, "per feature s": 0.2e-9, "width": 784}}  # fmt: skip
    note, _, header, _, *lines = floors.floors_table(result, FLOPS).splitlines()
    assert note == ("The fused gradient costs 60 ns per row (loss, argmax, the sums of the score accumulators) "
                    "plus 200 ps per feature (one thread, from its time at D = 98 and 784): at D = 784 the part "
                    "per row is 28 % of the gradient.")  # fmt: skip
    assert "| fresh rows, 392 columns µs |" in header
    assert lines[0] == "| 64 | 7.84 | 30 | 3.83 | 15.7 | 2 | 11.8 | 1.5 | 23.5 | 3 | 15.7 | 2 |"
    # the full batch reads its rows in order: no fresh-row floors
    assert lines[1] == "| 60,000 (full batch) | 7,350 | 14,700 | 2 | 7,350 | 1 | 22,050 | 3 | – | – | – | – |"


def test_the_cifar_floor_table_has_no_per_row_note():
    result = {"shape": [50000, 3072], "rows": [
        {"batch": 256, "blas one thread": 1e-3, "blas all threads": 5e-4, "fused one thread": 2e-4,
         "fused fresh one thread": 4e-4, "fused fresh half one thread": 2.5e-4},
    ]}  # fmt: skip
    header, _, line = floors.floors_table(result, FLOPS).splitlines()
    assert header.startswith("| rows per step | limit µs |") and "| fresh rows, 1536 columns µs |" in header
    # 4 x 256 x 3072 x 10 flops at 256 GFLOP/s: 122.88 us
    assert line == "| 256 | 123 | 1,000 | 8.14 | 500 | 4.07 | 200 | 1.63 | 400 | 3.26 | 250 | 2.03 |"


def test_the_cifar_target_needs_both_the_accuracy_and_the_time_at_batch_256():
    for time, accuracy, met in [(0.9, 0.395, True), (1.2, 0.41, False), (0.8, 0.385, False)]:
        rows = defaults.targets(_result(time, accuracy))
        assert [row[0] for row in rows] == [
            "SGD epoch, batch 64", "full-batch value + gradient, uint8",
            "CIFAR-10 raw pixels, LinearClassifier(batch_size=256)",
        ]  # fmt: skip
        assert rows[2][1:] == ["test acc ≥ 0.39, fit < 1.0 s", f"acc {accuracy:.4f}, {time:.2f} s", met]


def test_the_pass_floor_table_divides_the_full_batch_by_each_floor():
    result = {"threads": 2, "shape": SHAPE, "rows": [
        {"stored": "uint8", "bytes": 47_040_000, "read": 0.002, "scores": 0.005},
        {"stored": "float32", "bytes": 188_160_000, "read": 0.008, "scores": 0.0125},
    ]}  # fmt: skip
    full = [{"stored": "uint8", "seconds": 0.0095}, {"stored": "float32", "seconds": 0.014}]
    _, _, *lines = passes.pass_floors_table(result, full).splitlines()
    assert lines == ["| uint8 | 2 | 23.5 | 5 | 9.5 | 4.75 | 1.9 |", "| float32 | 8 | 23.5 | 12.5 | 14 | 1.75 | 1.12 |"]


def test_the_hardware_note_says_when_linclass_s_block_outruns_the_gemm_the_limits_rest_on():
    faster = defaults._hardware_note({"gemm": 100.0, "block": 150.0})
    assert faster == (
        " On one thread NumPy's GEMM ran at 100 GFLOP/s and linclass's forward block (4 rows x 5 classes, a "
        "cache-resident 16 x 784 tile) at 150 GFLOP/s (1.50x): the limits below use the GEMM rate, so where "
        "the block is faster they are the BLAS library's limits rather than the hardware's, and the "
        "hardware's are lower by up to that factor."
    )
    assert defaults._hardware_note({"gemm": 100.0, "block": 90.0}).endswith("the GEMM rate is the higher one.")
    assert defaults._hardware_note(None) == ""


def test_each_speed_target_stands_beside_the_floors_of_the_same_run():
    cifar_floors = {"shape": [50000, 3072], "exchange s": 30e-6, "exchange half s": 15e-6, "rows": [
        {"batch": 256, "blas one thread": 1e-3, "blas all threads": 491.52e-6, "fused one thread": 245.76e-6,
         "fused fresh one thread": 491.52e-6, "fused fresh half one thread": 368.64e-6},
    ]}  # fmt: skip
    result = {
        "peak GFLOP/s": FLOPS / 1e9,
        "sklearn": {"time": 8.0},
        "fits": [
            {"estimator": 'optimizer="sgd"', "loop": "compiled", "stored": "uint8", "time": 0.5, "limit": 0.1},
            {"estimator": 'optimizer="sgd"', "loop": "Python", "stored": "uint8", "time": 2.0, "limit": 0.1},
        ],
        "epochs": [{"batch": 64, "compiled": 0.030, "limit": 0.0075}, {"batch": 16, "compiled": 0.05, "limit": 0.0075}],
        "full batch": [{"stored": "uint8", "seconds": 0.010, "limit": 0.0075}],
        "pass floors": {"rows": [{"stored": "uint8", "read": 0.002, "scores": 0.009}]},
        "floors": {"shape": SHAPE, "rows": [
            {"batch": 64, "blas one thread": 30e-6, "blas all threads": 15.68e-6, "fused one thread": 11.76e-6,
             "fused fresh one thread": 23.52e-6, "fused fresh half one thread": 15.68e-6},
            {"batch": 60000, "blas one thread": 0.0147, "blas all threads": 0.00735, "fused one thread": 0.02205},
        ], "exchange s": 7.84e-6, "exchange half s": 3.92e-6, "cifar": cifar_floors},
        "cifar": [
            {"estimator": "LinearClassifier()", "batch": 64, "time": 3.0, "limit": 0.5},
            {"estimator": "LinearClassifier(batch_size=256)", "batch": 256, "time": 1.2, "limit": 0.25},
        ],
    }  # fmt: skip
    nan = float("nan")
    rows = defaults.floor_rows(result)
    # 50x of 8.0 s is 0.16 s, 1.6x the fit's limit: stricter than 3x
    assert rows[0][:3] == ["defaults: sgd, uint8", "≤ 1.60× (3× and 50× LogisticRegression())", 5.0]
    # over the step's 7.84 us: 15.68 (BLAS, all threads), 11.76 cached and its half, 23.52 fresh,
    # its half plus the 3.92 us exchange of half the rows, and the half columns' 15.68
    np.testing.assert_allclose(rows[0][3:], [2.0, nan, 1.5, 0.75, 3.0, 2.0, 2.0])
    assert rows[1][:3] == ["SGD epoch, batch 64", "≤ 3×", 4.0]
    np.testing.assert_allclose(rows[1][3:], [2.0, nan, 1.5, 0.75, 3.0, 2.0, 2.0])
    assert rows[2][:3] == ["full-batch value + gradient, uint8", "≤ 1.5×", 0.010 / 0.0075]
    np.testing.assert_allclose(rows[2][3:], [0.98, 1.2, nan, nan, nan, nan, nan])
    # the fit at batch 256 only: 1.0 s is 4x its 0.25 s limit; the step's limit is 122.88 us
    assert rows[3][:3] == ["CIFAR-10, LinearClassifier(batch_size=256)", "< 1 s: ≤ 4.00×", 4.8]
    np.testing.assert_allclose(rows[3][3:], [4.0, nan, 2.0, 1.0, 4.0, (245.76 + 15) / 122.88, 3.0])
    assert defaults.floor_exchange(result) == (
        "the new weights, 10 × 784 float32, written on one core and read on the other, and the partial "
        "gradient of the same size back: 7.8 µs per step, 3.9 µs for half the classes' rows; 30.0 and "
        "15.0 µs at CIFAR-10's 3,072 features"
    )
    # without the half-rows measurement (results written before it), the whole exchange
    old = {**result, "floors": {**result["floors"], "exchange half s": None}}
    old["floors"].pop("exchange half s")
    assert defaults.floor_rows(old)[1][8] == pytest.approx((11.76 + 7.84) / 7.84)
    assert len(rows) == 4  # batch 16 has no target; the Python loop is not a target
    assert defaults.floor_rows({**result, "floors": None}) == []


def test_the_exchange_floor_reads_each_steps_weights_and_gradient_on_the_other_thread():
    caller, helper, flag = floors._exchange_kernels()
    ctl = np.zeros(16, np.int64)
    Wt, dWt = np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32)
    running = floors.spinning(helper, ctl, Wt, dWt)
    try:
        # step s: the weights all s, the helper's gradient their sum 6 s, read back as 6 x 6 s
        assert caller(ctl, Wt, dWt, 1, 3) == 36 * (1 + 2 + 3)
    finally:
        ctl[flag] = -1
        running.join(timeout=60)
    assert not running.is_alive()
    np.testing.assert_array_equal(dWt, np.full((2, 3), 18.0))
    assert floors.measure_exchange(16, 2, steps=50) > 0
