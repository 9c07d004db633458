"""References (`id`, `from`, `concat/add/mul: {from: [...]}`, `outputs`, `upsample: {like: …}`):
scoping as the docs state it, every new error at its position with its hint, the JSON and text
reports, `expect: {outputs: …}`, symbolic sizes, explain, check and validate.

The differential test against PyTorch over random DAGs is in tests/test_validate.py
(`test_random_dags_agree_with_torch`); `cnncalc inputs` against brute force over random DAGs in
tests/test_inputs.py."""

from __future__ import annotations

import json

import pytest

from cnncalc.errors import SpecError, every_error
from cnncalc.pipeline import analyze_loaded, load_text
from conftest import run_cli


def analysis_of(text: str):
    return analyze_loaded(load_text(text, "net.yaml"))


def errors_of(text: str) -> list[str]:
    """Each error as `line:col: message`, with its notes and hints, in file order."""
    with pytest.raises(SpecError) as info:
        analysis_of(text)
    return [e.format().removeprefix("net.yaml:") for e in every_error(info.value)]


# -- every new error, at its position, with its hint ------------------------------------------

ERRORS = {
    "unknown id, did you mean": (
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 1, id: stem}\n"
        "  - relu: {from: stme}\n",
        ["4:18: error: unknown id `stme`", "hint: did you mean `stem`?"]),
    "used before it is defined": (
        "input: [3, 8, 8]\nlayers:\n  - relu: {from: later}\n"
        "  - conv: {out: 4, kernel: 1, id: later}\n",
        ["3:18: error: `later` is used before it is defined",
         "note: `later` is defined at line 4, column 35"]),
    "defined twice in one list": (
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 1, id: a}\n"
        "  - conv: {out: 4, kernel: 1, id: a, from: a}\n",
        ["4:35: error: `a` is defined twice in this list", "note: first defined at line 3, column 5"]),
    "an id called input": (
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 1, id: input}\n",
        ["3:35: error: an entry can't be called `input`: `input` is built in"]),
    "an id called .": (
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 1, id: .}\n",
        ["3:35: error: an entry can't be called `.`: `.` is built in (the previous entry's "
         "output)"]),
    "an id that isn't a name": (
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 1, id: 3x}\n",
        ["3:35: error: `id` must be a name"]),
    "computed but never used": (
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 1, id: p1}\n"
        "  - conv: {out: 4, kernel: 1, from: input}\n",
        ["3:5: error: `p1` is computed but never used", "hint: take it as an input (`from: NAME`), "
         "list it in `outputs:`, or remove it"]),
    "an entry without id never used": (
        "input: [3, 8, 8]\nlayers:\n  - relu\n  - tanh\n  - sigmoid: {from: input}\n",
        ["4:5: error: layer 1 (tanh) is computed but never used"]),
    "a from list of one": (
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 1, id: p1}\n"
        "  - concat: {from: [p1]}\n",
        ["4:20: error: `concat: {from: [...]}` combines two or more entries, not 1"]),
    "a block sees only its own ids": (
        "input: [3, 8, 8]\nblocks:\n  b:\n    layers: [relu: {from: outer}]\n"
        "layers:\n  - conv: {out: 4, kernel: 1, id: outer}\n  - b\n",
        ["4:27: error: unknown id `outer`", "note: in block `b` used at line 7, column 5",
         "in a list this entry can't see"]),
    "an id in a nested list": (
        "input: [3, 8, 8]\nlayers:\n  - sequential: [conv: {out: 4, kernel: 1, id: inner}]\n"
        "  - relu: {from: inner}\n",
        ["4:18: error: unknown id `inner`", "note: `inner` is defined at line 3, column 18, in a "
         "list this entry can't see"]),
    "an unknown output": (
        "input: [3, 8, 8]\nlayers:\n  - relu\noutputs: [relu1]\n",
        ["4:11: error: unknown id `relu1`"]),
    "from takes one name on a leaf": (
        "input: [3, 8, 8]\nlayers:\n  - relu: {from: [a, b]}\n",
        ["3:18: error: `from` names one earlier entry, not [a, b]",
         "hint: a list of names is for `concat`, `add` and `mul`"]),
    "branches and a from list": (
        "input: [3, 8, 8]\nlayers:\n  - relu: {id: a}\n  - add: {branches: [[]], from: [a, .]}\n",
        ["4:33: error: `add` takes `branches` or a list `from`, not both"]),
    "upsample with scale and size": (
        "input: [3, 8, 8]\nlayers:\n  - upsample: {scale: 2, size: 4}\n",
        ["3:15: error: `upsample`: give exactly one of `scale`, `size` and `like`, not `scale` "
         "and `size`"]),
    "upsample like an unknown id": (
        "input: [3, 8, 8]\nlayers:\n  - upsample: {like: imput}\n",
        ["3:22: error: unknown id `imput`", "hint: did you mean `input`?"]),
    "upsample size per axis": (
        "input: [3, 8, 8]\nlayers:\n  - upsample: {size: [4, 4, 4]}\n",
        ["`size` has 3 values but the input has 2 spatial dimensions"]),
    "concat from entries of different sizes": (
        "input: [3, 8, 8]\nlayers:\n  - maxpool: {kernel: 2, id: half}\n"
        "  - concat: {from: [half, input]}\n",
        ["4:5: error: layer 1 (concat): `concat` needs inputs of the same spatial size, but "
         "`half` gives 3×4×4 and `input` gives 3×8×8",
         "hint: resize one of them to the other's size (`upsample: {like: NAME}`)"]),
    "mul from shapes that don't broadcast": (
        "input: [4, 8, 8]\nlayers:\n  - conv: {out: 3, kernel: 1, id: c}\n"
        "  - mul: {from: [c, input]}\n",
        ["`mul` needs shapes that broadcast", "but `c` gives 3×8×8 and `input` gives 4×8×8"]),
}


@pytest.mark.parametrize("name", ERRORS)
def test_each_error_is_at_its_position_with_its_hint(name):
    text, parts = ERRORS[name]
    message = "\n".join(errors_of(text))
    for part in parts:
        assert part in message, f"{part!r} not in:\n{message}"


def test_errors_exit_2_and_every_entry_is_reported_in_one_run():
    text = ("input: [3, 8, 8]\nlayers:\n  - relu: {from: nope}\n  - tanh: {from: never}\n")
    result = run_cli("summary", "-", input=text)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert lines == ["<stdin>:3:18: error: unknown id `nope`",
                     "<stdin>:4:18: error: unknown id `never`"]
    assert "Traceback" not in result.stderr


def test_a_failed_entry_s_id_is_not_a_second_error():
    # `a`'s own mistake is told; its use below is not "unknown id `a`"
    messages = errors_of("input: [3, 8, 8]\nlayers:\n  - conv: {out: 0, kernel: 1, id: a}\n"
                         "  - relu: {from: a}\n")
    assert len(messages) == 1 and "unknown id" not in messages[0]


# -- scoping ----------------------------------------------------------------------------------

def test_a_block_used_twice_and_a_repeat_with_an_id_never_clash():
    a = analysis_of("input: [2, 6, 6]\nblocks:\n  res:\n    layers:\n"
                    "      - conv: {out: 2, kernel: 3, padding: 1, id: c}\n"
                    "      - add: {from: [c, input]}\n"
                    "layers:\n  - res\n  - res\n"
                    "  - repeat: {times: 3, layers: [relu: {id: r}, add: {from: [r, input]}]}\n")
    rows = {row.node.path: row for row in a.rows}
    # each use reads its own `c` and `input` (its use's input); each repetition its own `r`
    # (a repeat is not a block: `input` there is the network's)
    assert rows["0.1"].node.refs == (("0.0", "out"), ("0", "in"))
    assert rows["1.1"].node.refs == (("1.0", "out"), ("1", "in"))
    assert rows["2.2.1"].node.refs == (("2.2.0", "out"), ("", "in"))
    assert a.output_shape == (2, 6, 6)


def test_a_nested_list_may_shadow_an_outer_name_and_means_its_own_inside():
    a = analysis_of("input: [2, 6, 6]\nlayers:\n  - conv: {out: 5, kernel: 1, id: x}\n"
                    "  - sequential:\n      layers:\n        - maxpool: {kernel: 2, id: x}\n"
                    "        - relu: {from: x}\n      id: s\n"
                    "  - conv: {out: 3, kernel: 1, from: x}\n"
                    "outputs: [s, .]\n")
    rows = {row.node.path: row for row in a.rows}
    assert rows["1.1"].input_shape == (5, 3, 3)        # the inner x: pooled
    assert rows["2"].input_shape == (5, 6, 6)          # the outer x: the conv
    assert [shape for _, shape, _ in a.outputs] == [(5, 3, 3), (3, 6, 6)]


def test_input_is_the_network_s_at_the_top_and_the_use_s_in_a_block():
    a = analysis_of("input: [3, 8, 8]\nblocks:\n  b:\n    layers:\n"
                    "      - conv: {out: 4, kernel: 1}\n      - concat: {from: [., input]}\n"
                    "layers:\n  - conv: {out: 6, kernel: 1}\n"
                    "  - sequential: [relu, concat: {from: [., input]}]\n  - b\n")
    rows = {row.node.path: row for row in a.rows}
    assert rows["1.1"].output_shape == (6 + 3, 8, 8)   # `input` in a nested list: the network's
    assert rows["2.1"].output_shape == (4 + 9, 8, 8)   # in a block: the use's input (9 channels)


# -- reports ----------------------------------------------------------------------------------

TWO_OUTPUTS = """\
input: [3, 16, 16]
layers:
  - conv: {out: 8, kernel: 3, padding: 1, id: c1}
  - maxpool: {kernel: 2, id: p}
  - upsample: {like: c1}
  - concat: {from: [., c1]}
outputs: [p, .]
expect: {outputs: [[8, 8, 8], [16, 16, 16]]}
"""


def test_json_lists_the_outputs_and_output_shape_is_null_with_several():
    result = run_cli("summary", "-", "--format", "json", input=TWO_OUTPUTS)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["outputs"] == [{"id": "p", "shape": [8, 8, 8]}, {"id": ".", "shape": [16, 16, 16]}]
    assert report["output_shape"] is None
    rows = {row["path"]: row for row in report["layers"]}
    assert rows["0"]["id"] == "c1" and rows["3"]["from"] == ["2", "c1"]
    # conv (3·9·3 + 1)·8 = 224 params, 16·16·8·27 = 55,296 MACs: the only layer with figures
    assert report["totals"]["params"] == 224 and report["totals"]["macs"] == 55_296
    one = json.loads(run_cli("summary", "-", "--format", "json",
                             input="input: [3, 4, 4]\nlayers: [relu]\n").stdout)
    assert one["outputs"] == [{"id": ".", "shape": [3, 4, 4]}] and one["output_shape"] == [3, 4, 4]


def test_the_text_summary_shows_each_output_and_a_wrong_expectation_fails():
    result = run_cli("summary", "-", input=TWO_OUTPUTS)
    assert result.returncode == 0, result.stderr
    assert "Outputs: p 8×8×8, . 16×16×16" in " ".join(result.stdout.split())
    wrong = TWO_OUTPUTS.replace("[[8, 8, 8], [16, 16, 16]]", "[[8, 8, 8], [8, 16, 16]]")
    result = run_cli("summary", "-", input=wrong)
    assert result.returncode == 1
    assert "8×8×8, 16×16×16" in result.stdout + result.stderr


def test_explain_names_what_each_reference_reads():
    result = run_cli("explain", "-", input=TWO_OUTPUTS.replace(
        "  - concat: {from: [., c1]}", "  - concat: {from: [., c1], id: j}\n"
        "  - conv: {out: 2, kernel: 1, from: p, id: q}\n  - relu: {from: input}").replace(
        "outputs: [p, .]", "outputs: [j, q, .]").replace("expect: {outputs: [[8, 8, 8], [16, 16, 16]]}\n", ""))
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "its input is the output of p (8×8×8), not the previous entry's" in text
    assert "its input is the network's input (3×16×16)" in text
    assert "the spatial size of `c1`'s output (8×16×16)" in text
    assert "the outputs of layer 2 (upsample) (8×16×16) and c1 (8×16×16), joined along channels" in text
    assert "C0 + C1 = 8 + 8 = 16" in text


def test_check_and_budgets_count_every_entry_an_output_depends_on():
    result = run_cli("check", "-", "--max-params", "223", input=TWO_OUTPUTS)
    assert result.returncode == 1
    assert run_cli("check", "-", "--max-params", "224", input=TWO_OUTPUTS).returncode == 0


# -- symbolic sizes ---------------------------------------------------------------------------

def test_like_follows_symbolic_sizes_and_concat_of_references_records_its_condition():
    a = analysis_of("input: [3, H, W]\nlayers:\n  - conv: {out: 4, kernel: 3, padding: 1, id: c}\n"
                    "  - maxpool: 2\n  - upsample: {like: c}\n  - add: {from: [., c], id: s}\n"
                    "  - maxpool: {kernel: 2, from: input, id: q}\n"
                    "  - concat: {from: [q, input]}\noutputs: [s, .]\n")
    rows = {row.node.path: row for row in a.rows}
    assert [str(d) for d in rows["2"].output_shape] == ["4", "H", "W"]
    # a 2×2 pool of the input and the input itself: equal spatial sizes at no size
    texts = " ".join(c.as_dict()["text"] for c in a.constraints)
    assert "concat" in texts


def test_inputs_solves_a_network_with_references():
    spec = ("input: [3, H, W]\nlayers:\n  - conv: {out: 4, kernel: 3, stride: 2, id: c}\n"
            "  - conv: {out: 4, kernel: 3, stride: 2}\n  - upsample: {like: c}\n"
            "  - add: {from: [., c]}\n")
    result = run_cli("inputs", "-", "--format", "json", input=spec)
    assert result.returncode == 0, result.stderr
    dims = json.loads(result.stdout)["dims"]
    # (H − 3)/2 + 1 whole, then ((H − 3)/2 + 1 − 3)/2 + 1 whole and at least 1: H ≡ 3 (mod 4),
    # H ≥ 7; the resize back to `c`'s size and the add add no condition
    for name in ("H", "W"):
        assert (dims[name]["period"], dims[name]["residues"], dims[name]["min"]) == (4, [3], 7)


# -- validate: a tuple in `outputs` order ----------------------------------------------------

def test_validate_runs_several_outputs_as_a_tuple(tmp_path):
    pytest.importorskip("torch")
    spec = tmp_path / "two.yaml"
    spec.write_text(TWO_OUTPUTS)
    result = run_cli("validate", str(spec), "--device", "cpu", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"]
    assert report["totals"]["torch"]["output_shape"] == [[8, 8, 8], [16, 16, 16]]


def test_a_name_its_when_removed_says_so_where_it_is_read():
    """The expander's hook for `when` (an entry removed defines no name): reading it is an
    error that says why, not "unknown id"."""
    from cnncalc.errors import Pos
    from cnncalc.expand import _Expander, _Scope

    ex = _Expander(load_text("input: [3, 8, 8]\nlayers: [relu]\n").spec)
    ex.scope = _Scope(None, ("", "in"), ("", "in"))
    ex.removed("se", Pos(3, 5))
    with pytest.raises(SpecError) as info:
        ex.lookup("se", Pos(4, 20))
    assert info.value.message == "`se` is removed by its `when` here, so it has no output to read"
    assert info.value.notes == ["`se` is at line 3, column 5"]


def test_from_on_a_composite_gives_its_branches_their_input():
    a = analysis_of("input: [3, 8, 8]\nlayers:\n  - conv: {out: 5, kernel: 1, id: a}\n"
                    "  - conv: {out: 2, kernel: 1, id: b}\n"
                    "  - concat: {branches: [[], [relu]], from: a, id: j}\n"
                    "  - sequential: {layers: [relu], from: b}\noutputs: [j, .]\n")
    rows = {row.node.path: row for row in a.rows}
    assert rows["2"].input_shape == (5, 8, 8) and rows["2"].output_shape == (10, 8, 8)
    assert rows["3"].input_shape == (2, 8, 8)
    assert [shape for _, shape, _ in a.outputs] == [(10, 8, 8), (2, 8, 8)]
