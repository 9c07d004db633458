"""One batch convention: MACs and FLOPs are per sample in `summary` and in `validate` whatever
`--batch` says (memory is for the whole batch), and both say so in the table and the JSON."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli


def test_summary_and_validate_agree_on_flops_at_batch_8():
    pytest.importorskip("torch")
    one = json.loads(run_cli("summary", "cs231n_conv", "--format", "json").stdout)
    summary = json.loads(run_cli("summary", "cs231n_conv", "--format", "json", "--batch", "8").stdout)
    result = run_cli("validate", "cs231n_conv", "--device", "cpu", "--format", "json", "--batch", "8")
    assert result.returncode == 0, result.stderr
    validate = json.loads(result.stdout)
    flops = summary["totals"]["flops"]
    assert flops == one["totals"]["flops"] == 2 * 768_000               # per sample
    assert validate["totals"]["static"]["flops"] == validate["totals"]["torch"]["flops"] == flops
    assert summary["per_sample"] == ["macs", "flops"] and validate["per_sample"] == ["flops"]
    assert summary["totals"]["activation_bytes"] == 8 * one["totals"]["activation_bytes"]


def test_the_tables_label_the_figure():
    table = run_cli("summary", "cs231n_conv", "--batch", "8").stdout
    assert any(line.startswith("FLOPs (per sample)") for line in table.splitlines())
    assert any(line.startswith("MACs (per sample)") for line in table.splitlines())
    pytest.importorskip("torch")
    validate = run_cli("validate", "cs231n_conv", "--device", "cpu", "--batch", "8").stdout
    assert "batch 8 (FLOPs per sample)" in validate and "FLOPs/sample" in validate


def test_a_batch_that_doesnt_divide_the_count_is_a_disagreement():
    from cnncalc.crosscheck.diff import per_sample

    assert per_sample(24, 8) == 3 and isinstance(per_sample(24, 8), int)
    assert per_sample(25, 8) == 25 / 8


# -- --depth in JSON, as in the other formats ------------------------------------------------


@pytest.mark.parametrize("command", [["summary", "--format", "json"], ["explain", "--format", "json"]])
def test_json_honours_depth(command):
    full = json.loads(run_cli(command[0], "resnet18", *command[1:]).stdout)
    cut = json.loads(run_cli(command[0], "resnet18", *command[1:], "--depth", "2").stdout)
    assert [r["path"] for r in cut["layers"]] == [r["path"] for r in full["layers"] if r["depth"] < 2]
    assert len(cut["layers"]) < len(full["layers"])
    assert cut["totals"] == full["totals"]          # the totals still sum every leaf
    csv_rows = run_cli("summary", "resnet18", "--format", "csv", "--depth", "2").stdout.splitlines()
    assert len(csv_rows) - 1 == len(cut["layers"])
