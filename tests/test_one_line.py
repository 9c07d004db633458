"""The one-line questions `cnncalc conv` and `pool`: the transposed convolution (`--transpose`,
`--output-padding`) and errors as JSON under `--json`."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc.commands.conv import Layout, Rounding, conv
from cnncalc.commands.inputs import compact
from cnncalc.errors import SpecError
from conftest import run_cli


def run_conv(capsys, **options):
    defaults = dict(stride="1", padding="0", dilation="1", groups=1, bias=True, layout=Layout.hwc,
                    rounding=Rounding.strict, as_json=False, transpose=False, output_padding="0")
    try:
        status = conv(**{**defaults, **options})
    except SpecError:        # the command's wrapper turns it into exit status 2
        status = 2
    return status, capsys.readouterr()


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(1, 40), kernel=st.integers(1, 7), stride=st.integers(1, 4),
       padding=st.integers(0, 3), dilation=st.integers(1, 3), data=st.data())
def test_transposed_output_size_is_the_formula(capsys, size, kernel, stride, padding, dilation, data):
    extra = data.draw(st.integers(0, max(stride, dilation) - 1))
    status, out = run_conv(capsys, shape=f"{size}x{size}x3", filters=4, kernel=str(kernel),
                           stride=str(stride), padding=str(padding), dilation=str(dilation),
                           transpose=True, output_padding=str(extra))
    expected = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + extra + 1
    if expected < 1:
        assert status == 2
        return
    assert status == 0, out.err
    assert f"→ {expected}×{expected}×4" in out.out
    shown = re.search(r"out = \(W − 1\)·S − 2P \+ D·\(F − 1\) \+ output_padding \+ 1 = (.*) = (-?\d+)", out.out)
    assert shown and int(shown.group(2)) == expected
    assert f"({size} − 1)·{stride} − 2·{padding} + {dilation}·({kernel} − 1) + {extra} + 1" == shown.group(1)
    # params of ConvTranspose2d(3, 4, kernel): weight 3·4·F·F, bias 4
    assert f"= {3 * 4 * kernel * kernel + 4:,}" in out.out


def test_transposed_one_liner_on_the_command_line():
    result = run_cli("conv", "16x16x3", "--filters", "8", "--kernel", "3", "--stride", "2",
                     "--padding", "1", "--output-padding", "1", "--transpose")
    assert result.returncode == 0, result.stderr
    assert "16×16×3 → 32×32×8" in result.stdout
    assert "(16 − 1)·2 − 2·1 + 1·(3 − 1) + 1 + 1 = 32" in result.stdout


def test_transposed_errors_name_the_command_and_options():
    result = run_cli("conv", "16x16x3", "--filters", "8", "--kernel", "3", "--stride", "2",
                     "--output-padding", "2", "--transpose")
    assert result.returncode == 2
    assert result.stderr.startswith("cnncalc conv: error: output_padding 2 along H must be smaller")
    forward = run_cli("conv", "16x16x3", "--filters", "8", "--kernel", "3", "--output-padding", "1")
    assert forward.returncode == 2
    assert "--output-padding belongs to a transposed convolution" in forward.stderr
    same = run_cli("conv", "16x16x3", "--filters", "8", "--kernel", "3", "--padding", "same", "--transpose")
    assert same.returncode == 2 and "--padding same is for a forward convolution" in same.stderr


# -- inputs --upto: runs, not every number ---------------------------------------------------


def expand(text: str) -> list[int]:
    """The sizes that `compact` text stands for."""
    values: list[int] = []
    parts = text.split(", ") if text else []
    i = 0
    while i < len(parts):
        part = parts[i]
        if "–" in part:
            low, high = map(int, part.split("–"))
            values += range(low, high + 1)
        elif i + 2 < len(parts) and parts[i + 2] == "…":
            first, second, last = int(part), int(parts[i + 1]), int(parts[i + 3])
            values += range(first, last + 1, second - first)
            i += 3
        else:
            values.append(int(part))
        i += 1
    return values


@given(st.sets(st.integers(1, 200), max_size=60))
def test_compact_stands_for_exactly_the_sizes(sizes):
    values = sorted(sizes)
    text = compact(values)
    assert expand(text) == values
    assert "–" not in text or any(b - a == 1 for a, b in zip(values, values[1:]))


def test_compact_reads_as_runs():
    assert compact(list(range(1, 513))) == "1–512"
    assert compact(list(range(32, 513, 32))) == "32, 64, …, 512"
    assert compact([7, 9, 10, 11, 12]) == "7, 9–12"
    assert compact([1, 2]) == "1, 2"


def test_inputs_upto_prints_runs():
    result = run_cli("inputs", "resnet50", "--upto", "512")
    assert result.returncode == 0
    rows = [line for line in result.stdout.splitlines() if "│" in line]
    assert len(rows) == 2 and all(row.rstrip().endswith("1–512") for row in rows)
    assert max(map(len, result.stdout.splitlines())) <= 120


# -- --json: an error is JSON on standard output too --------------------------------------


@pytest.mark.parametrize("args, message", [
    (("conv", "224x224x3", "--filters", "96", "--kernel", "11", "--stride", "4"), "54.25, not a whole number"),
    (("conv", "22x22x3", "--filters", "0", "--kernel", "1"), "--filters 0 is out of range"),
    (("conv", "22x", "--filters", "3", "--kernel", "1"), "isn't a size"),
    (("pool", "22x22x3", "--kernel", "5", "--stride", "2"), "9.5, not a whole number"),
    (("pool", "22x22x3", "--kernel", "2", "--type", "avg", "--dilation", "2"), "average pooling has no dilation"),
    (("solve", "22x22x3", "11x11"), "keeps the number of axes"),
    # usage errors, from the option parser
    (("conv", "22x22x3", "--filters", "3", "--kernel", "1", "--layout", "xyz"), "Invalid value for '--layout'"),
    (("conv", "22x22x3", "--filters", "3"), "Missing option '--kernel'"),
    (("pool", "22x22x3", "--kernel", "2", "--bogus"), "No such option: --bogus"),
])
def test_json_errors_are_json_on_stdout(args, message):
    result = run_cli(*args, "--json")
    assert result.returncode == 2
    error = json.loads(result.stdout)["error"]
    assert message in error["message"]
    assert error["where"] == f"cnncalc {args[0]}"
    assert message in result.stderr          # and the text for people, as without --json
    if "54.25" in message:
        assert error["hints"] == ["stride 1 (→ 214) or 3 (→ 72) would fit",
                                  "an input of 227x227x3 (or 223x223x3) would fit",
                                  "or pass `--rounding floor` to accept PyTorch's flooring"]


def test_usage_errors_without_json_stay_text():
    result = run_cli("conv", "22x22x3", "--filters", "3", "--layout", "xyz")
    assert result.returncode == 2 and result.stdout == ""
    assert "Invalid value for '--layout'" in result.stderr
