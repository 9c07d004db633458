"""Spec -> graph: blocks instantiated with their parameters, repeats unrolled, composites
resolved, every node given its path and every leaf's arguments validated.

Bounded work: at most MAX_NODES nodes, blocks nested at most MAX_BLOCK_DEPTH deep, the graph
at most MAX_NESTING levels deep, and a repeat is sized before it is unrolled.
"""

from __future__ import annotations

import re
from difflib import get_close_matches

from pydantic import ValidationError

from cnncalc.arith import ExpressionError, evaluate
from cnncalc.errors import Pos, SpecError, printable
from cnncalc.graph import Node, child_path
from cnncalc.kinds import COMPOSITE_KINDS, KINDS, first_argument
from cnncalc.loader import Map, Seq
from cnncalc.spec import LayerExpect, Spec, error_from_pydantic, shown

MAX_NODES = 250_000    # 100,000 layers take ~3 s; 490,000 took 23 s and 2.3 GB
MAX_BLOCK_DEPTH = 32
MAX_REPEAT = 1_000_000
MAX_NESTING = 100         # levels of the expanded graph (blocks inside blocks multiply them)
# Norms whose sizes come from their input: `batchnorm: 64`, as BatchNorm2d(64), is a slip
SIZED_BY_INPUT = ("batchnorm", "instancenorm", "layernorm")
COMMON_OPTIONS = ("name", "expect", "rounding")
SHORTCUTS = ("identity", "projection", "auto")

_PARAM = re.compile(r"\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_WHOLE_NAME = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
_WHOLE_EXPR = re.compile(r"^\$\{([^}]*)\}$")


def expand(spec: Spec) -> Node:
    """The network as a tree of nodes; the root is a `sequential` with path ''."""
    expander = _Expander(spec)
    layers = substitute(spec.layers, None, spec.layers.pos, None)
    children = expander.sequence(layers, "", spec.rounding, None)
    return Node("", "sequential", Pos(1, 1), spec.rounding, children=children)


class _Expander:
    def __init__(self, spec: Spec):
        self.blocks = spec.blocks
        self.count = 0
        self.stack: list[str] = []

    def new(self, *args, **kwargs) -> Node:
        self.count += 1
        if self.count > MAX_NODES:
            raise SpecError(f"the network expands to more than {MAX_NODES:,} layers",
                            kwargs.get("pos") or args[2])
        return Node(*args, **kwargs)

    def sequence(self, raw, prefix: str, rounding: str, block: str | None) -> list[Node]:
        if not isinstance(raw, Seq):
            raise SpecError("expected a list of layer entries", getattr(raw, "pos", None),
                            hints=["write each layer on its own line starting with `- `"])
        return [self.entry(item, raw.at(i), child_path(prefix, i), rounding, block)
                for i, item in enumerate(raw)]

    def entry(self, raw, pos: Pos, path: str, rounding: str, block: str | None) -> Node:
        # A path has one part per level; every later pass (analysis, reports, the PyTorch
        # build) walks the graph recursively, so its depth is bounded here, with a message.
        if path.count(".") >= MAX_NESTING:
            raise SpecError(f"the layers nest more than {MAX_NESTING} levels deep (counting "
                            "the levels inside blocks, and blocks inside blocks)", pos)
        if isinstance(raw, str):
            kind, value, value_pos = raw, None, pos
        elif isinstance(raw, Map):
            if len(raw) != 1:
                raise _entry_shape_error(raw, pos)
            kind, value = next(iter(raw.items()))
            value_pos = raw.at(kind)
        else:
            raise SpecError(f"a layer entry is a kind name (`relu`) or `kind: arguments`, "
                            f"not {shown(raw)}", pos)
        if kind in KINDS:
            return self.leaf(kind, value, pos, value_pos, path, rounding, block)
        if kind in self.blocks:
            return self.block_use(kind, value, pos, value_pos, path, rounding)
        if kind in COMPOSITE_KINDS:
            return self.composite(kind, value, pos, value_pos, path, rounding, block)
        continued = re.match(r"(\S+)\s+-\s+(\S.*)$", str(kind), re.S)
        if continued:       # `- relu` then `   - flatten` one column deeper, read as one text
            above, below = continued[1], " ".join(continued[2].split())
            raise SpecError(f"unknown layer kind `{' '.join(str(kind).split())}`", pos, hints=[
                f"`- {below}` is indented more than `- {above}` above it, so YAML read it as "
                "text continuing that item: line up the `- ` of every item in a list"])
        names = [*KINDS, *COMPOSITE_KINDS, *self.blocks]
        close = get_close_matches(str(kind), names, n=1, cutoff=0.6)
        hints = [f"did you mean `{close[0]}`?"] if close else [
            f"`{kind}` isn't a kind or a block: define blocks under `blocks:`"]
        hints.append("`cnncalc kinds` lists every kind")
        raise SpecError(f"unknown layer kind `{kind}`", pos, hints=hints)

    # -- leaves --------------------------------------------------------------------------------

    def leaf(self, kind: str, value, pos, value_pos, path, rounding, block) -> Node:
        rule = KINDS[kind]
        if isinstance(value, Map):
            args, options = _split_options(value)
        elif value is None:
            args, options = Map(pos=value_pos), {}
        else:
            first = first_argument(rule)
            if first is None:
                raise SpecError(f"`{kind}` takes no arguments, but was given {shown(value)}",
                                value_pos, hints=[f"write just `- {kind}`"])
            args = Map({first: value}, pos=value_pos)
            args.val_pos[first] = value_pos
            options = {}
        rounding = options.get("rounding", rounding)   # a layer may override the spec's rounding
        try:
            validated = rule.args.model_validate(dict(args))
        except ValidationError as exc:
            error = error_from_pydantic(exc, args, f"`{kind}`", list(rule.args.model_fields))
            if kind in SIZED_BY_INPUT and type(value) is int:
                error.hints.insert(0, f"`{kind}` takes its channels from its input: write "
                                      f"`- {kind}` alone (`{kind}: {value}` sets `{first}`)")
            raise error from None
        node = self.new(path, kind, pos, rounding, args=validated, block=block, leaf=True)
        return _apply_options(node, options, value)

    # -- composites ----------------------------------------------------------------------------

    def composite(self, kind: str, value, pos, value_pos, path, rounding, block) -> Node:
        if kind == "sequential":
            if not isinstance(value, Seq):
                raise SpecError("`sequential` takes a list of layer entries", value_pos or pos,
                                hints=["e.g. `sequential: [conv: ..., relu]`, or the entries on "
                                       "the lines below it, indented, each starting with `- `"])
            node = self.new(path, kind, pos, rounding, block=block)
            node.children = self.sequence(value, path, rounding, block)
            return node
        if kind in ("concat", "add"):
            if not isinstance(value, Seq) or not value:
                raise SpecError(f"`{kind}` takes a list of branches, each a list of entries",
                                value_pos, hints=[f"e.g. `{kind}: [[conv: ...], []]`"])
            node = self.new(path, kind, pos, rounding, block=block)
            for b, branch in enumerate(value):
                if not isinstance(branch, Seq):
                    raise SpecError(f"branch {b} of `{kind}` must be a list of entries "
                                    "(`[]` for the identity)", value.at(b))
                branch_path = child_path(path, b)
                child = self.new(branch_path, "sequential", value.at(b), rounding, block=block)
                child.children = self.sequence(branch, branch_path, rounding, block)
                node.children.append(child)
            return node
        if not isinstance(value, Map):
            raise SpecError(f"`{kind}` takes a mapping", value_pos,
                            hints=["`repeat: {times: N, layers: [...]}`" if kind == "repeat" else
                                   "`residual: {layers: [...], shortcut: identity}`"])
        args, options = _split_options(value)
        rounding = options.get("rounding", rounding)
        if kind == "repeat":
            return _apply_options(self.repeat(args, pos, value_pos, path, rounding, block),
                                  options, value)
        return _apply_options(self.residual(args, pos, value_pos, path, rounding, block),
                              options, value)

    def repeat(self, args: Map, pos, value_pos, path, rounding, block) -> Node:
        _only_keys(args, ("times", "layers"), "repeat", value_pos)
        times = args.get("times")
        if "times" not in args:
            raise SpecError(f"`repeat` needs `times`: a whole number from 1 to {MAX_REPEAT:,}",
                            value_pos)
        if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= MAX_REPEAT:
            raise SpecError(f"`times` must be a whole number from 1 to {MAX_REPEAT:,}, not "
                            f"{shown(times)}", args.at("times"))
        if "layers" not in args:
            raise SpecError("`repeat` needs `layers`", value_pos)
        node = self.new(path, "repeat", pos, rounding, block=block)
        first_path = child_path(path, 0)
        before = self.count
        first = self.new(first_path, "sequential", args.at("layers"), rounding, block=block)
        first.children = self.sequence(args["layers"], first_path, rounding, block)
        per_iteration = self.count - before
        if self.count + per_iteration * (times - 1) > MAX_NODES:
            raise SpecError(f"`repeat` {times:,} times expands to more than {MAX_NODES:,} layers",
                            args.at("times"))
        self.count += per_iteration * (times - 1)
        node.children = [first] + [first.renamed(first_path, child_path(path, r))
                                   for r in range(1, times)]
        return node

    def residual(self, args: Map, pos, value_pos, path, rounding, block) -> Node:
        _only_keys(args, ("layers", "shortcut"), "residual", value_pos)
        if "layers" not in args:
            raise SpecError("`residual` needs `layers`", value_pos)
        node = self.new(path, "residual", pos, rounding, block=block)
        main_path, short_path = child_path(path, "layers"), child_path(path, "shortcut")
        main = self.new(main_path, "sequential", args.at("layers"), rounding, block=block)
        main.children = self.sequence(args["layers"], main_path, rounding, block)
        shortcut = args.get("shortcut", "identity")
        short = self.new(short_path, "sequential", args.at("shortcut") if "shortcut" in args
                         else value_pos, rounding, block=block)
        if isinstance(shortcut, Seq):
            short.children = self.sequence(shortcut, short_path, rounding, block)
        elif shortcut in SHORTCUTS:
            node.shortcut = shortcut
        else:
            close = get_close_matches(str(shortcut), SHORTCUTS, n=1, cutoff=0.5)
            raise SpecError(f"`shortcut` can't be {shown(shortcut)}: write identity, projection, "
                            "auto, or a list of entries", args.at("shortcut"),
                            hints=[f"did you mean `{close[0]}`?"] if close else [])
        node.children = [main, short]
        return node

    # -- blocks --------------------------------------------------------------------------------

    def block_use(self, name: str, value, pos, value_pos, path, rounding) -> Node:
        definition = self.blocks[name]
        if name in self.stack:
            cycle = " → ".join([*self.stack[self.stack.index(name):], name])
            raise SpecError(f"block `{name}` uses itself: {cycle}", pos)
        if len(self.stack) >= MAX_BLOCK_DEPTH:
            raise SpecError(f"blocks are nested more than {MAX_BLOCK_DEPTH} deep", pos)
        declared = definition.params
        if isinstance(value, Map):
            given, options = _split_options(value)
        elif value is None:
            given, options = Map(pos=value_pos), {}
        else:
            if not declared:
                raise SpecError(f"block `{name}` takes no parameters, but was given {shown(value)}",
                                value_pos)
            first = next(iter(declared))
            given, options = Map({first: value}, pos=value_pos), {}
            given.val_pos[first] = value_pos
        for key in given:
            if key not in declared:
                close = get_close_matches(key, list(declared), n=1, cutoff=0.6)
                hints = [f"did you mean `{close[0]}`?"] if close else []
                hints.append(f"parameters of `{name}`: {', '.join(declared) or 'none'}")
                raise SpecError(f"block `{name}` has no parameter `{key}`",
                                given.key_pos.get(key, value_pos), hints=hints)
        env = {}
        for key, default in declared.items():
            if key in given:
                env[key] = given[key]
            elif default == "required":
                raise SpecError(f"block `{name}` needs the parameter `{key}`", value_pos,
                                hints=[f"write `{name}: {{{key}: ...}}`"])
            else:
                env[key] = default
        rounding = options.get("rounding", rounding)
        # The node keeps the name without control characters (like `name:`, see _apply_options)
        label = printable(name)
        node = self.new(path, label, pos, rounding, block=label)
        self.stack.append(name)
        try:
            layers = substitute(definition.layers, env, definition.layers.pos, name)
            node.children = self.sequence(layers, path, rounding, label)
        except SpecError as exc:
            exc.notes.append(f"in block `{name}` used at line {pos.line}, column {pos.col}")
            raise
        finally:
            self.stack.pop()
        return _apply_options(node, options, value)


def _split_options(value: Map) -> tuple[Map, dict]:
    """Arguments without the options every entry may carry (name, expect, rounding)."""
    args = Map(pos=value.pos)
    options = {}
    for key, item in value.items():
        if key in COMMON_OPTIONS:
            options[key] = item
        else:
            args[key] = item
            args.key_pos[key] = value.key_pos.get(key)
            args.val_pos[key] = value.val_pos.get(key)
    if "rounding" in options and options["rounding"] not in ("strict", "floor"):
        given = options["rounding"]
        close = [r for r in ("strict", "floor") if isinstance(given, str) and r == given.lower()]
        raise SpecError(f"`rounding` can't be {shown(given)}: write strict or floor",
                        value.at("rounding"),
                        hints=[f"did you mean `{close[0]}`?"] if close else [])
    if "name" in options and not isinstance(options["name"], (str, int)):
        raise SpecError("`name` must be text", value.at("name"))
    return args, options


def _apply_options(node: Node, options: dict, value) -> Node:
    if "name" in options:
        # Names (and block names, the kind of a block's use) come from untrusted specs and go to
        # terminals in every report, table, explanation and message: made printable once, here.
        node.name = printable(str(options["name"]))
    if "expect" in options:
        raw = options["expect"]
        try:
            node.expect = LayerExpect.model_validate(raw)
        except ValidationError as exc:
            error = error_from_pydantic(exc, raw, "`expect`", list(LayerExpect.model_fields))
            if error.pos is None:
                error.pos = value.at("expect")
            raise error from None
    return node


def _only_keys(args: Map, allowed: tuple, kind: str, pos) -> None:
    for key in args:
        if key not in allowed:
            close = get_close_matches(key, allowed, n=1, cutoff=0.6)
            hints = [f"did you mean `{close[0]}`?"] if close else []
            hints.append(f"allowed: {', '.join((*allowed, *COMMON_OPTIONS))}")
            raise SpecError(f"`{kind}` has no `{key}`", args.key_pos.get(key, pos), hints=hints)


def _entry_shape_error(raw: Map, pos) -> SpecError:
    keys = list(raw)
    options = [k for k in keys if k in COMMON_OPTIONS]
    kinds = [k for k in keys if k not in COMMON_OPTIONS]
    if not keys:
        return SpecError("an empty layer entry", pos, hints=["write a kind, e.g. `- relu`"])
    if len(kinds) == 1 and options:
        return SpecError(f"`{options[0]}` belongs inside the arguments of `{kinds[0]}`", pos,
                         hints=[f"write `{kinds[0]}: {{..., {options[0]}: ...}}`"])
    # `- conv:` with its arguments on the next lines, not indented under it
    first, rest = kinds[0], kinds[1:]
    if first in KINDS and raw[first] is None and all(k in KINDS[first].args.model_fields
                                                     for k in rest):
        one = len(rest) == 1
        return SpecError(f"{', '.join(f'`{k}`' for k in rest)} "
                         f"{'looks like an argument' if one else 'look like arguments'} of "
                         f"`{first}`, but {'isn' if one else 'aren'}'t indented under it", pos,
                         hints=[f"indent the arguments two spaces more than `{first}:`, or "
                                f"write `- {first}: {{{', '.join(f'{k}: ...' for k in rest)}}}`"])
    return SpecError(f"a layer entry has exactly one kind, but this one has {len(kinds)}: "
                     f"{', '.join(kinds)}", pos,
                     hints=["start each layer on its own line with `- `"])


# ---------------------------------------------------------------------------------------------
# `$name` and `${…}` substitution

def substitute(value, env: dict | None, pos, block: str | None):
    """A copy of raw data with every `$name` / `${expr}` replaced from `env` (None: outside any
    block, where parameters are an error)."""
    if isinstance(value, str):
        return _substitute_string(value, env, pos, block) if "$" in value else value
    if isinstance(value, Map):
        out = Map(pos=value.pos)
        out.key_pos = value.key_pos
        out.val_pos = value.val_pos
        for key, item in value.items():
            out[key] = substitute(item, env, value.at(key), block)
        return out
    if isinstance(value, Seq):
        return Seq((substitute(item, env, value.at(i), block) for i, item in enumerate(value)),
                   pos=value.pos, item_pos=value.item_pos)
    return value


def _substitute_string(text: str, env: dict | None, pos, block: str | None):
    def value_of(name: str):
        if env is None:
            raise SpecError(f"`${name}` is used outside a block: parameters exist only inside a "
                            "block's layers", pos)
        if name not in env:
            known = ", ".join(f"${k}" for k in env) or "none"
            raise SpecError(f"block `{block}` has no parameter `{name}` (parameters: {known})", pos)
        return env[name]

    def expression(source: str):
        if env is None:
            raise SpecError(f"`${{{source}}}` is used outside a block: parameters exist only "
                            "inside a block's layers", pos)
        try:
            return evaluate(source, env)
        except ExpressionError as exc:
            raise SpecError(str(exc), pos) from None

    whole = _WHOLE_NAME.match(text)
    if whole:
        return value_of(whole.group(1))
    whole = _WHOLE_EXPR.match(text)
    if whole:
        return expression(whole.group(1))
    return _PARAM.sub(lambda m: str(expression(m.group(1)) if m.group(1) is not None
                                    else value_of(m.group(2))), text)
