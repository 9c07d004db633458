"""`cnncalc kinds`: every layer kind of the spec language with its arguments."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Annotated, Any

import typer

EXAMPLES = """

Examples:

  cnncalc kinds                    # a table of every kind

  cnncalc kinds --format json      # the same, for machines
"""

# A default of None means "not given": for the pools' `stride` PyTorch then uses the kernel
# size (cnncalc.kinds.pool_geometry does the same).
# What an argument left out (None) means; upsample takes one of scale, size and like
NONE_MEANS = {"stride": "kernel", "scale": "one of scale, size, like", "size": "one of scale, size, like",
              "like": "one of scale, size, like"}


class KindsFormat(str, Enum):
    table = "table"
    json = "json"


def yaml_spelling(value) -> str:
    """A default as a spec would write it: `true`, `nearest`, `1.0e-05` (PyYAML reads `1e-5`
    as a string, so floats keep the form PyYAML writes)."""
    import yaml

    return yaml.safe_dump(value, default_flow_style=True).removesuffix("\n...\n").strip()


def entries() -> list[dict]:
    """Every kind, leaf ones then composites: kind, torch, summary and its arguments."""
    from cnncalc.kinds import COMPOSITES, KINDS

    rows: list[dict[str, Any]] = []
    for kind in KINDS.values():
        args = []
        for name, info in kind.args.model_fields.items():
            required = info.is_required()
            default = None if required else info.default
            if required:
                text = None
            elif default is None:
                text = NONE_MEANS[name]
            else:
                text = yaml_spelling(default)
            args.append({"name": name, "required": required, "default": default,
                         "default_text": text})
        rows.append({"kind": kind.name, "torch": kind.torch, "summary": kind.summary,
                     "args": args})
    for composite in COMPOSITES.values():
        rows.append({"kind": composite.name, "torch": composite.torch,
                     "summary": composite.summary, "composite": True,
                     "args": [{"name": a, "required": r, "default": d, "default_text": d}
                              for a, r, d in composite.arguments]})
    return rows


def args_text(args: list[dict]) -> str:
    if not args:
        return "-"
    # one argument a line: `name: default` or `name (required)`, as a spec would write it
    return "\n".join(f"{a['name']} (required)" if a["required"]
                     else f"{a['name']}: {a['default_text']}" for a in args)


def render_table(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Layer kinds (arguments with their defaults)", title_justify="left",
                  show_edge=False)
    # The summary goes under the kind's name: at 80 columns a fourth column would leave it a
    # few characters; arguments and module names stay whole (no_wrap), the summary wraps.
    table.add_column("Kind", min_width=16, max_width=30)
    table.add_column("Arguments", no_wrap=True)
    table.add_column("PyTorch", no_wrap=True)
    for i, row in enumerate(rows):
        if row.get("composite") and not rows[i - 1].get("composite"):
            table.add_section()
        # Text, not markup: nothing in the table is read as a rich tag
        kind = Text(row["kind"], style="bold")
        kind.append("\n" + row["summary"], style="dim")
        table.add_row(kind, Text(args_text(row["args"])), Text(row["torch"]))
    composites = sum(1 for row in rows if row.get("composite"))
    console = Console()
    console.print(table)
    console.print(Text(f"{len(rows) - composites} leaf kinds, then {composites} composites (see "
                       "the spec language). `stride: kernel`: the stride defaults to the kernel "
                       "size, as in PyTorch."))


SHORT_HELP = "List every layer kind with its arguments."
HELP = ("List every layer kind, its arguments (with defaults) and the PyTorch "
        "module." + EXAMPLES)


def kinds(format: Annotated[KindsFormat, typer.Option("--format", "-f", help="Output format.")]
          = KindsFormat.table) -> int:
    rows = entries()
    if format is KindsFormat.table:
        render_table(rows)
    else:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    return 0
