"""Analysis -> the report: plain data in the spec's layout, with batch and dtype applied.

This dict is the `--format json` contract; the table, markdown and CSV renderers read it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnncalc.analyze import Analysis, Field, Row, in_layout
from cnncalc.dims import is_int, numel

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "float64": 8}


@dataclass(frozen=True, slots=True)
class Options:
    batch: int = 1
    dtype: str = "float32"
    optimizer: str = "adam"      # for the `train_memory` budget

    @property
    def bytes_per_element(self) -> int:
        return DTYPE_BYTES[self.dtype]


def plain(value):
    """A figure for JSON: ints stay ints, symbolic expressions become strings."""
    if type(value) is int:          # the common case, first: reports have ~20 figures a row
        return value
    if isinstance(value, (list, tuple)):
        return [v if type(v) is int else plain(v) for v in value]
    if is_int(value) or value is None or isinstance(value, (str, bool, float)):
        return value
    # a sympy expression: only with symbolic input
    from cnncalc.symbolic import show as expression_text

    return expression_text(value)


def flops(macs):
    """FLOPs = 2 × MACs: a multiply-accumulate is two operations (PyTorch's FlopCounterMode)."""
    return 2 * macs


def activation_bytes(elements, options: Options):
    return elements * options.batch * options.bytes_per_element


@dataclass(frozen=True, slots=True)
class Totals:
    """The network's totals for one batch size and dtype, from an analysis (which sums each
    figure once): the report, the budget checks, `zoo` and the cross-check all read their
    figures here. Counts are per sample; memory figures are for the batch."""

    params: Any
    buffers: Any
    macs: Any
    activations: Any        # elements of every layer's output, one sample
    input_elements: Any
    options: Options

    @classmethod
    def of(cls, analysis: Analysis, options: Options) -> Totals:
        return cls(analysis.total("params"), analysis.total("buffers"), analysis.total("macs"),
                   analysis.total("activations"), numel(analysis.input_shape), options)

    @property
    def flops(self):
        return flops(self.macs)

    @property
    def activation_bytes(self):
        return activation_bytes(self.activations, self.options)

    @property
    def param_bytes(self):
        return self.params * self.options.bytes_per_element

    @property
    def input_bytes(self):
        return activation_bytes(self.input_elements, self.options)


def build(analysis: Analysis, name: str, options: Options) -> dict:
    layout = analysis.spec.layout
    totals = Totals.of(analysis, options)
    names = reference_names(analysis) if analysis.root.outputs is not None else None
    report = {
        "name": name,
        "layout": layout,
        "batch": options.batch,
        "per_sample": ["macs", "flops"],    # the other figures are for the whole batch
        "dtype": options.dtype,
        "input_shape": plain(in_layout(analysis.input_shape, layout)),
        # null with several outputs: `outputs` has each
        "output_shape": (plain(in_layout(analysis.output_shape, layout))
                         if len(analysis.outputs) == 1 else None),
        "outputs": [{"id": name, "shape": plain(in_layout(shape, layout))}
                    for name, shape, _ in analysis.outputs],
        "layers": [layer_row(row, layout, options, names) for row in analysis.rows],
        "totals": {
            "params": plain(totals.params),
            "trainable_params": plain(totals.params),
            "buffers": plain(totals.buffers),
            "macs": plain(totals.macs),
            "flops": plain(totals.flops),
            "activation_bytes": plain(totals.activation_bytes),
            "param_bytes": plain(totals.param_bytes),
            "input_bytes": plain(totals.input_bytes),
        },
    }
    if analysis.symbolic:
        report["constraints"], report["accepted"] = constraints(analysis)
    return report


def constraints(analysis: Analysis) -> tuple[list[dict], dict | None]:
    """A symbolic report's conditions on sizes, each marked `implied` when the others already
    imply it, and each size's accepted set as `cnncalc inputs` gives it (None when cnncalc
    can't solve them)."""
    from cnncalc.inputs import explain_constraints

    rows = [c.as_dict() for c in analysis.constraints]
    explained = explain_constraints(analysis)
    if explained is None:
        return [{**row, "implied": False} for row in rows], None
    accepted, implied = explained
    return ([{**row, "implied": flag} for row, flag in zip(rows, implied)],
            {name: a.as_dict() for name, a in accepted.items()})


def reference_names(analysis: Analysis) -> dict:
    """What a reference reads, as reports name it: the id of the entry (or its path), `input`
    for the network's input, `PATH.input` for the input of a block's use or of a list."""
    ids = {row.node.path: row.node.id for row in analysis.rows if row.node.id}

    def name(key) -> str:
        path, port = key
        if port == "in":
            return "input" if path == "" else f"{path}.input"
        return ids.get(path, path)
    return {"name": name}


def layer_row(row: Row, layout: str, options: Options, names: dict | None = None) -> dict:
    node = row.node
    data = {
        "path": node.path,
        "kind": node.kind,
        "name": node.name,
        "depth": row.depth,
        "leaf": node.leaf,
        "input_shape": plain(in_layout(row.input_shape, layout)),
        "output_shape": plain(in_layout(row.output_shape, layout)),
        "params": plain(row.params),
        "buffers": plain(row.buffers),
        "macs": plain(row.macs),
        "flops": plain(flops(row.macs)),
        "activation_bytes": plain(activation_bytes(row.activations, options)),
    }
    if node.id is not None:
        data["id"] = node.id
    if names is not None and (node.src is not None or node.refs):
        name = names["name"]
        data["from"] = ([name(key) for key in node.refs] if node.refs and not node.leaf
                        else name(node.src) if node.src is not None else None)
    if node.leaf:
        data["args"] = plain_args(node.args)
        data["receptive_field"] = field_dict(row.field)
    return data


def plain_args(args) -> dict:
    """The arguments as written or defaulted, for machines (a pair, slice's, as a list)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in args.model_dump().items()}


def field_dict(field: Field | None) -> dict | None:
    if field is None:
        return None
    data = {"size": plain(field.size), "jump": plain(field.jump), "start": plain(field.start)}
    if not field.aligned:
        data["aligned"] = False
    return data
