"""Source -> loaded spec -> graph -> analysis: the static path every command shares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cnncalc.analyze import Analysis, analyze, input_shape_of
from cnncalc.errors import SpecError, SpecErrors, every_error, printable
from cnncalc.expand import expand
from cnncalc.graph import Node
from cnncalc.loader import Map, parse_yaml, read_source
from cnncalc.spec import MAX_ERRORS, Spec, validate_top


@dataclass(slots=True)
class Loaded:
    file: str          # as shown in messages
    name: str          # the network's name: `name:` or the file's stem
    spec: Spec
    raw: Map           # the top-level mapping, for positions
    root: Node


def load(source: str) -> Loaded:
    """Read, parse, validate and expand a spec (a path, `-`, or a bundled name)."""
    text, file = read_source(source)
    return load_text(text, file)


def load_text(text: str, file: str = "<spec>") -> Loaded:
    try:
        data = parse_yaml(text, file)
        try:
            spec, raw = validate_top(data)
        except SpecError as top:
            raise with_entry_errors(top, data) from None
        root = expand(spec, raw)
    except SpecError as exc:
        raise exc.located(file) from None
    # a piped spec is `<stdin>` in the report's title as in its messages
    stem = {"<stdin>": "<stdin>", "<spec>": "spec"}.get(file) or Path(file).stem
    # printable: the name heads every report (see expand._apply_options)
    return Loaded(file, printable(spec.name or stem), spec, raw, root)


# What the layer entries need to be expanded on their own
ENTRY_KEYS = ("input", "layers", "blocks")


def with_entry_errors(top: SpecError, data) -> SpecError:
    """The spec's own errors (a misspelt key) and, when its layers can still be read, its
    entries' errors too: every mistake of the file in one run, in file order."""
    if not isinstance(data, Map):
        return top
    entries = Map(pos=data.pos)
    for key in ENTRY_KEYS:
        if key in data:
            entries[key] = data[key]
            entries.key_pos[key] = data.key_pos.get(key)
            entries.val_pos[key] = data.val_pos.get(key)
    try:
        spec, raw = validate_top(entries)
    except SpecError:
        return top          # the layers can't be read either: the spec's own errors say why
    try:
        expand(spec, raw)
    except SpecError as more:
        found = {(e.pos, e.message): e for e in [*every_error(top), *every_error(more)]}
        if len(found) > len(every_error(top)):
            errors = sorted(found.values(),
                            key=lambda e: (e.pos.line, e.pos.col) if e.pos else (0, 0))
            return SpecErrors(errors[:MAX_ERRORS], more=max(0, len(errors) - MAX_ERRORS))
    return top


def analyze_loaded(loaded: Loaded, input_override: list | None = None) -> Analysis:
    try:
        shape = input_shape_of(loaded.spec, input_override)
        return analyze(loaded.spec, loaded.root, shape)
    except SpecError as exc:
        from cnncalc.dims import StrictRoundingError
        from cnncalc.hints import layout_hint, projection_error, strict_file_hints

        if isinstance(exc, StrictRoundingError) and input_override is None:
            strict_file_hints(exc, loaded)      # the input sizes that fit; what flooring skips
        projection_error(exc, loaded.root)
        # `input: [227, 227, 3]` read channels first fails far from the input: say why here
        hint = layout_hint(loaded.spec) if input_override is None else None
        if hint:
            exc.hints.append(hint)
        raise exc.located(loaded.file) from None
