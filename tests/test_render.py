"""Reports: every output format has a renderer; the JSON contract of issue 2; the table,
markdown and CSV shapes; and per-row figures that add up (composites = their leaves, totals =
all leaves), over the bundled specs and random networks."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given, settings

from cnncalc.errors import SpecError
from cnncalc.kinds import KINDS
from cnncalc.loader import bundled_names
from cnncalc.pipeline import analyze_loaded, load, load_text
from cnncalc.render import CSV_COLUMNS, Format, field_cell, layer_label, render
from cnncalc.report import Options, build
from conftest import run_cli
from netgen import load_dict, networks

TOP_KEYS = {"name", "layout", "batch", "dtype", "input_shape", "output_shape", "layers", "totals"}
ROW_KEYS = {"path", "kind", "name", "depth", "leaf", "input_shape", "output_shape", "params",
            "buffers", "macs", "flops", "activation_bytes"}
TOTAL_KEYS = {"params", "trainable_params", "buffers", "macs", "flops", "activation_bytes",
              "param_bytes", "input_bytes"}
FIGURES = ("params", "buffers", "macs", "flops", "activation_bytes")

SMALL = """\
name: small
layout: hwc
input: [8, 8, 3]
blocks:
  unit:
    params: {width: required}
    layers: [conv: {out: $width, kernel: 3, padding: 1}, batchnorm, relu]
layers:
  - unit: {width: 4}
  - residual: {shortcut: auto, layers: [unit: 8]}
  - concat: [[maxpool: 2], [conv: {out: 2, kernel: 2, stride: 2, name: "a|b"}]]
  - flatten
  - linear: 10
"""


def report_of(text: str, **options) -> dict:
    loaded = load_text(text, "small.yaml")
    return build(analyze_loaded(loaded), loaded.name, Options(**options))


@pytest.fixture(scope="module")
def small() -> dict:
    return report_of(SMALL)


def table_text(report: dict, depth=None) -> str:
    from rich.console import Console

    console = Console(file=io.StringIO(), width=200, no_color=True, highlight=False)
    assert render(report, Format.table, depth, console=console) is None
    return console.file.getvalue()


def test_every_format_has_a_renderer(small):
    for fmt in Format:
        if fmt is Format.table:
            assert table_text(small)
        else:
            assert isinstance(render(small, fmt), str) and render(small, fmt)


def test_json_contract(small):
    report = json.loads(render(small, Format.json))
    assert report == small                     # the text is exactly the report
    assert TOP_KEYS <= set(report)
    assert set(report["totals"]) == TOTAL_KEYS
    assert (report["name"], report["layout"], report["batch"], report["dtype"]) == (
        "small", "hwc", 1, "float32")
    assert report["input_shape"] == [8, 8, 3]           # the spec's layout, no batch
    assert report["output_shape"] == [10]
    for row in report["layers"]:
        assert ROW_KEYS <= set(row), row["path"]
        assert isinstance(row["leaf"], bool) and row["flops"] == 2 * row["macs"]
        assert ("args" in row) == ("receptive_field" in row) == row["leaf"]
        assert all(isinstance(d, int) for d in row["input_shape"] + row["output_shape"])
    paths = [row["path"] for row in report["layers"]]
    assert len(paths) == len(set(paths))
    assert paths[:5] == ["0", "0.0", "0.1", "0.2", "1"]
    # hwc: shapes channels last; the first conv is 8×8×4
    assert report["layers"][1]["output_shape"] == [8, 8, 4]


def test_json_with_checks_is_still_one_document():
    result = run_cli("summary", "cs231n_conv", "--format", "json")
    report = json.loads(result.stdout)
    assert [c["ok"] for c in report["checks"]] == [True] * len(report["checks"])
    assert {"where", "figure", "expected", "actual", "ok", "bound", "line", "col"} <= set(
        report["checks"][0])


def test_batch_and_dtype_scale_memory_only(small):
    big = report_of(SMALL, batch=8, dtype="float16")
    assert (big["batch"], big["dtype"]) == (8, "float16")
    t, b = small["totals"], big["totals"]
    assert b["activation_bytes"] == t["activation_bytes"] * 8 * 2 // 4
    assert b["input_bytes"] == t["input_bytes"] * 8 * 2 // 4
    assert b["param_bytes"] == t["param_bytes"] // 2                    # not the batch
    assert (b["params"], b["macs"], b["flops"]) == (t["params"], t["macs"], t["flops"])


def test_table_shape(small):
    text = table_text(small)
    lines = text.splitlines()
    assert lines[0] == "small: input 8×8×3 (hwc)"
    header = lines[1].split("┃")
    assert [h.strip() for h in header] == ["Layer", "Output", "Params", "MACs", "RF"]
    rows = lines[3:3 + len(small["layers"])]
    assert all(line.count("│") == 4 for line in rows)
    # one row per node, in order, indented by depth, with the figures in readable units
    for row, line in zip(small["layers"], rows):
        label = line.split("│")[0]
        assert label.startswith(" " + "  " * row["depth"] + row["path"].rsplit(".", 1)[-1] + " ")
        assert line.split("│")[1].strip() == "×".join(map(str, row["output_shape"]))
    assert "“a|b”" in text                                   # names are shown
    for label in ("Params", "Trainable params", "Buffers", "MACs", "FLOPs", "Input memory",
                  "Activation memory", "Param memory"):
        assert any(line.startswith(label) for line in lines), label
    assert "FLOPs = 2 × MACs" in text


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_labels_hide_exactly_the_defaults(kind):
    """A layer's label shows the arguments its kind's Args model doesn't default to."""
    fields = KINDS[kind].args.model_fields
    defaults = {n: f.default for n, f in fields.items() if not f.is_required()}
    assert layer_label({"path": "a.b", "kind": kind, "args": defaults}).rstrip() == f"b {kind}"
    for name, value in defaults.items():
        other = {True: False, False: True}.get(value, 2) if not isinstance(value, str) else "x"
        written = {True: "true", False: "false"}.get(other, other)    # as the spec writes it
        assert f" {name}={written}" in layer_label(
            {"path": "", "kind": kind, "args": {**defaults, name: other}})


def test_table_depth_collapses_nesting(small):
    text = table_text(small, depth=1)
    rows = [line for line in text.splitlines() if line.count("│") == 4]
    assert len(rows) == sum(1 for row in small["layers"] if row["depth"] == 0) == 5


@pytest.mark.parametrize("command", ["summary", "explain"])
def test_depth_help_says_what_depth_shows(command):
    """`--depth 1` shows the top-level entries (render.visible keeps depth < N): the help says
    "the first N levels", not "levels above N"."""
    result = run_cli(command, "--help")
    text = " ".join(result.stdout.replace("│", " ").split()).replace("top- level", "top-level")
    assert "Show the first N levels of nesting only (1: top-level entries)." in text
    assert "above N" not in text


def test_no_control_characters_reach_a_terminal():
    """Names and block names come from untrusted specs: no escape sequences in any format."""
    report = report_of('name: "n\\e]0;t\\a"\ninput: [1, 4]\nblocks: {"b\\e[2J": {layers: [relu]}}\n'
                       'layers: [relu: {name: "x\\e[31mred"}, "b\\e[2J"]\n')
    # made printable once, where the graph is built (expand.py), for every command's output
    assert report["layers"][0]["name"] == "x\N{REPLACEMENT CHARACTER}[31mred"
    for text in (table_text(report), render(report, Format.markdown), render(report, Format.csv),
                 render(report, Format.json)):
        assert "\x1b" not in text and "\x07" not in text
    assert "x\N{REPLACEMENT CHARACTER}[31mred" in table_text(report)


# Names, block names (one with rich markup, `[/oops]`, and a layer `expect` so it reaches the
# checks table) and an unknown kind, all from the spec: every command shows them as text.
HOSTILE = (
    'name: "n\\e]0;t\\a [/x]"\n'
    'input: [1, 4]\n'
    'blocks: {"b\\e[2J": {layers: [relu]}, "[/oops]": {layers: [relu]}}\n'
    'layers:\n'
    '  - relu: {name: "x\\e[31mred\\x9b1m [/y]"}\n'
    '  - "b\\e[2J": {expect: {params: 5}}\n'
    '  - "[/oops]": {expect: {params: 0}}\n')
INVALID = 'input: [1, 4]\nlayers: ["r\\e[2Jlu"]\n'


@pytest.mark.parametrize("args, status", [
    (["summary", "hostile.yaml"], 1),
    (["summary", "hostile.yaml", "--explain"], 1),
    (["explain", "hostile.yaml"], 1),
    (["inputs", "hostile.yaml"], 0),
    (["check", "hostile.yaml", "invalid.yaml"], 2),
    (["check", "hostile.yaml", "invalid.yaml", "--format", "github"], 2),
    (["check", "hostile.yaml", "invalid.yaml", "--format", "json"], 2),
    (["validate", "hostile.yaml", "--device", "meta"], 0),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_spec_text_reaches_a_terminal_as_text(tmp_path, args, status):
    """No control character and no rich markup from a spec takes effect in any command."""
    if args[0] == "validate":
        pytest.importorskip("torch")
    (tmp_path / "hostile.yaml").write_text(HOSTILE, encoding="utf-8")
    (tmp_path / "invalid.yaml").write_text(INVALID, encoding="utf-8")
    result = run_cli(*args, cwd=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == status, out
    assert "Traceback" not in out and "MarkupError" not in out, out
    assert not any(c in out for c in "\x1b\x07\x9b"), ascii(out)
    if args[0] in ("summary", "explain", "validate"):
        assert "[/oops]" in out                             # shown, not taken for a tag
    if args[0] == "inputs":
        assert "t\N{REPLACEMENT CHARACTER} [/x]: accepted input sizes" in out
    if args[0] == "check" and "json" not in args:
        assert "unknown layer kind `r\N{REPLACEMENT CHARACTER}[2Jlu`" in out
        assert "layer 1 (b\N{REPLACEMENT CHARACTER}[2J) params is 0" in out


def test_markdown_shape(small):
    text = render(small, Format.markdown)
    lines = text.splitlines()
    assert lines[0] == "## small"
    start = lines.index("| Layer | Output | Params | MACs | RF |")
    rows = lines[start + 2:start + 2 + len(small["layers"])]
    assert all(line.startswith("| ") and line.endswith(" |") for line in rows)
    assert "a\\|b" in text                           # a `|` in a name doesn't break the table
    assert all(len(line.replace("\\|", "").split("|")) == 7 for line in rows)
    assert [line.rsplit("|", 2)[1].strip() for line in rows] == [
        field_cell(layer.get("receptive_field")) for layer in small["layers"]]
    assert lines[start + 2 + len(small["layers"])] == ""
    assert f"| Params | {small['totals']['params']:,} (" in text           # the totals table
    depth1 = render(small, Format.markdown, depth=1).splitlines()
    start = depth1.index("| Layer | Output | Params | MACs | RF |") + 2
    assert depth1[start + 5] == "" and depth1[start + 4].startswith("| 4 linear")


def test_csv_shape(small):
    rows = list(csv.reader(io.StringIO(render(small, Format.csv))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 1 + len(small["layers"])
    for line, row in zip(rows[1:], small["layers"]):
        record = dict(zip(CSV_COLUMNS, line))
        assert record["path"] == row["path"] and record["kind"] == row["kind"]
        assert record["output_shape"] == "x".join(map(str, row["output_shape"]))  # ASCII
        assert record["leaf"] == ("true" if row["leaf"] else "false")              # as JSON
        field = row.get("receptive_field")
        assert record["receptive_field"] == (field_cell(field).replace("×", "x") if field else "")
        for figure in FIGURES:
            assert int(record[figure]) == row[figure]
    assert len(list(csv.reader(io.StringIO(render(small, Format.csv, depth=1))))) == 1 + 5


def assert_rows_add_up(report: dict, per_element: int = 4) -> None:
    rows = report["layers"]
    leaves = [row for row in rows if row["leaf"]]
    totals = report["totals"]
    for figure in FIGURES:
        assert totals[figure] == sum(row[figure] for row in leaves), figure
    assert totals["trainable_params"] == totals["params"]
    assert totals["param_bytes"] == totals["params"] * per_element
    for row in rows:
        if row["leaf"]:
            continue
        below = [r for r in leaves if r["path"].startswith(row["path"] + ".")]
        for figure in FIGURES:
            assert row[figure] == sum(r[figure] for r in below), (row["path"], figure)


@pytest.mark.parametrize("name", bundled_names())
def test_rows_add_up_in_every_bundled_spec(name):
    loaded = load(name)
    assert_rows_add_up(build(analyze_loaded(loaded), loaded.name, Options()))


def test_rows_add_up_in_the_small_spec(small):
    assert_rows_add_up(small)


@settings(max_examples=60)
@given(networks(max_layers=5))
def test_rows_add_up_in_random_networks(spec):
    try:
        loaded = load_dict(spec)
        report = build(analyze_loaded(loaded), loaded.name, Options(dtype="float16"))
    except SpecError:
        return                    # the generator is not an oracle: some networks are rejected
    assert_rows_add_up(report, per_element=2)
    assert json.loads(render(report, Format.json)) == report


@pytest.mark.parametrize("name, shape", [("resnet50", "3xHxW"), ("unet", "1xHxW")])
def test_symbolic_table_reads_in_120_columns(name, shape):
    """Issue 16: a symbolic table's long expressions are wrapped to the console's width, and
    wrapping loses none of them (each row's cells, joined, are the unwrapped cells)."""
    import os
    from contextlib import redirect_stderr, redirect_stdout
    from unittest import mock

    from rich.cells import cell_len

    from cnncalc.cli import run

    out = io.StringIO()
    with mock.patch.dict(os.environ, {"NO_COLOR": "1", "COLUMNS": "120"}), \
            redirect_stdout(out), redirect_stderr(io.StringIO()):
        os.environ.pop("FORCE_COLOR", None)
        assert run(["summary", name, "--input", shape]) == 0
    lines = out.getvalue().splitlines()
    assert max(map(cell_len, lines)) <= 120
    assert any("*W" in line for line in lines)      # it is the symbolic table


def test_wrapping_keeps_every_character():
    from rich.cells import cell_len

    from cnncalc.render import TERMS, WORDS, wrapped

    texts = ["64×(floor((H - 1)/2) + 1)×(floor((W - 1)/2) + 1)",
             "32*(3776*(floor((H - 1)/32) + 1)*(floor((W - 1)/32) + 1) + 637) bytes",
             "    conv out=64 kernel=7 stride=2 padding=3 bias=false", "x" * 50]
    for text in texts:
        for width in (12, 17, 25, 40):
            for breaks in (TERMS, WORDS):
                lines = wrapped(text, width, breaks)
                assert all(cell_len(line) <= width for line in lines)
                assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert wrapped("short", 12) == ["short"]
