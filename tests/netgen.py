"""Hypothesis strategies for random networks in the spec language, for differential tests.

    networks(...)            -> spec dicts {"input", "rounding", "layers"[, "blocks", "outputs"]}
                                (`references=True`: a DAG, entries reading earlier ones by id)
    leaf_entry(kind, shape)  -> one layer entry of `kind` for a channels-first sample shape
    split_entry(shape)       -> a `split` entry for `shape`, and its output shape
    to_yaml(spec)            -> YAML text;  load_dict(spec) -> pipeline.Loaded
    symbolic_input(spec)     -> (spec with names for its spatial sizes, {name: size})

The generator tracks shapes with the plain floor rule so that most networks it draws are valid;
it is not an oracle (PyTorch is): a drawn network may still be rejected, and tests treat "both
reject" as agreement. Sizes stay small so that running the networks in PyTorch is cheap.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

from cnncalc.kinds import KINDS

ACTIVATIONS = ("relu", "relu6", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid",
               "mish", "elu", "leaky_relu", "prelu", "softmax", "log_softmax", "identity", "dropout")
MAX_SIZE = {1: 48, 2: 20, 3: 10}     # per spatial axis, by number of spatial axes
MAX_CHANNELS = 8


def _spatial(shape):
    return shape[1:]


def _per_axis(draw, n: int, values: st.SearchStrategy):
    """An int, or (sometimes, with more than one axis) one value per axis."""
    if n > 1 and draw(st.booleans()):
        return draw(st.lists(values, min_size=n, max_size=n))
    return draw(values)


def _axes(value, n: int) -> list:
    return list(value) if isinstance(value, list) else [value] * n


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _entry(kind: str, args: dict, shorthand: str | None = None):
    """`kind` bare, as a scalar shorthand, or with a mapping of arguments."""
    if not args:
        return kind
    if shorthand is not None and list(args) == [shorthand]:
        return {kind: args[shorthand]}
    return {kind: args}


# -- leaves ---------------------------------------------------------------------------------------

def _with_common(draw, args: dict, dilation, groups: int) -> dict:
    """`args` with the arguments conv and conv_transpose share, written only when not default."""
    if dilation != 1:
        args["dilation"] = dilation
    if groups != 1:
        args["groups"] = groups
    if draw(st.booleans()):
        args["bias"] = draw(st.booleans())
    return args


@st.composite
def _conv(draw, shape):
    c, sizes = shape[0], _spatial(shape)
    n = len(sizes)
    groups = draw(st.sampled_from(_divisors(c)))
    out = groups * draw(st.integers(1, max(1, MAX_CHANNELS // groups)))
    args = {"out": out}
    dilation = _per_axis(draw, n, st.integers(1, 2))
    padding = draw(st.one_of(st.sampled_from(["same", "valid"]), st.integers(0, 2)))
    kmax = []
    for w, d in zip(sizes, _axes(dilation, n)):
        room = w if padding in ("same",) else w + 2 * (0 if padding == "valid" else padding)
        kmax.append(max(1, min(5, (room - 1) // d + 1)))
    if n > 1 and draw(st.booleans()):
        args["kernel"] = [draw(st.integers(1, k)) for k in kmax]
    else:
        args["kernel"] = draw(st.integers(1, min(kmax)))
    if draw(st.booleans()):
        args["stride"] = _per_axis(draw, n, st.integers(1, 3))
    if padding != 0 or draw(st.booleans()):
        args["padding"] = padding
    return _entry("conv", _with_common(draw, args, dilation, groups))


@st.composite
def _conv_transpose(draw, shape):
    c = shape[0]
    groups = draw(st.sampled_from(_divisors(c)))
    out = groups * draw(st.integers(1, max(1, MAX_CHANNELS // groups)))
    kernel = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3))
    dilation = draw(st.integers(1, 2))
    args = {"out": out, "kernel": kernel, "stride": stride}
    padding = draw(st.integers(0, dilation * (kernel - 1) // 2))
    if padding:
        args["padding"] = padding
    output_padding = draw(st.integers(0, max(stride, dilation) - 1))
    if output_padding:
        args["output_padding"] = output_padding
    return _entry("conv_transpose", _with_common(draw, args, dilation, groups))


@st.composite
def _pool(draw, shape, kind):
    smallest = min(_spatial(shape))
    dilation = draw(st.integers(1, 2)) if kind == "maxpool" else 1
    # one more than fits: with ceil_mode a window may overhang the input
    kernel = draw(st.integers(1, max(1, min(4, (smallest - 1) // dilation + 2))))
    args = {"kernel": kernel}
    if draw(st.booleans()):
        args["stride"] = draw(st.integers(1, 3))
    padding = draw(st.integers(0, kernel // 2))   # PyTorch: at most half the kernel as written
    if padding:
        args["padding"] = padding
    if dilation != 1:
        args["dilation"] = dilation
    if draw(st.booleans()):
        args["ceil_mode"] = draw(st.booleans())
    if kind == "avgpool" and draw(st.booleans()):
        args["count_include_pad"] = draw(st.booleans())
    return _entry(kind, args, "kernel")


@st.composite
def _adaptive(draw, shape, kind):
    sizes = _spatial(shape)
    if len(sizes) > 1 and draw(st.booleans()):
        output = [draw(st.integers(1, w)) for w in sizes]
    else:
        output = draw(st.integers(1, min(sizes)))
    return _entry(kind, {"output": output}, "output")


@st.composite
def _upsample(draw, shape):
    n = len(shape) - 1
    modes = {1: ["nearest", "linear"], 2: ["nearest", "bilinear", "bicubic"],
             3: ["nearest", "trilinear"]}[n]
    mode = draw(st.sampled_from(modes))
    if draw(st.integers(0, 3)) == 0:       # to a fixed size instead of by a scale
        args = {"size": _per_axis(draw, n, st.integers(1, MAX_SIZE[n]))}
        if mode != "nearest":
            args["mode"] = mode
        return _entry("upsample", args)
    scale = _per_axis(draw, n, st.sampled_from([1, 2, 3, 1.5, 0.5]))
    args = {"scale": scale}
    if mode != "nearest":
        args["mode"] = mode
    return _entry("upsample", args, "scale")


@st.composite
def _simple(draw, shape, kind):
    c = shape[0]
    if kind == "linear":
        args = {"out": draw(st.integers(1, 16))}
        if draw(st.booleans()):
            args["bias"] = draw(st.booleans())
        return _entry(kind, args, "out")
    if kind == "batchnorm":
        args = {}
        if draw(st.booleans()):
            args["affine"] = draw(st.booleans())
        if draw(st.booleans()):
            args["eps"] = draw(st.sampled_from([1e-5, 1e-3]))
        if draw(st.booleans()):
            args["momentum"] = draw(st.sampled_from([0.1, 0.01]))
        return _entry(kind, args)
    if kind in ("groupnorm", "instancenorm", "layernorm"):
        args = {"groups": draw(st.sampled_from(_divisors(c)))} if kind == "groupnorm" else {}
        if draw(st.booleans()):
            args["affine"] = draw(st.booleans())
        if draw(st.booleans()):
            args["eps"] = draw(st.sampled_from([1e-5, 1e-6, 0.1]))
        if kind == "layernorm" and draw(st.booleans()):
            args["over"] = draw(st.sampled_from(["sample", "channels"]))
        return _entry(kind, args, "groups" if kind == "groupnorm" else "affine")
    if kind == "scale":
        return _entry(kind, {"init": draw(st.sampled_from([1.0, 1e-6, 0.5]))}
                      if draw(st.booleans()) else {}, "init")
    if kind == "drop_path":
        return _entry(kind, {"p": draw(st.sampled_from([0.0, 0.1]))}
                      if draw(st.booleans()) else {}, "p")
    if kind == "channel_shuffle":
        return _entry(kind, {"groups": draw(st.sampled_from(_divisors(c)))}, "groups")
    if kind == "slice":       # a valid slice: first ≤ last − 1, written as Python may write it
        first = draw(st.integers(0, c - 1))
        last = draw(st.integers(first + 1, c))
        start = first - c if draw(st.booleans()) else first
        stop = None if last == c and draw(st.booleans()) else (
            last - c if last < c and draw(st.booleans()) else last)
        return _entry(kind, {"channels": [start, stop]}, "channels")
    if kind == "lrn":
        return _entry(kind, {"size": draw(st.integers(1, 5))}, "size")
    if kind == "leaky_relu":
        return _entry(kind, {"slope": 0.2} if draw(st.booleans()) else {})
    if kind == "elu":
        return _entry(kind, {"alpha": 0.5} if draw(st.booleans()) else {})
    if kind == "prelu":
        return _entry(kind, {"channels": draw(st.sampled_from([1, "all"]))}
                      if draw(st.booleans()) else {})
    if kind in ("dropout", "dropout2d"):
        return _entry(kind, {"p": draw(st.sampled_from([0.5, 0.1]))}
                      if draw(st.booleans()) else {}, "p")
    if kind == "zeropad":
        return _entry(kind, {"padding": _per_axis(draw, len(shape) - 1, st.integers(0, 2))},
                      "padding")
    return _entry(kind, {})


SPATIAL_ONLY = {"conv", "conv_transpose", "maxpool", "avgpool", "adaptive_avgpool",
                "adaptive_maxpool", "global_avgpool", "instancenorm", "lrn", "zeropad", "upsample",
                "channel_shuffle"}


def applicable(kind: str, shape) -> bool:
    """Whether the generator knows how to draw `kind` for this channels-first shape."""
    rank = len(shape)
    if kind in SPATIAL_ONLY:
        return rank >= 2
    if kind == "dropout2d":
        return rank == 3
    return True


def leaf_entry(kind: str, shape) -> st.SearchStrategy:
    """One entry of the leaf `kind` for a sample of channels-first `shape`."""
    shape = tuple(shape)
    if kind == "conv":
        return _conv(shape)
    if kind == "conv_transpose":
        return _conv_transpose(shape)
    if kind in ("maxpool", "avgpool"):
        return _pool(shape, kind)
    if kind in ("adaptive_avgpool", "adaptive_maxpool"):
        return _adaptive(shape, kind)
    if kind == "upsample":
        return _upsample(shape)
    if kind not in KINDS:
        raise KeyError(kind)
    return _simple(shape, kind)


# -- shape tracking (the floor rule; only to keep drawn networks mostly valid) --------------------

def _args_of(entry) -> tuple[str, dict]:
    if isinstance(entry, str):
        return entry, {}
    kind, value = next(iter(entry.items()))
    if isinstance(value, dict):
        return kind, value
    first = next(iter(KINDS[kind].args.model_fields))
    return kind, {first: value}


def next_shape(entry, shape):
    """The shape after a leaf entry by the plain floor rule, or None if it clearly can't apply."""
    kind, a = _args_of(entry)
    c, sizes, n = shape[0], list(_spatial(shape)), len(shape) - 1
    if kind == "conv":
        k, s, d = _axes(a["kernel"], n), _axes(a.get("stride", 1), n), _axes(a.get("dilation", 1), n)
        p = a.get("padding", 0)
        out = []
        for w, ki, si, di in zip(sizes, k, s, d):
            keff = di * (ki - 1) + 1
            if p == "same":
                out.append(-(-w // si))
                continue
            pad = 0 if p == "valid" else p
            if w + 2 * pad < keff:
                return None
            out.append((w + 2 * pad - keff) // si + 1)
        return (a["out"], *out)
    if kind == "conv_transpose":
        k, s, d = a["kernel"], a["stride"], a.get("dilation", 1)
        out = [(w - 1) * s - 2 * a.get("padding", 0) + d * (k - 1) + a.get("output_padding", 0) + 1
               for w in sizes]
        return (a["out"], *out) if min(out) >= 1 else None
    if kind in ("maxpool", "avgpool"):
        k, d, p = a["kernel"], a.get("dilation", 1), a.get("padding", 0)
        s = a.get("stride") or k
        keff = d * (k - 1) + 1
        out = []
        for w in sizes:
            span = w + 2 * p - keff
            if span < (-(s - 1) if a.get("ceil_mode") else 0):
                return None
            o = (-(-span // s) if a.get("ceil_mode") else span // s) + 1
            if a.get("ceil_mode") and (o - 1) * s >= w + p:
                o -= 1
            out.append(o)
        return (c, *out)
    if kind in ("adaptive_avgpool", "adaptive_maxpool"):
        return (c, *_axes(a["output"], n))
    if kind == "global_avgpool":
        return (c, *[1] * n)
    if kind == "linear":
        return (*shape[:-1], a["out"])
    if kind == "flatten":
        total = 1
        for d in shape:
            total *= d
        return (total,)
    if kind == "slice":
        return (len(range(c)[slice(*a["channels"])]), *shape[1:])
    if kind == "zeropad":
        return (c, *[w + 2 * p for w, p in zip(sizes, _axes(a["padding"], n))])
    if kind == "upsample" and "size" in a:
        return (c, *_axes(a["size"], n))
    if kind == "upsample":
        return (c, *[int(w * f // 1) for w, f in zip(sizes, _axes(a["scale"], n))])
    return tuple(shape)


def _fits(shape) -> bool:
    if len(shape) == 1:
        return 1 <= shape[0] <= 4096
    return (1 <= shape[0] <= 64 and all(1 <= w <= MAX_SIZE[len(shape) - 1] * 2 for w in shape[1:])
            and _numel(shape) <= 20_000)


def _numel(shape) -> int:
    total = 1
    for d in shape:
        total *= d
    return total


@st.composite
def _leaf_after(draw, shape, kinds):
    options = [k for k in kinds if applicable(k, shape)]
    kind = draw(st.sampled_from(options))
    entry = draw(leaf_entry(kind, shape))
    return entry, next_shape(entry, shape)


@st.composite
def _shape_keeping(draw, shape):
    """A short list of entries that keeps the shape exactly (for add/mul/residual branches)."""
    c, n = shape[0], len(shape) - 1
    entries = []
    for _ in range(draw(st.integers(0, 2))):
        choice = draw(st.sampled_from(["conv", "act", "norm"] if n else ["act", "linear"]))
        if choice == "conv":
            k = draw(st.sampled_from([1, 3]))
            entries.append({"conv": {"out": c, "kernel": k, "padding": k // 2,
                                     "bias": draw(st.booleans())}})
        elif choice == "linear":
            entries.append({"linear": c})
        elif choice == "norm":
            entries.append("batchnorm")
        else:
            entries.append(draw(st.sampled_from(["relu", "tanh", "identity"])))
    return entries


@st.composite
def _composite(draw, shape, depth, kinds, blocks, references=False):
    """A concat, add, mul, split, residual or repeat entry for `shape`, and its output shape."""
    c, n = shape[0], len(shape) - 1
    choice = draw(st.sampled_from(["concat", "add", "mul", "residual", "repeat", "split", "split"]
                                  + (["block", "gate"] if blocks else [])
                                  + (["gated", "nested"] if references else [])))
    if choice == "split" and n >= 1:
        return draw(split_entry(shape))
    if choice == "gated" and n >= 1:     # a block whose entries refer to each other and `input`
        width = draw(st.integers(1, MAX_CHANNELS))
        return {"gated": width}, (width, *shape[1:])
    if choice == "nested" and n >= 1:
        # a repeat whose layers read an id of their own repetition, and a nested list that
        # shadows it
        return {"repeat": {"times": draw(st.integers(1, 2)), "layers": [
            {"conv": {"out": c, "kernel": 1, "id": "r"}},
            {"sequential": {"layers": [{"tanh": {"id": "r"}}, "relu",
                                       {"add": {"from": ["r", "."]}}]}},
            {"mul": {"from": [".", "r"]}}]}}, shape
    if choice == "repeat":         # `times: 0` adds nothing
        layers = draw(_shape_keeping(shape)) or ["identity"]
        return {"repeat": {"times": draw(st.integers(0, 2)), "layers": layers}}, shape
    if choice == "gate" and n >= 1:
        args = {"ratio": draw(st.integers(1, 3)),
                "squash": draw(st.sampled_from(["sigmoid", "hardsigmoid"]))}
        return ({"gate": args} if draw(st.booleans()) else "gate"), shape
    if choice == "block" and n >= 1:
        width = draw(st.integers(1, MAX_CHANNELS))
        entry = ({"unit": {"width": width, "act": draw(st.integers(0, 2))}}
                 if draw(st.booleans()) else {"unit": width})
        return entry, (width, *shape[1:])
    if choice == "concat" and n >= 1:
        branches = [draw(_branch((c, *shape[1:]))) for _ in range(draw(st.integers(2, 3)))]
        channels = sum(out for _, out in branches)
        return {"concat": [branch for branch, _ in branches]}, (channels, *shape[1:])
    if choice == "residual" and n >= 1 and draw(st.booleans()):
        # a main branch that may change channels and stride; the shortcut adapts
        out = draw(st.integers(1, MAX_CHANNELS))
        stride = draw(st.sampled_from([1, 2]))
        main = [{"conv": {"out": out, "kernel": 3, "stride": stride, "padding": 1,
                          "bias": False}}, "batchnorm", "relu"]
        shortcut = draw(st.sampled_from(["auto", "projection", "optional", "none"]))
        if (out, stride) == (c, 1) and shortcut == "auto":
            shortcut = "identity"
        result = (out, *[(w - 1) // stride + 1 for w in shape[1:]])
        return {"residual": {"layers": main, "shortcut": shortcut}}, result
    if choice == "residual":
        main = draw(_shape_keeping(shape))
        short = draw(st.one_of(st.sampled_from(["identity", "optional", "none"]),
                               _shape_keeping(shape)))
        return {"residual": {"layers": main, "shortcut": short}}, shape
    # add or mul: branches that keep the shape, and (sometimes) ones that broadcast, as a gate
    # of 1 along the spatial axes or along the channels, or that don't (the sizes halved)
    branches, shapes = [], []
    for _ in range(draw(st.integers(2, 3))):
        kind = draw(st.sampled_from(["keep", "keep", "gate", "one_channel", "halved"]))
        if kind == "gate" and n >= 1:
            branch = ["global_avgpool", {"conv": {"out": c, "kernel": 1}}, "sigmoid"]
            out = (c, *[1] * n)
        elif kind == "one_channel" and n >= 1:
            branch, out = [{"conv": {"out": 1, "kernel": 1}}], (1, *shape[1:])
        elif kind == "halved" and n >= 1 and min(shape[1:]) >= 2:
            branch = [{"maxpool": 2}]
            out = (c, *[w // 2 for w in shape[1:]])
        else:
            branch, out = draw(_shape_keeping(shape)), shape
        branches.append(branch)
        shapes.append(out)
    result = tuple(max(sizes) if all(s in (1, max(sizes)) for s in sizes) else None
                   for sizes in zip(*shapes))
    if None in result:
        result = shape          # doesn't broadcast: both must reject
    return {choice: branches}, result


@st.composite
def split_entry(draw, shape):
    """A `split` of the channels (equal parts or sizes), each branch the identity or a conv
    that keeps the spatial size, and its output shape."""
    c = shape[0]
    if draw(st.booleans()):
        parts = draw(st.sampled_from(_divisors(c)[1:] or [1]))
        sizes, cut = [c // parts] * parts, {"parts": parts}
    else:
        cuts = sorted(draw(st.sets(st.integers(1, c - 1), max_size=min(3, c - 1)))) if c > 1 else []
        sizes = [b - a for a, b in zip([0, *cuts], [*cuts, c])]
        cut = {"sizes": sizes}
    branches = [draw(_branch((size, *shape[1:]))) for size in sizes]
    channels = sum(out for _, out in branches)
    return ({"split": {**cut, "branches": [branch for branch, _ in branches]}},
            (channels, *shape[1:]))


@st.composite
def _branch(draw, shape):
    """A branch on `shape` that keeps its spatial size: the identity (`[]`), or a conv to some
    channels and layers that keep the shape; with its output channels."""
    if draw(st.booleans()):
        return [], shape[0]
    out = draw(st.integers(1, MAX_CHANNELS))
    k = draw(st.sampled_from([1, 3]))
    branch = [{"conv": {"out": out, "kernel": k, "padding": k // 2}}]
    return branch + draw(_shape_keeping((out, *shape[1:]))), out


BLOCKS = {"unit": {"params": {"width": "required", "kernel": 3, "act": 1},
                   "layers": [{"conv": {"out": "$width", "kernel": "$kernel",
                                        "padding": "${kernel // 2}"}},
                              {"relu": {"when": "${act != 0}"}}]},
          # squeeze-and-excitation, sized by its input's channels; the gate a kind parameter
          "gate": {"params": {"ratio": 2, "squash": "sigmoid"},
                   "layers": [{"mul": [[], ["global_avgpool",
                                            {"conv": {"out": "${max(1, in_channels // ratio)}",
                                                      "kernel": 1}},
                                            "relu", {"conv": {"out": "$in_channels", "kernel": 1}},
                                            {"$squash": {"when": "${ratio < 3}"}}]]}]},
          # squeeze-and-excitation written with references: x · sigmoid(conv(pool(x)))
          "gated": {"params": {"width": "required"},
                    "layers": [{"conv": {"out": "$width", "kernel": 1, "id": "x"}},
                               {"global_avgpool": {"id": "pooled"}},
                               {"conv": {"out": "$width", "kernel": 1}},
                               "sigmoid",
                               {"mul": {"from": ["x", "."]}}]}}


@st.composite
def networks(draw, ranks=(1, 2, 3), max_layers: int = 6, kinds=None, composites: bool = True,
             blocks: bool = True, rounding: str = "floor", references: bool = False,
             channels: int = 4, composite_odds: int = 4, layouts=("chw",)):
    """A random network: input of 1, 2 or 3 spatial axes (`ranks`), up to `max_layers` top-level
    entries drawn from `kinds` (default: every leaf kind), with concat/add/mul/split/residual
    and block uses when `composites`/`blocks` (one entry in `composite_odds`), some left out by
    `when`; the input has 1 to `channels` channels; the layout is one of `layouts`. With
    `references`, a DAG: entries that take their input `from` an earlier one (or `input`),
    concat/add/mul `{from: [...]}` of earlier outputs, upsample to a `size` or `like` an
    earlier output, a block with references inside, and every output no later entry reads
    listed in `outputs`."""
    kinds = tuple(kinds or KINDS)
    n = draw(st.sampled_from(ranks))
    shape = (draw(st.integers(1, channels)),
             *[draw(st.integers(1, MAX_SIZE[n])) for _ in range(n)])
    layout = draw(st.sampled_from(layouts))
    spec = {"input": list(shape), "rounding": rounding, "layers": []}
    uses_block = False
    kept = 0
    earlier: list[tuple] = []      # the top-level entries' output shapes, by index
    read: list[bool] = []          # whether a later entry reads each
    for _ in range(draw(st.integers(1, max_layers))):
        sources = None             # the earlier entries an entry reads (None: the previous one)
        if references and earlier and draw(st.integers(0, 2)) == 0:
            entry, new, sources = draw(_reference(spec, earlier, tuple(spec["input"]), kinds))
        elif composites and len(shape) > 1 and draw(st.integers(1, composite_odds)) == 1:
            entry, new = draw(_composite(shape, 1, kinds, blocks, references))
            uses_block |= (entry in BLOCKS if isinstance(entry, str) else
                           isinstance(entry, dict) and bool(set(entry) & set(BLOCKS)))
        else:
            entry, new = draw(_leaf_after(shape, kinds))
            if layout == "hwc" and new is not None and _args_of(entry)[0] == "linear":
                new = (_args_of(entry)[1]["out"], *shape[1:])     # on the channels
        if new is None or not _fits(new):
            continue
        for j in (sources if sources is not None else [len(earlier) - 1]):
            if j >= 0:
                read[j] = True
        # sometimes `when`: 0 leaves the entry out (not in a DAG: its id would be gone)
        if not references and draw(st.integers(0, 5)) == 0:
            keep = draw(st.sampled_from([0, 1, 2, True, False]))
            entry = with_when(entry, keep)
            if not keep:
                new = shape
            kept += bool(keep)
        else:
            kept += 1
        spec["layers"].append(entry)
        earlier.append(new)
        read.append(False)
        shape = new
    if not kept:
        spec["layers"].append("identity")        # none, or every one left out by `when`
    if uses_block:
        spec["blocks"] = json.loads(json.dumps(BLOCKS))
    unread = [j for j in range(len(earlier) - 1) if not read[j]]
    if references and unread:
        # every entry no other reads is an output: none is computed but never used
        spec["outputs"] = [_named(spec, j) for j in unread] + ["."]
    if layout == "hwc":           # the same sizes, written channels last
        spec["layout"] = "hwc"
        spec["input"] = [*spec["input"][1:], spec["input"][0]]
    return spec


def _named(spec: dict, j: int) -> str:
    """The id of top-level entry j, given one (`n3`) if it has none."""
    name = f"n{j}"
    entry = spec["layers"][j]
    if isinstance(entry, str):
        spec["layers"][j] = {entry: {"id": name}}
        return name
    kind, value = next(iter(entry.items()))
    if isinstance(value, dict):
        value.setdefault("id", name)
        return value["id"]
    if kind in ("concat", "add", "mul"):        # the mapping form of the list form
        entry[kind] = {"branches": value, "id": name}
    elif kind in BLOCKS:
        first = next(iter(BLOCKS[kind]["params"]))
        entry[kind] = {first: value, "id": name}
    else:
        first = next(iter(KINDS[kind].args.model_fields))
        entry[kind] = {first: value, "id": name}
    return name


@st.composite
def _reference(draw, spec, earlier, input_shape, kinds):
    """An entry that reads earlier entries by name: a leaf `from` one of them (or `input`), a
    concat/add/mul `{from: [...]}`, or an upsample `like` one; its shape and what it reads."""
    last = len(earlier) - 1
    choices = ["from", "combine"] + (["like", "size"] if "upsample" in kinds else [])
    choice = draw(st.sampled_from(choices))
    if choice == "from":
        j = draw(st.integers(-1, last))       # -1: the network's input
        source = input_shape if j < 0 else earlier[j]
        entry, new = draw(_leaf_after(source, kinds))
        name = "input" if j < 0 else _named(spec, j)
        return _with(entry, "from", name), new, [j]
    if choice in ("like", "size"):
        shape = earlier[last]
        if len(shape) < 2:
            return None, None, []
        n = len(shape) - 1
        if choice == "size":
            size = [draw(st.integers(1, MAX_SIZE[n])) for _ in range(n)]
            if len(set(size)) == 1 and draw(st.booleans()):
                return {"upsample": {"size": size[0]}}, (shape[0], *size), [last]
            return {"upsample": {"size": size}}, (shape[0], *size), [last]
        same_rank = [j for j in range(-1, last) if len(input_shape if j < 0 else earlier[j]) == len(shape)]
        if not same_rank:
            return None, None, []
        j = draw(st.sampled_from(same_rank))
        target = input_shape if j < 0 else earlier[j]
        name = "input" if j < 0 else _named(spec, j)
        args = {"like": name}
        if n == 2 and draw(st.booleans()):
            args["mode"] = "bilinear"
        return {"upsample": args}, (shape[0], *target[1:]), [last, j]
    # combine: two or more earlier outputs (`.` for the last), mostly of shapes that fit
    kind = draw(st.sampled_from(["concat", "add", "mul"]))
    picked = draw(st.lists(st.integers(-1, last), min_size=2, max_size=3, unique=True))
    shapes = [input_shape if j < 0 else earlier[j] for j in picked]
    fits = _combined(kind, shapes)
    if fits is None and draw(st.integers(0, 3)):
        # mostly, retry with entries of one shape (or spatial size, for concat)
        key = (lambda s: (len(s), tuple(s[1:]))) if kind == "concat" else tuple
        groups: dict = {}
        for j in range(-1, last + 1):
            groups.setdefault(key(input_shape if j < 0 else earlier[j]), []).append(j)
        candidates = [g for g in groups.values() if len(g) >= 2]
        if candidates:
            picked = draw(st.sampled_from(candidates))[:3]
            shapes = [input_shape if j < 0 else earlier[j] for j in picked]
            fits = _combined(kind, shapes)
    names = ["." if j == last else "input" if j < 0 else _named(spec, j) for j in picked]
    return {kind: {"from": names}}, fits or shapes[0], picked


def _combined(kind: str, shapes: list):
    """The shape concat/add/mul give, or None where they don't apply."""
    if len({len(s) for s in shapes}) != 1:
        return None
    if kind == "concat":
        if len(shapes[0]) < 2 or len({tuple(s[1:]) for s in shapes}) != 1:
            return None
        return (sum(s[0] for s in shapes), *shapes[0][1:])
    result = []
    for sizes in zip(*shapes):
        top = max(sizes)
        if any(d not in (1, top) for d in sizes):
            return None
        result.append(top)
    return tuple(result)


def _with(entry, key: str, value):
    """`entry` with one more argument (its mapping form)."""
    if isinstance(entry, str):
        return {entry: {key: value}}
    kind, args = next(iter(entry.items()))
    if not isinstance(args, dict):
        args = {next(iter(KINDS[kind].args.model_fields)): args}
    return {kind: {**args, key: value}}


def with_when(entry, when):
    """The entry with `when: <when>` among its arguments (a shorthand written out in full)."""
    if isinstance(entry, str):
        return {entry: {"when": when}}
    kind, value = next(iter(entry.items()))
    if isinstance(value, dict):
        return {kind: {**value, "when": when}}
    if isinstance(value, list):                # a list-form composite: inside a sequential
        return {"repeat": {"times": 1, "layers": [entry], "when": when}}
    first = "width" if kind in BLOCKS else next(iter(KINDS[kind].args.model_fields))
    return {kind: {first: value, "when": when}}


def symbolic_input(spec: dict) -> tuple[dict, dict]:
    """The spec with its spatial sizes written as names (L; H, W; D, H, W), and their values."""
    sizes = spec["input"][1:]
    names = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}[len(sizes)]
    symbolic = dict(spec, input=[spec["input"][0], *names])
    return symbolic, dict(zip(names, sizes))


def to_yaml(spec: dict) -> str:
    """YAML text of a spec dict (JSON is YAML, and keeps every value's type)."""
    return json.dumps(spec, indent=1)


def load_dict(spec: dict, file: str = "<generated>"):
    from cnncalc.pipeline import load_text

    return load_text(to_yaml(spec), file)
