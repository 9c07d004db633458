"""`cnncalc validate SPEC...`: build each network in PyTorch, run a real forward pass, and show
layer by layer that the shapes, params, buffers and FLOPs cnncalc predicted are what PyTorch did.

Exit status: 0 every figure agrees, 1 something disagrees (or PyTorch refused what cnncalc
accepted), 2 bad input. With several specs each is validated and reported; the worst status
wins."""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from cnncalc.commands.summary import Optimizer, OptimizerChoice
from cnncalc.errors import SpecError

if TYPE_CHECKING:   # for annotations only: `cnncalc --help` imports this module
    from cnncalc.analyze import Analysis
    from cnncalc.crosscheck.drift import Target
    from cnncalc.dims import StrictRoundingError
    from cnncalc.pipeline import Loaded

EXAMPLES = """

Examples:

  cnncalc validate vgg16                       # CUDA if present, else CPU

  cnncalc validate specs/*.yaml --device cpu   # every spec, with progress

  cnncalc validate big.yaml --device meta      # any size, without memory

  cnncalc validate net.yaml --format json --batch 8

  cnncalc validate unet --input 1x256x256      # another input size

  cnncalc validate resnet18 --train --batch 4 --device cpu   # a training step, too
"""


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    meta = "meta"


class ValidateFormat(str, Enum):
    table = "table"
    json = "json"   # one object per spec (a list when several specs are given)


# Each layer is a PyTorch module run with hooks, and on `--device meta` every operation runs in
# PyTorch's Python kernels: that work, not cnncalc's, grows with the layers.
MAX_VALIDATE_LAYERS = 5_000

HELP = "Prove a spec's figures against a real PyTorch forward pass." + EXAMPLES


def validate(
    specs: Annotated[list[str], typer.Argument(
        metavar="SPEC", help="Spec files, `-` for standard input, or bundled names.")],
    format: Annotated[ValidateFormat, typer.Option(
        "--format", "-f", help="Output format.")] = ValidateFormat.table,
    batch: Annotated[int, typer.Option(
        "--batch", min=1, max=2**20, help="Batch size of the forward pass.")] = 1,
    device: Annotated[Device, typer.Option(
        "--device", help="Where to run: auto = cuda when available, else cpu; meta = shapes only, "
        "no memory.")] = Device.auto,
    input: Annotated[str | None, typer.Option(
        "--input", help="Input shape instead of the spec's, in its layout, as numbers: "
        "`3x512x512`.")] = None,
    against: Annotated[str | None, typer.Option(
        "--against", metavar="MODULE:FACTORY", help="Compare with your own model instead: import "
        "MODULE (from the current directory, as `python -m`), call FACTORY() (or with literal "
        "arguments: `mypkg.models:net(num_classes=10)`), run it on the spec's input and name the first layer where what it runs and the spec "
        "part ways (operation, output shape, params, FLOPs).")] = None,
    train: Annotated[bool, typer.Option(
        "--train", help="Also run one training step (forward, backward, one optimizer step) and "
        "compare backward FLOPs and saved activations per layer, gradients, optimizer state "
        "and the peak (MemTracker).")] = False,
    optimizer: Annotated[Optimizer, OptimizerChoice] = Optimizer.adam,
) -> int:
    from cnncalc.commands import load_torch

    if not load_torch("validate"):
        return 2
    from cnncalc.commands import skip_teardown
    from cnncalc.crosscheck.measure import resolve_device

    if against is None:
        skip_teardown()
    try:
        where = resolve_device(device.value)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if train and (where == "meta" or against is not None):
        print("error: --train runs a real training step: not on --device meta, nor with "
              "--against", file=sys.stderr)
        return 2
    override = None
    if input is not None:
        from cnncalc.override import parse_input

        override = parse_input(input, numbers=True)
    return validate_specs(specs, batch, where, format.value, against, override,
                          optimizer.value if train else None)


def validate_specs(specs: list[str], batch: int, device: str, fmt: str,
                   against: str | None = None, override: list | None = None,
                   train: str | None = None) -> int:
    """Validate each spec (with `against`, the model its factory builds; with `override`, on
    that input) on the resolved `device`, report, and return the worst exit status."""
    from rich.console import Console

    stderr = Console(stderr=True)
    target = None
    if against is not None:     # once, before any spec: its arguments are parsed, not run
        from cnncalc.crosscheck.drift import parse_target

        try:
            target = parse_target(against)
        except SpecError as exc:
            stderr.print(exc.format(), markup=False, highlight=False, soft_wrap=True)
            return 2
    results, status = [], 0
    with _progress(stderr) as progress:
        overall = progress.add_task("specs", total=len(specs), visible=len(specs) > 1)
        for source in specs:
            try:
                result = validate_one(source, batch, device, progress, target, override, train)
            except SpecError as exc:
                progress.console.print(exc.format(), markup=False, highlight=False, soft_wrap=True)
                status = 2
            else:
                results.append(result)
                status = max(status, 0 if result["ok"] else 1)
            progress.advance(overall)
    try:
        if fmt == "json":
            _print_json(results, several=len(specs) > 1)
        if against is not None:
            from cnncalc.crosscheck.drift import report

            for result in results:
                report(result, table=fmt != "json")
        elif fmt != "json":
            from cnncalc.crosscheck.diff import render_table

            console = Console()
            for result in results:
                if result["totals"] is not None:
                    render_table(result, console)
                if result.get("train"):
                    from cnncalc.crosscheck.train_diff import render_table as train_table

                    train_table(result["train"], console)
    finally:    # what disagreed, on standard error even when standard output can't be written
        for result in results:
            for line in result.get("problems", []):
                print(f"{result['file']}: {line}", file=sys.stderr)
    return status


def _print_json(results: list[dict], several: bool) -> None:
    """One SPEC: its object, or nothing when it was bad input; several: a list of the objects
    of those that ran (bad input is reported on standard error only)."""
    from cnncalc.render import render_json

    texts = [render_json(result) for result in results]
    if several:
        print("[\n" + ",\n".join(texts) + "\n]" if texts else "[]")
    elif texts:
        print(texts[0])


@dataclass(frozen=True, slots=True)
class Prepared:
    """A spec ready to run: loaded, analysed, small enough for the device."""

    loaded: Loaded
    analysis: Analysis                          # floored when `strict` is set
    strict: StrictRoundingError | None = None   # what flooring got past, for its note


def prepare(source: str, batch: int, device: str, override: list | None = None) -> Prepared:
    """What `validate` and `validate --against` both do before running anything: load and
    analyse the spec, insist on numeric input sizes, and refuse a run the device has no memory
    for (estimated from the spec). Where strict rounding rejects a layer PyTorch would floor,
    the floored analysis is run and the error kept, to be raised with what PyTorch did."""
    from cnncalc.crosscheck.measure import check_memory, needed_bytes
    from cnncalc.dims import StrictRoundingError, numel
    from cnncalc.override import as_written, check_override, example
    from cnncalc.pipeline import analyze_loaded, load
    from cnncalc.units import shape_text

    loaded = load(source)
    if override is not None:
        check_override(override, shape_text(override, sep="x"), loaded.spec, numbers=True)
    layers = sum(1 for node in loaded.root.walk() if node.leaf)
    if layers > MAX_VALIDATE_LAYERS:
        raise SpecError(f"the network has {layers:,} layers: `validate` runs at most "
                        f"{MAX_VALIDATE_LAYERS:,} in PyTorch, where each is a module run with "
                        "hooks (on --device meta, in PyTorch's Python kernels)", loaded.root.pos,
                        file=loaded.file,
                        hints=["validate the same layers repeated fewer times; `cnncalc summary` "
                               "gives the figures of any size without PyTorch"])
    strict = None
    try:
        analysis = analyze_loaded(loaded, override)
    except StrictRoundingError as exc:
        strict = exc
        try:
            analysis = analyze_loaded(replace(loaded, root=_floored(loaded.root)), override)
        except SpecError:
            raise exc from None
    if analysis.symbolic:
        raise SpecError("`validate` runs the network, so it needs numbers for every input size, "
                        f"not {as_written(override or loaded.spec.input)}", file=loaded.file,
                        hints=[f"give them with `--input`, e.g. `--input "
                               f"{example(loaded.spec, names=False)}`, or use `cnncalc summary` "
                               "for symbolic figures"])
    if device != "meta":
        try:
            check_memory(device, needed_bytes(analysis.total("params"), analysis.total("buffers"),
                                              [row.activations for row in analysis.leaves]
                                              + [numel(analysis.input_shape)], batch))
        except SpecError as exc:
            raise exc.located(loaded.file) from None
    return Prepared(loaded, analysis, strict)


def validate_one(source: str, batch: int, device: str, progress,
                 against: str | Target | None = None, override: list | None = None,
                 train: str | None = None) -> dict:
    """Prepare one spec, run it (or the model `against` builds) and compare; a SpecError for
    bad input, strict rounding's error included, with what PyTorch did by flooring."""
    prepared = prepare(source, batch, device, override)
    if against is None:
        result = _run_spec(prepared, batch, device, progress, train)
        problems, agreement = result.get("problems", []), "every figure agrees with cnncalc's"
    else:
        from cnncalc.crosscheck.drift import check, describe

        try:
            result = check(prepared.analysis, prepared.loaded.file, against, batch, device)
        except SystemExit as exc:
            # the user's code called exit(): whatever its status, nothing was compared
            text = getattr(against, "text", against)     # a Target, or the text itself
            raise SpecError(f"`{text}` called exit({exc.code!r}) before anything was "
                            "compared", file="--against",
                            hints=["the factory must return the model; exit in a "
                                   "`if __name__ == \"__main__\":` block only"]) from None
        problems, agreement = describe(result), "code and spec agree"
    strict = prepared.strict
    if strict is not None:
        from cnncalc.dims import fmt

        strict.notes.remove(strict.floor_note())     # replaced by what PyTorch did
        if result.get("error"):
            strict.notes.append(f"PyTorch refused it even flooring: {result['error']}")
        else:
            strict.notes.append(
                f"PyTorch ran it anyway: it floored {fmt(strict.exact)} to {strict.floored}, "
                f"so {strict.unseen_text('was')}"
                + (f" (with flooring, {agreement})" if result["ok"]
                   else f"; with flooring: {'; '.join(line.strip() for line in problems)}"))
        raise strict
    return result


def _run_spec(prepared: Prepared, batch: int, device: str, progress,
              train: str | None = None) -> dict:
    """Build the spec's network in PyTorch, run it and compare every figure."""
    from cnncalc.crosscheck.build import build, empty_input, materialise
    from cnncalc.crosscheck.diff import compare, disagreements
    from cnncalc.crosscheck.measure import ForwardFailed, measure

    loaded, analysis = prepared.loaded, prepared.analysis
    task = progress.add_task(loaded.name, total=len(analysis.leaves) or 1)
    try:
        model = materialise(build(analysis), device)
        measurement = measure(model, empty_input((batch, *analysis.input_shape), device),
                              on_leaf=lambda name: progress.advance(task))
    except SpecError as exc:
        raise exc.located(loaded.file) from None
    except Exception as exc:   # PyTorch refused what cnncalc accepted: a disagreement
        cause = exc.error if isinstance(exc, ForwardFailed) else exc
        error = f"{type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}"
        return {"ok": False, "name": loaded.name, "file": loaded.file, "device": device,
                "batch": batch, "layers": [], "totals": None, "error": error,
                "problems": [f"PyTorch rejected a network cnncalc accepted: {error}"]}
    finally:
        progress.remove_task(task)
    result = compare(analysis, measurement, loaded.name)
    result["file"] = loaded.file
    problems = disagreements(result)
    if train is not None:
        from cnncalc.crosscheck import train_diff

        try:
            result["train"] = train_diff.compare_train(analysis, device, batch, train)
        except SpecError as exc:
            raise exc.located(loaded.file) from None
        except Exception as exc:   # PyTorch refused the training step (batch norm at batch 1)
            message = str(exc).splitlines()[0] if str(exc) else ""
            result["train"] = None
            result["ok"] = False
            problems.append(f"PyTorch refused the training step: {type(exc).__name__}: "
                            f"{message}")
        else:
            result["ok"] = result["ok"] and result["train"]["ok"]
            problems += train_diff.disagreements(result["train"])
    if problems:
        result["problems"] = problems
    return result


def _floored(node):
    """The graph with every layer's rounding set to floor, as PyTorch rounds."""
    return replace(node, rounding="floor", children=[_floored(c) for c in node.children])


def _progress(console):
    """Progress on standard error for long runs and several specs; off when not a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # markup=False: a task's description is the spec's name (`name: "[/x]"` is no tag)
    return Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True,
                    disable=not console.is_terminal)
