"""`validate --train`: cnncalc's training figures against one real training step.

The result is `"train"` in the `validate --format json` object:

    {"optimizer", "ok",
     "layers": [{"path", "kind", "depth", "leaf", "static": {"backward_flops", "saved_bytes"},
                 "torch": {the same}, "agree"}],
     "totals": {"static": {"backward_flops", "saved_activation_bytes", "gradient_bytes",
                           "optimizer_bytes"}, "torch": {the same}, "agree"},
     "peak": {"static", "torch", "difference"}}

Backward FLOPs are per sample (as `flops`); bytes are for the batch. A layer's saved bytes are
its own: what it was charged for, not its children's (a composite's are those of its own
product, `mul`'s factors). The peak is cnncalc's model of a steady-state step against
PyTorch's MemTracker; it is shown with its difference and is not part of `ok`: the model leaves
out what docs/training.md lists (a tensor in residual blocks, Adam's and batch norm's scalars).
"""

from __future__ import annotations

import torch

from cnncalc.analyze import Analysis
from cnncalc.crosscheck.build import build, empty_input, materialise
from cnncalc.crosscheck.diff import per_sample
from cnncalc.crosscheck.train_measure import TrainStep, loss_of, measure_peak, measure_train
from cnncalc.train import TrainOptions, train_figures
from cnncalc.units import grouped, human_bytes, human_count

TOTALS = ("backward_flops", "saved_activation_bytes", "gradient_bytes", "optimizer_bytes")


def measured_node(step: TrainStep, path: str, leaf: bool) -> tuple[int, int]:
    """(saved bytes, backward FLOPs of the batch) of a node: a leaf's with the modules it is
    built of (a zero-pad before a conv), a composite's own."""
    if leaf:
        inside = [m for name, m in step.modules.items()
                  if name == path or name.startswith(path + ".")]
    else:
        inside = [step.modules[path]] if path in step.modules else []
    return sum(m.saved_bytes for m in inside), sum(m.backward_flops for m in inside)


def compare_train(analysis: Analysis, device: str, batch: int, optimizer: str) -> dict:
    options = TrainOptions(batch, "float32", optimizer, device)
    figures = train_figures(analysis, options)
    shape = (batch, *analysis.input_shape)
    step = measure_train(materialise(build(analysis), device), empty_input(shape, device),
                         optimizer)
    peak = measure_peak(materialise(build(analysis), device), empty_input(shape, device),
                        optimizer)
    layers = []
    for row in analysis.rows:
        node = row.node
        train = figures.layers[node.path]
        saved, flops = measured_node(step, node.path, node.leaf)
        own = sum(kept.bytes for kept in train.kept)
        static = {"backward_flops": 2 * train.backward_macs if node.leaf else 0,
                  "saved_bytes": own}
        measured = {"backward_flops": per_sample(flops, batch), "saved_bytes": saved}
        layers.append({"path": node.path, "kind": node.kind, "depth": row.depth,
                       "leaf": node.leaf, "static": static, "torch": measured,
                       "agree": static == measured})
    static_totals = {"backward_flops": figures.backward_flops,
                     "saved_activation_bytes": figures.saved_bytes,
                     "gradient_bytes": figures.gradient_bytes,
                     "optimizer_bytes": figures.optimizer_bytes}
    torch_totals = {"backward_flops": per_sample(step.backward_flops, batch),
                    "saved_activation_bytes": step.saved_bytes,
                    "gradient_bytes": step.gradient_bytes,
                    "optimizer_bytes": step.optimizer_bytes}
    totals = {"static": static_totals, "torch": torch_totals,
              "agree": static_totals == torch_totals}
    measured_peak = peak.get("Total")
    peak_figures: dict = {"static": figures.peak_bytes, "torch": measured_peak,
                          "difference": None if measured_peak is None
                          else measured_peak - figures.peak_bytes, "measured_by": "MemTracker"}
    if device == "cuda":
        peak_figures["max_memory_allocated"] = cuda_peak(analysis, shape, optimizer)
    return {"optimizer": optimizer,
            "ok": totals["agree"] and all(layer["agree"] for layer in layers),
            "layers": layers, "totals": totals, "peak": peak_figures}


def cuda_peak(analysis: Analysis, shape: tuple, optimizer: str) -> int:
    """`torch.cuda.max_memory_allocated` over a steady-state step (allocator rounding and the
    cuDNN/cuBLAS workspaces included), from the start of the step."""
    from cnncalc.crosscheck.train_measure import make_optimizer

    model = materialise(build(analysis), "cuda").train()
    x = empty_input(shape, "cuda")
    params = list(model.parameters())
    opt = make_optimizer(optimizer, params) if params else None
    for tracked in (False, True):
        if opt is not None:
            opt.zero_grad(set_to_none=True)
        if tracked:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        loss = loss_of(model(x))       # several outputs: the sum of their sums
        if loss.requires_grad:
            loss.backward()
        if opt is not None:
            opt.step()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated()


def disagreements(train: dict) -> list[str]:
    lines = []
    for layer in train["layers"]:
        for figure, ours in layer["static"].items():
            theirs = layer["torch"][figure]
            if ours != theirs:
                lines.append(f"{layer['path']} {layer['kind']}: {figure} {grouped(ours)} "
                             f"(cnncalc) vs {grouped(theirs)} (torch)")
    for figure in TOTALS:
        ours, theirs = train["totals"]["static"][figure], train["totals"]["torch"][figure]
        if ours != theirs:
            lines.append(f"total: {figure} {grouped(ours)} (cnncalc) vs {grouped(theirs)} "
                         "(torch)")
    return lines


def render_table(train: dict, console) -> None:
    from rich.text import Text

    from cnncalc.render import layer_grid

    def row(label: str, layer: dict, saved: str = "saved_bytes") -> tuple[list[str], str]:
        ours, theirs = layer["static"], layer["torch"]
        show_count = human_count if layer["agree"] else grouped
        show_bytes = human_bytes if layer["agree"] else grouped
        return ([label, show_count(ours["backward_flops"]), show_count(theirs["backward_flops"]),
                 show_bytes(ours[saved]), show_bytes(theirs[saved]),
                 "✓" if layer["agree"] else "✗"], "" if layer["agree"] else "bold red")

    rows = [row("  " * layer["depth"] + f"{layer['path'].rsplit('.', 1)[-1]} {layer['kind']}",
                layer) for layer in train["layers"]]
    rows.append(row("Total", train["totals"], "saved_activation_bytes"))
    console.print(Text(f"Training step ({train['optimizer']}): backward FLOPs per sample, saved "
                       "activations", style="bold"))
    console.print(layer_grid(("Layer", "Bwd FLOPs", "torch", "Saved", "torch", ""), rows),
                  soft_wrap=True)
    totals = train["totals"]
    for figure in ("gradient_bytes", "optimizer_bytes"):
        ours, theirs = totals["static"][figure], totals["torch"][figure]
        console.print(Text(f"{figure.replace('_bytes', '').capitalize()}: {grouped(ours)} bytes "
                           f"(cnncalc), {grouped(theirs)} (torch) {'✓' if ours == theirs else '✗'}"))
    peak = train["peak"]
    line = (f"Peak (a steady-state step): {grouped(peak['static'])} bytes (cnncalc), "
            f"{grouped(peak['torch'])} (MemTracker)")
    if peak["difference"]:
        share = 100 * peak["difference"] / peak["torch"]
        sign = "+" if peak["difference"] > 0 else ""
        line += f": MemTracker {sign}{grouped(peak['difference'])} ({share:+.3f}%)"
    if "max_memory_allocated" in peak:
        line += f"; CUDA max_memory_allocated {grouped(peak['max_memory_allocated'])}"
    console.print(Text(line))
    console.print(Text(f"{'✓' if train['ok'] else '✗'} training figures "
                       f"{'agree' if train['ok'] else 'disagree'}",
                       style="green" if train["ok"] else "red"))
