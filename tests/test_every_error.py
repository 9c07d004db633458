"""Every independent error of a spec's top level at once (at most 20), each at its own position,
exit status 2; one mistake seen through several union alternatives stays one error."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.errors import SpecError, every_error
from cnncalc.pipeline import load_text
from cnncalc.spec import MAX_ERRORS
from conftest import run_cli

TWO_TYPOS = "input: [3, 32, 32]\nlayout: HWC\nlayers: [relu]\nbudjet: {params: 1}\n"


def test_two_typos_are_reported_in_one_run():
    result = run_cli("summary", "-", input=TWO_TYPOS)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert lines == ["<stdin>:2:9: error: `layout` can't be 'HWC': expected 'chw' or 'hwc'",
                     "<stdin>:4:1: error: the spec has no `budjet`"]
    assert "did you mean `hwc`?" in result.stderr and "did you mean `budget`?" in result.stderr


def test_check_lists_each_with_its_position():
    result = run_cli("check", "-", "--format", "json", input=TWO_TYPOS)
    assert result.returncode == 2
    (report,) = json.loads(result.stdout)
    assert [(p["line"], p["col"]) for p in report["problems"]] == [(2, 9), (4, 1)]
    assert report["status"] == "invalid"


def test_at_most_20_then_a_count():
    keys = "".join(f"extra{i}: 1\n" for i in range(MAX_ERRORS + 5))
    result = run_cli("check", "-", input="input: [3, 8, 8]\nlayers: [relu]\n" + keys)
    assert result.returncode == 2
    assert result.stdout.count(": error: the spec has no `extra") == MAX_ERRORS
    assert "<stdin>: error: … and 5 more errors" in result.stdout


def test_one_mistake_through_union_alternatives_is_one_error():
    # `params` takes a number or a text with a suffix: pydantic complains once per alternative
    for text in ("input: [3, 8, 8]\nlayers: [relu]\nbudget: {params: [1]}\n",
                 "input: [3, x, -2]\nlayers: [relu]\n"):
        try:
            load_text(text, "s.yaml")
        except SpecError as exc:
            errors = every_error(exc)
        fields = [e.message.split("`")[1] for e in errors]
        assert len(fields) == len(set(fields)), [e.message for e in errors]


@settings(max_examples=30)
@given(st.lists(st.sampled_from(["layout: HWC", "rounding: flor", "budjet: 1", "nmae: x",
                                 "expect: {params: -1}", "input: [3, 0, 8]"]),
                min_size=1, max_size=6, unique=True))
def test_each_independent_mistake_is_reported_once_at_its_line(mistakes):
    lines = ["layers: [relu]", *mistakes]
    if not any(m.startswith("input") for m in mistakes):
        lines.insert(0, "input: [3, 8, 8]")
    text = "\n".join(lines) + "\n"
    try:
        load_text(text, "s.yaml")
    except SpecError as exc:
        errors = every_error(exc)
    else:
        raise AssertionError("no error")
    assert sorted(e.pos.line for e in errors) == [lines.index(m) + 1 for m in mistakes]
    assert [e.pos.line for e in errors] == sorted(e.pos.line for e in errors)


def test_a_misspelt_key_is_one_error_but_a_missing_one_beside_an_unknown_one_is_two():
    for text, expected in (("input: [3, 8, 8]\nlayer: [relu]\n", ["the spec has no `layer`"]),
                           ("input: [3, 8, 8]\ncolour: red\n",
                            ["the spec needs `layers`", "the spec has no `colour`"])):
        try:
            load_text(text, "s.yaml")
        except SpecError as exc:
            assert [e.message for e in every_error(exc)] == expected


def test_each_top_level_entry_is_expanded_on_its_own():
    """Mistakes in two entries (an unknown kind, a wrong argument) are both reported, in file
    order; a block's own mistake is reported once, not at each use."""
    text = ("input: [3, 32, 32]\nblocks:\n  b: {layers: [conv: {out: 4, kernal: 3}]}\n"
            "layers:\n  - rleu\n  - conv: {out: 8, kernel: 3, strid: 2}\n  - b\n  - b\n")
    result = run_cli("summary", "-", input=text)
    assert result.returncode == 2
    lines = [line.split(": error: ")[0] for line in result.stderr.splitlines() if ": error: " in line]
    assert lines == ["<stdin>:3:31", "<stdin>:5:5", "<stdin>:6:31"], result.stderr


def test_a_misspelt_key_hides_no_entry_error():
    """The spec's own mistakes and its entries' are reported together (found by a newcomer's
    read: a misspelt top-level key used to hide every entry's mistake)."""
    text = ("input: [3, 32, 32]\nrouding: floor\nlayers:\n  - rleu\n"
            "  - conv: {out: 8, kernel: 3, strid: 2}\n")
    result = run_cli("summary", "-", input=text)
    assert result.returncode == 2
    lines = [line.split(": error: ")[0] for line in result.stderr.splitlines() if ": error: " in line]
    assert lines == ["<stdin>:2:1", "<stdin>:4:5", "<stdin>:5:31"], result.stderr
    assert "did you mean `rounding`?" in result.stderr and "did you mean `relu`?" in result.stderr


def test_version_2_mistakes_in_several_entries_are_reported_together():
    """Each new way to be wrong that the expansion sees (a split's cut or branches, `when`,
    slice's arguments, a parameter naming no kind) is reported at its own line, in one run."""
    text = ("input: [8, 8, 8]\nblocks:\n  b:\n    params: {gate: 3}\n    layers: [$gate: {p: 1}]\n"
            "layers:\n"
            "  - split: {branches: [[], []]}\n"
            "  - split: {parts: 2, branches: [[]]}\n"
            "  - relu: {when: maybe}\n"
            "  - slice: [1]\n"
            "  - b\n")
    result = run_cli("summary", "-", input=text)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert [line.split(": error: ")[0] for line in lines] == [
        "<stdin>:5:14", "<stdin>:7:12", "<stdin>:8:33", "<stdin>:9:18", "<stdin>:10:12"], lines
    assert "`split` needs `sizes`" in lines[1] and "has 1 branch" in lines[2]
    assert "`when` must be a whole number" in lines[3] and "[start, stop]" in lines[4]
    assert "`$gate` stands for a kind or block here, but it is 3" in lines[0]
