"""Report -> text: a rich table for people, JSON for machines, markdown and CSV for documents.

Every member of `Format` has a renderer (a test walks them)."""

from __future__ import annotations

import csv
import io
import json
import re
from enum import Enum

from cnncalc.checks import Check, figure_text, mark
from cnncalc.errors import printable
from cnncalc.kinds import KINDS
from cnncalc.units import bytes_text, count_text, grouped, human_count, shape_text


class Format(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    csv = "csv"


CONVENTIONS = ("MACs: conv/linear multiply-accumulates without bias (torchvision's GFLOPS, "
               "fvcore's flops); FLOPs = 2 × MACs (PyTorch's FlopCounterMode); both per sample, "
               "whatever the batch. Activation memory: every layer's output × batch × bytes per "
               "element.")


def outputs_text(report: dict) -> str:
    """`Output: 10` or, with several outputs, `Outputs: p3 128×8×8, . 64×32×32`."""
    outputs = report.get("outputs") or []
    if len(outputs) <= 1:
        return f"Output: {shape_text(report['output_shape'])}"
    return "Outputs: " + ", ".join(f"{o['id']} {shape_text(o['shape'])}" for o in outputs)


TRAIN_CONVENTIONS = ("Training (batch as given, network in training mode, loss = output.sum(), or "
                     "the sum of every output's sum): "
                     "Bwd FLOPs per sample (weight and input gradients of conv/linear; none "
                     "for the input of the first layer with parameters); Saved: what autograd "
                     "keeps for the backward, each storage charged to the first layer that "
                     "keeps it; peak: a steady-state step (optimizer state present).")


def layer_label(layer: dict) -> str:
    label = layer["path"].rsplit(".", 1)[-1] if layer["path"] else ""
    text = f"{label} {layer['kind']}"
    if layer.get("args"):
        shown = {k: v for k, v in layer["args"].items() if v is not None}
        text += " " + _args_text(layer["kind"], shown)
    if layer.get("name"):
        text += f" “{layer['name']}”"
    if layer.get("id"):
        text += f" #{layer['id']}"
    if layer.get("from"):
        source = layer["from"]
        text += " ← " + (", ".join(source) if isinstance(source, list) else source)
    return text


def _args_text(kind: str, args: dict) -> str:
    """`key=value` for each argument that isn't its kind's default (the Args model's)."""
    fields = KINDS[kind].args.model_fields if kind in KINDS else {}
    parts = []
    for key, value in args.items():
        if key in fields and fields[key].default == value:
            continue
        shown = "×".join(map(_as_spec, value)) if isinstance(value, list) else _as_spec(value)
        parts.append(f"{key}={shown}")
    return " ".join(parts)


def _as_spec(value) -> str:
    """A value as the spec writes it: `true`, not Python's `True`; `2`, not the model's `2.0`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def visible(report: dict, depth: int | None) -> list[dict]:
    return [layer for layer in report["layers"] if depth is None or layer["depth"] < depth]


def totals_lines(report: dict) -> list[tuple[str, str]]:
    t = report["totals"]
    return [
        ("Params", count_text(t["params"])),
        ("Trainable params", count_text(t["trainable_params"])),
        ("Buffers", count_text(t["buffers"])),
        ("MACs (per sample)", count_text(t["macs"])),
        ("FLOPs (per sample)", count_text(t["flops"])),
        (f"Input memory ({report['dtype']}, batch {report['batch']})", bytes_text(t["input_bytes"])),
        ("Activation memory", bytes_text(t["activation_bytes"])),
        ("Param memory", bytes_text(t["param_bytes"])),
        *train_lines(t.get("train")),
    ]


def train_lines(train: dict | None) -> list[tuple[str, str]]:
    """`summary --train`'s totals."""
    if not train:
        return []
    return [
        ("Backward FLOPs (per sample)", count_text(train["backward_flops"])),
        ("Saved activations", bytes_text(train["saved_activation_bytes"])),
        ("Gradients", bytes_text(train["gradient_bytes"])),
        (f"Optimizer state ({train['optimizer']})", bytes_text(train["optimizer_bytes"])),
        (f"Peak training memory ({train['device']}, in the {train['peak_in']})",
         bytes_text(train["peak_bytes"])),
    ]


def render_table(report: dict, depth: int | None = None, checks: list[Check] | None = None,
                 console=None) -> None:
    from rich.console import Console
    from rich.text import Text

    console = console or Console()
    console.print(printable(f"{report['name']}: input {shape_text(report['input_shape'])} "
                            f"({report['layout']})"), markup=False, highlight=False)
    rows = []
    train = "train" in report["totals"]
    for layer in visible(report, depth):
        field = layer.get("receptive_field")
        cells = ["  " * layer["depth"] + layer_label(layer), shape_text(layer["output_shape"]),
                 human_count(layer["params"]), human_count(layer["macs"]), field_cell(field)]
        if train:
            cells += [human_count(layer["backward_flops"]), bytes_text(layer["saved_bytes"])]
        rows.append((cells, "" if layer["leaf"] else "bold"))
    # A symbolic report's cells can be hundreds of characters: fit its table to the console,
    # wrapping the long cells. A numeric table is drawn as it always was.
    width = console.width if "constraints" in report else None
    headers = ("Layer", "Output", "Params", "MACs", "RF") + (("Bwd FLOPs", "Saved") if train
                                                             else ())
    console.print(layer_grid(headers, rows, width), crop=False)
    if any(cells[4].endswith("*") for cells, _ in rows):        # the RF column
        console.print(UNALIGNED_NOTE, markup=False, highlight=False)
    console.print(totals_grid(totals_lines(report), width), crop=False)
    console.print(Text(f"{outputs_text(report)}. {CONVENTIONS}"
                       + (f" {TRAIN_CONVENTIONS}" if train else ""), style="dim"))
    if "constraints" in report:
        for line in constraint_lines(report):
            console.print(line, markup=False, highlight=False)
    if checks:
        render_checks(checks, console)


def constraint_lines(report: dict, markdown: bool = False) -> list[str]:
    """The footer of a symbolic report: the sizes accepted, and the conditions that make it so;
    those the others imply are counted, not listed (without a solution, every condition is
    listed). In the table, lists are indented; in Markdown, blank lines set them apart."""
    constraints, accepted = report["constraints"], report.get("accepted")
    conditions = [c for c in constraints if c["kind"] != "assumption"]
    listed = [c for c in conditions if accepted is None or not c["implied"]]
    notes = [c for c in constraints if c["kind"] == "assumption"]
    item, gap = ("- ", [""]) if markdown else ("  - ", [])

    if accepted is None:
        head = ["Sizes are positive integers, accepted where:" if conditions else
                "Sizes are positive integers; every size is accepted."]
    elif all(a["min"] is None for a in accepted.values()):
        head = ["No input size is accepted: these conditions can't all hold:"]
    elif not listed:
        head = ["Sizes are positive integers; every size is accepted."]
    else:
        head = ["Sizes are positive integers. Accepted:", *gap,
                *(item + a["text"] for a in accepted.values()), *gap, "because of:"]
    lines = head + (gap if listed or notes else [])
    lines += [f"{item}{c['where']}: {c['text']}" for c in listed]
    lines += [f"{item}note {c['where']}: {c['text']}" for c in notes]
    unlisted = len(conditions) - len(listed)
    if unlisted:
        many = unlisted > 1
        count = f"{unlisted} {'more ' if listed else ''}condition{'s' if many else ''}"
        what = (count if head[0].startswith("No ") else f"{count} that these imply" if listed
                else f"{count} that every size meets")
        lines += [*gap, f"{'' if markdown else '  '}({what}: `--format json` lists "
                        f"{'them all' if many else 'it'})"]
    return lines


UNALIGNED_NOTE = ("* after branches (concat, add, residual) whose receptive fields are not "
                  "centred alike: RF is the region covering all of them")


def field_cell(field: dict | None) -> str:
    """The RF column: the field's size, with * where branches' fields disagree."""
    if not field:
        return ""
    return shape_text(field["size"]) + ("*" if field.get("aligned") is False else "")


# Where a cell may break: a label between words; an expression after × or *, or before a
# ` + `, so that a factor like `(floor((H - 1)/2) + 1)` stays whole where it fits.
WORDS = re.compile(r"(?<= )")
TERMS = re.compile(r"(?<=[×*])|(?= \+ )")


def wrapped(text: str, width: int, breaks: re.Pattern = TERMS) -> list[str]:
    """`text` in lines of at most `width` cells, broken where `breaks` matches if it can be,
    mid-token where it can't. Continuation lines keep the text's indentation, plus two (the
    label column's tree)."""
    from rich.cells import cell_len

    if cell_len(text) <= width:
        return [text]
    indent = " " * min(len(text) - len(text.lstrip(" ")) + 2, max(width - 4, 0))
    lines: list[str] = []
    line = ""
    for piece in breaks.split(text):
        while piece:
            if cell_len(line + piece) <= width:
                line, piece = line + piece, ""
            elif line.strip():
                lines.append(line.rstrip())
                line = indent
                piece = piece.lstrip(" ")
            else:                           # a token wider than the column: cut it
                room = max(width - cell_len(line), 1)
                lines.append(line + piece[:room])
                line, piece = indent, piece[room:]
    if line.strip():
        lines.append(line.rstrip())
    return lines


def fitted(widths: list[int], floors: list[int], room: int) -> list[int]:
    """Column widths whose sum is at most `room`: the widest columns give way first, none
    below its floor (so a short column keeps its width while a long expression wraps)."""
    widths = list(widths)
    while sum(widths) > room:
        widest = max(range(len(widths)), key=lambda i: (widths[i] - floors[i] > 0, widths[i]))
        if widths[widest] <= floors[widest]:
            break
        widths[widest] -= 1
    return widths


def layer_grid(headers: tuple, rows: list[tuple[list[str], str]], width: int | None = None):
    """The per-layer table as rich segments, drawn like rich's default table (first column
    left-aligned, the rest right-aligned). A rich Table (or one big Text) measures, wraps and
    renders every cell or span on its own: most of a cold `summary` of a ResNet, and
    superlinear for 100,000 layers; this is linear and cheap. `rows` are (cells, style);
    labels lose their control characters (names come from untrusted specs). With `width`,
    cells too long for it are wrapped onto more lines."""
    from rich.cells import cell_len
    from rich.segment import Segment, Segments
    from rich.style import Style

    # Only the label (first cell) can hold wide characters; the others are numbers and shapes.
    rows = [([printable(cells[0]), *cells[1:]], style) for cells, style in rows]
    label_widths = [cell_len(cells[0]) for cells, _ in rows]
    widths = [max([cell_len(headers[0]), *label_widths])]
    widths += [max([len(h), *(len(cells[i]) for cells, _ in rows)])
               for i, h in enumerate(headers) if i]

    if width is not None and sum(widths) + 3 * len(widths) - 1 > width:
        floors = [max(cell_len(h), 12) for h in headers]
        widths = fitted(widths, floors, width - 3 * len(widths) + 1)

    def line(cells, label_width: int, sep: str) -> str:
        parts = [cells[0] + " " * (widths[0] - label_width)]
        parts += [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return " " + f" {sep} ".join(parts) + " "

    def lines(cells, label_width: int) -> list[str]:
        if label_width <= widths[0] and all(len(c) <= w for c, w in zip(cells[1:], widths[1:])):
            return [line(cells, label_width, "│")]
        columns = [wrapped(c, w, WORDS if i == 0 else TERMS)
                   for i, (c, w) in enumerate(zip(cells, widths))]
        height = max(map(len, columns))
        columns = [[""] * (height - len(c)) + c if i else c + [""] * (height - len(c))
                   for i, c in enumerate(columns)]   # numbers sit on the row's last line
        return [line(row, cell_len(row[0]), "│") for row in zip(*columns)]

    styles: dict[str, Style | None] = {"": None}
    newline = Segment.line()
    segments = [Segment(line(headers, cell_len(headers[0]), "┃"), Style(bold=True)), newline,
                Segment("╇".join("━" * (w + 2) for w in widths)), newline]
    for (cells, style), label_width in zip(rows, label_widths):
        if style not in styles:
            styles[style] = Style.parse(style)
        for text in lines(cells, label_width):
            segments += (Segment(text, styles[style]), newline)
    return Segments(segments)


def totals_grid(lines: list[tuple[str, str]], width: int | None = None):
    """The totals footer: bold labels, right-aligned values (as segments, like layer_grid).
    With `width`, values too long for it are wrapped onto more lines."""
    from rich.segment import Segment, Segments
    from rich.style import Style

    label_width = max(len(label) for label, _ in lines)
    value_width = max(len(value) for _, value in lines)
    if width is not None:
        value_width = min(value_width, max(width - label_width - 2, 12))
    bold, newline = Style(bold=True), Segment.line()
    segments: list[Segment] = []
    for label, value in lines:
        for i, part in enumerate(wrapped(value, value_width)):
            segments += (Segment((label if i == 0 else "").ljust(label_width), bold),
                         Segment("  " + part.rjust(value_width)), newline)
    return Segments(segments)


def render_checks(checks: list[Check], console) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Expectations and budgets", title_justify="left", show_edge=False)
    for column in ("Where", "Figure", "Expected", "Actual", ""):
        table.add_column(column)
    for check in checks:
        relation = "≤ " if check.bound else ""
        # Text, not markup: `where` holds block names from the spec (`[/oops]` is no tag)
        table.add_row(Text(check.where), Text(check.figure),
                      Text(relation + figure_text(check.expected, check.figure)),
                      Text(figure_text(check.actual, check.figure)),
                      Text(mark(check), style={True: "green", False: "red", None: "yellow"}[check.ok]))
    console.print(table)
    from cnncalc.hints import reordered

    for check in checks:        # an expected shape in another order: the layout, usually
        order = reordered(check.expected, check.actual) if check.figure in ("shape", "output") else None
        if order:
            console.print(Text(f"note: {check.where}: {order}"))


def render_json(report: dict, checks: list[Check] | None = None) -> str:
    if checks:
        report = dict(report, checks=[check_dict(c) for c in checks])
    # One key per line, and one line per layer or check: readable, diffable, and fast (json's
    # C encoder only runs without `indent`; with it, a large report is slow to write).
    parts = []
    for key, value in report.items():
        if key in ("layers", "checks") and isinstance(value, list) and value:
            items = ",\n    ".join(json.dumps(item) for item in value)
            parts.append(f"  {json.dumps(key)}: [\n    {items}\n  ]")
        else:
            parts.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(parts) + "\n}"


def check_dict(check: Check) -> dict:
    from cnncalc.report import plain

    return {"where": check.where, "figure": check.figure, "expected": plain(check.expected),
            "actual": plain(check.actual), "ok": check.ok, "bound": check.bound,
            "line": check.pos.line if check.pos else None,
            "col": check.pos.col if check.pos else None}


def render_markdown(report: dict, depth: int | None = None, checks=None) -> str:
    lines = [f"## {report['name']}", "",
             f"Input {shape_text(report['input_shape'])} ({report['layout']}), "
             f"batch {report['batch']}, {report['dtype']}.", "",
             "| Layer | Output | Params | MACs | RF |", "|---|---:|---:|---:|---:|"]
    for layer in visible(report, depth):
        label = "&nbsp;&nbsp;" * layer["depth"] + layer_label(layer).replace("|", "\\|")
        lines.append(f"| {label} | {shape_text(layer['output_shape'])} | "
                     f"{grouped(layer['params'])} | {grouped(layer['macs'])} | "
                     f"{field_cell(layer.get('receptive_field'))} |")
    lines += ["", "| Total | |", "|---|---:|"]
    lines += [f"| {label} | {value} |" for label, value in totals_lines(report)]
    if checks:
        lines += ["", "| Where | Figure | Expected | Actual | |", "|---|---|---|---|---|"]
        lines += [f"| {c.where} | {c.figure} | {'≤ ' if c.bound else ''}{figure_text(c.expected, c.figure)}"
                  f" | {figure_text(c.actual, c.figure)} | {mark(c)} |" for c in checks]
    if report.get("constraints"):
        lines += ["", *constraint_lines(report, markdown=True)]
    lines += ["", CONVENTIONS + (f" {TRAIN_CONVENTIONS}" if "train" in report["totals"] else "")]
    return "\n".join(lines) + "\n"


CSV_COLUMNS = ("path", "kind", "name", "depth", "leaf", "input_shape", "output_shape", "params",
               "buffers", "macs", "flops", "activation_bytes", "receptive_field")


def render_csv(report: dict, depth: int | None = None, checks=None) -> str:
    from cnncalc.output import csv_text

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    # with --train, the training figures' columns too
    columns = CSV_COLUMNS + (("backward_flops", "saved_bytes") if "train" in report["totals"]
                             else ())
    writer.writerow(columns)
    for layer in visible(report, depth):
        writer.writerow([csv_text(_csv_cell(c, layer.get(c))) for c in columns])
    return out.getvalue()


def _csv_cell(column: str, value):
    """Spreadsheet-friendly: `32x32x10` (plain ASCII), true/false as in JSON, empty for none."""
    if value is None:
        return ""
    if column.endswith("shape"):
        return shape_text(value, sep="x")
    if column == "receptive_field":     # its size, as the table's RF column (* not aligned)
        return shape_text(value["size"], sep="x") + ("*" if value.get("aligned") is False else "")
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def render(report: dict, fmt: Format, depth: int | None = None, checks=None, console=None) -> str | None:
    """Render a report; the table prints itself (rich), the others return text."""
    if fmt is Format.table:
        render_table(report, depth, checks, console)
        return None
    if fmt is Format.json:      # rows deeper than --depth left out, as in the other formats
        return render_json(report if depth is None else dict(report, layers=visible(report, depth)),
                           checks)
    # JSON escapes control characters itself; the text formats go to terminals too.
    if fmt is Format.markdown:
        return printable(render_markdown(report, depth, checks), keep="\n")
    if fmt is Format.csv:
        return printable(render_csv(report, depth, checks), keep="\n")
    raise AssertionError(f"no renderer for {fmt}")
