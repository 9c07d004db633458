"""Run any `nn.Module` once and measure what PyTorch did, module by module.

    measurement = measure(model, torch.empty(1, 3, 224, 224))
    measurement.leaves()       # leaf modules, in execution order, with qualified names
    measurement.by_name()["features.0"].flops

Per call of every module: output shape (forward hooks), parameters and buffers (`numel`, over
the module and its children), and FLOPs (`torch.utils.flop_counter.FlopCounterMode`: the
counter's total after the call minus before it, so nested and repeated calls are exact).
Totals: `sum(p.numel() for p in model.parameters())`, the same for buffers, and the counter's
total. Also here: the device to run on and whether it has the memory.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnncalc.errors import SpecError


@dataclass(slots=True)
class Measured:
    """One call of one module."""

    name: str                   # qualified name in the model ('' for the model itself)
    type: str                   # the module's class, e.g. "Conv2d"
    leaf: bool                  # no child modules
    params: int
    buffers: int
    output_shape: tuple | None = None   # with the batch dimension; None if not one tensor
    flops: int = 0
    input_shape: tuple | None = None    # of the first argument, as output_shape


@dataclass(slots=True)
class Measurement:
    device: str
    torch_version: str
    batch: int
    output_shape: tuple | None
    params: int
    buffers: int
    flops: int
    modules: list[Measured] = field(default_factory=list)   # every call, in execution order
    # each output's shape (a model with several outputs returns a tuple of them)
    output_shapes: list[tuple | None] | None = None

    def leaves(self) -> list[Measured]:
        return [m for m in self.modules if m.leaf]

    def by_name(self) -> dict[str, Measured]:
        """The first call of each module, by qualified name."""
        found: dict[str, Measured] = {}
        for m in self.modules:
            found.setdefault(m.name, m)
        return found


class ForwardFailed(Exception):
    """The model raised in its forward pass: `error` is what it raised, `finished` the calls
    that returned before it (in execution order), `running` the calls still open, outermost
    first: the last is the module whose own code raised."""

    def __init__(self, error: Exception, finished: list[Measured], running: list[Measured],
                 batch: int):
        super().__init__(f"{type(error).__name__}: {error}")
        self.error, self.finished, self.running, self.batch = error, finished, running, batch


def _numel(tensors) -> int:
    return sum(t.numel() for t in tensors)


def _shape(output) -> tuple | None:
    return tuple(output.shape) if isinstance(output, torch.Tensor) else None


def _skip_dynamo_import() -> None:
    """Every TorchDispatchMode's handler is wrapped by `torch._disable_dynamo`, whose first call
    imports torch._dynamo (a large part of a `validate` run: bench/README.md) only to turn
    compilation off inside the handler. Nothing here is compiled, so mark the handler as
    already done.
    A private class: on a torch without it, do nothing (the import then just costs its time)."""
    try:
        from torch.utils.flop_counter import _FlopCounterMode

        handler = _FlopCounterMode.__dict__.get("__torch_dispatch__")
    except (ImportError, AttributeError):
        return
    raw = getattr(handler, "__wrapped__", None)
    if raw is not None and getattr(raw, "__dynamo_disable", None) is None:
        setattr(raw, "__dynamo_disable", raw)


def measure(model: nn.Module, *inputs, on_leaf: Callable[[str], None] | None = None) -> Measurement:
    """One forward pass of `model(*inputs)` under inference mode, measured; `on_leaf(name)` is
    called after each leaf module runs (progress). ForwardFailed if the model raises."""
    if "torch._dynamo" not in sys.modules:
        _skip_dynamo_import()
    calls: list[Measured] = []
    stack: list[tuple[Measured, int]] = []
    counter = FlopCounterMode(display=False)
    names = {module: name for name, module in model.named_modules()}
    sizes: dict[nn.Module, tuple[int, int]] = {}

    def counted() -> int:
        return sum(counter.flop_counts["Global"].values())

    def before(module, args):
        if module not in sizes:
            sizes[module] = (_numel(module.parameters()), _numel(module.buffers()))
        params, buffers = sizes[module]
        call = Measured(names.get(module, "?"), type(module).__name__,
                        next(module.children(), None) is None, params, buffers,
                        input_shape=_shape(args[0]) if args else None)
        calls.append(call)
        stack.append((call, counted()))

    def after(module, args, output):
        call, start = stack.pop()
        call.output_shape = _shape(output)
        call.flops = counted() - start
        if call.leaf and on_leaf is not None:
            on_leaf(call.name)

    device = next((t.device.type for t in inputs if isinstance(t, torch.Tensor)), "cpu")
    batch = next((t.shape[0] for t in inputs if isinstance(t, torch.Tensor) and t.dim()), 1)
    handles = []
    try:
        for module in names:
            handles.append(module.register_forward_pre_hook(before))
            handles.append(module.register_forward_hook(after))
        with torch.inference_mode(), counter:
            output = model(*inputs)
    except Exception as exc:
        # an exception skips the forward hooks: the calls left on the stack are still open
        running = [call for call, _ in stack]
        open_calls = {id(call) for call in running}
        raise ForwardFailed(exc, [c for c in calls if id(c) not in open_calls], running,
                            batch) from exc
    finally:
        for handle in handles:
            handle.remove()
    shapes = ([_shape(o) for o in output] if isinstance(output, tuple) else [_shape(output)])
    return Measurement(device, torch.__version__, batch, _shape(output),
                       _numel(model.parameters()), _numel(model.buffers()),
                       counter.get_total_flops(), calls, shapes)


# -- where to run ----------------------------------------------------------------------------

def fixed_and_unused(model: nn.Module, ran: Callable[[str, nn.Module], bool]) -> list[tuple]:
    """(name, module, params) of each leaf module with parameters, all of them fixed
    (`requires_grad` off), that forward didn't run (`ran(name, module)` false): weights a model
    keeps for a later step (YOLOv8's DFL, which decodes its outputs). A spec describes what
    runs, so `import` leaves them out and `--against` doesn't count them, both saying so."""
    out = []
    for name, module in model.named_modules():
        params = list(module.parameters())
        if (params and next(module.children(), None) is None and not ran(name, module)
                and not any(p.requires_grad for p in params)):
            out.append((name, module, sum(p.numel() for p in params)))
    return out


def resolve_device(device: str) -> str:
    """`--device` (commands/validate.py's Device): `auto` is CUDA when available, else CPU;
    ValueError for CUDA without one."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda, but PyTorch sees no CUDA device (use --device cpu, "
                         "or --device meta to check structure only)")
    return device


def needed_bytes(params: int, buffers: int, activations: list[int], batch: int,
                 element_bytes: int = 4) -> int:
    """A generous estimate of the memory a forward pass needs: weights, the input and the
    largest few activations alive at once (concat/residual keep some alive), with a margin for
    workspaces and the allocator."""
    largest = sum(sorted(activations, reverse=True)[:4])
    return int(1.5 * element_bytes * (params + buffers + batch * largest)) + 64 * 2**20


def available_bytes(device: str) -> int | None:
    """Free memory on `device` (CPU: MemAvailable of /proc/meminfo), None when unknown."""
    if device == "cuda":
        free, _ = torch.cuda.mem_get_info()
        return free
    if device == "cpu":
        try:
            with open("/proc/meminfo") as info:
                for line in info:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
    return None


def check_memory(device: str, needed: int) -> None:
    """Refuse, with the figures, a run the device doesn't have the memory for."""
    from cnncalc.units import human_bytes

    free, which = available_bytes(device), ""
    if device == "cpu":
        from cnncalc.limits import process_memory_limit

        limit = process_memory_limit()
        if limit is not None and (free is None or limit[0] < free):
            free, which = limit[0], f" under {limit[1]}"
    if free is not None and needed > free:
        raise SpecError(f"running this network on {device} needs about {human_bytes(needed)}, "
                        f"but only {human_bytes(max(free, 0))} is available{which}",
                        hints=["use a smaller --batch", "or --device meta: it checks shapes, "
                               "params and FLOPs of any size without memory"])
