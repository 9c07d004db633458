"""Wording a newcomer tripped on: each message says what is meant, in the spec's words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.errors import SpecError
from cnncalc.units import bytes_as_written, parse_bytes
from conftest import run_cli


def test_help_lists_every_command_in_whole_sentences():
    from cnncalc.cli import COMMANDS

    result = run_cli("--help")
    lines = {line.split()[0]: line for line in result.stdout.splitlines()
             if line.startswith("  ") and line.split()}
    for name in COMMANDS:
        assert lines[name].rstrip().endswith("."), lines[name]
        assert "e.g." not in lines[name] and "..." not in lines[name]


def test_check_calls_standard_input_stdin_as_summary_does():
    spec = "input: [3, 8, 8]\nlayers: [rleu]\n"
    check = run_cli("check", "-", input=spec)
    summary = run_cli("summary", "-", input=spec)
    assert check.stdout.startswith("<stdin>:2:10: error: unknown layer kind")
    assert summary.stderr.startswith("<stdin>:2:10: error: unknown layer kind")


def test_labels_show_values_as_the_spec_writes_them():
    spec = ("input: [3, 8, 8]\nlayers:\n  - maxpool: {kernel: 3, stride: 2, ceil_mode: true}\n"
            "  - upsample: {scale: 2}\n  - upsample: {scale: 1.5}\n")
    text = run_cli("summary", "-", input=spec).stdout
    assert "ceil_mode=true" in text and "scale=2 " in text and "scale=1.5" in text
    assert "True" not in text and "2.0" not in text


@pytest.mark.parametrize("written, shown", [("1MB", "1 MB"), ("100KB", "100 KB"), ("1.5GB", "1.5 GB"),
                                            ("1MiB", "1 MiB"), ("512KiB", "512 KiB"), ("1TB", "1 TB")])
def test_a_bound_is_shown_in_the_units_it_was_written_in(written, shown):
    assert bytes_as_written(parse_bytes(written)) == shown


@given(st.integers(0, 10**13))
def test_bytes_as_written_is_exact_or_binary(n):
    text = bytes_as_written(n)
    if text.endswith((" KB", " MB", " GB", " TB")):
        value, unit = text.split()
        assert float(value) * 1000 ** ("KMGT".index(unit[0]) + 1) == n


def test_check_reports_1mb_as_1_mb(tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text("input: [3, 512, 512]\nlayers:\n  - conv: {out: 4, kernel: 3, padding: 1}\n"
                    "budget: {activation_memory: 1MB}\n")
    result = run_cli("check", spec)
    assert result.returncode == 1
    assert "over the bound 1 MB (1,000,000 bytes)" in result.stdout
    assert "977 KiB" not in result.stdout


def test_inputs_without_sympy_says_what_it_needs_it_for(monkeypatch, capsys):
    import importlib.util

    from cnncalc.commands.inputs import InputsFormat, inputs

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "sympy" else real(name, *a))
    with pytest.raises(SpecError) as caught:
        inputs("vgg16", None, InputsFormat.table)
    message = caught.value.format()
    assert message.startswith("cnncalc inputs: error: `cnncalc inputs` solves vgg16's input sizes "
                              "as names (H, W) and needs sympy")
    assert "symbolic sizes need" not in message


@pytest.mark.parametrize("text, line", [
    ("input: [3, 8, 8]\nname: x\n- relu\nlayers: [relu]\n", 3),
    ("input: [3, 8, 8]\nlayers:\n  - conv:\n      out: 4\n      kernel: 3\n      - relu\n", 6),
])
def test_a_list_item_among_keys_is_named_as_such(text, line):
    result = run_cli("check", "-", input=text)
    assert result.returncode == 2
    assert f"<stdin>:{line}:" in result.stdout
    assert "a list item (`- `) can't stand among the keys of a mapping" in result.stdout
    assert "indent it like the keys above" not in result.stdout
