"""The JSON Schema of the spec language, generated from the models that validate specs: the top
level (`spec.Spec`, `Expect`, `Budget`, `LayerExpect`), every leaf kind's `Args` model in
`kinds.KINDS`, each composite kind's own schema (`kinds.COMPOSITES`), and block uses.

Editors use it through the `# yaml-language-server: $schema=...` line at the top of a spec:
they complete kinds and argument names and flag unknown keys. The generic schema is as strict
as a schema can be without seeing the rest of the file: in a spec without `blocks:` an entry
must be a kind; with blocks, a mapping key that is no known kind is taken for a block use, and
inside `blocks:` every value may also be a `$param` / `${…}`.

A schema can't compare a key with the names under `blocks:` (JSON Schema has no reference from
one part of a document to another, and the YAML language server implements draft 7). So a
project's schema (`build(project_blocks(...))`, `cnncalc schema SPEC...`) lists the blocks its
specs define instead: a block use is one of those names, with that block's parameters, and
any other name is flagged as an unknown kind.
cnncalc itself remains the judge (`cnncalc check`).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from pydantic.json_schema import GenerateJsonSchema

from cnncalc.errors import Pos, SpecError
from cnncalc.expand import COMMON_OPTIONS, check_block_names
from cnncalc.kinds import COMPOSITES, KINDS
from cnncalc.loader import Map, parse_yaml, shown
from cnncalc.spec import SYMBOL, BlockDef, LayerExpect, Model, Spec, _symbol, errors_from_pydantic
from cnncalc.units import COUNT_SUFFIXES, MEMORY_SUFFIXES, parse_bytes, parse_count

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ENTRY = {"$ref": "#/$defs/entry"}
KNOWN_ENTRY = {"$ref": "#/$defs/known_entry"}     # a kind's entry only: no block uses
BLOCK_ENTRY = {"$ref": "#/$defs/block_entry"}
PARAMETER = {"$ref": "#/$defs/parameter"}


def _number_pattern(suffixes: dict) -> str:
    """units._NUMBER with the allowed suffixes, case-insensitive (JSON Schema regexes have no
    flags): `15.47G`, `1_000`, `100 MB`, `1.5GiB`."""
    options = "|".join("".join(f"[{c.upper()}{c.lower()}]" for c in s)
                       for s in sorted(suffixes, key=len, reverse=True) if s)
    return rf"^\s*[0-9][0-9_,]*(\.[0-9]+)?([eE][+-]?[0-9]{{1,2}})?\s*({options})?\s*$"


def _amount(what: str, suffixes: dict, example: str) -> dict:
    return {"anyOf": [{"type": "number", "minimum": 0},
                      {"type": "string", "pattern": _number_pattern(suffixes)}],
            "description": f"a {what}: a number, or with a suffix ({example})"}


# Values that a model parses with a `BeforeValidator` of its own: their JSON Schema, kept once
# under `$defs`.
VALUE_SCHEMAS = {
    parse_count: ("count", _amount("count", COUNT_SUFFIXES, "15.47G, 5M; K/M/G/T are powers of 1000")),
    parse_bytes: ("memory_size", _amount("memory size", MEMORY_SUFFIXES, "100MB, 1.5GiB")),
    _symbol: ("symbol", {"type": "string", "pattern": SYMBOL.pattern,
                         "description": "a named size for symbolic analysis, such as H"}),
}


class _Generator(GenerateJsonSchema):
    def function_before_schema(self, schema):
        function = schema["function"]["function"]
        if function not in VALUE_SCHEMAS:
            raise TypeError(f"no JSON Schema for values parsed by {function.__qualname__}: "
                            "add one to cnncalc.schema.VALUE_SCHEMAS")
        return {_VALUE: VALUE_SCHEMAS[function][0]}   # a marker _model turns into a $ref


_VALUE = "cnncalc-value"


def _model(model) -> dict:
    schema = model.model_json_schema(schema_generator=_Generator, ref_template="#/$defs/{model}")
    return _refer_values(schema)


def _refer_values(schema):
    if isinstance(schema, dict):
        if _VALUE in schema:
            return {"$ref": f"#/$defs/{schema[_VALUE]}"}
        return {k: _refer_values(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_refer_values(v) for v in schema]
    return schema


def _strip(schema: dict) -> dict:
    """A schema without pydantic's titles (the property names say it)."""
    out = {k: v for k, v in schema.items() if k != "title"}
    if "properties" in out:
        out["properties"] = {k: _strip(v) for k, v in out["properties"].items()}
    return out


# ---------------------------------------------------------------------------------------------
# Layer entries

NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


def _options(rounding: dict, expect_ref: str, parameterised: bool) -> dict:
    """What every entry may carry inside its arguments (expand.COMMON_OPTIONS)."""
    when = {"type": ["integer", "boolean"],
            "description": "the entry is there only where this is not 0 (`${t != 1}` in a block)"}
    options = {"name": {"type": ["string", "integer"], "description": "a label for reports"},
               "expect": {"$ref": expect_ref, "description": "what this layer must have"},
               "rounding": rounding,
               "when": {"anyOf": [when, PARAMETER]} if parameterised else when,
               "id": {"type": "string", "pattern": NAME, "not": {"enum": ["input"]},
                      "description": "a name for this entry's output, for `from` and `outputs`"},
               "from": {"type": "string", "pattern": r"^([A-Za-z_][A-Za-z0-9_]*|\.)$",
                        "description": "take the input from this earlier entry's output "
                                       "(`input`: the network's or the block's input)"}}
    assert set(options) == set(COMMON_OPTIONS), "schema options out of step with expand.py"
    return options


def _leaf_value(kind) -> dict:
    """`kind: {arguments}`, `kind: scalar` (the first argument) or `kind:` (no arguments)."""
    args = _strip(_model(kind.args))
    alternatives = [args]
    first = kind.first_argument()
    if first is not None:
        alternatives.append(copy.deepcopy(args["properties"][first]))
    if not args.get("required"):
        alternatives.append({"type": "null"})
    return {"anyOf": alternatives} if len(alternatives) > 1 else args


def _entry(entry: dict, options: dict, parameterised: bool, blocks: bool = True,
           shared: dict | None = None, project: Project | None = None) -> dict:
    """One layer entry: a bare kind name, `kind: value` for a leaf or composite kind, or (where
    `blocks`) a use of a block: one of `project`'s, or without a project any other single key.
    With `shared` (the schema's `$defs`), each leaf kind's alternative is kept there once and
    referred to."""
    known = [*KINDS, *COMPOSITES]
    bare = [name for name, kind in KINDS.items() if not _model(kind.args).get("required")]

    def value(schema: dict) -> dict:
        # Arguments (or the object of a composite) take the options too, never parameterised
        # themselves: they were built for the block variant already.
        for alternative in schema.get("anyOf", [schema]):
            if alternative.get("type") == "object":
                # a composite's own meaning of a key first: `concat: {from: [a, b]}`
                alternative["properties"] = {**options, **alternative["properties"]}
        return schema

    inner = _inner if parameterised else (lambda s: s)
    outer = (lambda s: {"anyOf": [s, PARAMETER]}) if parameterised else (lambda s: s)
    alternatives: list[dict] = [{"enum": bare, "description": "a leaf kind without arguments"}]
    if blocks and project is None:
        alternatives.append({"type": "string", "pattern": r"^[A-Za-z_$][A-Za-z0-9_]*$",
                             "not": {"enum": known},
                             "description": "a block used with its defaults"})
    for name, kind in KINDS.items():
        if shared is not None and f"leaf_{name}" in shared:
            alternatives.append({"$ref": f"#/$defs/leaf_{name}"})
            continue
        alternative = _single(name, outer(value(inner(_leaf_value(kind)))),
                              f"{kind.summary} (PyTorch {kind.torch})")
        if shared is not None:
            shared[f"leaf_{name}"] = alternative
            alternative = {"$ref": f"#/$defs/leaf_{name}"}
        alternatives.append(alternative)
    for name, composite in COMPOSITES.items():
        alternatives.append(_single(name, outer(value(inner(composite.schema(entry)))),
                                    composite.summary))
    if blocks and project is None:
        alternatives.append({
            "type": "object", "minProperties": 1, "maxProperties": 1,
            "propertyNames": {"not": {"enum": known}},
            "additionalProperties": {"properties": options},
            "description": "a block from `blocks:` with its parameters"})
    elif blocks and project is not None:
        alternatives += _block_uses(project, options, parameterised)
    return {"anyOf": alternatives}


def _block_uses(project: Project, options: dict, parameterised: bool) -> list:
    """The uses of a project's blocks (expand.block_use's forms): `name` where no parameter is
    required, `name: {parameters and options}`, `name: value` (the first parameter), `name:`;
    inside `blocks:` also a parameter naming a kind or block, `$act` or `$se: {...}`. A name
    that specs define differently takes the parameters of one definition or another."""
    alternatives: list[dict] = []
    bare = [name for name, definitions in project.items()
            if any(not d.required for d in definitions)]
    if bare:
        alternatives.append({"enum": bare, "description": "a block used with its defaults"})
    if parameterised:
        alternatives.append({"type": "string", "pattern": r"^\$[A-Za-z_][A-Za-z0-9_]*$",
                             "description": "a parameter naming a kind or block"})
        alternatives.append({"type": "object", "minProperties": 1, "maxProperties": 1,
                             "propertyNames": {"pattern": r"^\$"},
                             "additionalProperties": {"properties": options},
                             "description": "a parameter naming a kind or block, with arguments"})
    for name, definitions in project.items():
        values: list[dict] = []
        for definition in definitions:
            values += [v for v in _block_values(name, definition, options, parameterised)
                       if v not in values]
        value = values[0] if len(values) == 1 else {"anyOf": values}
        if parameterised:
            value = {"anyOf": [value, PARAMETER]}
        files = sorted({file for d in definitions for file in d.files})
        alternatives.append(_single(name, value, f"block `{name}` of {_listed(files)}"))
    return alternatives


def _block_values(name: str, definition: BlockDefinition, options: dict,
                  parameterised: bool) -> list[dict]:
    # A parameter's value may be anything its block's layers take; outside a block it may not
    # be a parameter itself (`$w`).
    value = {} if parameterised else {"not": PARAMETER}
    params: dict[str, dict[str, Any]] = {}
    for param, default in definition.params.items():
        if default == REQUIRED:
            params[param] = {**value, "description": f"`{name}`'s parameter `{param}` (required)"}
            continue
        params[param] = {**value, "description": f"`{name}`'s parameter `{param}` "
                                                 f"(default {shown([default], 60)[1:-1]})"}
        if default is None or isinstance(default, (bool, int, float, str)):
            params[param]["default"] = default      # what an editor fills in on completion
    listed = ", ".join(f"{param} (required)" if param in definition.required else param
                       for param in definition.params) or "none"
    arguments: dict[str, Any] = {
        "type": "object", "properties": {**params, **options}, "additionalProperties": False,
        "description": f"`{name}` in {_listed(definition.files)}; parameters: {listed}"}
    if definition.required:
        arguments["required"] = [p for p in definition.params if p in definition.required]
    values = [arguments]
    first = next(iter(definition.params), None)
    if first is not None and definition.required <= {first}:
        values.append({"not": {"anyOf": [{"type": ["object", "null"]}, *([] if parameterised
                                                                         else [PARAMETER])]},
                       "description": f"the first parameter, `{first}`"})
    if not definition.required:
        values.append({"type": "null"})
    return values


def _single(key: str, value: dict, description: str) -> dict:
    return {"type": "object", "properties": {key: value}, "required": [key],
            "additionalProperties": False, "description": description}


def _parameterised(schema: dict) -> dict:
    """Inside a block's layers any value may be a parameter (`$width`, `${width * 4}`)."""
    return {"anyOf": [_inner(schema), PARAMETER]}


def _inner(schema: dict) -> dict:
    out = dict(schema)
    if "properties" in out:
        out["properties"] = {k: _parameterised(v) for k, v in out["properties"].items()}
    if isinstance(out.get("items"), dict) and "$ref" not in out["items"]:
        out["items"] = _parameterised(out["items"])
    if "prefixItems" in out:      # a fixed-length list (slice's `channels: [0, ${out // 2}]`)
        out["prefixItems"] = [_parameterised(s) for s in out["prefixItems"]]
    if "anyOf" in out:
        out["anyOf"] = [_inner(s) for s in out["anyOf"]]
    return out


# ---------------------------------------------------------------------------------------------
# A project's blocks

REQUIRED = "required"     # a parameter's default that makes it required (expand.block_use)


@dataclass
class BlockDefinition:
    """A block's parameters (name -> default, or `required`) as one or more specs define it."""
    params: dict[str, Any]
    files: list[str] = field(default_factory=list)

    @property
    def required(self) -> set[str]:
        return {name for name, default in self.params.items() if default == REQUIRED}


Project = dict[str, list[BlockDefinition]]      # block name -> its distinct definitions


class _Blocks(Model):
    blocks: dict[str, BlockDef] = {}


def spec_blocks(text: str, file: str) -> dict[str, dict[str, Any]]:
    """The blocks a spec defines, name -> its parameters with their defaults. Only `blocks:` is
    read (a spec being written may be wrong elsewhere); a mistake there is a SpecError with its
    position, as `cnncalc check` says it."""
    try:
        data = parse_yaml(text, file)
        if not isinstance(data, Map):
            raise SpecError("a spec is a mapping with at least `input:` and `layers:`",
                            getattr(data, "pos", None) or Pos(1, 1))
        raw = Map(pos=data.pos)
        if "blocks" in data:
            raw["blocks"] = data["blocks"]
            raw.key_pos["blocks"] = data.key_pos.get("blocks")
            raw.val_pos["blocks"] = data.val_pos.get("blocks")
        try:
            blocks = _Blocks.model_validate(raw).blocks
        except ValidationError as exc:
            raise errors_from_pydantic(exc, raw, "the spec", ["blocks"]) from None
        check_block_names(blocks, raw)
    except SpecError as exc:
        raise exc.located(file) from None
    return {name: dict(block.params) for name, block in blocks.items()}


def project_blocks(specs: list[tuple[str, str]]) -> Project:
    """Every block the specs (text, file) define, by name, in the order first defined; a name
    defined alike in several specs is one definition."""
    project: Project = {}
    for text, file in specs:
        for name, params in spec_blocks(text, file).items():
            definitions = project.setdefault(name, [])
            same = next((d for d in definitions if d.params == params), None)
            if same is None:
                definitions.append(same := BlockDefinition(params))
            if file not in same.files:      # a spec named twice
                same.files.append(file)
    return project


# ---------------------------------------------------------------------------------------------
# The whole schema

def build(project: Project | None = None) -> dict:
    """The generic schema, or with `project` a project's: its block uses are the blocks the
    project's specs define (an unknown kind is flagged in every spec), with their parameters."""
    schema = _model(Spec)
    defs = schema.setdefault("$defs", {})
    schema["properties"]["layers"]["items"] = ENTRY
    # A spec without blocks has no block uses: there an unknown kind (`relux`) is flagged. With
    # blocks, a name that is no kind may be one of them, which a schema can't see (it can't
    # compare a key with the names under `blocks:`): cnncalc itself says which, and a project's
    # schema lists the names its specs define.
    schema["if"] = {"properties": {"blocks": {"minProperties": 1}}, "required": ["blocks"]}
    schema["else"] = {"properties": {"layers": {"items": KNOWN_ENTRY}}}
    schema["properties"].setdefault("outputs", {
        "type": "array", "minItems": 1,
        "items": {"type": "string", "pattern": r"^([A-Za-z_][A-Za-z0-9_]*|\.)$"},
        "description": "the network's outputs, by `id` (`.`: the last entry's); default the "
                       "last entry's"})
    defs["BlockDef"]["properties"]["layers"]["items"] = BLOCK_ENTRY
    for name, value in VALUE_SCHEMAS.values():
        defs[name] = value
    defs["layer_expect"] = _strip(_model(LayerExpect))
    defs["layer_expect_in_block"] = _inner(defs["layer_expect"])
    rounding = _strip(schema["properties"]["rounding"])
    defs["entry"] = _entry(ENTRY, _options(rounding, "#/$defs/layer_expect", False), False,
                           shared=defs, project=project)
    defs["known_entry"] = _entry(KNOWN_ENTRY, _options(rounding, "#/$defs/layer_expect", False),
                                 False, blocks=False, shared=defs)
    defs["block_entry"] = _entry(BLOCK_ENTRY, _options(rounding, "#/$defs/layer_expect_in_block",
                                                       True), True, project=project)
    defs["parameter"] = {"type": "string", "pattern": r"\$",
                         "description": "a block parameter: `$name` or `${expression}`"}
    description = ("A CNN for cnncalc: `input` (one sample, channels first unless "
                   "`layout: hwc`) and `layers`. See `cnncalc kinds`.")
    if project is not None:
        files = sorted({file for definitions in project.values() for d in definitions
                        for file in d.files})
        description += (f" Written by `cnncalc schema` for the blocks of {_listed(files)} "
                        f"({_listed(list(project))}): after adding or renaming a block, write it "
                        "again.")
    return {"$schema": DIALECT, "title": "cnncalc spec (language version 2)",
            "description": description,
            **{k: v for k, v in _strip(schema).items() if k not in ("title", "description")}}


def _listed(names: list[str], most: int = 4) -> str:
    if not names:
        return "none"
    if len(names) <= most:
        return ", ".join(names)
    return f"{', '.join(names[:most - 1])} and {len(names) - most + 1} more"


def schema_text(project: Project | None = None) -> str:
    """The schema as committed in schema/cnncalc-spec.schema.json, or a project's."""
    return json.dumps(build(project), indent=2, ensure_ascii=False) + "\n"
