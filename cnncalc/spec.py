"""The spec's top level as pydantic models, and the mapping of validation errors back to the
file positions the loader kept (`path:line:col`)."""

from __future__ import annotations

import re
from difflib import get_close_matches
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from cnncalc.errors import Pos, SpecError, SpecErrors
from cnncalc.loader import Map, Seq, shown
from cnncalc.units import parse_bytes, parse_count

MAX_INPUT_DIM = 2**31 - 1
SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# `3x224x224`, `3×224×224`, `3*224*224`, `224, 224, 3`; `X` too between numbers (`32X32X3`),
# elsewhere it may be a name (`3xXxY`)
_SEPARATORS = re.compile(r"\s*[x×*,]\s*|(?<=[0-9])\s*X\s*(?=[0-9])")
_NUMBER = re.compile(r"0*[0-9]{1,10}")     # a longer number is out of bounds anyway


def parse_sizes(text: str, what: str, *, least: int = 1, names: bool = False,
                example: str = "3x224x224") -> list:
    """The command line's sizes: `3x224x224` -> [3, 224, 224]; with `names`, `3xHxW` ->
    [3, 'H', 'W'] too. Each size is a whole number from `least` to MAX_INPUT_DIM (a name, as
    the spec's `input` takes it); SpecError otherwise, naming `what` (`--input`)."""
    parts = _SEPARATORS.split(text.strip())
    sizes: list[int | str] = []
    for part in parts:
        if _NUMBER.fullmatch(part) and least <= int(part) <= MAX_INPUT_DIM:
            sizes.append(int(part))
        elif names and SYMBOL.match(part):
            sizes.append(part)
        else:
            numbers = "positive whole numbers" if least == 1 else f"whole numbers from {least}"
            which = f": {part!r}" if len(parts) > 1 else ""
            raise SpecError(f"{what} {text!r}{which} isn't a size (sizes are {numbers} up to "
                            f"{MAX_INPUT_DIM:,}{', or names such as H' if names else ''}, "
                            "separated by x)", hints=[f"write it like {example}"])
    return sizes


def _symbol(value):
    if isinstance(value, str) and not SYMBOL.match(value):
        raise ValueError(f"{value!r} isn't a size: write a positive whole number or a name such as H")
    return value


Count = Annotated[int, BeforeValidator(parse_count)]
Bytes = Annotated[int, BeforeValidator(parse_bytes)]
Dim = Annotated[int, Field(ge=1, le=MAX_INPUT_DIM)] | Annotated[str, BeforeValidator(_symbol)]
Shape = Annotated[list[Dim], Field(min_length=1, max_length=4)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class LayerExpect(Model):
    """What one layer must have (`expect:` inside a layer's arguments)."""

    shape: Shape | None = None
    params: Count | None = None
    macs: Count | None = None
    flops: Count | None = None


class Expect(Model):
    """What the whole network must have."""

    output: Shape | None = None
    outputs: list[Shape] | None = None      # one shape per entry of `outputs:`, in order
    params: Count | None = None
    macs: Count | None = None
    flops: Count | None = None


class Budget(Model):
    """Upper bounds for the whole network."""

    params: Count | None = None
    macs: Count | None = None
    flops: Count | None = None
    activation_memory: Bytes | None = None
    param_memory: Bytes | None = None
    # the peak of a training step (`summary --train`): batch, dtype and optimizer as given to
    # `check` (Adam by default), on CUDA's kernels
    train_memory: Bytes | None = None


class BlockDef(Model):
    params: dict[str, Any] = {}
    layers: list[Any]


class Spec(Model):
    """A whole spec file. `layers` and `blocks[*].layers` stay raw (Map/Seq with positions) and
    are checked entry by entry when expanded."""

    name: str | None = None
    input: Shape
    layout: Literal["chw", "hwc"] = "chw"
    rounding: Literal["strict", "floor"] = "strict"
    blocks: dict[str, BlockDef] = {}
    layers: Annotated[list[Any], Field(min_length=1)]
    outputs: Annotated[list[str], Field(min_length=1)] | None = None   # ids; default: the last
    expect: Expect | None = None
    budget: Budget | None = None


def validate_top(data) -> tuple[Spec, Map]:
    """Validate the top level; return the model and the raw mapping (for positions)."""
    if not isinstance(data, Map):
        raise SpecError("a spec is a mapping with at least `input:` and `layers:`",
                        getattr(data, "pos", None) or Pos(1, 1),
                        hints=["see the README for a complete example"])
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        raise errors_from_pydantic(exc, data, "the spec", list(Spec.model_fields)) from None
    _check_channels(spec, data)
    # pydantic copies lists; keep the loader's own (they carry positions).
    blocks = {name: block.model_copy(update={"layers": data["blocks"][name]["layers"]})
              for name, block in spec.blocks.items()}
    return spec.model_copy(update={"layers": data["layers"], "blocks": blocks}), data


def _check_channels(spec: Spec, data: Map) -> None:
    """Names are spatial sizes only: the channels entry (first, or last under `layout: hwc`)
    must be a number. Said at that entry, in the spec's own order."""
    dims = spec.input
    if not any(isinstance(d, str) for d in dims):
        return
    at = len(dims) - 1 if spec.layout == "hwc" else 0
    if len(dims) > 1 and not isinstance(dims[at], str):
        return
    example = "[H, W, 3]" if spec.layout == "hwc" else "[3, H, W]"
    where = "last" if spec.layout == "hwc" else "first"
    raw = data["input"]
    raise SpecError(f"`input[{at}]` is {dims[at]}, but the {where} entry is the number of "
                    "channels: only spatial sizes can be names",
                    raw.at(at) if isinstance(raw, Seq) else data.at("input"),
                    hints=[f"write e.g. `input: {example}`" + (
                        " (a 1-entry input is channels only)" if len(dims) == 1 else "")])


# ---------------------------------------------------------------------------------------------
# pydantic errors in the user's terms

def position_of(data, loc) -> tuple[Pos | None, list]:
    """Follow a pydantic error location through Map/Seq; return the deepest position found and
    the path in the user's data (without pydantic's union and validator tags)."""
    pos = getattr(data, "pos", None)
    node = data
    path: list[str | int] = []
    for part in loc:
        # two arms, so that each narrows `node` and `part` for the type checker
        if isinstance(node, Map) and isinstance(part, str) and part in node:  # noqa: SIM114
            pos = node.at(part)
            node = node[part]
            path.append(part)
        elif isinstance(node, Seq) and isinstance(part, int) and 0 <= part < len(node):
            pos = node.at(part)
            node = node[part]
            path.append(part)
        elif isinstance(node, Map) and isinstance(part, str) and not _is_tag(part):
            path.append(part)   # a missing or unknown key: point at its mapping
            break
    return pos, path


def _is_tag(part: str) -> bool:
    return any(c in part for c in "[]()") or part in {"int", "str", "list", "float", "bool",
                                                      "literal", "none", "constrained-int"}


MAX_ERRORS = 20   # shown at once; the rest are counted


def errors_from_pydantic(exc: ValidationError, data, what: str, fields: list[str] | None = None,
                         ) -> SpecError:
    """Every independent error pydantic found, each at its own position, in file order (at
    most MAX_ERRORS): a SpecError for one, a SpecErrors for several. Pydantic reports a
    mistake once per alternative of a union (`int`, `str`, `list[int]` …): errors whose field
    paths are one within the other are one mistake."""
    groups: list[tuple[tuple, list[Any]]] = []
    for error in sorted(exc.errors(include_url=False), key=lambda e: len(_field_path(e["loc"]))):
        path = _field_path(error["loc"])
        for prefix, members in groups:
            if path[:len(prefix)] == prefix:
                members.append(error)
                break
        else:
            groups.append((path, [error]))
    groups = [(path, members) for path, members in groups if not _misspelt(path, members, groups)]
    found = [_error_from(members, data, what, fields) for _, members in groups]
    if len(found) == 1:
        return found[0]
    found.sort(key=lambda e: (e.pos.line, e.pos.col) if e.pos else (0, 0))
    return SpecErrors(found[:MAX_ERRORS], more=max(0, len(found) - MAX_ERRORS))


def _misspelt(path: tuple, members: list[Any], groups: list) -> bool:
    """A missing key that an unknown key beside it misspells (`layer:` for `layers:`): one
    mistake, told by the unknown key's error ("did you mean `layers`?")."""
    if not path or not all(e["type"] == "missing" for e in members):
        return False
    unknown = [other[-1] for other, errors in groups
               if other[:-1] == path[:-1] and any(e["type"] == "extra_forbidden" for e in errors)]
    return bool(get_close_matches(str(path[-1]), [str(u) for u in unknown], n=1, cutoff=0.6))


def error_from_pydantic(exc: ValidationError, data, what: str, fields: list[str] | None = None,
                        ) -> SpecError:
    """The most useful of pydantic's errors as a SpecError at the right position."""
    return _error_from(exc.errors(include_url=False), data, what, fields)


def _error_from(errors: list[Any], data, what: str, fields: list[str] | None) -> SpecError:
    """One mistake (pydantic's errors about one field, one per union alternative) in words."""
    error = _pick(errors)
    pos, path = position_of(data, error["loc"])
    field = dotted(path) or what
    # `out` of `conv`: a layer's argument names its kind (the user may have written a shorthand)
    # (the value itself is wrong, `expect`: already quoted)
    subject = (what if field == what
               else f"`{field}`" if what == "the spec" else f"`{field}` of {what}")
    kind = error["type"]
    value = error.get("input")
    context = error.get("ctx") or {}
    hints: list[str] = []
    if kind == "missing":
        message = f"{what} needs `{field}`"
    elif kind == "extra_forbidden":
        name = str(path[-1]) if path else field
        message = f"{what} has no `{field}`"
        allowed = fields if len(path) <= 1 and fields else []
        close = get_close_matches(name, allowed, n=1, cutoff=0.6)
        if close:
            hints.append(f"did you mean `{close[0]}`?")
        if allowed:
            hints.append(f"allowed: {', '.join(allowed)}")
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, Map) and name in parent.key_pos:
            pos = parent.key_pos[name]
    elif kind in ("greater_than_equal", "greater_than"):
        bound = context.get("ge", context.get("gt"))
        word = "at least" if kind == "greater_than_equal" else "more than"
        message = f"{subject} must be {word} {_number(bound)}, not {shown(value)}"
    elif kind in ("less_than_equal", "less_than"):
        bound = context.get("le", context.get("lt"))
        word = "at most" if kind == "less_than_equal" else "less than"
        message = f"{subject} must be {word} {_number(bound)}, not {shown(value)}"
    elif kind in ("too_short", "too_long"):
        message = (f"{subject} " + error["msg"].lower().replace("list should have", "needs")
                   .replace(" after validation", ""))
    elif kind == "value_error":
        message = f"{subject}: {error['msg'].removeprefix('Value error, ')}"
    else:
        same_field = [e for e in errors if _field_path(e["loc"]) == _field_path(error["loc"])]
        message = f"{subject} can't be {shown(value)}: {_expected(same_field)}"
        hints += _literal_hint(value, same_field)
    if what == "the spec" and path[:1] == ["input"] and kind != "missing":
        hints.append("`input` is the shape of one sample: [C, L], [C, H, W] or [C, D, H, W], "
                     "e.g. [3, 32, 32]")
    elif what == "the spec" and path == ["layers"] and kind != "missing":
        hints.append("write the layers as a list, one `- entry` a line")
    return SpecError(message, pos, hints=hints)


def _literal_hint(value, errors) -> list[str]:
    """`HWC` for `layout` (chw or hwc): "did you mean `hwc`?"."""
    if not isinstance(value, str):
        return []
    choices = [c for e in errors if e["type"] == "literal_error"
               for c in re.findall(r"'([^']*)'", str((e.get("ctx") or {}).get("expected", "")))]
    close = [c for c in choices if c.lower() == value.lower()] or get_close_matches(
        value.lower(), choices, n=1, cutoff=0.6)
    return [f"did you mean `{close[0]}`?"] if close else []


def _number(value) -> str:
    """A bound as people write it: 1, not 1.0."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def dotted(path) -> str:
    """['input', 1] -> 'input[1]'; ['budget', 'params'] -> 'budget.params'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _pick(errors: list[ErrorDetails]) -> ErrorDetails:
    """With unions pydantic reports one error per alternative: an unknown key first, then a
    broken constraint (`must be at least 1`) over a type mismatch, then the deepest."""
    def rank(e):
        depth = len(_field_path(e["loc"]))
        return (e["type"] == "extra_forbidden", not e["type"].endswith("_type"), depth)
    return max(errors, key=rank)


def _field_path(loc) -> tuple:
    return tuple(p for p in loc if isinstance(p, int) or not _is_tag(str(p)))


def _expected(errors) -> str:
    messages = []
    for e in errors:
        msg = e["msg"].removeprefix("Value error, ")
        msg = msg.replace("Input should be", "expected").replace("a valid integer", "a whole number")
        msg = msg.replace("a valid boolean", "true or false").replace("a valid list", "a list")
        msg = msg.replace("a valid string", "a name").replace("Input should be", "expected")
        msg = re.sub(r"a valid dictionary( or instance of \w+)?", "a mapping", msg)
        if msg not in messages:
            messages.append(msg)
    # "expected a whole number; or expected a list" -> "expected a whole number or a list"
    if len(messages) > 1 and all(m.startswith("expected ") for m in messages):
        parts = [m.removeprefix("expected ") for m in messages]
        return "expected " + ", ".join(parts[:-1]) + " or " + parts[-1]
    return "; or ".join(messages)
