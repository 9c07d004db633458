"""`--input`: another input for a spec (`summary`, `validate`), read in the spec's layout, and
the notes that say where it, or the spec's own input, may not mean what was meant."""

from __future__ import annotations

import sys

from cnncalc.dims import AXES
from cnncalc.errors import SpecError


def parse_input(text: str, numbers: bool = False) -> list:
    """`3x224x224` / `3xHxW` / `224,224,3` -> [3, 'H', 'W'] (checked as the spec's `input`
    is); `numbers`: for a command that runs the network (no names in its example)."""
    from cnncalc.spec import parse_sizes

    example = "3x224x224" if numbers else "3x224x224 or 3xHxW"
    try:
        dims = parse_sizes(text, "--input", names=True, example=example)
    except SpecError as exc:
        raise exc.located("--input") from None
    if not 1 <= len(dims) <= 4:
        raise SpecError(f"`--input {text}` has {len(dims)} entries; an input has 1 to 4",
                        hints=[f"write it like {example}"], file="--input")
    return dims


def as_written(dims) -> str:
    """[3, 'H', 'W'] as a spec writes it: `[3, H, W]`."""
    return "[" + ", ".join(map(str, dims)) + "]"


def example(spec, names: bool = True) -> str:
    """The spec's input as `--input` takes it: `3xHxW` (`names`), else numbers (`3x224x224`,
    224 for a size the spec names), in the spec's layout."""
    dims = list(spec.input)
    hwc = spec.layout == "hwc" and len(dims) > 1
    channels, spatial = (dims[-1], dims[:-1]) if hwc else (dims[0], dims[1:])
    spatial = (list(AXES[len(spatial)]) if names and spatial else
               [d if isinstance(d, int) else 224 for d in spatial])
    return "x".join(map(str, [*spatial, channels] if hwc else [channels, *spatial]))


def _layout_words(layout: str, rank: int) -> str:
    """`C×H×W`, `H×W×C`, `C×L`, `C×D×H×W`."""
    axes = "×".join(AXES[rank])
    return f"{axes}×C" if layout == "hwc" else f"C×{axes}"


def _sizes(n: int) -> str:
    return "no spatial sizes" if n == 0 else f"{n} spatial size{'s' if n != 1 else ''}"


def check_override(dims: list, text: str, spec, numbers: bool = False) -> None:
    """`--input` read in the spec's layout: its channels must be a number (`numbers`: every
    size, for a command that runs the network), and a note on standard error where it changes
    the spec's number of spatial sizes, or its channels."""
    hwc = spec.layout == "hwc" and len(dims) > 1
    channels = dims[-1] if hwc else dims[0]
    what = "channels" if len(dims) > 1 else "number of features"
    if not isinstance(channels, int):
        where = f"{'last' if hwc else 'first'} entry, as the spec's layout {spec.layout} has them"
        raise SpecError(f"`--input {text}`: the {what} ({where if len(dims) > 1 else 'its one entry'})"
                        " must be a whole number; only spatial sizes can be names",
                        hints=[f"write it like {example(spec, names=not numbers)}"],
                        file="--input")
    own = list(spec.input)
    own_channels = own[-1] if spec.layout == "hwc" and len(own) > 1 else own[0]
    if len(dims) != len(own):
        print(f"note: --input {text} has {_sizes(len(dims) - 1)}; the spec's input "
              f"{as_written(own)} has {_sizes(len(own) - 1)}", file=sys.stderr)
    elif channels != own_channels and len(dims) > 1:
        print(f"note: --input {text} gives {channels} channel{'s' if channels != 1 else ''}, "
              f"the spec's input {as_written(own)} has {own_channels} (--input is read in the "
              f"spec's layout, {spec.layout}: {_layout_words(spec.layout, len(own) - 1)})",
              file=sys.stderr)


def note_layout(spec) -> None:
    """A note for `input: [32, 32, 3]` read channels first: it looks like H×W×C."""
    dims = list(spec.input)
    if (spec.layout == "chw" and len(dims) == 3 and all(isinstance(d, int) for d in dims)
            and dims[0] == dims[1] > 4 and dims[2] in (1, 3, 4)):
        print(f"note: `input: {as_written(dims)}` is read channels first ({dims[0]} channels "
              f"of {dims[1]}×{dims[2]}); for H×W×C write `layout: hwc`", file=sys.stderr)
