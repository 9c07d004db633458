"""`expect` and `budget`: what a spec says its network must have, compared with the analysis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnncalc.analyze import Analysis, in_layout
from cnncalc.dims import is_int
from cnncalc.errors import Pos
from cnncalc.report import Options, Totals, flops, plain
from cnncalc.units import bytes_as_written, grouped, shape_text


@dataclass(frozen=True, slots=True)
class Check:
    where: str            # a layer's path and kind, or "network"
    figure: str           # shape, params, macs, flops, activation_memory, ...
    expected: Any         # what the spec says (for budgets: the bound)
    actual: Any           # an int, a shape, or a sympy expression
    # True or False; None where it can't be decided: a number against a figure that depends
    # on symbolic input sizes (`macs ≤ 1M` of a `[3, H, W]` input)
    ok: bool | None
    pos: Pos | None
    bound: bool = False   # a budget (actual ≤ expected) rather than an expectation (==)

    def describe(self) -> str:
        relation = "≤" if self.bound else "="
        verdict = {True: "ok", False: "FAILED", None: "can't be checked"}[self.ok]
        return (f"{self.where}: {self.figure} {figure_text(self.actual, self.figure)} "
                f"(expected {relation} {figure_text(self.expected, self.figure)}): {verdict}")


def figure_text(value, figure: str) -> str:
    """A figure in a message: `27×32×32`, `26,370`, `100 KiB (102,440 bytes)`; a symbolic one
    as `summary` prints it (`729*(floor((H - 3)/2) + 1)`, not sympy's own form)."""
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple)):
        return ", ".join(shape_text(plain(shape)) for shape in value)    # `expect.outputs`
    if isinstance(value, (list, tuple)):
        return shape_text(plain(value))
    if not is_int(value):
        return f"{plain(value)} bytes" if figure.endswith("memory") else str(plain(value))
    if figure.endswith("memory"):
        return f"{bytes_as_written(value)} ({grouped(value)} bytes)"
    return grouped(value)



# A budget's figure (the spec's `budget` keys, `check --max-…`) -> the Totals attribute it bounds
BUDGETED = {"params": "params", "macs": "macs", "flops": "flops",
            "activation_memory": "activation_bytes", "param_memory": "param_bytes",
            "train_memory": "peak_bytes"}


def undecided_sizes(check: Check) -> list[str]:
    """The input's named sizes that keep `check` from being decided (`['H', 'W']`): those of
    the figure, or of the shape's entries expected as numbers (not the `W` of `[8, 32, W]`)."""
    pairs = (zip(check.expected, check.actual) if isinstance(check.actual, (list, tuple))
             else [(check.expected, check.actual)])
    return sorted({s.name for expected, actual in pairs if not isinstance(expected, str)
                   for s in getattr(actual, "free_symbols", ())})


def _number(value):
    """A figure as an int, or None where it depends on symbolic sizes."""
    if is_int(value):
        return value
    return int(value) if getattr(value, "is_Integer", False) else None   # a sympy Integer


def _equal(expected, actual) -> bool | None:
    """None where it can't be decided: a number expected of a figure that depends on the
    input's named sizes. A name expected (`shape: [64, H, W]`) is compared as written."""
    if isinstance(expected, (list, tuple)):
        if len(expected) != len(actual):
            return False
        verdicts = [_equal(e, a) for e, a in zip(expected, actual)]
        return False if False in verdicts else None if None in verdicts else True
    if isinstance(expected, str):
        return expected == actual or expected == plain(actual)
    number = _number(actual)
    return None if number is None else expected == number



def mark(check: Check) -> str:
    """✓ holds, ✗ fails, ? can't be decided (a figure of symbolic sizes)."""
    return {True: "✓", False: "✗", None: "?"}[check.ok]


def exit_status(checks: list[Check]) -> int:
    """0 every check holds, 1 one fails, 2 one can't be decided: bad input for it (2 wins)."""
    if any(c.ok is None for c in checks):
        return 2
    return 1 if any(c.ok is False for c in checks) else 0


def describe_failure(check: Check, extra_budget: dict | None = None) -> str:
    """A check that fails or can't be decided, in words (`extra_budget`: bounds from options)."""
    actual = figure_text(check.actual, check.figure)
    expected = figure_text(check.expected, check.figure)
    figure = check.figure.replace("_", " ")
    source = (f" (--max-{check.figure.replace('_', '-')})" if check.figure in (extra_budget or {})
              else "")
    what = f"budget{source}" if check.bound else "expect"
    if check.ok is None:
        sizes = undecided_sizes(check)
        return (f"{what}: {check.where} {figure} is {actual}, which depends on the input's "
                f"size{'s' * (len(sizes) != 1)} {', '.join(sizes)}: it can't be checked "
                f"against {'≤ ' if check.bound else ''}{expected}")
    if check.bound:
        return f"{what}: {check.where} {figure} is {actual}, over the bound {expected}"
    return f"{what}: {check.where} {figure} is {actual}, but the spec expects {expected}"


def undecided_hint(name: str, spec, from_option: bool = False) -> str:
    """What to do about a check that can't be decided, for the spec `name` (file) whose sizes
    are names in `spec.input` (or, `from_option`, in the `--input` given)."""
    from cnncalc.override import as_written, example

    inputs = ("`cnncalc inputs -` (the spec on standard input)" if name in ("-", "<stdin>")
              else f"`cnncalc inputs {name}`")
    give = (f"give --input as numbers (e.g. `--input {example(spec, names=False)}`)" if from_option
            else f"write the input's sizes as numbers in the spec (its `input` is "
                 f"{as_written(spec.input)})")
    return f"hint: {give} to check this; {inputs} lists the sizes the network accepts"


def report_failed(checks: list[Check], file: str) -> None:
    """On standard error, each check that fails: for an output that has no place for them
    (`--format csv`), so that exit status 1 comes with its reason."""
    import sys

    for check in (c for c in checks if c.ok is False):
        where = f"{file}:{check.pos.line}:{check.pos.col}" if check.pos else file
        print(f"{where}: error: {describe_failure(check)}", file=sys.stderr)


def report_undecided(checks: list[Check], file: str, spec, from_option: bool = False) -> None:
    """On standard error, each check that can't be decided, as an error (exit status 2)."""
    import sys

    for check in (c for c in checks if c.ok is None):
        where = f"{file}:{check.pos.line}:{check.pos.col}" if check.pos else file
        print(f"{where}: error: {describe_failure(check)}\n  "
              f"{undecided_hint(file, spec, from_option)}", file=sys.stderr)


def run_checks(analysis: Analysis, options: Options, raw=None,
               extra_budget: dict | None = None, expectations: bool = True) -> list[Check]:
    """Every expectation (layers and network) and every budget, in file order. `raw` is the
    loaded top-level mapping (for positions); `extra_budget` adds bounds given on the command
    line ({"params": 5_000_000, ...}). `expectations=False` leaves out the `expect`s: they
    describe the spec's own input, not one given instead on the command line."""
    layout = analysis.spec.layout
    checks: list[Check] = []
    for row in analysis.rows:
        expect = row.node.expect
        if expect is None or not expectations:
            continue
        where = f"layer {row.node.path} ({row.node.kind})"
        pos = row.node.pos
        figures = {"shape": list(in_layout(row.output_shape, layout)), "params": row.params,
                   "macs": row.macs, "flops": flops(row.macs)}
        for figure in ("shape", "params", "macs", "flops"):
            expected = getattr(expect, figure)
            if expected is not None:
                checks.append(Check(where, figure, expected, figures[figure],
                                    _equal(expected, figures[figure]), pos))
    spec = analysis.spec
    totals = Totals.of(analysis, options)
    if spec.expect is not None and expectations:
        for figure in ("output", "outputs", "params", "macs", "flops"):
            expected = getattr(spec.expect, figure)
            if expected is not None:
                actual = (list(in_layout(analysis.output_shape, layout)) if figure == "output"
                          else [list(in_layout(shape, layout)) for _, shape, _ in analysis.outputs]
                          if figure == "outputs" else getattr(totals, figure))
                checks.append(Check("network", figure, expected, actual, _equal(expected, actual),
                                    _top_pos(raw, "expect", figure)))
    bounds = dict(spec.budget.model_dump(exclude_none=True)) if spec.budget is not None else {}
    bounds.update(extra_budget or {})
    for figure, bound in bounds.items():
        actual = (train_peak(analysis, options) if figure == "train_memory"
                  else getattr(totals, BUDGETED[figure]))
        number = _number(actual)
        ok = None if number is None else number <= bound
        # A bound from the command line has no place in the file.
        pos = None if figure in (extra_budget or {}) else _top_pos(raw, "budget", figure)
        checks.append(Check("network", figure, bound, actual, ok, pos, bound=True))
    return checks


def train_peak(analysis: Analysis, options: Options):
    """The peak of a training step (cnncalc.train), or the analysis' symbolic input size
    (a figure that can't be compared: the check is undecided, as for any symbolic figure)."""
    if analysis.symbolic:
        return next(d for d in analysis.input_shape if not is_int(d))
    from cnncalc.train import TrainOptions, train_figures

    return train_figures(analysis, TrainOptions(options.batch, options.dtype,
                                                options.optimizer)).peak_bytes


def _top_pos(raw, section: str, figure: str) -> Pos | None:
    """Where `section.figure` (`budget.params`) is written, else where `section` is."""
    if raw is None or section not in raw:
        return None
    part = raw[section]
    return part.at(figure) if hasattr(part, "at") and figure in part else raw.at(section)
