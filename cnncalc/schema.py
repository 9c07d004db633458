"""The JSON Schema of the spec language, generated from the models that validate specs: the top
level (`spec.Spec`, `Expect`, `Budget`, `LayerExpect`), every leaf kind's `Args` model in
`kinds.KINDS`, each composite kind's own schema (`kinds.COMPOSITES`), and block uses.

Editors use it through the `# yaml-language-server: $schema=...` line at the top of a spec:
they complete kinds and argument names and flag unknown keys. The schema is as strict as a
schema can be without seeing the rest of the file: a mapping key that is no known kind is
taken for a block use, and inside `blocks:` every value may also be a `$param` / `${…}`.
cnncalc itself remains the judge (`cnncalc check`).
"""

from __future__ import annotations

import copy
import json

from pydantic.json_schema import GenerateJsonSchema

from cnncalc.expand import COMMON_OPTIONS
from cnncalc.kinds import COMPOSITES, KINDS
from cnncalc.spec import SYMBOL, LayerExpect, Spec, _symbol
from cnncalc.units import COUNT_SUFFIXES, MEMORY_SUFFIXES, parse_bytes, parse_count

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ENTRY = {"$ref": "#/$defs/entry"}
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

def _options(rounding: dict, expect_ref: str, parameterised: bool) -> dict:
    """What every entry may carry inside its arguments (expand.COMMON_OPTIONS)."""
    when = {"type": ["integer", "boolean"],
            "description": "the entry is there only where this is not 0 (`${t != 1}` in a block)"}
    options = {"name": {"type": ["string", "integer"], "description": "a label for reports"},
               "expect": {"$ref": expect_ref, "description": "what this layer must have"},
               "rounding": rounding,
               "when": {"anyOf": [when, PARAMETER]} if parameterised else when}
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


def _entry(entry: dict, options: dict, parameterised: bool) -> dict:
    """One layer entry: a bare kind name, `kind: value` for a leaf or composite kind, or a use
    of a block (any other single key)."""
    known = [*KINDS, *COMPOSITES]
    bare = [name for name, kind in KINDS.items() if not _model(kind.args).get("required")]

    def value(schema: dict) -> dict:
        # Arguments (or the object of a composite) take the options too, never parameterised
        # themselves: they were built for the block variant already.
        for alternative in schema.get("anyOf", [schema]):
            if alternative.get("type") == "object":
                alternative["properties"] = {**alternative["properties"], **options}
        return schema

    inner = _inner if parameterised else (lambda s: s)
    outer = (lambda s: {"anyOf": [s, PARAMETER]}) if parameterised else (lambda s: s)
    alternatives = [
        {"enum": bare, "description": "a leaf kind without arguments"},
        {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$", "not": {"enum": known},
         "description": "a block used with its defaults"},
    ]
    for name, kind in KINDS.items():
        alternatives.append(_single(name, outer(value(inner(_leaf_value(kind)))),
                                    f"{kind.summary} (PyTorch {kind.torch})"))
    for name, composite in COMPOSITES.items():
        alternatives.append(_single(name, outer(value(inner(composite.schema(entry)))),
                                    composite.summary))
    alternatives.append({
        "type": "object", "minProperties": 1, "maxProperties": 1,
        "propertyNames": {"not": {"enum": known}},
        "additionalProperties": {"properties": options},
        "description": "a block from `blocks:` with its parameters"})
    return {"anyOf": alternatives}


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
    if "anyOf" in out:
        out["anyOf"] = [_inner(s) for s in out["anyOf"]]
    return out


# ---------------------------------------------------------------------------------------------
# The whole schema

def build() -> dict:
    schema = _model(Spec)
    defs = schema.setdefault("$defs", {})
    schema["properties"]["layers"]["items"] = ENTRY
    defs["BlockDef"]["properties"]["layers"]["items"] = BLOCK_ENTRY
    for name, value in VALUE_SCHEMAS.values():
        defs[name] = value
    defs["layer_expect"] = _strip(_model(LayerExpect))
    defs["layer_expect_in_block"] = _inner(defs["layer_expect"])
    rounding = _strip(schema["properties"]["rounding"])
    defs["entry"] = _entry(ENTRY, _options(rounding, "#/$defs/layer_expect", False), False)
    defs["block_entry"] = _entry(BLOCK_ENTRY, _options(rounding, "#/$defs/layer_expect_in_block",
                                                       True), True)
    defs["parameter"] = {"type": "string", "pattern": r"\$",
                         "description": "a block parameter: `$name` or `${expression}`"}
    return {"$schema": DIALECT, "title": "cnncalc spec (language version 1)",
            "description": "A CNN for cnncalc: `input` (one sample, channels first unless "
                           "`layout: hwc`) and `layers`. See `cnncalc kinds`.",
            **{k: v for k, v in _strip(schema).items() if k not in ("title", "description")}}


def schema_text() -> str:
    """The schema as committed in schema/cnncalc-spec.schema.json."""
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"
