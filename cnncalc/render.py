"""Report -> text: a rich table for people, JSON for machines, markdown and CSV for documents.

Every member of `Format` has a renderer (a test walks them)."""

from __future__ import annotations

import csv
import io
import json
from enum import Enum

from cnncalc.checks import Check, show
from cnncalc.units import grouped, human_bytes, human_count


class Format(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    csv = "csv"


CONVENTIONS = ("MACs: conv/linear multiply-accumulates without bias (torchvision's GFLOPS, "
               "fvcore's flops); FLOPs = 2 × MACs (PyTorch's FlopCounterMode). Activation "
               "memory: every layer's output × batch × bytes per element.")


def shape_text(shape) -> str:
    return "×".join(str(d) for d in shape)


def layer_label(layer: dict) -> str:
    label = layer["path"].rsplit(".", 1)[-1] if layer["path"] else ""
    text = f"{label} {layer['kind']}"
    if layer.get("args"):
        shown = {k: v for k, v in layer["args"].items() if v is not None}
        text += " " + _args_text(layer["kind"], shown)
    if layer.get("name"):
        text += f" “{layer['name']}”"
    return text


_DEFAULTS_HIDDEN = {"bias": True, "dilation": 1, "groups": 1, "stride": 1, "padding": 0,
                    "affine": True, "eps": 1e-5, "momentum": 0.1, "ceil_mode": False,
                    "count_include_pad": True, "output_padding": 0, "mode": "nearest"}


def _args_text(kind: str, args: dict) -> str:
    parts = []
    for key, value in args.items():
        if _DEFAULTS_HIDDEN.get(key, object()) == value and not (kind == "instancenorm" and key == "affine"):
            continue
        if kind == "instancenorm" and key == "affine" and value is False:
            continue
        shown = "×".join(map(str, value)) if isinstance(value, list) else value
        parts.append(f"{key}={shown}")
    return " ".join(parts)


def visible(report: dict, depth: int | None) -> list[dict]:
    return [layer for layer in report["layers"] if depth is None or layer["depth"] < depth]


def totals_lines(report: dict) -> list[tuple[str, str]]:
    t = report["totals"]
    return [
        ("Params", _count(t["params"])),
        ("Trainable params", _count(t["trainable_params"])),
        ("Buffers", _count(t["buffers"])),
        ("MACs", _count(t["macs"])),
        ("FLOPs", _count(t["flops"])),
        (f"Input memory ({report['dtype']}, batch {report['batch']})", _bytes(t["input_bytes"])),
        ("Activation memory", _bytes(t["activation_bytes"])),
        ("Param memory", _bytes(t["param_bytes"])),
    ]


def _count(value) -> str:
    if isinstance(value, int):
        return f"{grouped(value)} ({human_count(value)})" if value >= 1000 else str(value)
    return str(value)


def _bytes(value) -> str:
    return human_bytes(value) if isinstance(value, int) else f"{value} bytes"


def render_table(report: dict, depth: int | None = None, checks: list[Check] | None = None,
                 console=None) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    table = Table(title=f"{report['name']}: input {shape_text(report['input_shape'])} "
                        f"({report['layout']})", title_justify="left", show_edge=False)
    table.add_column("Layer", overflow="fold")
    table.add_column("Output", justify="right")
    table.add_column("Params", justify="right")
    table.add_column("MACs", justify="right")
    table.add_column("RF", justify="right")
    for layer in visible(report, depth):
        label = Text("  " * layer["depth"] + layer_label(layer),
                     style="" if layer["leaf"] else "bold")
        field = layer.get("receptive_field")
        table.add_row(label, shape_text(layer["output_shape"]), human_count(layer["params"]),
                      human_count(layer["macs"]),
                      shape_text(field["size"]) if field else "")
    console.print(table)
    totals = Table.grid(padding=(0, 2))
    totals.add_column(style="bold")
    totals.add_column(justify="right")
    for label, value in totals_lines(report):
        totals.add_row(label, value)
    console.print(totals)
    console.print(Text(f"Output: {shape_text(report['output_shape'])}. {CONVENTIONS}",
                       style="dim"))
    if checks:
        render_checks(checks, console)


def render_checks(checks: list[Check], console) -> None:
    from rich.table import Table

    table = Table(title="Expectations and budgets", title_justify="left", show_edge=False)
    for column in ("Where", "Figure", "Expected", "Actual", ""):
        table.add_column(column)
    for check in checks:
        relation = "≤ " if check.bound else ""
        table.add_row(check.where, check.figure, relation + show(check.expected, check.figure),
                      show(check.actual, check.figure),
                      "[green]✓[/green]" if check.ok else "[red]✗[/red]")
    console.print(table)


def render_json(report: dict, checks: list[Check] | None = None) -> str:
    if checks:
        report = dict(report, checks=[check_dict(c) for c in checks])
    return json.dumps(report, indent=2)


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
             "| Layer | Output | Params | MACs |", "|---|---:|---:|---:|"]
    for layer in visible(report, depth):
        label = "&nbsp;&nbsp;" * layer["depth"] + layer_label(layer).replace("|", "\\|")
        lines.append(f"| {label} | {shape_text(layer['output_shape'])} | "
                     f"{grouped(layer['params'])} | {grouped(layer['macs'])} |")
    lines += ["", "| Total | |", "|---|---:|"]
    lines += [f"| {label} | {value} |" for label, value in totals_lines(report)]
    if checks:
        lines += ["", "| Where | Figure | Expected | Actual | |", "|---|---|---|---|---|"]
        lines += [f"| {c.where} | {c.figure} | {'≤ ' if c.bound else ''}{show(c.expected, c.figure)}"
                  f" | {show(c.actual, c.figure)} | {'✓' if c.ok else '✗'} |" for c in checks]
    lines += ["", CONVENTIONS]
    return "\n".join(lines) + "\n"


CSV_COLUMNS = ("path", "kind", "name", "depth", "leaf", "input_shape", "output_shape", "params",
               "buffers", "macs", "flops", "activation_bytes")


def render_csv(report: dict, depth: int | None = None, checks=None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for layer in visible(report, depth):
        writer.writerow([shape_text(layer[c]) if c.endswith("shape") else layer[c]
                         if layer[c] is not None else "" for c in CSV_COLUMNS])
    return out.getvalue()


def render(report: dict, fmt: Format, depth: int | None = None, checks=None, console=None) -> str | None:
    """Render a report; the table prints itself (rich), the others return text."""
    if fmt is Format.table:
        render_table(report, depth, checks, console)
        return None
    if fmt is Format.json:
        return render_json(report, checks)
    if fmt is Format.markdown:
        return render_markdown(report, depth, checks)
    if fmt is Format.csv:
        return render_csv(report, depth, checks)
    raise AssertionError(f"no renderer for {fmt}")
