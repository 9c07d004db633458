"""Data-driven cases: every document of every tests/cases/*.yaml is one case.

A case is a mapping:

    name: conv-7x7-stride-2           # an id for the test report (default: file stem + index)
    spec:                             # a spec, exactly as a user would write it
      input: [1, 7, 7]
      layers: [conv: {out: 1, kernel: 3, stride: 2}]
    options: {batch: 8, dtype: float16}   # optional, as `summary --batch/--dtype`
    expected:                         # only what is listed is compared
      output: [1, 3, 3]               # network output shape, in the spec's layout
      params: 10                      # any key of the report's "totals"
      layers:                         # by node path; any key of a JSON layer row
        "0": {output_shape: [1, 3, 3], macs: 81, receptive_field: {size: [3, 3]}}
      checks:                         # every expect/budget check, in order
        - {where: network, figure: params, ok: true}
      status: 1                       # the exit status `summary` gives (default 0; 2 when a
                                      # check can't be decided)
    # or, for a spec that must be rejected:
    expected:
      error: ["2.33", "stride 2"]     # substrings of the message (with its notes and hints)

(A spec may not carry extra top-level keys, so cases wrap specs instead of annotating them.)
Expected figures come from hand arithmetic written in the files' comments, or from published
sources named there; never from running cnncalc. The spec is handed to the loader as YAML text,
as `summary` reads it; the whole pipeline runs in this process (fast), as `summary` runs it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cnncalc.checks import exit_status, run_checks
from cnncalc.errors import SpecError
from cnncalc.pipeline import analyze_loaded, load_text
from cnncalc.report import Options, build

CASES_DIR = Path(__file__).parent / "cases"
ROW_KEYS = {"path", "kind", "name", "depth", "leaf", "input_shape", "output_shape", "params",
            "buffers", "macs", "flops", "activation_bytes", "args", "receptive_field", "id",
            "from"}
EXPECTED_KEYS = {"output", "params", "trainable_params", "buffers", "macs", "flops",
                 "activation_bytes", "param_bytes", "input_bytes", "layers", "checks", "status",
                 "error", "outputs"}


def load_cases() -> list:
    cases = []
    for file in sorted(CASES_DIR.glob("*.yaml")):
        for i, case in enumerate(yaml.safe_load_all(file.read_text(encoding="utf-8"))):
            if case is None:
                continue
            name = case.get("name", i)
            cases.append(pytest.param(case, id=f"{file.stem}:{name}"))
    return cases


def kind_examples() -> list:
    """The worked example each kind carries (`example` on its object in cnncalc.kinds)."""
    from cnncalc.kinds import BLOCK, COMPOSITES, KINDS

    return [pytest.param(yaml.safe_load(kind.example), id=f"example:{kind.name}")
            for kind in [*KINDS.values(), *COMPOSITES.values(), BLOCK]]


CASES = load_cases()
EXAMPLES = kind_examples()


def test_every_kind_carries_a_worked_example():
    """One example per kind, naming the kind in its spec, with figures to check."""
    from cnncalc.kinds import BLOCK, COMPOSITES, KINDS

    for kind, example in zip([*KINDS.values(), *COMPOSITES.values(), BLOCK], EXAMPLES):
        case = example.values[0]
        assert set(case) <= {"name", "spec", "options", "expected"}, kind.name
        assert case["expected"], kind.name
        if kind is not BLOCK:
            assert kind.name in yaml.safe_dump(case["spec"]), f"{kind.name}'s example doesn't use it"


def run_case(case: dict):
    """(report, checks) as `summary` computes them, or the SpecError it raises."""
    text = yaml.safe_dump(case["spec"], sort_keys=False, allow_unicode=True)
    options = Options(**case.get("options", {}))
    loaded = load_text(text, "case.yaml")
    analysis = analyze_loaded(loaded)
    return build(analysis, loaded.name, options), run_checks(analysis, options, loaded.raw)


def test_the_cases_cover_the_issue():
    """Some figures of the issue must be among the cases, and every leaf and composite kind."""
    assert len(CASES) >= 60
    text = "\n".join(p.read_text(encoding="utf-8") for p in CASES_DIR.glob("*.yaml"))
    from cnncalc.kinds import COMPOSITES, KINDS

    specs = [c.values[0]["spec"] for c in CASES]
    used = set()

    def walk(value):
        if isinstance(value, dict):
            used.update(value)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            used.add(value)

    walk(specs)
    missing = (set(KINDS) | set(COMPOSITES)) - used
    assert not missing, f"no case uses {sorted(missing)}"
    arguments: dict[str, set] = {}

    def arguments_of(value):          # kind -> the arguments some case writes for it
        if isinstance(value, dict):
            for key, args in value.items():
                if key in KINDS and isinstance(args, dict):
                    arguments.setdefault(key, set()).update(args)
                elif key in KINDS and args is not None:
                    arguments.setdefault(key, set()).update(list(KINDS[key].args.model_fields)[:1])
                arguments_of(args)
        elif isinstance(value, list):
            for item in value:
                arguments_of(item)

    arguments_of(specs)
    unused = {k: sorted(set(kind.args.model_fields) - arguments.get(k, set()))
              for k, kind in KINDS.items()}
    assert not {k: v for k, v in unused.items() if v}, "arguments no case writes"
    for figure in ("760", "768_000", "34_944", "2.33", "55, 55, 96"):
        assert figure in text


@pytest.mark.parametrize("case", CASES + EXAMPLES)
def test_case(case):
    expected = case["expected"]
    assert set(expected) <= EXPECTED_KEYS, f"unknown expectation {set(expected) - EXPECTED_KEYS}"
    if "error" in expected:
        with pytest.raises(SpecError) as info:
            run_case(case)
        message = info.value.format()
        for part in expected["error"]:
            assert part in message, f"{part!r} not in:\n{message}"
        assert message.startswith("case.yaml:"), message
        return
    report, checks = run_case(case)
    if "output" in expected:
        assert report["output_shape"] == expected["output"]
    if "outputs" in expected:           # [{id, shape}], as the report's `outputs`
        assert report["outputs"] == expected["outputs"]
    for key, value in expected.items():
        if key in report["totals"]:
            assert report["totals"][key] == value, key
    rows = {row["path"]: row for row in report["layers"]}
    for path, figures in expected.get("layers", {}).items():
        assert str(path) in rows, f"no layer {path}; paths: {sorted(rows)}"
        row = rows[str(path)]
        assert set(figures) <= ROW_KEYS, set(figures) - ROW_KEYS
        for key, value in figures.items():
            if key == "receptive_field":
                assert row[key] is not None, f"{path}: no receptive field"
                for part, numbers in value.items():
                    assert row[key][part] == numbers, f"{path}: receptive_field.{part}"
            elif key == "args":
                for arg, arg_value in value.items():
                    assert row["args"][arg] == arg_value, f"{path}: args.{arg}"
            else:
                assert row[key] == value, f"{path}: {key}"
    if "checks" in expected:
        got = [{"where": c.where, "figure": c.figure, "ok": c.ok} for c in checks]
        assert got == expected["checks"]
    # the status `summary` gives, by its own rule (an undecided check is bad input: 2)
    assert exit_status(checks) == expected.get("status", 0), [c.describe() for c in checks]


def test_summary_exit_status_follows_the_checks(tmp_path):
    """What `status` means above, through the command: 1 with the report and the failed check
    (a failed expectation is not bad input), 0 when every check holds, 2 when one can't be
    decided."""
    from conftest import run_here

    spec = tmp_path / "net.yaml"
    spec.write_text("input: [3, 32, 32]\nlayers: [conv: {out: 10, kernel: 5, padding: 2}]\n"
                    "expect: {params: 750}\nbudget: {macs: 768K}\n")
    result = run_here("summary", spec, "--format", "json")
    assert result.returncode == 1, result.stderr
    checks = json.loads(result.stdout)["checks"]
    assert [(c["figure"], c["ok"], c["line"]) for c in checks] == [("params", False, 3),
                                                                   ("macs", True, 4)]
    spec.write_text(spec.read_text().replace("750", "760"))
    assert run_here("summary", spec).returncode == 0
    # a budget that depends on symbolic sizes can't be decided: 2, even with a failed check
    spec.write_text("input: [3, H, W]\nlayers: [conv: {out: 4, kernel: 3}]\n"
                    "budget: {macs: 1M, params: 100}\n")
    result = run_here("summary", spec, "--format", "json")
    assert result.returncode == 2, result.stderr
    assert [c["ok"] for c in json.loads(result.stdout)["checks"]] == [False, None]
