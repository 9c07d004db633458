"""One real training step of any `nn.Module`, measured the way PyTorch accounts for it.

    step = measure_train(model, torch.zeros(8, 3, 32, 32), optimizer="adam")
    step.modules["features.0"].saved_bytes, step.modules["features.0"].backward_flops

- saved activations: `torch.autograd.graph.saved_tensors_hooks` during the forward (training
  mode); every tensor autograd keeps, by its storage (data pointer), each storage once and whole,
  charged to the module running when it is first saved (the innermost one: a leaf, or the
  composite whose own code, a `cat` or a product, saved it); parameters, buffers and the network
  input are not counted;
- backward FLOPs: `FlopCounterMode` around `loss.backward()`, each autograd node's count charged
  to the module whose forward created the node (found by walking the graph back from each
  module's output as its forward returns); the grouped convolution's weight gradient is counted
  with the corrected formula (`conv_backward_flop` below), since PyTorch up to 2.14 counts it
  `groups` times over (pytorch/pytorch#183405);
- gradients: the bytes of every parameter's `.grad`; optimizer state: the bytes of every tensor
  in `optimizer.state` after one step.

The loss is `output.sum()`: its gradient is a broadcast view of a single 1 (no memory), so what
the backward holds is the network's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode, conv_flop_count, flop_registry

aten = torch.ops.aten


def conv_backward_flop(grad_out_shape, x_shape, w_shape, _bias, _stride, _padding, _dilation,
                       transposed, _output_padding, groups, output_mask, out_shape,
                       **kwargs) -> int:
    """PyTorch's `conv_backward_flop` with the weight gradient of a grouped convolution counted
    once: each of its `groups` convolutions sees C/groups channels, which PyTorch's formula
    (it treats the weight gradient as one ungrouped convolution) leaves out."""
    def t(shape):
        return [shape[1], shape[0], *shape[2:]]

    flops = 0
    if output_mask[0]:
        flops += conv_flop_count(grad_out_shape, w_shape, out_shape[0], not transposed)
    if output_mask[1]:
        if transposed:
            weight = conv_flop_count(t(grad_out_shape), t(x_shape), t(out_shape[1]), False)
        else:
            weight = conv_flop_count(t(x_shape), t(grad_out_shape), t(out_shape[1]), False)
        flops += weight // groups
    return flops


# FlopCounterMode hands the formula the tensors' shapes, as it does its own
CUSTOM_FLOPS = {aten.convolution_backward: conv_backward_flop}
assert aten.convolution_backward in flop_registry


@dataclass(slots=True)
class ModuleStep:
    name: str
    leaf: bool
    saved_bytes: int = 0
    backward_flops: int = 0
    forward_flops: int = 0


@dataclass(slots=True)
class TrainStep:
    batch: int
    optimizer: str
    forward_flops: int
    backward_flops: int
    saved_bytes: int
    gradient_bytes: int
    optimizer_bytes: int
    modules: dict[str, ModuleStep] = field(default_factory=dict)   # by qualified name
    saved: list = field(default_factory=list)    # (module, shape, dtype, bytes) per storage
    # elements of each parameter with a gradient, in the order the optimizer updates them
    param_tensors: list = field(default_factory=list)


def make_optimizer(name: str, params, foreach: bool | None = None) -> torch.optim.Optimizer:
    """`foreach` (Adam's): None for PyTorch's default, the for-loop on the CPU and `foreach`
    on CUDA."""
    params = list(params)
    if name == "sgd":
        return torch.optim.SGD(params, lr=0.01)
    if name == "momentum":
        return torch.optim.SGD(params, lr=0.01, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(params, lr=1e-3, foreach=foreach)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=1e-3, foreach=foreach)
    raise ValueError(f"unknown optimizer {name!r}")


def _bytes(t: torch.Tensor) -> int:
    return t.untyped_storage().nbytes()


def measure_train(model: nn.Module, x: torch.Tensor, optimizer: str = "sgd") -> TrainStep:
    """One forward (training mode), backward and optimizer step of `model` on `x`, measured."""
    model.train()
    names = {module: name for name, module in model.named_modules()}
    modules = {name: ModuleStep(name, next(m.children(), None) is None)
               for m, name in names.items() if name}
    excluded = {t.untyped_storage().data_ptr() for t in (*model.parameters(), *model.buffers())}
    excluded.add(x.untyped_storage().data_ptr())
    seen: dict[int, str] = {}
    saved: list = []
    stack: list[str] = []
    owner: dict = {}            # autograd node -> module name

    def pack(t: torch.Tensor):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in excluded and ptr not in seen and stack and t.untyped_storage().nbytes():
            seen[ptr] = stack[-1]
            modules[stack[-1]].saved_bytes += _bytes(t)
            saved.append((stack[-1], tuple(t.shape), str(t.dtype), _bytes(t)))
        return t

    def claim(output, name: str) -> None:
        """Every autograd node not yet owned that leads to `output` was made by `name`."""
        todo = [output.grad_fn] if isinstance(output, torch.Tensor) else []
        while todo:
            node = todo.pop()
            if node is None or node in owner:
                continue
            owner[node] = name
            todo.extend(next_node for next_node, _ in node.next_functions)

    def before(module, args):
        stack.append(names[module])

    def after(module, args, output):
        name = stack.pop()
        claim(output, name)

    handles = []
    for module, name in names.items():
        if name:
            handles.append(module.register_forward_pre_hook(before))
            handles.append(module.register_forward_hook(after))
    counter = FlopCounterMode(display=False, custom_mapping=CUSTOM_FLOPS)
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), counter:
            output = model(x)
        forward_flops = counter.get_total_flops()
    finally:
        for handle in handles:
            handle.remove()
    loss = loss_of(output)

    # backward: each node's FLOPs, the counter's total after it minus before it
    counter = FlopCounterMode(display=False, custom_mapping=CUSTOM_FLOPS)
    start: dict = {}
    hooks = []

    def counted() -> int:
        return sum(counter.flop_counts["Global"].values())

    for node, name in owner.items():
        def pre(grad_outputs, node=node):
            start[node] = counted()

        def post(grad_inputs, grad_outputs, node=node, name=name):
            modules[name].backward_flops += counted() - start.pop(node)

        hooks.append(node.register_prehook(pre))
        hooks.append(node.register_hook(post))
    try:
        with counter:
            if loss.requires_grad:      # else no layer has parameters: nothing to train
                loss.backward()
    finally:
        for hook in hooks:
            hook.remove()
    backward_flops = counter.get_total_flops()
    gradient_bytes = sum(_bytes(p.grad) for p in model.parameters() if p.grad is not None)
    param_tensors = [p.numel() for p in model.parameters() if p.grad is not None]
    optimizer_bytes = 0
    if any(True for _ in model.parameters()):
        opt = make_optimizer(optimizer, model.parameters())
        opt.step()
        optimizer_bytes = sum(t.untyped_storage().nbytes() for state in opt.state.values()
                              for t in state.values() if isinstance(t, torch.Tensor))
    return TrainStep(x.shape[0], optimizer, forward_flops, backward_flops,
                     sum(m.saved_bytes for m in modules.values()), gradient_bytes,
                     optimizer_bytes, modules, saved, param_tensors)


def loss_of(output) -> torch.Tensor:
    """`output.sum()`; for several outputs (a tuple, in `outputs` order), the sum of theirs."""
    outputs = output if isinstance(output, tuple) else (output,)
    return sum((o.sum() for o in outputs[1:]), outputs[0].sum())


def measure_peak(model: nn.Module, x: torch.Tensor, optimizer: str = "sgd",
                 foreach: bool | None = None) -> dict:
    """The peak of a steady-state training step by PyTorch's MemTracker
    (torch.distributed._tools.mem_tracker): one step first, so that the optimizer's state
    exists, gradients set to None, then one tracked step (forward, `output.sum()`, backward,
    optimizer step). Its categories at the peak, in bytes, and "Total"."""
    from torch.distributed._tools.mem_tracker import MemTracker

    model.train()
    params = [p for p in model.parameters()]
    opt = make_optimizer(optimizer, params, foreach) if params else None

    def step() -> None:
        if opt is not None:
            opt.zero_grad(set_to_none=True)
        loss = loss_of(model(x))
        if loss.requires_grad:
            loss.backward()
        if opt is not None:
            opt.step()

    step()
    tracker = MemTracker()
    tracker.track_external(model, *([opt] if opt is not None else []), x)
    with tracker:
        step()
    snapshot = tracker.get_tracker_snapshot("peak").get(x.device, {})
    return {getattr(key, "value", key): value for key, value in snapshot.items()}
