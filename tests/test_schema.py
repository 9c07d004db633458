"""The JSON Schema for editors: generated from the models, committed current, every bundled spec
points at it and passes it, and it rejects what cnncalc rejects (for what a schema can see)."""

import json

import jsonschema
import pytest
from hypothesis import given, settings

from cnncalc.errors import SpecError
from cnncalc.expand import COMMON_OPTIONS
from cnncalc.kinds import COMPOSITES, KINDS
from cnncalc.loader import parse_yaml
from cnncalc.pipeline import analyze_loaded, load_text
from cnncalc.schema import build, schema_text
from conftest import ROOT, SPECS, run_cli
from netgen import networks, to_yaml

COMMITTED = ROOT / "schema" / "cnncalc-spec.schema.json"
SCHEMA_LINE = "# yaml-language-server: $schema=../schema/cnncalc-spec.schema.json"
VALIDATOR = jsonschema.Draft202012Validator(build())


def schema_errors(text: str) -> list[str]:
    # Read as editors do (YAML 1.2: `1e-5` is a number), which is how cnncalc reads it too.
    return [e.message for e in VALIDATOR.iter_errors(parse_yaml(text, "spec.yaml"))]


def cnncalc_error(text: str) -> SpecError | None:
    try:
        analyze_loaded(load_text(text, "bad.yaml"))
    except SpecError as exc:
        return exc
    return None


def test_committed_schema_is_current():
    assert COMMITTED.read_text() == schema_text(), (
        "schema/cnncalc-spec.schema.json is out of date: run "
        "`cnncalc schema > schema/cnncalc-spec.schema.json`")


def test_schema_command_prints_it():
    result = run_cli("schema")
    assert result.returncode == 0
    assert result.stdout == COMMITTED.read_text()


def test_schema_is_valid_json_schema():
    schema = json.loads(COMMITTED.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_kind_is_in_the_schema_with_its_arguments():
    defs = build()["$defs"]
    entry = [defs[alt["$ref"].rsplit("/", 1)[-1]] if "$ref" in alt else alt
             for alt in defs["entry"]["anyOf"]]
    keyed = {next(iter(alt["properties"])): alt for alt in entry
             if alt.get("type") == "object" and "required" in alt}
    assert set(keyed) == set(KINDS) | set(COMPOSITES)
    for name, kind in KINDS.items():
        value = keyed[name]["properties"][name]
        args = next(a for a in value.get("anyOf", [value]) if a.get("type") == "object")
        assert set(args["properties"]) == set(kind.args.model_fields) | set(COMMON_OPTIONS)
        assert args["additionalProperties"] is False
        assert set(args.get("required", [])) == {f for f, info in kind.args.model_fields.items()
                                                 if info.is_required()}


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.name)
def test_bundled_spec_points_at_the_schema_and_passes_it(path):
    text = path.read_text()
    assert text.splitlines()[0] == SCHEMA_LINE
    assert schema_errors(text) == []


INVALID = {
    "misspelt argument": "input: [3, 8, 8]\nlayers: [{conv: {out: 4, kernal: 3}}]\n",
    "unknown top-level key": "input: [3, 8, 8]\nlayers: [relu]\nbudgte: {params: 5M}\n",
    "bad count": "input: [3, 8, 8]\nlayers: [relu]\nbudget: {params: 5X}\n",
    "bad memory size": "input: [3, 8, 8]\nlayers: [relu]\nbudget: {activation_memory: 5M}\n",
    "zero size": "input: [0, 8, 8]\nlayers: [relu]\n",
    "missing argument": "input: [3, 8, 8]\nlayers: [{conv: {kernel: 3}}]\n",
    "bare kind that needs arguments": "input: [3, 8, 8]\nlayers: [conv]\n",
    "wrong type": "input: [3, 8, 8]\nlayers: [{conv: {out: 4, kernel: 3, bias: maybe}}]\n",
    "no layers": "input: [3, 8, 8]\nlayers: []\n",
    "no input": "layers: [relu]\n",
    "bad rounding": "input: [3, 8, 8]\nrounding: round\nlayers: [relu]\n",
    "bad layout": "input: [3, 8, 8]\nlayout: cwh\nlayers: [relu]\n",
    "repeat without times": "input: [3, 8, 8]\nlayers: [{repeat: {layers: [relu]}}]\n",
    "bad shortcut": "input: [3, 8, 8]\nlayers: [{residual: {layers: [relu], shortcut: skip}}]\n",
    "misspelt layer expect": "input: [3, 8, 8]\nlayers: [{relu: {expect: {shapes: [3, 8, 8]}}}]\n",
    "misspelt kind": "input: [3, 8, 8]\nlayers: [conv: {out: 4, kernel: 1}, relux]\n",
    "misspelt kind with arguments": ("input: [3, 8, 8]\n"
                                     "layers: [{convolution2d: {out: 4, kernel: 3}}]\n"),
    "misspelt kind in a branch": "input: [3, 8, 8]\nlayers: [{add: [[], [relux]]}]\n",
    "split without a cut": "input: [4, 8, 8]\nlayers: [{split: {branches: [[], []]}}]\n",
    "slice of one value": "input: [4, 8, 8]\nlayers: [{slice: [1]}]\n",
    "when as text": "input: [4, 8, 8]\nlayers: [{relu: {when: sometimes}}]\n",
    "unknown key in a block": ("input: [3, 8, 8]\nblocks:\n  b:\n    params: {w: 4}\n"
                               "    layers: [{conv: {out: $w, kernel: 1, strides: 1}}]\n"
                               "layers: [b]\n"),
}


@pytest.mark.parametrize("name", INVALID)
def test_invalid_specs_are_rejected_by_both(name):
    text = INVALID[name]
    assert schema_errors(text), f"the schema accepts {name!r}"
    assert cnncalc_error(text) is not None, f"cnncalc accepts {name!r}"


def test_an_unknown_kind_is_flagged_unless_the_spec_has_blocks():
    """Without `blocks:` every entry must be a kind, so `relux` is flagged; with blocks a
    schema can't tell a misspelt kind from a block's name (it can't compare a key with the
    names under `blocks:`), and cnncalc says which; a project's schema, written for its specs,
    does too (test_schema_project.py)."""
    text = "input: [3, 8, 8]\nlayers: [relux, {convolution2d: {out: 4}}]\n"
    errors = schema_errors(text)      # one for each entry, as an editor underlines them
    assert len(errors) == 2 and "'relux'" in errors[0] and "convolution2d" in errors[1], errors
    with_blocks = text + "blocks:\n  unit: {layers: [relu]}\n"
    assert schema_errors(with_blocks) == []
    assert "did you mean `relu`?" in cnncalc_error(with_blocks).hints
    assert schema_errors("input: [3, 8, 8]\nlayers: [relu, {sequential: [relu]}]\n") == []


V2_FORMS = """\
input: [8, 8, 8]
outputs: [p1, .]
layers:
  - conv: {out: 8, kernel: 1, id: p1, when: 1}
  - sequential: {layers: [relu], id: s, name: block}
  - concat: {from: [p1, .]}
  - add: {branches: [[], []], when: true}
  - mul: [[], [global_avgpool]]
  - split: {parts: 2, branches: [[], [relu]], from: s}
  - split: {sizes: [4, 12], branches: [[], [slice: [0, -1]]]}
"""


def test_the_version_2_forms_are_in_the_schema():
    """`id`, `from`, `when` on any entry, `outputs`, the mapping forms of the list-form
    composites, `split` and `slice`."""
    assert schema_errors(V2_FORMS) == []
    entry = build()["$defs"]["leaf_conv"]["properties"]["conv"]["anyOf"][0]["properties"]
    assert {"id", "from", "when"} <= set(entry)
    for wrong in ("outputs: [1]", "layers: [{concat: {from: [p1]}}]",
                  "layers: [{split: {parts: 2, sizes: [1, 1], branches: [[], []]}}]",
                  "layers: [{sequential: {entries: [relu]}}]", "layers: [{relu: {id: input}}]"):
        text = "input: [8, 8, 8]\n" + (wrong if wrong.startswith("outputs") else "") + "\n"
        text += "layers: [relu]\n" if wrong.startswith("outputs") else wrong + "\n"
        assert schema_errors(text), wrong


def test_blocks_may_use_parameters_anywhere():
    text = (SPECS / "resnet18.yaml").read_text()
    assert "$width" in text and schema_errors(text) == []
    outside = "input: [3, 8, 8]\nlayers: [{conv: {out: $w, kernel: 1}}]\n"
    assert schema_errors(outside) and cnncalc_error(outside) is not None
    # in a fixed-length list too (YOLO's C2f: the first half of its channels)
    half = ("input: [8, 4, 4]\nblocks:\n  first_half:\n    params: {out: 8}\n"
            "    layers: [{slice: {channels: [0, '${out // 2}']}}]\n"
            "layers: [{first_half: {out: 8}}]\n")
    assert cnncalc_error(half) is None and schema_errors(half) == []
    assert schema_errors(half.replace("'${out // 2}'", "half"))


@settings(max_examples=60)
@given(networks(max_layers=5))
def test_the_schema_accepts_every_network_cnncalc_accepts(spec):
    text = to_yaml(spec)
    if cnncalc_error(text) is None:
        assert schema_errors(text) == []


def test_schema_output_writes_it_and_the_line_for_a_spec(tmp_path):
    result = run_cli("schema", "--output", "editor.schema.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "editor.schema.json").read_text() == COMMITTED.read_text()
    assert result.stdout.splitlines()[-1] == "# yaml-language-server: $schema=editor.schema.json"
    missing = run_cli("schema", "--output", tmp_path / "no" / "such.json")
    assert missing.returncode == 2 and "can't write the schema" in missing.stderr


def test_the_package_carries_the_schema():
    """Installed, cnncalc has the schema beside its code (package data), whatever the project."""
    from importlib.resources import files

    packaged = files("cnncalc") / "spec_schema" / "cnncalc-spec.schema.json"
    assert packaged.read_text(encoding="utf-8") == COMMITTED.read_text()
    assert '"spec_schema/*.json"' in (ROOT / "pyproject.toml").read_text()


def test_the_schemas_description_is_for_spec_writers():
    description = build()["description"]
    assert description.startswith("A CNN for cnncalc")
    assert "Map/Seq" not in description and "expanded" not in description
