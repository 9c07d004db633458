"""What a PyTorch model runs, in order: its leaf modules and the functions its `forward` calls.

    traced = trace(model, torch.empty(1, 3, 224, 224, device="meta"))
    for op in traced.ops:
        print(op.index, op.name, op.path, op.output_shapes, op.where, op.inputs)

Each `Op` is one call: a leaf module (no child modules: `Conv2d`, or a team's own module without
children; the model itself only when it is one of `torch.nn`'s, as `nn.Linear(4, 2)`), or a
function or tensor method called in a `forward` outside every leaf module (`torch.flatten`,
`torch.nn.functional.relu`, `Tensor.add` for `+`, `torch.cat`, `Tensor.chunk`,
`torch.nn.functional.interpolate`, `Tensor.__getitem__` for a slice …). It carries the shapes of
its tensor inputs and outputs, the ops its inputs came from (`Ref`: the data flow), where it was
called in the model's source, and for a module its constructor-relevant attributes (the public
plain values of the module: `kernel_size`, `stride`, `inplace` …, and `bias` as a flag).

How: the model runs once, with a forward pre-hook and a hook on every module (the module path,
the stack of enclosing modules, the leaf calls) and a `TorchFunctionMode` that sees every torch
function and tensor method called (the functional calls; those inside a leaf module belong to
it and are not recorded). Not `torch.fx`: symbolic tracing can't follow `forward` code that
branches on a tensor's value or shape (`if y.shape[1] == x.shape[1]`, as MobileNet-style blocks
and many teams' models do), while a real run sees whatever the code does on this input, with the
real shapes. On the meta device it needs no memory. Only what runs is seen: a branch not taken on
this input isn't in the trace.

Calls that return no tensor (`x.size(0)`, `x.shape`, `x.dim()`) are left out: they compute sizes,
not data. Where a whole shape is read (`x.shape`, `x.size()`) it is noted in `Trace.sizes`, so
that a size given to a later call (`F.interpolate(y, size=x.shape[-2:])`) can be traced back to
the tensor it was read from. A tensor the model didn't compute (a parameter used in `forward`,
a constant) is no `Ref` in `inputs`: its shape still shows in `input_shapes` only through the
ops that made it.
"""

from __future__ import annotations

import os
import sys
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Literal

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

Shape = tuple[int, ...]
Category = Literal["input", "module", "function", "method"]


@dataclass(frozen=True, slots=True)
class Ref:
    """A tensor by where it was made: output `output` of op `op` (in `Trace.ops`)."""

    op: int
    output: int = 0


@dataclass(frozen=True, slots=True)
class Source:
    """Where in the model's Python source a call was made."""

    file: str
    line: int
    function: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class Op:
    """One call the model made, in execution order."""

    index: int                          # its position in `Trace.ops`
    category: Category                  # "input": the model's argument `path` (no call)
    name: str                           # module: its class, "Conv2d"; function: "torch.flatten",
                                        # "torch.nn.functional.relu"; method: "Tensor.add" (`+`)
    path: str                           # module: its qualified name ("layer1.0.conv1"); otherwise
                                        # the module whose forward called it ("" for the model)
    scope: tuple[str, ...]              # paths of the modules it runs in, outermost first
    inputs: tuple[Ref, ...]             # the tensors it was given that the model computed
    input_shapes: tuple[Shape, ...]     # of every tensor argument, in order (batch included)
    output_shapes: tuple[Shape, ...]    # of every tensor it returned, in order
    source: Source | None = None        # where it was called; None when not in user code
    attributes: dict[str, Any] = field(default_factory=dict)   # a module's constructor values
    args: tuple = ()                    # a function's arguments, tensors replaced by `Ref`
    kwargs: dict[str, Any] = field(default_factory=dict)       # (or None: not the model's)
    module: nn.Module | None = field(default=None, repr=False, compare=False)
    # a function's: elements of the nn.Parameters given to it directly (`self.gamma * x`)
    parameters: int = 0

    @property
    def where(self) -> str:
        """For people: the module path, or the source line, or both."""
        parts = [f"`{self.path}`" if self.category == "module" else "", str(self.source or "")]
        return " at ".join(p for p in parts if p) or "(the model)"

    @property
    def output_shape(self) -> Shape | None:
        """The shape of its one tensor output; None when it returned several or none."""
        return self.output_shapes[0] if len(self.output_shapes) == 1 else None


@dataclass(frozen=True, slots=True)
class Trace:
    """What the model ran on one input."""

    ops: list[Op]
    outputs: tuple[Ref | None, ...]     # the model's tensor outputs (None: not computed by it)
    # each whole shape read outside leaf modules: (ops recorded before it, the tensor, its shape)
    sizes: tuple[tuple[int, Ref, Shape], ...] = ()

    def calls(self) -> list[Op]:
        """Every op but the inputs."""
        return [op for op in self.ops if op.category != "input"]

    def consumers(self) -> dict[int, list[int]]:
        """For each op, the ops that take one of its outputs (the flow, forward), in order."""
        out: dict[int, list[int]] = {op.index: [] for op in self.ops}
        for op in self.ops:
            for ref in dict.fromkeys(r.op for r in op.inputs):
                out[ref].append(op.index)
        return out


class TraceFailed(Exception):
    """The model raised in its forward pass: `error` is what it raised, `trace` what ran before
    (its `outputs` empty), `running` the paths of the modules still open, outermost first."""

    def __init__(self, error: Exception, trace: Trace, running: list[str]):
        super().__init__(f"{type(error).__name__}: {error}")
        self.error, self.trace, self.running = error, trace, running


def trace(model: nn.Module, *inputs) -> Trace:
    """Run `model(*inputs)` once (no gradients) and return what it ran; TraceFailed if it
    raises."""
    with Tracing(model, *inputs) as tracing, torch.no_grad():
        try:
            output = model(*inputs)
        except Exception as exc:
            raise TraceFailed(exc, tracing.result(()), list(tracing.stack)) from exc
    return tracing.result(output)


_TORCH = os.path.dirname(torch.__file__) + os.sep
# the frames between a call and the model's code that are no one's source: PyTorch's, this
# module's and the measuring run's (measure.py: `Tracing` may wrap `measure`)
_NOT_SOURCE = (_TORCH, __file__, os.path.join(os.path.dirname(__file__), "measure.py"))


_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


class Tracing:
    """Records what the model runs while active: `with Tracing(model, x) as t: y = model(x)`,
    then `t.result(y)`. Any code may run the model inside (e.g. `measure`, to trace and measure
    in one pass); `inputs` are the tensors given to it."""

    def __init__(self, model: nn.Module, *inputs):
        self.model = model
        self.names = {module: name for name, module in model.named_modules()}
        self.ops: list[Op] = []
        self.sizes: list[tuple[int, Ref, Shape]] = []
        self.made: dict[int, tuple[weakref.ref, Ref]] = {}   # id(tensor) -> (the tensor, Ref)
        self.stack: list[str] = []          # paths of the modules running, outermost first
        self.leaf: dict | None = None       # the leaf module running: what its op needs
        self.handles: list = []
        self.outside: set = set()
        self.mode = _Functions(self)
        for i, x in enumerate(_tensors(inputs)):
            self._add("input", f"input {i}" if len(inputs) > 1 else "input", "", (), [], x, None)

    def __enter__(self) -> Tracing:
        for module in self.names:
            self.handles.append(module.register_forward_pre_hook(self._before, with_kwargs=True))
            self.handles.append(module.register_forward_hook(self._after, with_kwargs=True))
        # the frames running now are the caller's, not the model's: no source is found there
        frame: FrameType | None = sys._getframe(1)
        self.outside = set()
        while frame is not None:
            self.outside.add(frame)
            frame = frame.f_back
        self.mode.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        self.mode.__exit__(*exc_info)
        for handle in self.handles:
            handle.remove()
        self.handles.clear()
        self.outside.clear()

    def result(self, output) -> Trace:
        """What ran, with `output` (what the model returned) as the trace's outputs; after a
        failed run, `result(())` is what ran before it and `stack` the modules still open."""
        return Trace(list(self.ops), tuple(self._ref(t) for t in _tensors(output)),
                     tuple(self.sizes))

    # -- modules

    def _before(self, module: nn.Module, args, kwargs) -> None:
        path = self.names.get(module, "?")
        if (self.leaf is None and next(module.children(), None) is None
                and not isinstance(module, _CONTAINERS)     # empty: they run nothing
                # wiring whose functions are the model's operations (build.py's `Joined`)
                and not getattr(module, "traced_through", False)
                and (module is not self.model or type(module).__module__.startswith("torch.nn."))):
            self.leaf = {"module": module, "args": (args, kwargs), "scope": tuple(self.stack),
                         "source": self._source()}
        self.stack.append(path)

    def _after(self, module: nn.Module, args, kwargs, output) -> None:
        if not self.stack:
            return
        path = self.stack.pop()
        leaf = self.leaf
        if leaf is None or leaf["module"] is not module:
            return
        self.leaf = None
        given = list(_tensors(leaf["args"]))
        self._add("module", type(module).__name__, path, leaf["scope"], given,
                  output, leaf["source"], _attributes(module), module=module)

    # -- functions

    def function(self, func, args: tuple, kwargs: dict, output) -> None:
        if self.leaf is not None:
            return
        if isinstance(output, torch.Size) and args and isinstance(args[0], torch.Tensor):
            ref = self._ref(args[0])
            if ref is not None:
                self.sizes.append((len(self.ops), ref, tuple(output)))
            return
        if not any(True for _ in _tensors(output)):
            return
        name, category = _function_name(func)
        given = list(_tensors((args, kwargs)))
        self._add(category, name, self.stack[-1] if self.stack else "", tuple(self.stack), given,
                  output, self._source(), args=self._replace(args), kwargs=self._replace(kwargs),
                  parameters=sum(t.numel() for t in given if isinstance(t, nn.Parameter)))

    def _source(self) -> Source | None:
        """The innermost frame of the model's own code making this call: past PyTorch's frames
        and this module's; None when the call comes from outside the model (`nn.Sequential`'s
        own children at the top)."""
        frame: FrameType | None = sys._getframe(2)
        while frame is not None and frame not in self.outside:
            file = frame.f_code.co_filename
            if not file.startswith(_NOT_SOURCE):
                return Source(file, frame.f_lineno, frame.f_code.co_name)
            frame = frame.f_back
        return None

    # -- the record

    def _add(self, category: Category, name: str, path: str, scope: tuple, given: list,
             output, source, attributes=None, args=(), kwargs=None, module=None,
             parameters: int = 0) -> None:
        index = len(self.ops)
        refs = tuple(r for r in (self._ref(t) for t in given) if r is not None)
        outputs = list(_tensors(output))
        self.ops.append(Op(index, category, name, path, scope, refs,
                           tuple(tuple(t.shape) for t in given),
                           tuple(tuple(t.shape) for t in outputs), source, attributes or {},
                           args, kwargs or {}, module, parameters))
        for k, t in enumerate(outputs):     # in place (`relu_`, `+=`): the latest maker wins
            self.made[id(t)] = (weakref.ref(t), Ref(index, k))

    def _ref(self, tensor: torch.Tensor) -> Ref | None:
        made = self.made.get(id(tensor))
        return made[1] if made is not None and made[0]() is tensor else None

    def _replace(self, value):
        """Arguments as values, with each tensor as the `Ref` of the op that made it."""
        if isinstance(value, torch.Tensor):
            return self._ref(value)
        if isinstance(value, (list, tuple)):
            return type(value)(self._replace(v) for v in value) if type(value) in (list, tuple) \
                else tuple(self._replace(v) for v in value)
        if isinstance(value, dict):
            return {k: self._replace(v) for k, v in value.items()}
        return value


class _Functions(TorchFunctionMode):
    """Hands every torch function and tensor method called, with its result, to `Tracing`.
    While the handler runs the mode is off, so `F.relu`'s own call of `torch.relu` isn't seen."""

    def __init__(self, tracing: Tracing):
        super().__init__()
        self.tracing = tracing

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        output = func(*args, **kwargs)
        self.tracing.function(func, args, kwargs, output)
        return output


def _tensors(value) -> Iterator[torch.Tensor]:
    """The tensors in `value` (nested tuples, lists and dicts), in order."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _tensors(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors(v)


def _function_name(func) -> tuple[str, Category]:
    """`torch.flatten`, `torch.nn.functional.relu` (a function) or `Tensor.chunk` (a method)."""
    name = getattr(func, "__name__", None) or repr(func)
    owner = getattr(func, "__objclass__", None)
    qualname = getattr(func, "__qualname__", "") or ""
    if owner is not None or "Tensor" in qualname.split(".")[0]:
        if name == "__get__":           # a property, e.g. `x.T`: its own name
            name = qualname.split(".")[-2] if "." in qualname else name
        return f"Tensor.{name}", "method"
    module = getattr(func, "__module__", None) or "torch"
    if module.startswith("torch._C"):
        module = "torch"
    return f"{module}.{name}", "function"


def _attributes(module: nn.Module) -> dict[str, Any]:
    """The module's public plain values (what its constructor set: `kernel_size`, `stride`,
    `inplace` …), and whether it has a bias."""
    plain = (int, float, bool, str, type(None))
    out = {k: v for k, v in vars(module).items()
           if not k.startswith("_") and k != "training"
           and (isinstance(v, plain) or (isinstance(v, tuple)
                                         and all(isinstance(x, plain) for x in v)))}
    if "bias" in module._parameters or hasattr(module, "bias"):
        out["bias"] = getattr(module, "bias", None) is not None
    return out


