"""`cnncalc zoo`: the bundled specs (LeNet to ConvNeXt and YOLOv8n), each analysed, with params and MACs.

The markdown form is the README's "Model zoo" table (a test keeps it current)."""

from __future__ import annotations

import json
import re
import sys
from enum import Enum
from typing import Annotated

import typer

EXAMPLES = """

Examples:

  cnncalc zoo                      # a table of every bundled spec

  cnncalc zoo --format json        # the same, for machines

  cnncalc summary resnet50         # one of them, layer by layer
"""


class ZooFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"


SCHEMA_COMMENT = "# yaml-language-server:"


def description(text: str) -> str | None:
    """The first line of a spec's header comment (after the schema line), or None."""
    for line in text.splitlines():
        if line.startswith(SCHEMA_COMMENT):
            continue
        if not line.startswith("#"):
            return None
        line = line.lstrip("#").strip()
        if line:
            return line
    return None


def natural(name: str) -> list:
    """Sort key putting resnet18 before resnet101."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def entries() -> list[dict]:
    """Every bundled spec, analysed: name, description, input, output and totals."""
    from cnncalc.analyze import in_layout
    from cnncalc.loader import bundled_names, read_source
    from cnncalc.pipeline import analyze_loaded, load_text
    from cnncalc.report import Options, Totals, plain

    rows = []
    for stem in sorted(bundled_names(), key=natural):
        text, file = read_source(stem)
        loaded = load_text(text, file)
        analysis = analyze_loaded(loaded)
        layout = loaded.spec.layout
        totals = Totals.of(analysis, Options())
        rows.append({
            "name": loaded.name,
            "spec": stem,
            "description": description(text) or loaded.name,
            "layout": layout,
            "input_shape": plain(in_layout(analysis.input_shape, layout)),
            # null with several outputs (YOLOv8n's three), as in the report: `outputs` has each
            "output_shape": (plain(in_layout(analysis.output_shape, layout))
                             if len(analysis.outputs) == 1 else None),
            "outputs": [{"id": name, "shape": plain(in_layout(shape, layout))}
                        for name, shape, _ in analysis.outputs],
            "params": plain(totals.params),
            "buffers": plain(totals.buffers),
            "macs": plain(totals.macs),
            "flops": plain(totals.flops),
        })
    return rows


def input_text(row: dict) -> str:
    from cnncalc.units import shape_text

    return shape_text(row["input_shape"]) + (f" ({row['layout']})" if row["layout"] != "chw" else "")


def render_markdown(rows: list[dict]) -> str:
    from cnncalc.units import grouped, human_count

    lines = ["| spec | input | params | MACs | what it is |", "|---|---|---:|---:|---|"]
    for row in rows:
        what = row["description"].replace("|", "\\|")
        lines.append(f"| `{row['spec']}` | {input_text(row)} | {grouped(row['params'])} | "
                     f"{human_count(row['macs'])} | {what} |")
    return "\n".join(lines) + "\n"


def pieces(word: str) -> list[str]:
    """A word's unbreakable parts: a dotted name (`torchvision.models.squeezenet1_0`) may break
    after any of its dots, nowhere else."""
    return [p for p in re.split(r"(?<=\.)", word) if p]


def wrap_words(text: str, width: int) -> str:
    """`text` in lines of at most `width`, broken at spaces; a word longer than a line is broken
    after one of its dots, never inside a name (rich's overflow="fold" cuts
    `torchvision.models.a|lexnet`)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        parts = pieces(word) if len(word) > width else [word]
        for i, piece in enumerate(parts):     # a piece still too long is left to the column
            joined = line + (" " if line and i == 0 else "") + piece
            if line and len(joined) > width:
                lines.append(line)
                joined = piece
            line = joined
    return "\n".join(lines + [line])


def render_table(rows: list[dict]) -> None:
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from cnncalc.units import grouped, human_count

    headers = ("Spec", "Input", "Params", "MACs")
    cells = [(row["spec"], input_text(row), grouped(row["params"]), human_count(row["macs"]))
             for row in rows]
    console = Console()
    # The figures never wrap. A table of n columns is the columns' widths plus 3n - 1 (a space
    # of padding either side of each, a one-character rule between them). The description gets
    # the rest of the line as a fifth column, wrapped here at words; where that is narrower
    # than its longest unbreakable piece (a long spec name in `torchvision.models.NAME`), it
    # goes under the spec's name instead, in a first column as wide as the figures leave.
    widths = [max(cell_len(c[i]) for c in [headers, *cells]) for i in range(len(headers))]
    longest = max(cell_len(p) for row in rows for word in row["description"].split()
                  for p in pieces(word))
    width = console.width - sum(widths) - (3 * (len(widths) + 1) - 1)
    beside = width >= longest
    table = Table(title="Bundled specs (cnncalc summary NAME)", title_justify="left",
                  show_edge=False)
    for header in headers:
        table.add_column(header if beside or header != "Spec" else "Spec: what it is",
                         no_wrap=header != "Spec" or beside,
                         justify="right" if header in ("Params", "MACs") else "left")
    if beside:
        table.add_column("What it is", overflow="fold")
        for row, figures in zip(rows, cells):
            table.add_row(*figures, Text(wrap_words(row["description"], width)))
    else:
        first = max(widths[0], console.width - sum(widths[1:]) - (3 * len(widths) - 1))
        for row, figures in zip(rows, cells):
            text = Text(figures[0])
            text.append("\n" + wrap_words(row["description"], first), style="dim")
            table.add_row(text, *figures[1:], end_section=True)    # a rule between specs
    console.print(table)


HELP = "List the bundled specs with their input, params and MACs." + EXAMPLES


def zoo(format: Annotated[ZooFormat, typer.Option("--format", "-f", help="Output format.")]
        = ZooFormat.table) -> int:
    rows = entries()
    if format is ZooFormat.table:
        render_table(rows)
    elif format is ZooFormat.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    else:
        sys.stdout.write(render_markdown(rows))
    return 0
