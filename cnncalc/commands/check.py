"""`cnncalc check FILE...`: every spec valid, and within its `expect` and `budget`, for CI and
pre-commit. Every file is checked and every problem reported before the exit status:
0 all good, 1 a check failed, 2 a file is invalid, or has a check that can't be decided (a
number against a figure that depends on symbolic sizes); 2 wins over 1."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated

import typer

from cnncalc.commands.summary import Dtype, DtypeChoice, Optimizer, OptimizerChoice
from cnncalc.units import parse_bytes, parse_count

EXAMPLES = """
Examples:

  cnncalc check specs/*.yaml                        # every spec, every problem

  cnncalc check net.yaml --max-params 5M --max-macs 2G

  cnncalc check specs/*.yaml --format github        # annotations in a GitHub workflow

  cnncalc check net.yaml --max-train-memory 16GB --batch 64   # a training step fits
"""


class CheckFormat(str, Enum):
    human = "human"     # path:line:col: message
    json = "json"       # a list with one object per file
    github = "github"   # ::error file=…,line=…,col=…::message


# CLI option -> (budget figure, parser)
BUDGET_OPTIONS = {
    "--max-params": ("params", parse_count),
    "--max-macs": ("macs", parse_count),
    "--max-flops": ("flops", parse_count),
    "--max-activation-memory": ("activation_memory", parse_bytes),
    "--max-param-memory": ("param_memory", parse_bytes),
    "--max-train-memory": ("train_memory", parse_bytes),
}


@dataclass(slots=True)
class Problem:
    message: str
    line: int | None = None
    col: int | None = None
    details: list[str] = field(default_factory=list)    # notes and hints of an error


@dataclass(slots=True)
class FileResult:
    file: str
    status: str = "ok"          # ok | failed | invalid (also: a check that can't be decided)
    problems: list[Problem] = field(default_factory=list)
    checks: list = field(default_factory=list)


def _bound(option: str):
    figure, parser = BUDGET_OPTIONS[option]
    example = "5M, 2G, 1e8" if parser is parse_count else "200MB, 1.5GiB"
    return typer.Option(option, metavar="COUNT" if parser is parse_count else "SIZE",
                        help=f"Upper bound on the network's {figure.replace('_', ' ')} "
                        f"({example}); replaces the spec's budget for it.", show_default=False)


SHORT_HELP = "Check specs for CI: valid, within their expect and budget."
HELP = ("Check spec files for CI and pre-commit: each must be valid and meet its "
        "`expect` and `budget` (and the bounds given here). Reports every problem in every "
        "file. Exit status: 0 all good, 1 a check failed, 2 a file is invalid (or a check depends "
        "on symbolic input sizes, so it can't be decided)." + EXAMPLES)


def check(
    files: Annotated[list[str], typer.Argument(
        metavar="FILE", help="Spec files (or bundled names, or `-`).")],
    format: Annotated[CheckFormat, typer.Option("--format", "-f", help="Output format.")] = CheckFormat.human,
    max_params: Annotated[str | None, _bound("--max-params")] = None,
    max_macs: Annotated[str | None, _bound("--max-macs")] = None,
    max_flops: Annotated[str | None, _bound("--max-flops")] = None,
    max_activation_memory: Annotated[str | None, _bound("--max-activation-memory")] = None,
    max_param_memory: Annotated[str | None, _bound("--max-param-memory")] = None,
    max_train_memory: Annotated[str | None, _bound("--max-train-memory")] = None,
    batch: Annotated[int, typer.Option(
        "--batch", min=1, max=2**31 - 1, help="Batch size for memory figures.")] = 1,
    dtype: Annotated[Dtype, DtypeChoice] = Dtype["float32"],
    optimizer: Annotated[Optimizer, OptimizerChoice] = Optimizer.adam,
) -> int:
    from cnncalc.report import Options

    given = dict(zip(BUDGET_OPTIONS, (max_params, max_macs, max_flops, max_activation_memory,
                                      max_param_memory, max_train_memory)))
    extra = {}
    for option, text in given.items():
        if text is None:
            continue
        figure, parser = BUDGET_OPTIONS[option]
        try:
            extra[figure] = parser(text)
        except ValueError as exc:
            print(f"error: {option}: {exc}", file=sys.stderr)
            return 2
    options = Options(batch=batch, dtype=dtype.value, optimizer=optimizer.value)
    results = [check_file(name, options, extra) for name in files]
    sys.stdout.write(RENDERERS[format](results))
    statuses = {r.status for r in results}
    return 2 if "invalid" in statuses else 1 if "failed" in statuses else 0


def check_file(name: str, options, extra_budget: dict) -> FileResult:
    """Load, analyse and check one spec; a SpecError makes the file invalid."""
    from cnncalc.checks import describe_failure, run_checks, undecided_hint
    from cnncalc.errors import SpecError, every_error, printable
    from cnncalc.hints import reordered
    from cnncalc.pipeline import analyze_loaded, load

    # standard input is `<stdin>` here as in every other command's messages
    result = FileResult("<stdin>" if name == "-" else name)
    try:
        loaded = load(name)
        analysis = analyze_loaded(loaded)
        # a `train_memory` budget needs every kind's training rules (else a SpecError)
        result.checks = run_checks(analysis, options, loaded.raw, extra_budget)
    except SpecError as exc:
        # A message quotes the spec (an unknown kind, a key): printable, as SpecError.format
        # makes it; names in the graph already are (expand.py), so failed checks need nothing.
        result.status = "invalid"
        for error in every_error(exc):      # every independent error of the file, in order
            result.problems.append(Problem(printable(error.message), *_line_col(error.pos),
                                           [printable(f"note: {n}") for n in error.notes]
                                           + [printable(f"hint: {h}") for h in error.hints]))
        more = getattr(exc, "more", 0)      # SpecErrors: beyond the ones listed
        if more:
            result.problems.append(Problem(f"… and {more} more error{'s' if more != 1 else ''}",
                                           None, None, []))
        return result
    for bad in (c for c in result.checks if not c.ok):
        # A check that can't be decided (a number against a figure of symbolic sizes) is bad
        # input for it, not a failure: nothing was found over a bound or off an expectation.
        undecided = bad.ok is None
        if undecided:
            result.status = "invalid"
        elif result.status == "ok":
            result.status = "failed"
        hints = [undecided_hint(name, loaded.spec)] if undecided else []
        order = reordered(bad.expected, bad.actual) if bad.figure in ("shape", "output") else None
        if order:
            hints.append(f"note: {order}")
        result.problems.append(Problem(describe_failure(bad, extra_budget),
                                       *_line_col(bad.pos), hints))
    return result


def _line_col(pos) -> tuple[int | None, int | None]:
    return (pos.line, pos.col) if pos is not None else (None, None)


# ---------------------------------------------------------------------------------------------
# Output formats: every member of CheckFormat has a renderer (a test walks them)

def render_human(results: list[FileResult]) -> str:
    lines = []
    for result in results:
        for p in result.problems:
            where = f"{result.file}:{p.line}:{p.col}" if p.line is not None else result.file
            lines.append(f"{where}: error: {p.message}")
            lines += [f"  {d}" for d in p.details]
    bad = [r for r in results if r.status != "ok"]
    # a file may both fail a check and have one that can't be decided: counted in both
    counts = {"failed": sum(any(c.ok is False for c in r.checks) for r in results),
              "invalid": sum(r.status == "invalid" for r in results)}
    checked = f"{len(results)} file{'s' * (len(results) != 1)} checked"
    lines.append(f"{checked}: {counts['failed']} failed a check, {counts['invalid']} invalid"
                 if bad else f"{checked}: all good")
    return "".join(line + "\n" for line in lines)


def render_json(results: list[FileResult]) -> str:
    from cnncalc.render import check_dict

    data = [{"file": r.file, "status": r.status,
             "problems": [{"message": p.message, "line": p.line, "col": p.col,
                           "details": p.details} for p in r.problems],
             "checks": [check_dict(c) for c in r.checks]} for r in results]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render_github(results: list[FileResult]) -> str:
    """GitHub Actions workflow commands; a problem without a position annotates the file."""
    lines = []
    for result in results:
        for p in result.problems:
            props = f"file={_escape_property(result.file)}"
            if p.line is not None:
                props += f",line={p.line},col={p.col}"
            message = "\n".join([p.message, *p.details])
            lines.append(f"::error {props},title=cnncalc check::{_escape_data(message)}")
    return "".join(line + "\n" for line in lines)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


RENDERERS = {CheckFormat.human: render_human, CheckFormat.json: render_json,
             CheckFormat.github: render_github}
