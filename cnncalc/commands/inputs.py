"""`cnncalc inputs SPEC`: exactly which input sizes the network accepts, per spatial size."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Annotated, Any

import typer

from cnncalc.inputs import MAX_UPTO


class InputsFormat(str, Enum):
    table = "table"
    json = "json"


EXAMPLES = """
Each spatial size is solved on its own (a numeric input's sizes are treated as the names
H, W / L / D, H, W), exactly: the answer equals trying every size with `cnncalc summary`.

Examples:

  cnncalc inputs vgg16                  # H = 32·k, k ≥ 1

  cnncalc inputs unet --upto 256        # and the sizes up to 256

  cnncalc inputs net.yaml --format json # {"dims": {"H": {...}}}
"""


HELP = "Which input sizes a network accepts, as a closed form per spatial size." + EXAMPLES


def inputs(
    spec: Annotated[str, typer.Argument(
        metavar="SPEC", help="Spec file, `-` for standard input, or a bundled name.")],
    upto: Annotated[int | None, typer.Option("--upto", min=1, max=MAX_UPTO,
                                                help="Also list every accepted size from 1 to N.")] = None,
    format: Annotated[InputsFormat, typer.Option(
        "--format", "-f", help="Output format.")] = InputsFormat.table,
) -> int:
    from cnncalc.inputs import accepted_inputs
    from cnncalc.pipeline import load

    loaded = load(spec)
    dims = accepted_inputs(loaded)
    if format is InputsFormat.json:
        data: dict[str, Any] = {"name": loaded.name, "dims": {n: a.as_dict(upto) for n, a in dims.items()}}
        if upto is not None:
            data["upto"] = upto
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    # Text, not markup: the name is the spec's (`name: "[/x]"` is no tag)
    table = Table(title=Text(f"{loaded.name}: accepted input sizes"), title_justify="left",
                  show_edge=False)
    for column in ("Size", "Accepted", "Smallest", "Period"):
        table.add_column(column, justify="left" if column in ("Size", "Accepted") else "right")
    if upto is not None:
        table.add_column(f"Accepted up to {upto}", overflow="fold")
    for name, accepted in dims.items():
        row = [name, accepted.text(), str(accepted.minimum or "-"), str(accepted.period or "-")]
        if upto is not None:
            row.append(", ".join(map(str, accepted.values(upto))) or "none")
        table.add_row(*map(Text, row))
    console.print(table)
    return 0
