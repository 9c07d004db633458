"""What every layer kind is made of: its arguments model, the helpers its rules share, and the
base class that gives a new kind its defaults (no params, no buffers, no MACs, position-wise).

A leaf kind is one class, registered with `@leaf_kind`, that owns everything about it:

- `args`: the pydantic model of its arguments (the first field is what `kind: value` fills);
- its static rules, pure functions of the arguments and the input shape of ONE sample, channels
  first (`(C, *spatial)`, or `(N,)` after flatten), written once for numbers and symbols against
  the rule context `fit` (cnncalc.dims.Fit):
  `shape(args, shape, fit)` (raises SpecError when the layer can't apply), `params(args, shape)`
  (as `sum(p.numel())` over the PyTorch module), `buffers(args, shape)`, `macs(args, shape, out)`
  (multiply-accumulates of conv/conv_transpose/linear, bias excluded; FLOPs are 2 × MACs, as
  `FlopCounterMode` counts them) and `window(args, shape)` (IDENTITY for a position-wise layer,
  a `Window`, or None where the receptive field isn't defined);
- `explain(row, context)`: the working with the spec's numbers (cnncalc.working);
- `build(nn, args, shape)`: the PyTorch module the cross-check runs, with `torch.nn` handed in so
  that nothing here imports torch; it states PyTorch's own arguments and never calls the static
  rules, so a wrong rule shows up as a disagreement;
- `torch` and `summary`: its line in `cnncalc kinds`, the docs and the schema;
- `read(nn, module, shape)` and `read_call(op, args, kwargs, shape)`: the inverse of `build`
  for `cnncalc import`: this kind's arguments when a PyTorch module (or a functional call in a
  `forward`, `op` named as `torch.nn.functional.relu` or `Tensor.relu`) is one of this kind's,
  else None; `NoCounterpart` for a setting the language can't say (a conv's
  `padding_mode="reflect"`); `read_call` is asked only for an `op` among its `operations()`
  (the names are declared once, there); `read_run(calls)`: a run of calls that are together
  one layer (ShuffleNet's view/transpose/view). `write(args)` gives the arguments as a spec
  writes them;
- `operations()`: what `validate --against` takes for it in a model's trace
  (cnncalc/crosscheck/trace.py): the module classes `torch` names, the functions named like the
  kind, and `also`; `passes_through`: the identity in eval mode (dropout), so it may be on one
  side only; `prepared_by`: what a model runs just before it as part of it (a conv's zero pad);
- `example`: a worked case (the format of tests/cases/*.yaml) that the test suite runs;
- its training rules (cnncalc/train.py; proven by tests/test_train_vs_torch.py):
  `saved(args, shape, out, training)`, the tensors autograd keeps for the backward (`INPUT`,
  `OUTPUT`, or a `Saved` tensor of its own); `output_is_input(args)`, whether the output is
  the input itself or a view of it (the same storage); `backward_macs(args, shape, out,
  input_grad)`, the backward's multiply-accumulates (the forward's for the weight gradient,
  and again for the input gradient where the input needs one); `param_tensors(args, shape)`,
  the elements of each parameter tensor (optimizer state per tensor); `backward_temporary(args,
  shape, out, input_grad, training)`, what its backward holds besides its gradients (layer
  scale's γ gradient at the output's size before it is summed); `backward_late_temporary(args,
  shape, out, training)`, what it holds once the gradient arriving is released (LRN's);
  `forward_temporary(args, shape, out, training)`, what its forward makes and frees where
  nothing records it (max-pool's indices); `int64_buffers(args,
  shape)`, how many of its buffers are int64 counters (8 bytes each, whatever the dtype). A
  kind that declares no `saved` rule is refused by the training figures with its name, never
  guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from cnncalc.dims import AXES, Fit
from cnncalc.errors import SpecError
from cnncalc.field import IDENTITY, Window

if TYPE_CHECKING:
    from cnncalc.analyze import Row
    from cnncalc.working import Context, Step

MAX_INT = 2**31 - 1  # PyTorch stores sizes and arguments as 32/64-bit ints; bounds the work too

PosInt = Annotated[int, Field(ge=1, le=MAX_INT)]
NonNegInt = Annotated[int, Field(ge=0, le=MAX_INT)]
SpatialPos = PosInt | Annotated[list[PosInt], Field(min_length=1, max_length=3)]
SpatialNonNeg = NonNegInt | Annotated[list[NonNegInt], Field(min_length=1, max_length=3)]
PositiveFloat = Annotated[float, Field(gt=0, le=1e6)]
# PyTorch takes any eps; one of 1 or more is a slip (`batchnorm: 64` meant as channels): refused
Epsilon = Annotated[float, Field(gt=0, lt=1)]
Probability = Annotated[float, Field(ge=0, le=1)]


class Args(BaseModel):
    """Arguments of a leaf kind. The first field is what a scalar shorthand fills."""

    # No NaN or infinity: they would make the JSON report invalid (and mean nothing here).
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True,
                              allow_inf_nan=False)


class NoArgs(Args):
    pass


SPATIAL = (2, 3, 4)   # sample ranks with 1, 2 or 3 spatial axes
SPATIAL_INPUT = "a [C, L], [C, H, W] or [C, D, H, W] input"


def spatial(shape) -> tuple:
    return tuple(shape[1:])


def per_axis(value, ndim: int, name: str) -> tuple:
    """An int or a per-axis list, as one value per spatial axis."""
    if isinstance(value, list):
        if len(value) != ndim:
            raise SpecError(f"`{name}` has {len(value)} values but the input has {ndim} spatial "
                            f"dimension{'s' if ndim != 1 else ''} ({', '.join(AXES[ndim])})",
                            hints=["write one value per spatial axis, or a single number"])
        return tuple(value)
    return (value,) * ndim


def need_rank(shape, ranks: tuple, kind: str, what: str) -> None:
    if len(shape) not in ranks:
        # not the shape itself: the analysis adds it as the spec writes it (its layout)
        hints = ([f"the input was flattened earlier; put `{kind}` before `flatten`"]
                 if len(shape) == 1 else [])
        raise SpecError(f"`{kind}` needs {what}, not a {len(shape)}-dimensional one", hints=hints)


def divisors(n: int) -> list[int]:
    small = [d for d in range(1, int(n**0.5) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def groups_divide(fit: Fit, channels: Any, groups: int, kind: str, what: str = "channels") -> None:
    """`groups` divides the channels (conv's input, groupnorm's and channel_shuffle's)."""
    fit.divisible(channels, groups, f"`{kind}`'s {groups} groups divide the {what}",
                  lambda: SpecError(
                      f"`{kind}` has {groups} groups but {channels} {what}: channels must divide "
                      "evenly into groups",
                      hints=[f"groups that fit: {', '.join(map(str, divisors(channels)[:8]))}"]))


def module(nn: Any, family: str, n: int) -> Any:
    """`nn.Conv2d` for ("Conv", 2), etc."""
    if n not in (1, 2, 3):
        raise ValueError(f"{family} needs 1, 2 or 3 spatial axes, not {n}")
    return getattr(nn, f"{family}{n}d")


def as_torch(value: Any) -> Any:
    """A spec's int-or-list argument as PyTorch takes it."""
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True, slots=True)
class Saved:
    """A tensor a layer keeps for its backward: its input, its output, or one of its own
    ("own"), of `elements` for the whole batch and `dtype` (None: the network's; "int64",
    "bool")."""

    what: str
    elements: Any = 0
    dtype: str | None = None
    label: str = ""          # what it is, for `explain --train`


INPUT = Saved("input", label="its input")
OUTPUT = Saved("output", label="its output")
# its input with the channels moved last (`linear` in hwc: nn.Linear on `x.movedim(1, -1)`,
# whose matmul needs it in order): the input's own storage where it is already laid out
# channels last, else a copy
INPUT_CHANNELS_LAST = Saved("input_last", label="its input, channels last")
# its input in order: the input's own storage where it is contiguous, else a contiguous copy
# (a channel slice of a batch, or a channels-last tensor, isn't: group and instance norm and
# the matmul behind `linear` on a [C, …] sample make one)
INPUT_CONTIGUOUS = Saved("input_dense", label="its input, contiguous")


def own(elements: Any, label: str, dtype: str | None = None) -> Saved:
    return Saved("own", elements, dtype, label)


@dataclass(frozen=True, slots=True)
class Training:
    """What the training rules need besides the shapes: the batch and the device (a few
    rules differ between PyTorch's CPU and CUDA kernels)."""

    batch: int = 1
    device: str = "cuda"


class NoCounterpart(Exception):
    """A module or call a kind recognises, with a setting the spec language can't express."""


def one_or_list(value: Any) -> Any:
    """A PyTorch per-axis tuple as a spec writes it: one number when every axis has the same."""
    if isinstance(value, (tuple, list)):
        return value[0] if len(set(value)) == 1 else list(value)
    return value


def exact_type(nn: Any, module: Any, family: str) -> bool:
    """`module` is `nn.{family}1d/2d/3d` itself, not a subclass (whose `forward` may differ)."""
    return any(type(module) is getattr(nn, f"{family}{n}d", None) for n in (1, 2, 3))


def op_name(op: str) -> str:
    """`torch.nn.functional.relu_` and `Tensor.relu` -> `relu`."""
    return op.rsplit(".", 1)[-1].strip("_")


def call_arguments(args: tuple, kwargs: dict, names: tuple) -> dict:
    """A call's arguments after the tensor, by name (`names` in PyTorch's order)."""
    given = dict(zip(names, args))
    given.update(kwargs)
    return given


def torch_names(names: Iterable[str]) -> frozenset[str]:
    """Names as the tracer gives them (cnncalc/crosscheck/trace.py), from short forms: a module
    class as itself (`MaxPool2d`); a function `f` as `torch.nn.functional.f`, `torch.f` and the
    method `Tensor.f`, each also in place (`f_`); `{n}` stands for 1, 2 and 3."""
    out: set[str] = set()
    for name in names:
        for one in ([name.replace("{n}", str(n)) for n in (1, 2, 3)] if "{n}" in name
                    else [name]):
            if one[:1].isupper() or "." in one:
                out.add(one)
            else:
                out.update(f"{prefix}{one}{suffix}" for prefix in
                           ("torch.nn.functional.", "torch.", "Tensor.") for suffix in ("", "_"))
    return frozenset(out)


def torch_modules(torch: str) -> list[str]:
    """The module classes a kind's `torch` line names: `Conv1d/2d/3d` -> Conv1d, Conv2d,
    Conv3d; `Softmax(dim=1)` -> Softmax; none for a formula (`x * gamma…`)."""
    match = re.match(r"([A-Z][A-Za-z0-9]*?)(\dd(?:/\dd)*)?(?![A-Za-z0-9])", torch)
    if match is None:
        return []
    base, dims = match.group(1), match.group(2)
    return [base + dim for dim in dims.split("/")] if dims else [base]


class LeafKind:
    """The defaults of a leaf kind: shape unchanged, no params, buffers or MACs, position-wise
    (output i sees input i). A kind overrides what differs."""

    name: ClassVar[str]
    args: ClassVar[type[Args]] = NoArgs
    torch: ClassVar[str]                  # the PyTorch module the cross-check builds
    summary: ClassVar[str]                # one line for `cnncalc kinds`, the docs and the schema
    example: ClassVar[str]                # a worked case, as in tests/cases/*.yaml
    position_wise: ClassVar[bool] = True
    # Sizes come from the input: `batchnorm: 64` (as BatchNorm2d(64)) is a slip, and says so
    sized_by_input: ClassVar[bool] = False
    spatial: ClassVar[bool] = False       # slides a window over, pads or resizes the spatial axes
    leaf: ClassVar[bool] = True
    # More of what a model may run for it than `torch` and its name say (`torch_names` forms)
    also: ClassVar[tuple[str, ...]] = ()
    passes_through: ClassVar[bool] = False   # the identity in eval mode
    # only reshapes (flatten): where it only drops sizes of 1, code that reduced without them
    # (`x.mean([2, 3])`) runs nothing for it, so `--against` lets it go unpaired
    reshapes: ClassVar[bool] = False
    # Operations just before it in a model that belong to it (`torch_names` forms)
    prepared_by: ClassVar[tuple[str, ...]] = ()

    def operations(self) -> frozenset[str]:
        """What `validate --against` pairs with this kind in a model's trace: the modules of
        `torch`, the functions named like the kind (`relu`: F.relu, torch.relu, x.relu_ …),
        and `also`."""
        return torch_names([*torch_modules(self.torch), self.name, *self.also])

    def shape(self, args: Any, shape: tuple, fit: Fit) -> tuple:
        return tuple(shape)

    def params(self, args: Any, shape: tuple) -> Any:
        return 0

    def buffers(self, args: Any, shape: tuple) -> Any:
        return 0

    def macs(self, args: Any, shape: tuple, out: tuple) -> Any:
        return 0

    def window(self, args: Any, shape: tuple) -> Window | str | None:
        return IDENTITY if self.position_wise else None

    # Arguments that name an earlier entry (upsample's `like`): the expander resolves them into
    # `node.refs`, in this order, and the analysis hands their shapes to the rules as `fit.refs`.
    references: ClassVar[tuple[str, ...]] = ()

    def reads(self, node: Any) -> list:
        """The values this node's output is computed from: its input and its references."""
        return [(node.path, "in"), *node.refs]

    def explain(self, row: Row, context: Context) -> list[Step]:
        raise NotImplementedError(f"{self.name}: no explanation")

    def build(self, nn: Any, args: Any, shape: tuple) -> Any:
        raise NotImplementedError(f"{self.name}: no PyTorch builder")

    # -- training (cnncalc/train.py) --
    def saved(self, args: Any, shape: tuple, out: tuple, training: Training) -> list[Saved] | None:
        """What autograd keeps for this layer's backward when its input needs a gradient or it
        has parameters (otherwise nothing is recorded). None: not declared."""
        return None

    def output_is_input(self, args: Any) -> bool:
        """The output is the input or a view of it: no new storage."""
        return False

    # a view only of an input whose storage is in order (flatten: a copy of a channels-last one)
    view_needs_order: ClassVar[bool] = False
    # where the output is a view of the input: the backward gives a view of the gradient
    # (a slice's makes a new one of the input's size)
    gradient_view: ClassVar[bool] = True

    def output_channels_last(self, args: Any, shape: tuple, input_last: bool) -> bool:
        """The output is laid out channels last (its input was, `input_last`, and the kind
        keeps the strides, as element-wise functions do; or the kind moves the channels last
        and back). What `linear` in hwc keeps depends on it."""
        return False

    def backward_macs(self, args: Any, shape: tuple, out: tuple, input_grad: bool) -> Any:
        """The weight gradient costs the forward's MACs, the input gradient (only where the
        input needs one) the same again: conv, conv_transpose and linear; 0 for the rest."""
        macs = self.macs(args, shape, out)
        return 2 * macs if input_grad else macs

    # its backward makes the gradient arriving contiguous first: a copy where it isn't (the
    # loss's broadcast 1, a concatenation's channel range of a batch)
    dense_gradient: ClassVar[bool] = False

    def gradient_copies(self, args: Any, shape: tuple, input_last: bool) -> int:
        """The elements of the parameter gradients its backward lays out otherwise than the
        parameters (`input_last`: its input lies channels last): autograd copies each into the
        parameter's layout as it stores it, both alive for a moment."""
        return 0

    def param_tensors(self, args: Any, shape: tuple) -> list | None:
        """The elements of each parameter tensor; None: not declared for a kind with params."""
        return [] if self.params(args, shape) == 0 else None

    def backward_temporary(self, args: Any, shape: tuple, out: tuple, input_grad: bool,
                           training: Training) -> Any:
        """Elements (the batch) its backward holds at its largest beside the gradient arriving,
        the one it passes down (where needed) and its parameters' gradients: a parameter's
        gradient made at the output's size before autograd sums it to the parameter's."""
        return 0

    def backward_late_temporary(self, args: Any, shape: tuple, out: tuple,
                                training: Training) -> Any:
        """Elements (the batch) its backward holds at its largest once the gradient arriving
        has been released, beside what it keeps and the gradient it passes down: a kind whose
        backward runs several operations' (LRN's) may hold the most after its first."""
        return 0

    def forward_temporary(self, args: Any, shape: tuple, out: tuple,
                          training: Training) -> list[Saved]:
        """What its forward makes beside its output and frees at once where autograd records
        nothing (no parameters, no input needing a gradient). By default the tensors of its
        own that it keeps where it records (max-pool's indices, dropout's mask, a norm's
        statistics): PyTorch's kernels make them either way."""
        saved = self.saved(args, shape, out, training) or []
        return [item for item in saved if item.what == "own"]

    def int64_buffers(self, args: Any, shape: tuple) -> Any:
        """How many of its `buffers` are int64 counters, 8 bytes whatever the network's dtype
        (`module.half()` converts only floating-point buffers)."""
        return 0

    def read(self, nn: Any, module: Any, shape: tuple) -> Args | None:
        """This kind's arguments when `module` is one of this kind's (the inverse of `build`;
        `shape` is its input, one sample), else None."""
        return None

    def read_call(self, op: str, args: tuple, kwargs: dict, shape: tuple) -> Args | None:
        """This kind's arguments when the functional call `op(x, *args, **kwargs)` is one;
        asked only for an `op` among its `operations()` (the names are declared there once)."""
        return None

    def sized_by(self, args: Args) -> str | None:
        """The reference argument that could say what `args` fix at one input size (a
        `size` read from another tensor is upsample's `like`), else None."""
        return None

    def refer(self, args: Args, names: dict[str, str]) -> Args:
        """`args` with these reference arguments (argument -> the name it reads) in place of
        what they fix at one input size."""
        return args.model_copy(update=names)

    def read_last(self, nn: Any, module: Any, shape: tuple) -> Args | None:
        """This kind's arguments when `module` runs on the channels moved last (after a
        `permute`, as ConvNeXt's blocks run LayerNorm and Linear; `shape` is channels first),
        else None: by default what is the identity in eval mode reads as ever (an activation
        says so too), the rest not."""
        return self.read(nn, module, shape) if self.passes_through else None

    def read_run(self, calls: list[tuple]) -> tuple[int, Args] | None:
        """How many of `calls`, a run of functional calls each on the one before's output
        (`(op, args, kwargs, input shape, output shape)`, one sample), are together one layer
        of this kind, and its arguments; None if they aren't (ShuffleNet's channel shuffle is
        a view, a transpose and a view)."""
        return None

    def write(self, args: Args) -> Any:
        """The arguments as a spec writes them, defaults left out: None for none (`- relu`),
        the first argument alone as the shorthand (`linear: 10`), else a mapping."""
        return self.shorthand(args.model_dump(exclude_defaults=True))

    def shorthand(self, written: dict) -> Any:
        """Written arguments in their shortest form: None for none, the first argument alone as
        a scalar (not for a kind sized by its input: `batchnorm: 0.001` would read as channels)."""
        if not written:
            return None
        if (list(written) == [self.first_argument()] and not self.sized_by_input
                and not isinstance(written[self.first_argument()], dict)):
            return next(iter(written.values()))
        return written

    def note(self, row: Row, previous: LeafKind | None, layout: str) -> str | None:
        """A note for a use that is legal but usually a mistake, after the leaf `previous`."""
        return None

    def in_layout(self, layout: str) -> LeafKind:
        """The kind as a spec in `layout` means it (the same, except `linear` in `hwc`)."""
        return self

    def first_argument(self) -> str | None:
        """The argument a scalar shorthand (`linear: 4096`) fills."""
        return next(iter(self.args.model_fields), None)

    def __repr__(self) -> str:
        return f"<kind {self.name}>"


KINDS: dict[str, LeafKind] = {}
K = TypeVar("K", bound=type[LeafKind])


def leaf_kind(cls: K) -> K:
    """Register a leaf kind class (its one instance serves every node of that kind)."""
    if cls.name in KINDS:
        raise RuntimeError(f"kind {cls.name!r} registered twice")
    KINDS[cls.name] = cls()
    return cls

