"""`cnncalc schema`: the JSON Schema of the spec language, for editors; with specs, a project's
schema that knows their blocks."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from cnncalc.errors import SpecError

EXAMPLES = """
Examples:

  cnncalc schema --output schema/cnncalc-spec.schema.json   # then, first line of a spec:
  # yaml-language-server: $schema=../schema/cnncalc-spec.schema.json

  cnncalc schema specs/*.yaml --output specs/cnncalc-spec.schema.json   # knows their blocks
"""


SHORT_HELP = "Print or write the spec language's JSON Schema."
HELP = ("Print the JSON Schema of the spec language (generated from cnncalc's "
        "models), or write it with --output PATH for editors to find from any project: a spec's "
        "first line `# yaml-language-server: $schema=PATH` (relative to the spec) makes the YAML "
        "language server complete kinds and flag mistakes. The installed package carries the "
        "same file (cnncalc/spec_schema/). Given specs, the schema is theirs: a block use must "
        "be one of the blocks they define, with that block's parameters, so a misspelt kind "
        "(`relux`) is flagged in a spec with blocks too; write it again after adding or renaming "
        "a block." + EXAMPLES)

MODELINE = "# yaml-language-server: $schema="


def schema(
    specs: Annotated[list[str] | None, typer.Argument(metavar="SPEC", help="Specs whose blocks the schema knows (files, or bundled names); none: the generic schema.", show_default=False)] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="PATH", help="Write the schema to PATH (its folder must exist) and print the line a spec starts with.")] = None,
) -> int:
    from cnncalc.schema import project_blocks, schema_text

    project = None
    if specs:
        from cnncalc.loader import read_source

        project = project_blocks([read_source(source) for source in specs])
    text = schema_text(project)
    if output is None:
        sys.stdout.write(text)
        return 0
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"can't write the schema: {exc.strerror}", file=str(output)) from None
    if not specs:
        # the modeline for a spec in the current directory (editors resolve it from the spec's
        # folder)
        print(f"wrote {output}; a spec in this folder starts with:\n"
              f"{MODELINE}{_relative(output, Path.cwd())}")
        return 0
    blocks = ", ".join(project or {}) or "none"
    print(f"wrote {output} for {len(specs)} spec{'s' * (len(specs) != 1)} (blocks: {blocks}); "
          "write it again after adding or renaming a block")
    # the modeline for the specs of each folder (a bundled name or `-` is in none), and which
    # of them don't start with it yet
    by_folder: dict[Path, list[str]] = {}
    for source in specs:
        if Path(source).is_file():
            by_folder.setdefault(Path(source).parent, []).append(source)
    for folder, sources in by_folder.items():
        line = MODELINE + _relative(output, folder)
        print(f"a spec in {folder.as_posix()}/ starts with:\n{line}" if folder != Path(".")
              else f"a spec in this folder starts with:\n{line}")
        elsewhere = [source for source in sources if _first_line(source) != line]
        if elsewhere:
            print(f"  (not yet: {', '.join(elsewhere)})")
    return 0


def _relative(path: Path, folder: Path) -> str:
    return Path(os.path.relpath(path.resolve(), folder.resolve())).as_posix()


def _first_line(source: str) -> str:
    with open(source, encoding="utf-8", errors="replace") as handle:   # read already
        return handle.readline().rstrip("\r\n")
