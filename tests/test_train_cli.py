"""The training figures' interfaces: `summary --train`, `fit`, the `train_memory` budget and
`check --max-train-memory`, `explain --train` and `validate --train`.

The batch convention is the project's: counts (backward FLOPs, like FLOPs) are per sample
whatever `--batch` says; memory is for the whole batch."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli

SPEC = """
input: [3, 16, 16]
layers:
  - conv: {out: 8, kernel: 3, padding: 1}
  - batchnorm
  - relu
  - residual: {layers: [conv: {out: 8, kernel: 3, padding: 1}, gelu]}
  - maxpool: 2
  - flatten
  - dropout
  - linear: 10
"""


def summary(*args, spec: str = SPEC) -> dict:
    result = run_cli("summary", "-", "--format", "json", "--train", *args, input=spec)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_summary_train_json_sums_its_layers_and_keeps_the_batch_convention():
    one, eight = summary(), summary("--batch", "8")
    train = eight["totals"]["train"]
    assert set(train) >= {"optimizer", "forward_flops", "backward_flops",
                          "saved_activation_bytes", "gradient_bytes", "optimizer_bytes",
                          "peak_bytes"}
    leaves = [layer for layer in eight["layers"] if layer["leaf"]]
    # per sample: the same at batch 1 and 8; the first conv's input needs no gradient (F),
    # the other two layers with MACs get both gradients (2F)
    assert "backward_flops" in eight["per_sample"]
    assert train["backward_flops"] == one["totals"]["train"]["backward_flops"]
    assert train["backward_flops"] == sum(layer["backward_flops"] for layer in leaves)
    flops = [layer["flops"] for layer in leaves if layer["flops"]]
    assert train["backward_flops"] == flops[0] + 2 * sum(flops[1:])
    assert train["forward_flops"] == eight["totals"]["flops"]
    # memory for the batch: saved activations sum the layers' (no composite keeps anything
    # here); batch norm's per-channel statistics don't grow with the batch
    assert train["saved_activation_bytes"] == sum(layer["saved_bytes"] for layer in leaves)
    batchnorm = next(layer for layer in leaves if layer["kind"] == "batchnorm")
    stats = 2 * 8 * 4
    assert batchnorm["saved_bytes"] - stats == 8 * (
        next(layer for layer in one["layers"] if layer["kind"] == "batchnorm")["saved_bytes"]
        - stats)
    params = eight["totals"]["params"]
    assert train["gradient_bytes"] == 4 * params
    # Adam: two averages per parameter and a 4-byte step per parameter tensor (4 layers with
    # parameters, weight and bias each)
    assert train["optimizer_bytes"] == 2 * 4 * params + 4 * 2 * 4


def test_summary_train_table_has_the_columns_and_totals():
    result = run_cli("summary", "-", "--train", "--optimizer", "sgd", input=SPEC)
    assert result.returncode == 0, result.stderr
    header = result.stdout.splitlines()[1]
    assert "Bwd FLOPs" in header and "Saved" in header
    assert "Optimizer state (sgd)" in result.stdout and "Peak training memory" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--dtype", "int8"], "training needs a floating-point dtype"),
    (["--input", "3xHxW"], "need numbers for the input sizes"),
])
def test_summary_train_refuses_what_it_cant_train(args, message):
    result = run_cli("summary", "-", "--train", *args, input=SPEC)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_fit_finds_the_largest_batch_that_fits():
    from cnncalc.pipeline import analyze_loaded, load
    from cnncalc.train import TrainOptions, train_figures

    analysis = analyze_loaded(load("resnet18"))

    def peak(batch: int) -> int:
        return train_figures(analysis, TrainOptions(batch, "float32", "adam")).peak_bytes

    result = run_cli("fit", "resnet18", "--memory", "8GiB", "--format", "json")
    assert result.returncode == 0, result.stderr
    fit = json.loads(result.stdout)
    batch = fit["batch"]
    assert peak(batch) <= 8 * 2**30 < peak(batch + 1)
    assert fit["train"]["peak_bytes"] == peak(batch)
    assert fit["stops_fitting"] == {"batch": batch + 1, "peak_bytes": peak(batch + 1)}
    text = run_cli("fit", "resnet18", "--memory", "8GiB").stdout
    assert f"batch {batch:,} fits" in text and f"at batch {batch + 1:,}" in text


def test_fit_exits_1_when_not_even_batch_1_fits():
    result = run_cli("fit", "vgg16", "--memory", "1GB")
    assert result.returncode == 1
    assert "not even batch 1 fits" in result.stdout


def test_the_train_memory_budget_and_its_option():
    spec = SPEC.replace("input:", "budget: {train_memory: 10kB}\ninput:")
    failed = run_cli("check", "-", input=spec)
    assert failed.returncode == 1 and "train memory" in failed.stdout
    assert run_cli("check", "-", "--max-train-memory", "1GB", input=spec).returncode == 0
    assert run_cli("check", "-", "--max-train-memory", "1kB", input=SPEC).returncode == 1


def test_explain_train_says_what_each_layer_keeps():
    result = run_cli("explain", "-", "--train", "--batch", "2", input=SPEC)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "backward FLOPs = 2·weight gradient (its input needs none)" in text
    assert "keeps its input: the network's input, not counted" in text
    assert "keeps the argmax indices for the backward (bytes, batch 2) = 8,192" in text


def test_validate_train_agrees_on_cpu():
    pytest.importorskip("torch")
    result = run_cli("validate", "-", "--train", "--batch", "3", "--device", "cpu",
                     "--format", "json", "--optimizer", "momentum", input=SPEC)
    assert result.returncode == 0, result.stderr
    train = json.loads(result.stdout)["train"]
    assert train["ok"] and train["optimizer"] == "momentum"
    assert train["totals"]["static"] == train["totals"]["torch"]


def test_validate_train_fails_on_a_wrong_rule(monkeypatch):
    """The same check in process, with GELU claiming to keep its output: the layer after the
    residual is charged the GELU's output it keeps (its input) twice over, so they differ."""
    pytest.importorskip("torch")
    from cnncalc.crosscheck.train_diff import compare_train
    from cnncalc.kinds.activation import GELU
    from cnncalc.pipeline import analyze_loaded, load_text

    analysis = analyze_loaded(load_text(SPEC.replace("gelu]}", "gelu, conv: {out: 8, "
                                                                "kernel: 1}]}")))
    assert compare_train(analysis, "cpu", 2, "sgd")["ok"]
    monkeypatch.setattr(GELU, "keeps", "output")
    assert not compare_train(analysis, "cpu", 2, "sgd")["ok"]


def test_csv_and_markdown_carry_the_training_figures():
    csv_text = run_cli("summary", "-", "--train", "--format", "csv", input=SPEC).stdout
    header, first = csv_text.splitlines()[:2]
    assert header.endswith(",backward_flops,saved_bytes")
    report = summary()
    layer = report["layers"][0]
    assert first.endswith(f",{layer['backward_flops']},{layer['saved_bytes']}")
    markdown = run_cli("summary", "-", "--train", "--format", "markdown", input=SPEC).stdout
    assert "| Peak training memory (cuda, in the" in markdown and "Bwd FLOPs per sample" in markdown


def test_validate_train_reports_a_step_pytorch_refuses():
    """Batch norm on a flattened input at batch 1: PyTorch refuses to train it (one value per
    channel); the forward still agrees, and the refusal is the reason for exit status 1."""
    pytest.importorskip("torch")
    result = run_cli("validate", "-", "--train", "--device", "cpu",
                     input="input: [8]\nlayers: [linear: 4, batchnorm, linear: 2]\n")
    assert result.returncode == 1
    assert "✓ every figure agrees" in result.stdout
    assert "PyTorch refused the training step: ValueError: Expected more than 1 value" in \
        result.stderr
    assert "Traceback" not in result.stderr
