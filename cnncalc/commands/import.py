"""`cnncalc import MODULE:FACTORY --input 3x224x224`: the spec of a PyTorch model, on standard
output (cnncalc/crosscheck/importer.py says how it is read)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cnncalc.errors import SpecError

EXAMPLES = """

Examples:

  cnncalc import mypkg.models:net --input 3x224x224 > net.yaml

  cnncalc import 'mypkg.models:net(num_classes=10)' --input 3x32x32 > net.yaml

  cnncalc validate net.yaml --against mypkg.models:net   # then keep them together
"""

SHORT_HELP = "Write the spec of a PyTorch model, read from its code."
HELP = ("Write the spec of a PyTorch model on standard output: import MODULE (from the current "
        "directory, as `python -m`), call FACTORY (with literal arguments if given; they are "
        "parsed, never run as code), run the model once on the meta device on an input of "
        "--input, and write each leaf module as its kind (defaults left out, the module's path "
        "as its `name`), forward's functions (`torch.flatten`, `F.relu`, `+`, `torch.cat`) as "
        "kinds and composites (`x + f(x)` as `residual`, a chunk joined in order as `split`), a "
        "value read on paths that don't join as branches as `id` and `from`, several returned "
        "tensors as `outputs`, a size read from another tensor's shape as `upsample: {like: "
        "…}`, each module class as a block whose parameters are what differs between its uses, "
        "and runs of equal entries as `repeat`. The spec's params, buffers, FLOPs and output "
        "shapes are checked against the model's "
        "before it is written. What the spec language can't say is an error naming the module "
        "or function, its type and where it was called (exit 2)." + EXAMPLES)


def import_model(
    target: Annotated[str, typer.Argument(
        metavar="MODULE:FACTORY", help="The factory that builds the model: "
        "`mypkg.models:net`, or with literal arguments `mypkg.models:net(num_classes=10)`.")],
    input: Annotated[str, typer.Option(
        "--input", help="One sample's shape, channels first, as numbers: `3x224x224`.")],
) -> int:
    from cnncalc.commands import load_torch

    if not load_torch("import"):
        return 2
    from cnncalc.crosscheck.drift import parse_target
    from cnncalc.crosscheck.importer import import_model as run
    from cnncalc.override import parse_input

    shape = parse_input(input, numbers=True)
    if not all(isinstance(size, int) for size in shape):
        raise SpecError(f"`import` runs the model, so --input needs numbers, not {input}",
                        file="--input", hints=["e.g. --input 3x224x224"])
    try:
        imported = run(parse_target(target), shape)
    except SystemExit as exc:
        raise SpecError(f"`{target}` called exit({exc.code!r}) while it was imported or run",
                        file=target) from None
    except SpecError as exc:
        # the factory's errors are shared with `validate --against`, which names the option
        if exc.file in (None, "--against"):
            exc.file = target
        raise
    except AssertionError as exc:     # the spec's figures aren't the model's: not written
        print(f"error: {exc} (a bug of cnncalc import: please report it)", file=sys.stderr)
        return 1
    sys.stdout.write(imported.text)
    return 0
