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


SHORT_HELP = "Which input sizes a network accepts."
HELP = "Which input sizes a network accepts, as a closed form per spatial size." + EXAMPLES


def inputs(
    spec: Annotated[str, typer.Argument(
        metavar="SPEC", help="Spec file, `-` for standard input, or a bundled name.")],
    upto: Annotated[int | None, typer.Option(
        "--upto", min=1, max=MAX_UPTO,
        help="Also list every accepted size from 1 to N (as runs: 1–512; 32, 64, …, 512).")] = None,
    format: Annotated[InputsFormat, typer.Option(
        "--format", "-f", help="Output format.")] = InputsFormat.table,
) -> int:
    from cnncalc.inputs import accepted_inputs
    from cnncalc.pipeline import load

    loaded = load(spec)
    _need_sympy(loaded.name)
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
            row.append(compact(accepted.values(upto)) or "none")
        table.add_row(*map(Text, row))
    console.print(table)
    return 0


def _need_sympy(name: str) -> None:
    """`inputs` solves every spec with its sizes as names, so it needs sympy even for a spec
    written with numbers: say so, not that the spec has symbolic sizes."""
    from importlib.util import find_spec

    from cnncalc.errors import SpecError

    if find_spec("sympy") is None:
        raise SpecError(f"`cnncalc inputs` solves {name}'s input sizes as names (H, W) and needs "
                        "sympy for that", hints=["python3 -m pip install 'cnncalc[symbolic]' "
                                                 "(or python3 -m pip install sympy)"],
                        file="cnncalc inputs")


def compact(values: list[int]) -> str:
    """Sorted sizes as runs: `1–512`, `32, 64, …, 512` (a step of 32), `7, 9, 10–12`."""
    parts, i = [], 0
    while i < len(values):
        j = i + 1
        step = values[j] - values[i] if j < len(values) else 0
        while j + 1 < len(values) and values[j + 1] - values[j] == step:
            j += 1
        run = values[i:j + 1]
        if step == 1 and len(run) >= 3:
            parts.append(f"{run[0]}–{run[-1]}")
        elif step > 1 and len(run) >= 4:
            parts.append(f"{run[0]}, {run[1]}, …, {run[-1]}")
        else:           # too short to be a run: its first value alone, the rest starts anew
            parts.append(str(values[i]))
            j = i
        i = j + 1
    return ", ".join(parts)
