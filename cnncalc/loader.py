"""YAML text -> plain data (`Map`, `Seq`, scalars) that remembers where every node was written.

Specs are untrusted: only YAML's safe core types are built, and the work is bounded by the
limits below whatever the input (file size, nesting, alias expansion, string length).
"""

from __future__ import annotations

import math
import os
import re
import select
import stat
import sys
from pathlib import Path

import yaml

from cnncalc.errors import Pos, SpecError

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64            # nested mappings/lists in the YAML text
MAX_VALUES = 200_000      # values after aliases are expanded ("billion laughs" stops here)
MAX_STRING = 10_000
MAX_DIGITS = 40           # a figure of tensors of under 2^63 elements has fewer digits

# LibYAML when PyYAML was built with it (several times faster on a large spec); its marks are
# the pure-Python parser's (tests/test_hostile.py compares them).
if yaml.__with_libyaml__:
    from yaml.cyaml import CParser as _Parser
    from yaml.cyaml import CSafeLoader as _Loader
else:   # pragma: no cover - PyYAML without LibYAML
    _Parser, _Loader = None, yaml.SafeLoader
_SCALAR_TAGS = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null",
}
_constructor = yaml.constructor.SafeConstructor()
_FLOAT_1_2 = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


class Map(dict):
    """A YAML mapping; `pos` is where it starts, `key_pos[k]`/`val_pos[k]` where its parts are."""

    __slots__ = ("pos", "key_pos", "val_pos")

    def __init__(self, items=(), pos: Pos | None = None):
        super().__init__(items)
        self.pos = pos
        self.key_pos: dict = {}
        self.val_pos: dict = {}

    def at(self, key) -> Pos | None:
        return self.val_pos.get(key, self.pos)


class Seq(list):
    """A YAML sequence; `pos` is where it starts, `item_pos[i]` where item i is."""

    __slots__ = ("pos", "item_pos")

    def __init__(self, items=(), pos: Pos | None = None, item_pos=None):
        super().__init__(items)
        self.pos = pos
        self.item_pos: list = list(item_pos or [])

    def at(self, index: int) -> Pos | None:
        return self.item_pos[index] if index < len(self.item_pos) else self.pos


def _pos(node) -> Pos:
    return Pos(node.start_mark.line + 1, node.start_mark.column + 1)


def read_source(source: str) -> tuple[str, str]:
    """The text of a spec and the name to show for it: a file path, `-` for standard input,
    or the name of a bundled spec (`vgg16`)."""
    if source == "-":
        if sys.stdin is None:       # started with standard input closed
            raise SpecError("there is no standard input to read", file="<stdin>")
        try:
            text = sys.stdin.buffer.read(MAX_FILE_BYTES + 1).decode("utf-8")
        except UnicodeDecodeError:
            raise SpecError("standard input isn't UTF-8 text", file="<stdin>") from None
        except OSError as exc:      # e.g. standard input opened for writing only
            raise SpecError(f"can't read standard input: {exc.strerror or exc}",
                            file="<stdin>") from None
        name = "<stdin>"
    else:
        path = Path(source)
        try:
            exists, folder = path.exists(), path.is_dir()
        except OSError as exc:     # e.g. a name too long for the file system
            raise SpecError(f"can't read the file: {exc.strerror or exc}", file=source) from None
        if not exists:
            bundled = bundled_spec(source)
            if bundled is None:
                raise SpecError(f"no such file: {source}", hints=_missing_file_hints(source),
                                file=source)
            path, folder = bundled, False
        if folder:
            raise SpecError(f"{source} is a folder, not a spec file", file=source)
        try:
            # A bounded read: a pipe or a device (`/dev/zero`) has no size to check beforehand.
            with _open(path) as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise SpecError(f"can't read the file: {exc.strerror or exc}", file=source) from None
        if len(data) > MAX_FILE_BYTES:
            raise SpecError(f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB", file=source)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SpecError("the file isn't UTF-8 text", file=source) from None
        name = source
    if len(text) > MAX_FILE_BYTES:
        raise SpecError(f"the spec is larger than {MAX_FILE_BYTES // 2**20} MiB", file=name)
    return text, name


PIPE_WAIT = 10.0   # seconds a named pipe may take to start giving text


def _open(path: Path):
    """`path` opened for reading without waiting: `open` on a named pipe that no program writes
    to would block for ever. A pipe is then given PIPE_WAIT seconds to start giving text."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    handle = os.fdopen(fd, "rb")
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode) and hasattr(select, "poll"):
            poll = select.poll()
            poll.register(fd, select.POLLIN | select.POLLHUP)
            if not poll.poll(PIPE_WAIT * 1000):
                raise SpecError(f"nothing wrote to this named pipe in {PIPE_WAIT:g} seconds",
                                file=str(path))
        os.set_blocking(fd, True)
    except BaseException:
        handle.close()
        raise
    return handle


BUNDLED_DIR = Path(__file__).parent / "specs"


def bundled_names() -> list[str]:
    return sorted(p.stem for p in BUNDLED_DIR.glob("*.yaml"))


def bundled_spec(name: str) -> Path | None:
    """The bundled spec called `name` (`vgg16` or `vgg16.yaml`), if there is one."""
    stem = name[:-5] if name.endswith(".yaml") else name
    if "/" in stem or "\\" in stem or not stem:
        return None
    path = BUNDLED_DIR / f"{stem}.yaml"
    return path if path.is_file() else None


def _missing_file_hints(source: str) -> list[str]:
    from difflib import get_close_matches

    close = get_close_matches(Path(source).stem, bundled_names(), n=3, cutoff=0.6)
    if close:
        return [f"did you mean the bundled spec {' or '.join(repr(c) for c in close)}?"]
    return ["`cnncalc zoo` lists the bundled specs"]


def parse_yaml(text: str, file: str):
    """Parse YAML text into Map/Seq/scalars with positions. Raises SpecError."""
    _check_characters(text, file)
    _check_events(text, file)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Pos(mark.line + 1, mark.column + 1) if mark else None
        problem = _plain_problem(exc.problem or exc.context or "invalid YAML", text, mark,
                                 exc.context_mark)
        notes = []
        if (exc.problem and exc.context and exc.context_mark and exc.context_mark is not mark
                and (exc.context_mark.line, exc.context_mark.column) != (mark.line, mark.column)):
            started = _YAML_CONTEXTS.get(exc.context, exc.context)
            notes.append(f"{started} at line {exc.context_mark.line + 1}, column "
                         f"{exc.context_mark.column + 1}")
        raise SpecError(f"invalid YAML: {problem}", pos, notes=notes, file=file) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", file=file) from None
    if root is None:
        raise SpecError("the spec is empty", Pos(1, 1),
                        hints=["a spec needs at least `input:` and `layers:`; `cnncalc zoo` "
                               "lists complete examples"], file=file)
    budget = [MAX_VALUES]
    try:
        return _convert(root, budget, 0)
    except SpecError as exc:
        raise exc.located(file) from None


# What YAML can't hold (the YAML 1.1 printable set, as PyYAML's reader checks it); a surrogate
# can only come from a caller's text, not from a decoded file.
_NOT_YAML = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")   # what YAML counts as a new line


def _check_characters(text: str, file: str) -> None:
    """Reject a character YAML refuses (NUL, ESC, ...) at its line and column: the parser
    would name only an offset in its own terms."""
    found = _NOT_YAML.search(text)
    if found is None:
        return
    index = found.start()
    breaks = list(_LINE_BREAK.finditer(text, 0, index))
    column = index - breaks[-1].end() if breaks else index
    code = ord(found.group())
    raise SpecError(f"the character U+{code:04X} can't be written in a spec: YAML allows no "
                    "control characters but tab and line breaks",
                    Pos(len(breaks) + 1, column + 1), file=file)


def _check_events(text: str, file: str) -> None:
    """Before composing: reject deep nesting (the composer recurses once per level) and an
    alias inside the list or mapping it names (a cycle: it would expand forever)."""
    if _Parser is None:   # pragma: no cover - PyYAML without LibYAML
        events = yaml.parse(text, Loader=yaml.SafeLoader)
    else:
        events = iter(_Parser(text).get_event, None)
    open_anchors = []     # the anchor (or None) and start of every collection not yet ended
    try:
        for event in events:
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                open_anchors.append((event.anchor, event))
                if len(open_anchors) > MAX_DEPTH:
                    raise SpecError(f"the spec nests deeper than {MAX_DEPTH} levels",
                                    _pos(event), file=file)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                open_anchors.pop()
            elif isinstance(event, yaml.AliasEvent) and any(
                    anchor == event.anchor for anchor, _ in open_anchors):
                start = next(e for anchor, e in open_anchors if anchor == event.anchor)
                raise SpecError(f"the alias `*{event.anchor}` is inside what it repeats: it would "
                                "repeat itself forever", _pos(event),
                                notes=[f"`&{event.anchor}` starts at line {start.start_mark.line + 1}"
                                       f", column {start.start_mark.column + 1}"],
                                hints=["repeat layers with a block (`blocks:`) or `repeat`"],
                                file=file)
            elif isinstance(event, yaml.StreamEndEvent):
                break
    except yaml.YAMLError:
        return  # compose reports syntax errors with their position


def _convert(node, budget: list[int], depth: int):
    budget[0] -= 1
    if budget[0] < 0:
        raise SpecError(f"the spec expands to more than {MAX_VALUES:,} values "
                        "(YAML aliases multiply what they repeat)", _pos(node))
    if depth > MAX_DEPTH:   # aliases inside aliases nest deeper than the text does
        raise SpecError(f"the spec nests deeper than {MAX_DEPTH} levels once its aliases are "
                        "expanded", _pos(node))
    if isinstance(node, yaml.ScalarNode):
        if node.tag not in _SCALAR_TAGS:
            raise _tag_error(node)
        if len(node.value) > MAX_STRING:
            raise SpecError(f"a value is longer than {MAX_STRING:,} characters", _pos(node))
        if node.tag == "tag:yaml.org,2002:str" and not node.style and _FLOAT_1_2.match(node.value):
            # YAML 1.1 reads a plain `1e-5` as text; YAML 1.2 as a number
            return _number(float(node.value), node)
        if node.tag == "tag:yaml.org,2002:int" and len(node.value) > MAX_DIGITS + 10:
            raise _too_large(node)      # before Python spends time on a 4,000-digit int
        try:
            return _number(_constructor.construct_object(node), node)
        except (yaml.YAMLError, ValueError, OverflowError):
            raise SpecError(f"can't read the value {node.value!r}", _pos(node)) from None
    if isinstance(node, yaml.SequenceNode):
        if node.tag != "tag:yaml.org,2002:seq":
            raise _tag_error(node)
        seq = Seq(pos=_pos(node))
        for item in node.value:
            seq.append(_convert(item, budget, depth + 1))
            seq.item_pos.append(_pos(item))
        return seq
    if isinstance(node, yaml.MappingNode):
        if node.tag != "tag:yaml.org,2002:map":
            raise _tag_error(node)
        mapping = Map(pos=_pos(node))
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise SpecError("YAML merge keys (`<<`) aren't supported", _pos(key_node),
                                hints=["use a block with parameters to share layers"])
            if not isinstance(key_node, yaml.ScalarNode):
                raise SpecError("a key must be a plain name", _pos(key_node))
            key = _convert(key_node, budget, depth + 1)
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise SpecError(f"a key must be a name, not {shown(key)}", _pos(key_node))
            key = str(key)
            if key in mapping:
                raise SpecError(f"duplicate key {key!r}", _pos(key_node),
                                notes=[f"first written at line {mapping.key_pos[key].line}"])
            mapping[key] = _convert(value_node, budget, depth + 1)
            mapping.key_pos[key] = _pos(key_node)
            mapping.val_pos[key] = _pos(value_node)
        return mapping
    raise SpecError("unsupported YAML node", _pos(node))  # pragma: no cover


def _number(value, node):
    """A scalar, with numbers bounded (the printers and the arithmetic stay exact)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(f"{node.value} isn't a finite number: a spec has no use for it", _pos(node))
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**MAX_DIGITS:
        raise _too_large(node)
    return value


def _too_large(node) -> SpecError:
    return SpecError(f"the number {node.value} has more than {MAX_DIGITS} digits: PyTorch "
                     "tensors stop at 2^63 elements, and no figure cnncalc computes is that long",
                     _pos(node))


def shown(value, room: int = 40) -> str:
    """A value for a message, as YAML writes it and short: true, null, [1, 2, 3],
    {conv: {...}}; text is quoted ('HWC') but plain inside a list ([relu, conv])."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        inner = ", ".join(f"{k}: {_nested(v)}" for k, v in value.items())
        text = "{" + inner + "}"
        return text if len(text) <= room else "{...}"
    if isinstance(value, (list, tuple)):
        text = "[" + ", ".join(_nested(v) for v in value) + "]"
        return text if len(text) <= room else "[...]"
    return repr(value)  # pragma: no cover - the loader builds only the types above


def _nested(value) -> str:
    if isinstance(value, dict):
        return "{...}" if value else "{}"
    if isinstance(value, (list, tuple)):
        return "[...]" if value else "[]"
    if isinstance(value, str) and _PLAIN_TEXT.match(value) and value.lower() not in _YAML_WORDS:
        return value    # [relu, conv], as YAML writes it
    return shown(value)


_PLAIN_TEXT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def _tag_error(node) -> SpecError:
    tag = node.tag.replace("tag:yaml.org,2002:", "!!")
    if isinstance(node, yaml.ScalarNode) and not node.style and _implicit(node):
        # no tag written: YAML itself reads the plain value as something else
        what = "reads as a date" if tag == "!!timestamp" else f"means `{tag}`"
        return SpecError(f"{node.value} {what} in YAML, not a value a spec takes",
                         _pos(node), hints=[f"quote it if it is text: '{node.value}'"])
    return SpecError(f"YAML tags such as `{tag}` aren't allowed in a spec", _pos(node),
                     hints=["write plain numbers, text, lists and mappings"])


def _implicit(node) -> bool:
    """Whether YAML gave a plain scalar its tag from how the value looks (no tag written)."""
    return yaml.resolver.Resolver().resolve(yaml.ScalarNode, node.value, (True, False)) == node.tag


def _plain_problem(problem: str, text: str, mark, context=None) -> str:
    """The YAML parser's common complaints in a spec writer's words."""
    if problem == "found character that cannot start any token" and mark is not None:
        lines = text.splitlines()
        if mark.line < len(lines) and lines[mark.line][mark.column:mark.column + 1] == "\t":
            return "tabs aren't allowed for indentation in YAML; use spaces"
    if problem.startswith(_INDENTATION_PROBLEMS) and _deeper_item(text, mark):
        return OVERINDENTED_ITEM
    if problem.startswith("did not find expected key") and _item_among_keys(text, mark, context):
        return ITEM_AMONG_KEYS
    for start, plain in _YAML_PROBLEMS.items():
        if problem.startswith(start):
            return plain
    return problem


# what the parser says when a `- ` item sits deeper than the one above (which one depends on
# what follows the item above)
_INDENTATION_PROBLEMS = ("mapping values are not allowed", "did not find expected key",
                         "did not find expected '-' indicator", "expected <block end>")
OVERINDENTED_ITEM = ("this `- ` item is indented more than the item above it: line up the "
                     "`- ` of every item in a list")


ITEM_AMONG_KEYS = ("a list item (`- `) can't stand among the keys of a mapping: put it in the "
                   "list it belongs to (under a key such as `layers:`), or write it as "
                   "`key: value`")


def _item_among_keys(text: str, mark, mapping) -> bool:
    """The parser stopped at a `- ` item lined up with the keys of the mapping (that starts at
    `mapping`) it is in: the line's indentation is right, the item is the problem."""
    if mark is None or mapping is None:
        return False
    lines = text.splitlines()
    if mark.line >= len(lines):
        return False
    line = lines[mark.line]
    stripped = line.lstrip(" ")
    indent = len(line) - len(stripped)
    return (stripped == "-" or stripped.startswith("- ")) and mark.column == indent == mapping.column


def _deeper_item(text: str, mark) -> bool:
    """The mark's line is a `- ` list item indented more than the `- ` item just above it."""
    if mark is None:
        return False
    lines = text.splitlines()[:mark.line + 1]
    items = [(len(line) - len(line.lstrip()), line.lstrip()) for line in lines if line.strip()]
    if len(items) < 2 or not (items[-1][1].startswith("- ") and items[-2][1].startswith("- ")):
        return False
    # deeper under `- sequential:` is nesting, not a slip; and the mark must be the line's
    # first `: ` (`- conv: kernel: 3` is two keys on a line, whatever the indentation)
    above = items[-2][1].split(" #")[0].rstrip()
    first_colon = lines[-1].find(": ")
    return (items[-1][0] > items[-2][0] and not above.endswith(":")
            and (first_colon == -1 or mark.column <= first_colon + 1))


_YAML_PROBLEMS = {
    "did not find expected key": "this line doesn't line up with the keys of the mapping it "
                                 "is in: indent it like the keys above it",
    "did not find expected '-' indicator": "this line doesn't line up with the list it is in: "
                                           "start a list item with `- ` at the indentation of "
                                           "the items above, or indent it under one item",
    "expected <block end>": "this line doesn't line up with the lines above it: check its "
                            "indentation",
    "mapping values are not allowed": "a `key: value` can't start here: write one `key: value` "
                                      "a line (a nested mapping on the lines below, indented), "
                                      "or quote text that contains `: `",
    "could not find expected ':'": "expected `key: value` here: is a `:` missing?",
    "did not find expected ',' or ']'": "expected `,` or `]`: is the `[...]` list closed?",
    "did not find expected ',' or '}'": "expected `,` or `}`: is the `{...}` mapping closed?",
}


# The YAML parser's words for where a construct began, in a spec writer's words.
_YAML_CONTEXTS = {
    "while parsing a flow sequence": "in the `[...]` list that starts",
    "while parsing a flow mapping": "in the `{...}` mapping that starts",
    "while parsing a block mapping": "in the mapping that starts",
    "while parsing a block collection": "in the list that starts",
    "while scanning a simple key": "in the `key: value` that starts",
    "while scanning a quoted scalar": "in the quoted text that starts",
    "while parsing a flow node": "in the value that starts",
    "while parsing a block node": "in the value that starts",
}
