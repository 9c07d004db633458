"""Static analysis vs what PyTorch measured: a row per node, totals, and the verdict.

The result is the `validate --format json` contract:

    {"ok": bool, "name", "device", "torch_version", "batch", "per_sample": ["flops"],
     "layers": [{"path", "kind", "static": {"output_shape", "params", "buffers", "flops"},
                 "torch": {same keys}, "agree": bool}],
     "totals": {"static": {...}, "torch": {...}, "agree": bool}}

Shapes are in the spec's layout without the batch dimension; FLOPs are per sample, as `summary`
shows them whatever the batch (static: 2 × MACs; torch: FlopCounterMode's count for the whole
batch ÷ batch, a fraction where it doesn't divide, which then disagrees).
"""

from __future__ import annotations

from cnncalc.analyze import Analysis, in_layout
from cnncalc.crosscheck.measure import Measured, Measurement
from cnncalc.report import Options, Totals, flops, plain
from cnncalc.units import grouped, human_count, shape_text

FIGURES = ("output_shape", "params", "buffers", "flops")


def _figures(shape, params, buffers, flops, layout: str) -> dict:
    return {"output_shape": plain(in_layout(shape, layout)) if shape is not None else None,
            "params": params, "buffers": buffers, "flops": flops}


def per_sample(flops: int, batch: int) -> int | float:
    """A whole batch's FLOPs per sample: exact when the batch divides them (it always should)."""
    return flops // batch if flops % batch == 0 else flops / batch


def _measured(m: Measured | None, layout: str, batch: int) -> dict | None:
    if m is None:
        return None
    shape = m.output_shape[1:] if m.output_shape is not None else None
    return _figures(shape, m.params, m.buffers, per_sample(m.flops, batch), layout)


def compare(analysis: Analysis, measurement: Measurement, name: str) -> dict:
    layout = analysis.spec.layout
    batch = measurement.batch
    found = measurement.by_name()
    layers = []
    for row in analysis.rows:
        static = _figures(row.output_shape, row.params, row.buffers, flops(row.macs), layout)
        torch = _measured(found.get(row.node.path), layout, batch)
        layers.append({"path": row.node.path, "kind": row.node.kind, "depth": row.depth,
                       "leaf": row.node.leaf, "static": static, "torch": torch,
                       "agree": static == torch})
    totals = Totals.of(analysis, Options(batch=batch))
    static = _figures(analysis.output_shape, totals.params, totals.buffers, totals.flops, layout)
    out = measurement.output_shape
    torch = _figures(out[1:] if out is not None else None, measurement.params,
                     measurement.buffers, per_sample(measurement.flops, batch), layout)
    if len(analysis.outputs) > 1:       # a tuple, in `outputs` order: each output's shape
        static["output_shape"] = [plain(in_layout(shape, layout))
                                  for _, shape, _ in analysis.outputs]
        torch["output_shape"] = [plain(in_layout(shape[1:], layout)) if shape is not None
                                 else None for shape in measurement.output_shapes or ()]
    agreement = {"static": static, "torch": torch, "agree": static == torch}
    return {"ok": agreement["agree"] and all(layer["agree"] for layer in layers),
            "name": name, "device": measurement.device,
            "torch_version": measurement.torch_version, "batch": batch,
            "per_sample": ["flops"], "layers": layers, "totals": agreement}


def disagreements(result: dict) -> list[str]:
    """One line per figure that differs: `3 conv: flops 1,200 (cnncalc) vs 2,400 (torch)`."""
    lines = []
    for layer in [*result["layers"], {"path": "total", "kind": "", **result["totals"]}]:
        if layer["agree"]:
            continue
        if layer["torch"] is None:
            lines.append(f"{layer['path']} {layer['kind']}: no PyTorch module ran for this node")
            continue
        for figure in FIGURES:
            ours, theirs = layer["static"][figure], layer["torch"][figure]
            if ours != theirs:
                lines.append(f"{layer['path']} {layer['kind']}: {figure} {_exact(ours)} (cnncalc) "
                             f"vs {_exact(theirs)} (torch)")
    return lines


def _exact(value) -> str:
    if isinstance(value, list) and value and isinstance(value[0], list):
        return ", ".join(shape_text(shape) for shape in value)     # several outputs
    return shape_text(value) if isinstance(value, list) else grouped(value)


# -- the table for people --------------------------------------------------------------------

def render_table(result: dict, console) -> None:
    """A row per node: cnncalc's figures, PyTorch's, ✓ or ✗; then the totals."""
    from rich.text import Text

    from cnncalc.render import layer_grid

    def cells(label: str, layer: dict) -> list[str]:
        ours, theirs = layer["static"], layer["torch"] or {}
        # exact figures where they differ, readable ones where they agree
        number_text = _exact if not layer["agree"] else human_count
        row = [label]
        for figure in FIGURES:
            text = _exact if figure == "output_shape" else number_text
            row += [text(ours[figure]) if ours[figure] is not None else "-",
                    text(theirs[figure]) if theirs.get(figure) is not None else "-"]
        return row + ["✓" if layer["agree"] else "✗"]

    headers = ("Layer", "Output", "torch", "Params", "torch", "Buffers", "torch", "FLOPs/sample",
               "torch", "")
    rows = [(cells("  " * layer["depth"] + f"{layer['path'].rsplit('.', 1)[-1]} {layer['kind']}",
                   layer), "" if layer["agree"] else "bold red")
            for layer in result["layers"]]
    rows.append((cells("Total", result["totals"]),
                 "bold" if result["totals"]["agree"] else "bold red"))
    console.print(Text(f"{result['name']}: cnncalc vs PyTorch {result['torch_version']} on "
                       f"{result['device']}, batch {result['batch']} (FLOPs per sample)",
                       style="bold"))
    console.print(layer_grid(headers, rows), soft_wrap=True)
    # the forward's own verdict (`ok` also covers `--train`'s step, shown after this table)
    ok = result["totals"]["agree"] and all(layer["agree"] for layer in result["layers"])
    verdict = "every figure agrees" if ok else f"{len(disagreements(result))} figures disagree"
    console.print(Text(f"{'✓' if ok else '✗'} {verdict}", style="green" if ok else "red"))
