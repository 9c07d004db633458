"""`cnncalc schema`: the JSON Schema of the spec language, for editors."""

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
"""


SHORT_HELP = "Print or write the spec language's JSON Schema."
HELP = ("Print the JSON Schema of the spec language (generated from cnncalc's "
        "models), or write it with --output PATH for editors to find from any project: a spec's "
        "first line `# yaml-language-server: $schema=PATH` (relative to the spec) makes the YAML "
        "language server complete kinds and flag mistakes. The installed package carries the "
        "same file (cnncalc/spec_schema/)." + EXAMPLES)


def schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="PATH", help="Write the schema to PATH (its folder must exist) and print the line a spec beside it starts with.")] = None,
) -> int:
    from cnncalc.schema import schema_text

    text = schema_text()
    if output is None:
        sys.stdout.write(text)
        return 0
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"can't write the schema: {exc.strerror}", file=str(output)) from None
    # the modeline for a spec in the current directory (editors resolve it from the spec's folder)
    relative = os.path.relpath(output, Path.cwd())
    print(f"wrote {output}; a spec in this folder starts with:\n"
          f"# yaml-language-server: $schema={Path(relative).as_posix()}")
    return 0
