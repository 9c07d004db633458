"""`expect` and `budget`: what a spec says its network must have, compared with the analysis."""

from __future__ import annotations

from dataclasses import dataclass

from cnncalc.analyze import Analysis, in_layout
from cnncalc.dims import is_int
from cnncalc.errors import Pos
from cnncalc.report import Options, activation_bytes
from cnncalc.units import grouped, human_bytes


@dataclass(frozen=True, slots=True)
class Check:
    where: str            # a layer's path and kind, or "network"
    figure: str           # shape, params, macs, flops, activation_memory, ...
    expected: object      # what the spec says (for budgets: the bound)
    actual: object
    ok: bool
    pos: Pos | None
    bound: bool = False   # a budget (actual ≤ expected) rather than an expectation (==)

    def describe(self) -> str:
        relation = "≤" if self.bound else "="
        verdict = "ok" if self.ok else "FAILED"
        return (f"{self.where}: {self.figure} {show(self.actual, self.figure)} "
                f"(expected {relation} {show(self.expected, self.figure)}): {verdict}")


def show(value, figure: str) -> str:
    if isinstance(value, (list, tuple)):
        return "×".join(str(v) for v in value)
    if figure.endswith("memory") and is_int(value):
        return f"{human_bytes(value)} ({grouped(value)} bytes)"
    return grouped(value)


def _equal(expected, actual) -> bool:
    if isinstance(expected, (list, tuple)):
        return len(expected) == len(actual) and all(_equal(e, a) for e, a in zip(expected, actual))
    if is_int(actual) or isinstance(expected, str):
        return expected == actual or str(expected) == str(actual)
    return bool(actual == expected)


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
        actual = {"shape": list(in_layout(row.output_shape, layout)), "params": row.params,
                  "macs": row.macs, "flops": 2 * row.macs}
        for figure in ("shape", "params", "macs", "flops"):
            expected = getattr(expect, figure)
            if expected is not None:
                checks.append(Check(where, figure, expected, actual[figure],
                                    _equal(expected, actual[figure]), pos))
    spec = analysis.spec
    totals = {
        "output": list(in_layout(analysis.output_shape, layout)),
        "params": analysis.total("params"),
        "macs": analysis.total("macs"),
        "flops": 2 * analysis.total("macs"),
        "activation_memory": activation_bytes(analysis.total("activations"), options),
        "param_memory": analysis.total("params") * options.bytes_per_element,
    }
    if spec.expect is not None and expectations:
        for figure in ("output", "params", "macs", "flops"):
            expected = getattr(spec.expect, figure)
            if expected is not None:
                checks.append(Check("network", figure, expected, totals[figure],
                                    _equal(expected, totals[figure]),
                                    _top_pos(raw, "expect", figure)))
    bounds = dict(spec.budget.model_dump(exclude_none=True)) if spec.budget is not None else {}
    bounds.update(extra_budget or {})
    for figure, bound in bounds.items():
        actual = totals[figure]
        ok = bool(actual <= bound) if is_int(actual) else False
        # A bound from the command line has no place in the file.
        pos = None if figure in (extra_budget or {}) else _top_pos(raw, "budget", figure)
        checks.append(Check("network", figure, bound, actual, ok, pos, bound=True))
    return checks


def _top_pos(raw, section: str, figure: str) -> Pos | None:
    """Where `section.figure` (`budget.params`) is written, else where `section` is."""
    if raw is None or section not in raw:
        return None
    part = raw[section]
    return part.at(figure) if hasattr(part, "at") and figure in part else raw.at(section)
