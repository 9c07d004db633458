"""Spec -> graph: blocks instantiated with their parameters, repeats unrolled, composites
resolved, every node given its path and every leaf's arguments validated.

Bounded work: at most MAX_NODES nodes, blocks nested at most MAX_BLOCK_DEPTH deep, the graph
at most MAX_NESTING levels deep, and a repeat is sized before it is unrolled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import get_close_matches

from pydantic import ValidationError

from cnncalc.arith import ExpressionError, evaluate
from cnncalc.dims import is_int
from cnncalc.errors import Pos, SpecError, SpecErrors, printable
from cnncalc.graph import Key, Node, child_path, out_key, unused
from cnncalc.kinds import BLOCK, BUILTIN_NAMES, COMPOSITES, KINDS, SEQUENTIAL, Entry
from cnncalc.kinds.composite import MAX_REPEAT, LaterBlockUse
from cnncalc.loader import Map, Seq
from cnncalc.spec import MAX_ERRORS, BlockDef, LayerExpect, Spec, error_from_pydantic, shown

MAX_NODES = 250_000    # the time and memory this takes are in bench/README.md
MAX_BLOCK_DEPTH = 32
MAX_NESTING = 100         # levels of the expanded graph (blocks inside blocks multiply them)
# What any entry may carry besides its arguments (`when` is read first: see _Expander.entry)
COMMON_OPTIONS = ("name", "expect", "rounding", "id", "from", "when")
ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
BUILT_IN_IDS = ("input", ".")
IN_CHANNELS = "in_channels"     # inside a block: the channels of that use's input
# what a block parameter may not be called: at a use, `- b: {from: x}` is always a reference
RESERVED_PARAMS = (IN_CHANNELS, *COMMON_OPTIONS)

__all__ = ["MAX_NODES", "MAX_REPEAT", "expand", "substitute"]

_PARAM = re.compile(r"\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_WHOLE_NAME = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
_WHOLE_EXPR = re.compile(r"^\$\{([^}]*)\}$")


def expand(spec: Spec, raw: Map | None = None) -> Node:
    """The network as a tree of nodes; the root is a `sequential` with path ''. `raw` is the
    spec's top-level mapping as loaded, for the positions of block names."""
    check_block_names(spec.blocks, raw)
    expander = _Expander(spec)
    layers = substitute(spec.layers, None, getattr(spec.layers, "pos", None), None)
    if not isinstance(layers, Seq):
        expander.sequence(layers, "", spec.rounding, None)      # says what is wrong
    expander.scope = _Scope(None, ("", "in"), ("", "in"), later=_ids_in(layers))
    # Every top-level entry is expanded on its own, so that each of their mistakes is reported
    # in one run (an error inside an entry, a block's use included, ends that entry).
    children: list[Node] = []
    removed: list[str] = []
    errors: list[SpecError] = []
    for i, item in enumerate(layers):
        try:
            node = expander.entry(item, layers.at(i), child_path("", i), spec.rounding, None)
            if isinstance(node, Node):
                children.append(node)
            else:
                removed.append(node)
        except SpecError as exc:
            if not any((e.pos, e.message) == (exc.pos, exc.message) for e in errors):
                errors.append(exc)        # a block's mistake once, not at each use
            if expander.count > MAX_NODES:
                break                     # past the limit, nothing more is expanded
    root = Node("", SEQUENTIAL, Pos(1, 1), spec.rounding, children=children,
                removed=tuple(removed))
    # (a block that reads `$in_channels` is laid out by the analysis, references and all)
    if not errors and (expander.references or spec.outputs is not None or expander.later_uses):
        # (None, the default, for a network without references: one output, the last entry's)
        try:
            root.outputs = expander.outputs(spec, raw)
        except SpecError as exc:
            errors.append(exc)
    if not errors and root.outputs is not None:
        for node in unused(root, [key for _, key in root.outputs or ()]):
            errors.append(_unused_error(node))
    if errors:
        errors.sort(key=lambda e: (e.pos.line, e.pos.col) if e.pos else (0, 0))   # file order
        raise errors[0] if len(errors) == 1 else SpecErrors(
            errors[:MAX_ERRORS], more=max(0, len(errors) - MAX_ERRORS))
    return root


def _unused_error(node: Node) -> SpecError:
    what = f"`{node.id}`" if node.id else f"layer {node.path} ({node.kind})"
    return SpecError(f"{what} is computed but never used: no output of the network depends on it",
                     node.pos, hints=["take it as an input (`from: NAME`), list it in `outputs:`, "
                                      "or remove it"])


@dataclass(slots=True)
class _Scope:
    """The names one list of entries sees (lexical scope): its own ids defined so far, and its
    parent's (none for the top level and a block's layers: a block sees only its own names)."""

    parent: _Scope | None
    input: Key                      # what `input` names
    previous: Key                   # what `.` names: the last entry's output, or the list's input
    names: dict[str, tuple[Key, Pos | None] | None] = field(default_factory=dict)  # None: broken
    later: dict[str, Pos | None] = field(default_factory=dict)   # every id written in the list
    removed: dict[str, Pos | None] = field(default_factory=dict)  # ids of entries `when` removed


def _ids_in(raw) -> dict[str, Pos | None]:
    """The ids written on a list's entries, for "used before it is defined"."""
    found: dict[str, Pos | None] = {}
    if isinstance(raw, Seq):
        for item in raw:
            if isinstance(item, Map) and len(item) == 1:
                value = next(iter(item.values()))
                if isinstance(value, Map) and isinstance(value.get("id"), str):
                    found.setdefault(value["id"], value.at("id"))
    return found


def check_block_names(defined: dict[str, BlockDef], raw: Map | None) -> None:
    """A block may not take a built-in kind's name: `concat` must mean one thing; nor may a
    parameter take a name an entry's arguments already give a meaning to. (`raw`: the spec's
    top-level mapping, for positions.)"""
    blocks = raw.get("blocks") if isinstance(raw, Map) else None
    for name, definition in defined.items():
        for param in definition.params:
            if param in RESERVED_PARAMS:
                written = blocks.get(name) if isinstance(blocks, Map) else None
                params = written.get("params") if isinstance(written, Map) else None
                pos = params.key_pos.get(param) if isinstance(params, Map) else None
                what = ("is the channels of the block's input, given to every block"
                        if param == IN_CHANNELS else
                        f"is an option every entry may carry (`{param}:` at a use is always that)")
                raise SpecError(f"block `{name}` can't have a parameter called `{param}`: "
                                f"`{param}` {what}", pos,
                                hints=[f"rename the parameter (e.g. `{name}_{param}`)"
                                       if param != IN_CHANNELS else
                                       "drop the parameter and use `$in_channels` as it is"])
    for name in defined:
        if name in BUILTIN_NAMES:
            pos = blocks.key_pos.get(name) if isinstance(blocks, Map) else None
            kind = "composite" if name in COMPOSITES else "layer kind"
            raise SpecError(f"a block can't be called `{name}`: that is a built-in {kind}", pos,
                            hints=[f"rename the block (e.g. `my_{name}`) and its uses"])


class _Expander:
    def __init__(self, spec: Spec):
        self.blocks = spec.blocks
        self.layout = spec.layout
        self.count = 0
        self.stack: list[str] = []
        # A block's use already built, by its name, parameters and place: a later use with the
        # same ones is the same layers, so it is counted before it is made, and copied. Blocks
        # that each use the next twice are refused after one use of each, not at the limit.
        self.built: dict[tuple, tuple[Node, int]] = {}
        self.scope: _Scope | None = None
        self.references = False       # whether any entry reads another (`from`, `like`)
        self.everywhere: dict[str, Pos | None] = {}   # every id defined, for "seen only there"
        # the composite made last at each path: `sequence` tells it which entries `when` left out
        self.parents: dict[str, Node] = {}
        self.reading: dict[str, bool] = {}     # block name -> whether it reads $in_channels
        self.later_uses = False                # whether a use of such a block was made

    def new(self, *args, **kwargs) -> Node:
        self.count += 1
        if self.count > MAX_NODES:
            raise SpecError(f"the network expands to more than {MAX_NODES:,} layers",
                            kwargs.get("pos") or args[2])
        node = Node(*args, **kwargs)
        if not node.leaf:
            self.parents[node.path] = node
        return node

    def reserve(self, nodes: int, message: str, pos) -> None:
        """Count `nodes` more before they are made (a repeat's copies); `message` has
        `{limit}` for MAX_NODES."""
        if self.count + nodes > MAX_NODES:
            raise SpecError(message.format(limit=MAX_NODES), pos)
        self.count += nodes

    # For the composites' `expand`: the options every entry may carry, and allowed keys
    def options(self, value: Map) -> tuple[Map, dict]:
        return _split_options(value)

    def finish(self, node: Node, options: dict, value) -> Node:
        """The options any entry may carry, applied to its node: `name`, `expect`, and the
        references `id` and `from` (a composite takes a list `from` itself first)."""
        _apply_options(node, options, value)
        if "id" in options:
            node.id = self.new_id(options["id"], value.at("id"))
        if "from" in options:
            source = options["from"]
            if not isinstance(source, str):
                raise SpecError(f"`from` names one earlier entry, not {shown(source)}",
                                value.at("from"),
                                hints=["a list of names is for `concat`, `add` and `mul`: "
                                       "`concat: {from: [a, b]}`"])
            node.src = self.lookup(source, value.at("from"))
        return node

    def new_id(self, name, pos) -> str:
        if name in BUILT_IN_IDS:
            raise SpecError(f"an entry can't be called `{name}`: `{name}` is built in ("
                            + ("the input of the network, or of the block's use"
                               if name == "input" else "the previous entry's output") + ")",
                            pos, hints=["choose another id"])
        if not isinstance(name, str) or not ID.match(name):
            raise SpecError(f"`id` must be a name (letters, digits and _, not starting with a "
                            f"digit), not {shown(name)}", pos)
        scope = self.scope
        assert scope is not None
        if name in scope.names:
            first = scope.names[name]
            notes = ([f"first defined at line {first[1].line}, column {first[1].col}"]
                     if first is not None and first[1] is not None else [])
            raise SpecError(f"`{name}` is defined twice in this list", pos, notes=notes,
                            hints=["give each entry of a list its own id (a nested list may "
                                   "reuse an outer one)"])
        return name

    def removed(self, name: str, pos) -> None:
        """An entry its `when` removed defines no name: a use of it says so (for `when`)."""
        assert self.scope is not None
        self.scope.removed[name] = pos

    def define(self, node: Node, pos) -> None:
        """After an entry: its id is visible to the entries after it, and `.` is its output."""
        scope = self.scope
        assert scope is not None
        if node.id is not None:
            scope.names[node.id] = (out_key(node), pos)
            self.everywhere.setdefault(node.id, pos)
        scope.previous = out_key(node)

    def lookup(self, name, pos) -> Key:
        """The value an entry names: an id visible here, `input` or `.`."""
        scope = self.scope
        assert scope is not None
        self.references = True
        if name == ".":
            return scope.previous
        if name == "input":
            return scope.input
        if not isinstance(name, str):
            raise SpecError(f"a reference is the id of an earlier entry, not {shown(name)}", pos)
        visible: list[str] = []
        here: _Scope | None = scope
        while here is not None:
            if name in here.names:
                found = here.names[name]
                # an entry that failed to expand: its own error says why
                return found[0] if found is not None else scope.previous
            visible += here.names
            here = here.parent
        here = scope
        while here is not None:
            if name in here.removed:
                at = here.removed[name]
                raise SpecError(f"`{name}` is removed by its `when` here, so it has no output to "
                                "read", pos,
                                notes=[f"`{name}` is at line {at.line}, column {at.col}"]
                                if at is not None else [],
                                hints=["give the reading entry the same `when`, or read another "
                                       "entry"])
            if name in here.later:
                at = here.later[name]
                raise SpecError(f"`{name}` is used before it is defined", pos,
                                notes=[f"`{name}` is defined at line {at.line}, column {at.col}"]
                                if at is not None else [],
                                hints=["an entry can take the output of an entry above it only"])
            here = here.parent
        close = get_close_matches(name, [*visible, *BUILT_IN_IDS], n=1, cutoff=0.6)
        hints = [f"did you mean `{close[0]}`?"] if close else []
        elsewhere = self.everywhere.get(name)
        notes = ([f"`{name}` is defined at line {elsewhere.line}, column {elsewhere.col}, in a "
                  "list this entry can't see (a nested list, or the layers outside a block)"]
                 if elsewhere is not None else [])
        hints.append("ids visible here: " + ", ".join(f"`{v}`" for v in [*visible, *BUILT_IN_IDS])
                     + " (an id inside a block or a nested list is seen only there)")
        raise SpecError(f"unknown id `{name}`", pos, notes=notes, hints=hints)

    def outputs(self, spec: Spec, raw: Map | None) -> list[tuple[str, Key]]:
        """`outputs: [NAME, ...]` resolved at the end of the top-level list (default: `.`)."""
        if spec.outputs is None:
            assert self.scope is not None
            return [(".", self.scope.previous)]
        self.references = True
        given = raw.get("outputs") if isinstance(raw, Map) else None
        at = given.at if isinstance(given, Seq) else (lambda i: None)
        return [(name, self.lookup(name, at(i))) for i, name in enumerate(spec.outputs)]

    def only_keys(self, args: Map, allowed: tuple, kind: str, pos) -> None:
        _only_keys(args, allowed, kind, pos)

    def sequence(self, raw, prefix: str, rounding: str, block: str | None,
                 own_scope: bool = False) -> list[Node]:
        """A list of entries, its own scope (`own_scope`: seeing nothing outside, as a block's
        layers; `input` is then the list's input)."""
        if not isinstance(raw, Seq):
            raise SpecError("expected a list of layer entries", getattr(raw, "pos", None),
                            hints=["write each layer on its own line starting with `- `"])
        outer = self.scope
        start = (prefix, "in")
        self.scope = _Scope(None if own_scope else outer,
                            start if own_scope or outer is None else outer.input, start,
                            later=_ids_in(raw))
        nodes: list[Node] = []
        removed: list[str] = []
        try:
            for i, item in enumerate(raw):
                node = self.entry(item, raw.at(i), child_path(prefix, i), rounding, block)
                if isinstance(node, Node):
                    nodes.append(node)
                else:
                    removed.append(node)
        finally:
            self.scope = outer
        if removed and prefix in self.parents:
            self.parents[prefix].removed = tuple(removed)
        return nodes

    def entry(self, raw, pos: Pos | None, path: str, rounding: str,
              block: str | None) -> Node | str:
        """The entry's node, or, where its `when` is 0, why it was left out (its paths keep
        their places: the entries after it keep their numbers)."""
        try:
            node = self._entry(raw, pos, path, rounding, block)
        except SpecError:
            scope = self.scope
            if scope is not None:       # its id stays known: a use of it isn't a second error
                name = _written_id(raw)
                if name is not None and name not in scope.names:
                    scope.names[name] = None
            raise
        if isinstance(node, Node):
            self.define(node, pos)
        else:                           # left out by its `when`: it defines no name
            name = _written_id(raw)
            if name is not None and self.scope is not None:
                self.removed(name, pos)
        return node

    def _entry(self, raw, pos: Pos | None, path: str, rounding: str,
               block: str | None) -> Node | str:
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
            if isinstance(value, Map) and "when" in value:
                if not _when(value):
                    if kind not in KINDS and kind not in COMPOSITES and kind not in self.blocks:
                        raise self.unknown_kind(kind, pos)  # a typo is one wherever it is
                    return (f"{path.rsplit('.', 1)[-1]} ({printable(str(kind))}): "
                            f"{_when_text(value['when'])}")
                value = _without(value, "when")
        else:
            raise SpecError(f"a layer entry is a kind name (`relu`) or `kind: arguments`, "
                            f"not {shown(raw)}", pos)
        if kind in KINDS:
            return self.leaf(kind, value, pos, value_pos, path, rounding, block)
        if kind in COMPOSITES:
            return COMPOSITES[kind].expand(self, value, Entry(path, pos, value_pos, rounding, block))
        if kind in self.blocks:
            return self.block_use(kind, value, pos, value_pos, path, rounding)
        raise self.unknown_kind(kind, pos)

    def unknown_kind(self, kind, pos: Pos | None) -> SpecError:
        """The error for an entry naming no kind, composite or block (also under `when: 0`)."""
        continued = re.match(r"(\S+)\s+-\s+(\S.*)$", str(kind), re.S)
        if continued:       # `- relu` then `   - flatten` one column deeper, read as one text
            above, below = continued[1], " ".join(continued[2].split())
            return SpecError(f"unknown layer kind `{' '.join(str(kind).split())}`", pos, hints=[
                f"`- {below}` is indented more than `- {above}` above it, so YAML read it as "
                "text continuing that item: line up the `- ` of every item in a list"])
        names = [*KINDS, *COMPOSITES, *self.blocks]
        close = get_close_matches(str(kind), names, n=1, cutoff=0.6)
        hints = [f"did you mean `{close[0]}`?"] if close else [
            f"`{kind}` isn't a kind or a block: define blocks under `blocks:`"]
        hints.append("`cnncalc kinds` lists every kind")
        return SpecError(f"unknown layer kind `{kind}`", pos, hints=hints)

    # -- leaves --------------------------------------------------------------------------------

    def leaf(self, kind: str, value, pos, value_pos, path, rounding, block) -> Node:
        rule = KINDS[kind]
        if isinstance(value, Map):
            args, options = _split_options(value)
        elif value is None:
            args, options = Map(pos=value_pos), {}
        else:
            first = rule.first_argument()
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
            if rule.sized_by_input and type(value) is int:
                error.hints.insert(0, f"`{kind}` takes its channels from its input: write "
                                      f"`- {kind}` alone (`{kind}: {value}` sets `{first}`)")
            raise error from None
        node = self.new(path, rule.in_layout(self.layout), pos, rounding, args=validated,
                        block=block)
        if rule.references:
            node.refs = tuple(self.lookup(getattr(validated, name), args.at(name))
                              for name in rule.references if getattr(validated, name) is not None)
        return self.finish(node, options, value)

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
        if self.reads_in_channels(name):
            self.later_uses = True
            node = self.new(path, self.later(name, env, pos), pos, rounding,
                            block=printable(name), kind=printable(name))
            return self.finish(node, options, value)
        key = _use_key(name, env, rounding, len(self.stack), path.count("."))
        if key in self.built:
            made, size = self.built[key]
            self.reserve(size, "the network expands to more than {limit:,} layers", pos)
            node = made.renamed(made.path, path)
            # the options are this use's
            node.pos, node.name, node.expect, node.id, node.src = pos, None, None, None, None
            for below in node.walk():
                # its own arguments objects, as a fresh build has: the analysis computes a
                # layer once per arguments object and input (a repeat's iterations share them)
                if below.args is not None:
                    below.args = below.args.model_copy()
            return self.finish(node, options, value)
        before = self.count
        # The node keeps the name without control characters (like `name:`, see _apply_options)
        label = printable(name)
        node = self.new(path, BLOCK, pos, rounding, block=label, kind=label)
        try:
            node.children = self.block_layers(name, env, path, rounding)
        except SpecError as exc:
            exc.notes.append(f"in block `{name}` used at line {pos.line}, column {pos.col}")
            raise
        if key is not None:
            self.built[key] = (node, self.count - before)
        return self.finish(node, options, value)

    def block_layers(self, name: str, env: dict, path: str, rounding: str) -> list[Node]:
        definition = self.blocks[name]
        self.stack.append(name)
        try:
            layers = substitute(definition.layers, env, getattr(definition.layers, "pos", None),
                                name)
            return self.sequence(layers, path, rounding, printable(name), own_scope=True)
        finally:
            self.stack.pop()

    def reads_in_channels(self, name: str) -> bool:
        if name not in self.reading:
            self.reading[name] = _reads_in_channels(self.blocks[name].layers)
        return self.reading[name]

    def later(self, name: str, env: dict, pos) -> LaterBlockUse:
        """A use of a block that reads `$in_channels`, made when the analysis reaches it: the
        channels are a number then (they never depend on the spatial sizes, except after a
        `flatten`). The layers made for a place and a number of channels are kept, so that
        analysing the graph again makes nothing new."""
        stack = list(self.stack)
        made: dict[tuple, list[Node]] = {}

        def expand(node: Node, channels) -> list[Node]:
            if not isinstance(channels, int):
                raise SpecError(f"block `{name}` reads `$in_channels`, but its input's channels "
                                f"are {channels}, not a number", pos,
                                hints=["give the input sizes as numbers, or use the block "
                                       "before `flatten`"])
            if (node.path, channels) not in made:
                outer, self.stack = self.stack, stack
                self.parents[node.path] = node
                try:
                    layers = self.block_layers(name, {**env, IN_CHANNELS: channels}, node.path,
                                               node.rounding)
                finally:
                    self.stack = outer
                # what the expansion checked for the other lists: every entry is used
                node.children = layers
                for entry in unused(node, node.impl.reads(node)):
                    raise _unused_error(entry)
                made[node.path, channels] = layers
            return made[node.path, channels]

        return LaterBlockUse(expand)


def _written_id(raw) -> str | None:
    if isinstance(raw, Map) and len(raw) == 1:
        value = next(iter(raw.values()))
        if isinstance(value, Map) and isinstance(value.get("id"), str):
            return value["id"]
    return None


def _use_key(name: str, env: dict, rounding: str, depth: int, nesting: int) -> tuple | None:
    """What a block's expansion depends on, or None where a parameter's value is a list or
    mapping (not hashable). A value's type is part of it: `true` and `1` are equal in Python."""
    key = (name, rounding, depth, nesting, tuple((k, type(v), v) for k, v in env.items()))
    try:
        hash(key)
    except TypeError:
        return None
    return key


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


class When(int):
    """A `when:` value from `${…}`, with its text for `explain` ("when: ${t != 1} is 0")."""

    text: str

    def __new__(cls, value: int, text: str) -> When:
        made = super().__new__(cls, value)
        made.text = text
        return made


def _when(value: Map) -> bool:
    """Whether an entry whose arguments carry `when` is there: its value is not 0."""
    given = value["when"]
    if not isinstance(given, int):      # a bool is one too: `when: $use_se`
        raise SpecError(f"`when` must be a whole number or `${{…}}` (the entry is there where it "
                        f"is not 0), not {shown(given)}", value.at("when"),
                        hints=['e.g. `when: "${t != 1}"` inside a block'])
    return given != 0


def _when_text(given) -> str:
    if isinstance(given, When):
        return f'when: "{printable(given.text)}" is 0'
    return f"when: {str(given).lower()}"


def _without(value: Map, key: str) -> Map:
    out = Map(((k, v) for k, v in value.items() if k != key), pos=value.pos)
    out.key_pos, out.val_pos = value.key_pos, value.val_pos
    return out


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
            if isinstance(key, str) and _WHOLE_NAME.match(key):
                # `- $se: {ratio: 4}`: a parameter naming a kind or block that takes arguments
                named = _kind_parameter(key, env, value.key_pos.get(key, pos), block)
                out.key_pos = {**out.key_pos, named: value.key_pos.get(key)}
                out.val_pos = {**out.val_pos, named: value.val_pos.get(key)}
                key = named
            out[key] = substitute(item, env, out.at(key), block)
            if key == "when" and isinstance(item, str) and is_int(out[key]):
                out[key] = When(out[key], item)     # its text, for `explain`
        return out
    if isinstance(value, Seq):
        return Seq((substitute(item, env, value.at(i), block) for i, item in enumerate(value)),
                   pos=value.pos, item_pos=value.item_pos)
    return value


def _kind_parameter(key: str, env: dict | None, pos, block: str | None) -> str:
    named = _substitute_string(key, env, pos, block)
    if not isinstance(named, str):
        raise SpecError(f"`{key}` stands for a kind or block here, but it is {shown(named)}", pos,
                        hints=[f"pass a kind's or block's name, e.g. `{key[1:]}: relu`"])
    return named


def _reads_in_channels(layers) -> bool:
    """Whether a block's layers (not the blocks they use) mention `$in_channels`."""
    if isinstance(layers, str):
        return "$" in layers and any(
            m.group(2) == IN_CHANNELS or (m.group(1) is not None and
                                          re.search(rf"\b{IN_CHANNELS}\b", m.group(1)))
            for m in _PARAM.finditer(layers))
    if isinstance(layers, dict):
        return any(_reads_in_channels(k) or _reads_in_channels(v) for k, v in layers.items())
    if isinstance(layers, list):
        return any(_reads_in_channels(item) for item in layers)
    return False


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
