"""A project's schema (`cnncalc schema SPEC...`): its block uses are the blocks those specs
define, with their parameters, so an unknown kind is flagged in a spec with blocks too, where
the generic schema takes any other name for a block. Every bundled spec passes its own schema
and the zoo's; each mistake it flags, cnncalc flags too."""

import json
import subprocess
import sys

import jsonschema
import pytest
from hypothesis import given, settings
from test_schema import INVALID, cnncalc_error

from cnncalc.errors import SpecError
from cnncalc.loader import parse_yaml
from cnncalc.schema import build, project_blocks, schema_text
from conftest import ROOT, SPECS, cli_env, run_cli
from netgen import networks, to_yaml

ZOO = sorted(SPECS.glob("*.yaml"))


def validator(*texts: str) -> jsonschema.Draft202012Validator:
    schema = build(project_blocks([(text, f"spec{i}.yaml") for i, text in enumerate(texts)]))
    return jsonschema.Draft202012Validator(schema)


def errors(schema: jsonschema.Draft202012Validator, text: str) -> list:
    return list(schema.iter_errors(parse_yaml(text, "spec.yaml")))


def test_the_project_schema_is_a_json_schema_and_the_generic_one_is_unchanged():
    zoo = build(project_blocks([(p.read_text(), p.name) for p in ZOO]))
    jsonschema.Draft202012Validator.check_schema(zoo)
    assert zoo["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "alexnet.yaml" in zoo["description"] and "write it again" in zoo["description"]
    assert build(None) == build() == json.loads((ROOT / "schema" / "cnncalc-spec.schema.json")
                                                .read_text())


@pytest.mark.parametrize("path", ZOO, ids=lambda p: p.name)
def test_every_bundled_spec_passes_its_own_schema(path):
    text = path.read_text()
    assert errors(validator(text), text) == []


ZOO_SCHEMA = None


def zoo_schema() -> jsonschema.Draft202012Validator:
    global ZOO_SCHEMA
    if ZOO_SCHEMA is None:
        ZOO_SCHEMA = validator(*(p.read_text() for p in ZOO))
    return ZOO_SCHEMA


def test_every_bundled_spec_passes_the_zoos_schema():
    """One schema for the whole folder: a block name several specs define differently (`stage`,
    `conv_bn`) takes the parameters of one definition or another."""
    for path in ZOO:
        assert errors(zoo_schema(), path.read_text()) == [], path.name


@pytest.mark.parametrize("name", INVALID)
def test_what_the_generic_schema_rejects_the_zoos_rejects(name):
    assert errors(zoo_schema(), INVALID[name]), f"the zoo's schema accepts {name!r}"


RESNET18 = (SPECS / "resnet18.yaml").read_text()


@pytest.mark.parametrize("wrong", ["relux", "{convolution2d: {out: 4, kernel: 3}}"])
def test_a_misspelt_kind_is_flagged_in_a_spec_with_blocks(wrong):
    """The issue's cases, in the zoo's resnet18 (which has blocks): the generic schema accepts
    them (a name that is no kind may be a block); the spec's own schema flags the entry, at
    its place, as an editor underlines it, and cnncalc rejects it too."""
    assert "\nblocks:" in RESNET18
    text = RESNET18.rstrip("\n") + f"\n  - {wrong}\n"
    last = len(parse_yaml(text, "spec.yaml")["layers"]) - 1
    generic = jsonschema.Draft202012Validator(build())
    assert errors(generic, text) == []
    for schema in (validator(RESNET18), zoo_schema()):
        found = errors(schema, text)
        assert [list(e.absolute_path) for e in found] == [["layers", last]], found
    assert cnncalc_error(text) is not None


BLOCKS = """\
input: [4, 9, 9]
blocks:
  unit:
    params: {w: required, s: 1}
    layers: [{conv: {out: $w, kernel: 3, stride: $s, padding: 1}}, relu]
  plain:
    layers: [relu]
  wrap:
    params: {w: 4, act: relu, inner: unit}
    layers:
      - unit: {w: $w}
      - $act
      - $inner: {w: $w, when: "${w > 2}"}
      - residual: {layers: [plain, {unit: $w}]}
"""

RIGHT = [
    "{unit: {w: 4}}", "{unit: {w: 4, s: 2}}", "{unit: 4}", "plain", "{plain: null}",
    "{plain: {name: p, id: p1}}", "wrap", "{wrap: 8}", "{wrap: {w: 8, act: hardswish}}",
    "{unit: {w: 4, when: false}}", "{residual: {layers: [plain, {unit: {w: 4}}]}}",
]


@pytest.mark.parametrize("use", RIGHT)
def test_a_right_block_use_is_accepted(use):
    text = BLOCKS + f"layers:\n  - {use}\n"
    assert cnncalc_error(text) is None, use
    assert errors(validator(text), text) == []


WRONG = {
    "misspelt kind": "relux",
    "misspelt kind with arguments": "{convolution2d: {out: 4, kernel: 3}}",
    "misspelt block": "{unti: {w: 4}}",
    "misspelt kind in a branch": "{residual: {layers: [plain, relux]}}",
    "misspelt parameter": "{unit: {w: 4, stide: 2}}",
    "missing parameter": "{unit: {s: 2}}",
    "bare use of a block that needs a parameter": "unit",
    "no arguments where one is needed": "{unit: null}",
    "a value for a block without parameters": "{plain: 4}",
    "a parameter given to a block without parameters": "{plain: {w: 4}}",
    "a kind's argument given to a block": "{unit: {w: 4, kernel: 3}}",
    "a parameter outside a block": "{unit: {w: $w}}",
    "a parameter outside a block, as the first": "{unit: $w}",
    "a bad option": "{unit: {w: 4, id: input}}",
}


@pytest.mark.parametrize("name", WRONG)
def test_a_wrong_block_use_is_flagged_by_both(name):
    text = BLOCKS + f"layers:\n  - {WRONG[name]}\n"
    assert errors(validator(text), text), f"the schema accepts {name!r}"
    assert cnncalc_error(text) is not None, f"cnncalc accepts {name!r}"


@pytest.mark.parametrize("wrong", ["relux", "{unit: {w: $w, stide: 1}}",
                                   "{$act: {when: sometimes}}",
                                   "{unti: {w: 4}}", "{plain: {w: $w}}"])
def test_inside_a_block_too(wrong):
    text = BLOCKS + f"      - {wrong}\nlayers: [wrap]\n"
    assert errors(validator(text), text), wrong
    assert cnncalc_error(text) is not None, wrong


def test_a_block_of_another_spec_is_no_block_in_a_spec_without_blocks():
    """One schema for several specs knows all their blocks; a spec without `blocks:` still has
    only kinds."""
    other = "input: [4, 8, 8]\nlayers: [{unit: {w: 4}}]\n"
    assert errors(validator(BLOCKS + "layers: [plain]\n", other), other)
    assert cnncalc_error(other) is not None


def test_a_name_defined_differently_takes_one_definition_or_the_other():
    first = "input: [4, 8, 8]\nblocks: {b: {params: {w: required}, layers: [relu]}}\n"
    second = "input: [4, 8, 8]\nblocks: {b: {params: {k: 3}, layers: [relu]}}\n"
    schema = validator(first + "layers: [{b: 1}]\n", second + "layers: [b]\n")
    for right in ("{b: {w: 1}}", "{b: 1}", "{b: {k: 5}}", "b"):
        assert errors(schema, first + f"layers: [{right}]\n") == [], right
    assert errors(schema, first + "layers: [{b: {w: 1, k: 5}}]\n")    # in neither definition
    assert errors(schema, first + "layers: [{b: {z: 1}}]\n")


def test_parameters_complete_with_their_defaults():
    use = build(project_blocks([(BLOCKS + "layers: [plain]\n", "net.yaml")]))["$defs"]["entry"]
    unit = next(a for a in use["anyOf"] if "unit" in a.get("properties", {}))
    arguments = unit["properties"]["unit"]["anyOf"][0]
    assert arguments["required"] == ["w"] and arguments["additionalProperties"] is False
    assert arguments["properties"]["s"]["default"] == 1
    assert "required" in arguments["properties"]["w"]["description"]
    assert {"id", "from", "when", "name", "expect", "rounding"} <= set(arguments["properties"])
    assert "net.yaml" in unit["description"]


@settings(max_examples=40)
@given(networks(max_layers=5, composite_odds=2))
def test_every_network_cnncalc_accepts_passes_its_own_schema(spec):
    """Random networks with block uses (netgen's blocks take a required parameter, a kind as a
    parameter, `$in_channels` and references); misspelling a block use's name makes both reject
    it."""
    text = to_yaml(spec)
    if cnncalc_error(text) is not None:
        return
    schema = validator(text)
    assert errors(schema, text) == []
    blocks = spec.get("blocks", {})
    for i, entry in enumerate(spec["layers"]):
        name = entry if isinstance(entry, str) else next(iter(entry))
        value = None if isinstance(entry, str) else next(iter(entry.values()))
        left_out = isinstance(value, dict) and "when" in value
        if name in blocks and not left_out:      # cnncalc reads no kind of an entry left out
            wrong = dict(spec, layers=[*spec["layers"][:i], _renamed(entry, name + "x"),
                                       *spec["layers"][i + 1:]])
            assert errors(schema, to_yaml(wrong)) and cnncalc_error(to_yaml(wrong)) is not None
            break


def _renamed(entry, name: str):
    return name if isinstance(entry, str) else {name: next(iter(entry.values()))}


def test_blocks_are_read_only_from_blocks():
    """A spec being written may be wrong elsewhere: its blocks still make the schema; a mistake
    in `blocks:` is an error at its place, as cnncalc says it."""
    unfinished = "blocks: {b: {layers: [relu]}}\nlayers: [b, {conv: {}}]\n"
    assert list(project_blocks([(unfinished, "u.yaml")])) == ["b"]
    for bad, message in [("blocks: [b]\n", "u.yaml:1:9"),
                         ("blocks:\n  conv: {layers: [relu]}\n", "a block can't be called `conv`"),
                         ("blocks:\n  b: {params: {id: 1}, layers: [relu]}\n",
                          "can't have a parameter called `id`"),
                         ("blocks: {b: {params: {w: 1}}}\n", "u.yaml:1:")]:
        with pytest.raises(SpecError) as caught:
            project_blocks([(bad, "u.yaml")])
        assert message in caught.value.format(), (bad, caught.value.format())


def test_schema_command_writes_a_projects_schema_and_the_line_for_its_specs(tmp_path):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "a.yaml").write_text(BLOCKS + "layers: [plain]\n")
    line = "# yaml-language-server: $schema=../project.schema.json"
    (specs / "b.yaml").write_text(line + "\ninput: [4, 8, 8]\nlayers: [relu]\n")
    result = run_cli("schema", "specs/a.yaml", "specs/b.yaml", "resnet18",
                     "--output", "project.schema.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = (tmp_path / "project.schema.json").read_text()
    assert written == schema_text(project_blocks(
        [((specs / "a.yaml").read_text(), "specs/a.yaml"),
         ((specs / "b.yaml").read_text(), "specs/b.yaml"), (RESNET18, "resnet18")]))
    assert result.stdout.splitlines() == [
        "wrote project.schema.json for 3 specs (blocks: unit, plain, wrap, block, stage); "
        "write it again after adding or renaming a block",
        "a spec in specs/ starts with:", line, "  (not yet: specs/a.yaml)"]
    printed = run_cli("schema", "specs/a.yaml", cwd=tmp_path)
    assert printed.returncode == 0 and json.loads(printed.stdout)["$defs"]["entry"] != \
        json.loads(run_cli("schema").stdout)["$defs"]["entry"]


def test_schema_command_with_a_bad_spec_says_where(tmp_path):
    (tmp_path / "bad.yaml").write_text("input: [4, 8, 8]\nblocks:\n  relu: {layers: [relu]}\n")
    result = run_cli("schema", "bad.yaml", "-o", "out.json", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("bad.yaml:3:3: error: a block can't be called `relu`")
    assert not (tmp_path / "out.json").exists()
    missing = run_cli("schema", "nowhere.yaml", cwd=tmp_path)
    assert missing.returncode == 2 and "no such file: nowhere.yaml" in missing.stderr


def test_a_projects_schema_imports_no_torch_sympy_numpy():
    script = ("import sys\nfrom cnncalc.cli import main\n"
              "sys.argv = ['cnncalc', 'schema', 'specs/resnet50.yaml', 'specs/yolov8n.yaml']\n"
              "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
              "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
              "('torch', 'sympy', 'numpy'))\nprint(code, heavy, file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=cli_env(), cwd=ROOT, timeout=120)
    assert result.stderr.strip().splitlines()[-1] == "0 []", result.stderr
    assert "specs/yolov8n.yaml" in json.loads(result.stdout)["description"]


def test_the_readmes_example_is_the_real_output(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "cnncalc schema specs/*.yaml --output specs/cnncalc-spec.schema.json"
    start = readme.index(f"```console\n$ {command}\n") + len(f"```console\n$ {command}\n")
    shown = readme[start:readme.index("```", start)]
    (tmp_path / "specs").mkdir()
    for name in ("resnet101.yaml", "resnet50.yaml"):        # as the shell's glob orders them
        (tmp_path / "specs" / name).write_text((SPECS / name).read_text())
    result = run_cli("schema", "specs/resnet101.yaml", "specs/resnet50.yaml", "--output",
                     "specs/cnncalc-spec.schema.json", cwd=tmp_path)
    assert result.returncode == 0 and shown == result.stdout
