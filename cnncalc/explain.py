"""Learning mode: every layer's working, with the user's numbers put into the formulas.

    out = (W − F + 2P)/S + 1 = (32 − 5 + 2·2)/1 + 1 = 32  →  32×32×10
    params = (F·F·C + 1)·K = (5·5·3 + 1)·10 = 760
    MACs = out elements · (F·F·C) = 32·32·10 · (5·5·3) = 768,000

Each kind explains itself (`explain` on its object in cnncalc.kinds, written with the pieces in
cnncalc.working); this module adds the receptive-field working and lays out the whole text.
The explanations only show arithmetic: every result they print is the analysis's own figure
(`analyze.Row`), never a second computation, and a test evaluates each step's arithmetic to
prove it equals that result.
"""

from __future__ import annotations

from cnncalc.analyze import Analysis, Row
from cnncalc.field import Window
from cnncalc.kinds.composite import Branched, Split
from cnncalc.working import Context, Step, axes_of, grouped_axes, n, shape_text


def explain_row(row: Row, context: Context, train=None) -> list[Step]:
    """The working for one row of the analysis (after where its input comes from, for an
    entry with `from`; with `train`, cnncalc.train's figures, its training rules)."""
    source = row.node.src
    where = ([Step(f"its input is the output of {context.named(source)} "
                   f"({context.shape(context.value(source))}), not the previous entry's")]
             if source is not None and source[1] == "out" else
             [Step("its input is " + ("the network's input" if source == ("", "in")
                                      else context.named(source))
                   + f" ({context.shape(context.value(source))})")]
             if source is not None else [])
    steps = (where + row.node.impl.explain(row, context) + field_steps(row, context)
             + removed_steps(row.node.removed))
    if train is not None:
        from cnncalc.train import explain_steps

        steps += explain_steps(row, train)
    return steps


def removed_steps(removed: tuple) -> list[Step]:
    """The entries a `when` left out here, by their place in the list."""
    return [Step(f"entry {why}: left out") for why in removed]


# ---------------------------------------------------------------------------------------------
# receptive fields

def field_steps(row: Row, context: Context) -> list[Step]:
    """r_out = r + (F − 1)·j, j_out = j·S, start_out = start − P·j (Araujo et al. 2019), for a
    leaf with a sliding window."""
    if not row.node.leaf or row.field is None or row.input_field is None:
        return []
    window = row.node.leaf_kind.window(row.node.args, row.input_shape)
    if not isinstance(window, Window):
        return []
    rf_in, rf_out = row.input_field, row.field
    values = list(zip(rf_in.size, rf_in.jump, rf_in.start, window.kernel, window.stride,
                      window.pad_before, rf_out.size, rf_out.jump, rf_out.start))
    steps = []
    for suffix, (r, j, u, k, s, p, r2, j2, u2) in grouped_axes(values, axes_of(row)):
        steps.append(Step(f"receptive field{suffix}", "r + (F − 1)·j",
                          f"{n(r)} + ({n(k)} − 1)·{n(j)}", r2))
        steps.append(Step("jump", "j·S", f"{n(j)}·{n(s)}", j2, same_line=True))
        steps.append(Step("start", "u − P·j", f"{n(u)} − {n(p)}·{n(j)}", u2, same_line=True))
    return steps


# ---------------------------------------------------------------------------------------------
# The whole analysis

def context_of(analysis: Analysis) -> Context:
    return Context(analysis.spec.layout, {row.node.path: row for row in analysis.rows},
                   analysis.shortcuts, analysis.input_shape)


def explanations(analysis: Analysis, train=None) -> list[list[str]]:
    """The working of every row, as lines of text (for JSON)."""
    context = context_of(analysis)
    return [lines(explain_row(row, context, train)) for row in analysis.rows]


def lines(steps: list[Step]) -> list[str]:
    out: list[str] = []
    for step in steps:
        if step.same_line and out:
            out[-1] += ",  " + step.text()
        else:
            out.append(step.text())
    return out


def render_text(analysis: Analysis, report: dict, depth: int | None = None,
                checks: list | None = None, train=None) -> str:
    """Every row's heading (`0 conv out=10 kernel=5 padding=2: 32×32×3 → 32×32×10`) and its
    working, indented by nesting depth; under a layer, the verdict on each of its `expect`s."""
    from cnncalc.checks import figure_text
    from cnncalc.render import layer_label

    verdicts: dict[str, list[str]] = {}
    for check in checks or []:
        if check.where.startswith("layer "):
            mark = {True: "✓", None: "? (it depends on the input's sizes)"}.get(
                check.ok, f"✗ (it is {figure_text(check.actual, check.figure)})")
            verdicts.setdefault(check.where, []).append(
                f"expected {check.figure} {figure_text(check.expected, check.figure)}: {mark}")

    context = context_of(analysis)
    layout = analysis.spec.layout
    text = [f"{report['name']}: input {shape_text(analysis.input_shape, layout)} "
            f"({LAYOUT_WORDS.get((layout, len(analysis.input_shape)), layout)})",
            *lines(removed_steps(analysis.root.removed)), ""]
    branched = {child.path for row in analysis.rows if isinstance(row.node.impl, (Branched, Split))
                for child in row.node.children}
    for row, layer in zip(analysis.rows, report["layers"]):
        if depth is not None and row.depth >= depth:
            continue
        indent = "  " * row.depth
        label = layer_label(layer).rstrip()
        if row.node.path in branched:
            label = f"branch {row.node.path.rsplit('.', 1)[-1]}"
        text.append(f"{indent}{label}: {shape_text(row.input_shape, layout)} → "
                    f"{shape_text(row.output_shape, layout)}")
        text += [f"{indent}    {line}" for line in lines(explain_row(row, context, train))]
        text += [f"{indent}    {line}" for line in
                 verdicts.get(f"layer {row.node.path} ({row.node.kind})", [])]
    return "\n".join(text) + "\n"


LAYOUT_WORDS = {
    ("hwc", 2): "length × channels", ("hwc", 3): "height × width × channels",
    ("hwc", 4): "depth × height × width × channels",
    ("chw", 2): "channels × length", ("chw", 3): "channels × height × width",
    ("chw", 4): "channels × depth × height × width",
}
