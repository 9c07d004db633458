"""Which input sizes a network accepts, exactly, per spatial symbol.

The symbolic analysis turns every condition a size must meet into a `Cond` over expressions
built from the size x with +, rational constants, floor, ceil and min/max. Each such
expression e is quasi-affine: there is a period P (from the denominators: the strides and
scale denominators on its path) and a slope α with

    e(x + P) = e(x) + α·P    for every x.

So along each residue class x = r + k·P, e is linear in k, and each condition is a simple set of
k: `e ≥ 0` is k ≥ k0 (or all, none), `e = 0` one k (or all, none), `e whole` all or none. The
accepted sizes are, per residue r mod P, a union of intervals of k, found by evaluating each
condition at x = r and x = r + P with exact integer/rational arithmetic (no sympy here). Then the
smallest period that fits and each class's first size give the closed form:

    H = 32·k, k ≥ 1        H ≥ 1        H ≡ 1 (mod 3), H ≥ 7

The answer equals trying every size with the numeric analysis (tests/test_inputs.py proves it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from cnncalc.errors import SpecError

MAX_PERIOD = 1 << 16           # sizes repeating only beyond this are refused
MAX_WORK = 4_000_000           # residues × conditions evaluated
MAX_UPTO = 10_000              # --upto lists every accepted size: what a terminal can show
MAX_EXCEPTIONS = 200           # beyond this, each residue mod the full period keeps its own start

Intervals = list  # [(lo, hi)], sorted, disjoint; hi None: unbounded


class _NotSolvable(Exception):
    """A condition outside the quasi-affine family (a product of sizes, say)."""


# ---------------------------------------------------------------------------------------------
# Expressions: integer evaluation, and slope and period

def _compile(expr, name: str):
    """A sympy expression in one symbol -> a function of an int, exact (ints and Fractions)."""
    import sympy

    if expr.is_Integer:
        whole = int(expr)
        return lambda x: whole
    if expr.is_Rational:
        value = Fraction(int(expr.p), int(expr.q))
        return lambda x: value
    if expr.is_Symbol:
        if expr.name != name:
            raise _NotSolvable(f"{expr} appears with {name}")
        return lambda x: x
    parts = [_compile(arg, name) for arg in expr.args]
    if expr.is_Add:
        return lambda x: sum(f(x) for f in parts)
    if expr.is_Mul:
        return lambda x: math.prod(f(x) for f in parts)
    if isinstance(expr, sympy.floor):
        (f,) = parts
        return lambda x: math.floor(f(x))
    if isinstance(expr, sympy.ceiling):
        (f,) = parts
        return lambda x: math.ceil(f(x))
    if isinstance(expr, sympy.Min):
        return lambda x: min(f(x) for f in parts)
    if isinstance(expr, sympy.Max):
        return lambda x: max(f(x) for f in parts)
    if expr.is_Pow and expr.exp.is_Integer and expr.exp >= 0:
        base, n = parts[0], int(expr.exp)
        return lambda x: base(x) ** n
    raise _NotSolvable(f"{expr} isn't an expression cnncalc can solve")


def _slope_period(expr) -> tuple[Fraction, int]:
    """(α, P) with expr(x + P) = expr(x) + α·P for every x."""
    import sympy

    if expr.is_Rational:
        return Fraction(0), 1
    if expr.is_Symbol:
        return Fraction(1), 1
    if expr.is_Add:
        parts = [_slope_period(arg) for arg in expr.args]
        return sum((a for a, _ in parts), Fraction(0)), math.lcm(*(p for _, p in parts))
    if expr.is_Mul:
        coeff, rest = expr.as_coeff_Mul()
        if rest.is_Mul:
            raise _NotSolvable(f"{expr} is a product of sizes")
        slope, period = _slope_period(rest)
        return slope * Fraction(int(coeff.p), int(coeff.q)), period
    if isinstance(expr, (sympy.floor, sympy.ceiling)):
        return _whole_period(expr.args[0])
    if isinstance(expr, (sympy.Min, sympy.Max)):
        parts = [_slope_period(arg) for arg in expr.args]
        if len({a for a, _ in parts}) != 1:
            raise _NotSolvable(f"{expr}: a min/max of sizes growing at different rates")
        return parts[0][0], math.lcm(*(p for _, p in parts))
    raise _NotSolvable(f"{expr} isn't an expression cnncalc can solve")


def _whole_period(expr) -> tuple[Fraction, int]:
    """(α, P) as _slope_period, with α·P whole: floor/ceil/wholeness then repeat with P too."""
    slope, period = _slope_period(expr)
    return slope, period * (slope * period).denominator


# ---------------------------------------------------------------------------------------------
# Conditions -> per-residue sets of k (x = r + k·P)

def _intersect(a: Intervals, b: Intervals) -> Intervals:
    out = []
    for lo1, hi1 in a:
        for lo2, hi2 in b:
            lo = max(lo1, lo2)
            hi = hi1 if hi2 is None else hi2 if hi1 is None else min(hi1, hi2)
            if hi is None or lo <= hi:
                out.append((lo, hi))
    return _normal(out)


def _union(a: Intervals, b: Intervals) -> Intervals:
    return _normal(a + b)


def _normal(intervals: Intervals) -> Intervals:
    out: Intervals = []
    for lo, hi in sorted(intervals, key=lambda i: i[0]):
        if out and (out[-1][1] is None or lo <= out[-1][1] + 1):
            last_lo, last_hi = out[-1]
            out[-1] = (last_lo, None if last_hi is None or hi is None else max(last_hi, hi))
        else:
            out.append((lo, hi))
    return out


ALL: Intervals = [(0, None)]


@dataclass
class _Leaf:
    op: str
    f: Callable[[int], Any]        # the compiled expression
    period: int


class _Solver:
    """The accepted sizes of one symbol, from the conditions that mention it alone."""

    def __init__(self, name: str, conds: list):
        self.name = name
        self.trees = [self._prepare(c) for c in conds]
        self.period = math.lcm(1, *(self._period(t) for t in self.trees))

    def _prepare(self, cond):
        if cond.op in ("and", "or"):
            return (cond.op, [self._prepare(p) for p in cond.parts])
        if cond.op == "int":
            _, period = _whole_period(cond.expr)
        else:
            _, period = _slope_period(cond.expr)
        return _Leaf(cond.op, _compile(cond.expr, self.name), period)

    def _period(self, tree) -> int:
        if isinstance(tree, _Leaf):
            return tree.period
        return math.lcm(1, *(self._period(t) for t in tree[1]))

    def count(self, tree=None) -> int:
        if tree is None:
            return sum(self.count(t) for t in self.trees)
        return 1 if isinstance(tree, _Leaf) else sum(self.count(t) for t in tree[1])

    def residue(self, r: int) -> Intervals:
        """The k ≥ 0 with r + k·P accepted."""
        result = ALL
        for tree in self.trees:
            result = _intersect(result, self._eval(tree, r))
            if not result:
                break
        return result

    def weigh(self) -> tuple[list[Intervals], list[bool]]:
        """What `residue` gives for every residue, and per condition whether the others
        already accept exactly the same sizes. Going from the last, each is tested against all
        before it and those kept after it, so of two that say the same the first layer's is
        kept, and what is kept accepts exactly what all accept."""
        P = self.period
        sets = [[self._eval(tree, r) for r in range(1, P + 1)] for tree in self.trees]
        before = [[ALL] * P]            # before[i]: per residue, what conditions 0..i-1 accept
        for own in sets:
            before.append([_intersect(a, b) for a, b in zip(before[-1], own)])
        everything, kept_after, implied = before[-1], [ALL] * P, [False] * len(sets)
        for i in reversed(range(len(sets))):
            if [_intersect(a, b) for a, b in zip(before[i], kept_after)] == everything:
                implied[i] = True
            else:
                kept_after = [_intersect(a, b) for a, b in zip(kept_after, sets[i])]
        return everything, implied

    def _eval(self, tree, r: int) -> Intervals:
        if not isinstance(tree, _Leaf):
            op, parts = tree
            if op == "and":
                result = ALL
                for part in parts:
                    result = _intersect(result, self._eval(part, r))
                return result
            result = []
            for part in parts:
                result = _union(result, self._eval(part, r))
            return result
        v0 = tree.f(r)
        step = tree.f(r + self.period) - v0     # the value moves by `step` per period
        if tree.op == "int":
            return ALL if Fraction(v0).denominator == 1 else []
        if tree.op == "eq":
            if step == 0:
                return ALL if v0 == 0 else []
            k = Fraction(-v0) / step
            return [(int(k), int(k))] if k.denominator == 1 and k >= 0 else []
        # ge: v0 + k·step ≥ 0
        if step > 0:
            return [(max(0, math.ceil(Fraction(-v0) / step)), None)]
        if step == 0:
            return ALL if v0 >= 0 else []
        return [(0, math.floor(Fraction(v0) / -step))] if v0 >= 0 else []


# ---------------------------------------------------------------------------------------------
# The answer for one symbol

@dataclass
class Accepted:
    """The accepted sizes of one symbol: every x ≥ starts[c] with x ≡ c (mod period), for c in
    residues, and the sizes in exceptions."""

    name: str
    period: int | None
    residues: list[int]
    starts: dict[int, int]
    exceptions: list[int]
    _member: Callable[[int], bool] = field(repr=False, default=lambda x: False)

    @property
    def minimum(self) -> int | None:
        candidates = [*self.starts.values(), *self.exceptions]
        return min(candidates) if candidates else None

    def __contains__(self, x: int) -> bool:
        return self._member(x)

    def values(self, upto: int) -> list[int]:
        """The accepted sizes from 1 to upto, from the closed form: time in the sizes listed,
        not in upto."""
        found = {x for x in self.exceptions if x <= upto}
        for c in self.residues:
            found.update(range(self.starts[c], upto + 1, self.step))
        return sorted(found)

    @property
    def _k(self) -> str:
        """The closed form's counter: k, or j for a size that is itself named k."""
        return "j" if self.name == "k" else "k"

    @property
    def step(self) -> int:
        """The period, where there are residues (None only where no size is accepted)."""
        assert self.period is not None or not self.residues
        return self.period or 1

    def _groups(self) -> list[tuple[list[int], int]]:
        """Residue classes that share a bound m (each starts at its first size ≥ m), as
        ([classes], m), smallest m first: H ≡ 0, 1, 31 (mod 32), H ≥ 63."""
        left, groups = sorted(self.residues, key=lambda c: self.starts[c]), []
        while left:
            m = self.starts[left[0]]
            group = [c for c in left if self.starts[c] == m + (c - m) % self.step]
            groups.append((sorted(group), m))
            left = [c for c in left if c not in group]
        return groups

    def text(self) -> str:
        """For people: `H = 32·k, k ≥ 1`, `H ≥ 1`, `H ≡ 3 (mod 4), H ≥ 7`."""
        n, parts = self.name, []
        for classes, t in self._groups():
            if self.step == 1:
                parts.append(f"{n} ≥ {t}")
            elif classes == [0]:
                parts.append(f"{n} = {self.step}·{self._k}, {self._k} ≥ {t // self.step}")
            else:
                # the bound only where some class's first positive size is below it
                bound = f", {n} ≥ {t}" if t > min(c or self.step for c in classes) else ""
                parts.append(f"{n} ≡ {', '.join(map(str, classes))} (mod {self.step}){bound}")
        if self.exceptions:
            listed = ", ".join(map(str, self.exceptions))
            parts.append(f"{n} = {listed}" if len(self.exceptions) == 1 else f"{n} ∈ {{{listed}}}")
        return "; or ".join(parts) if parts else f"no size of {n} is accepted"

    def formula(self) -> str:
        """For machines, as the JSON contract writes it: `32*k, k >= 1`, `H >= 1`,
        `3*k + 1, k >= 2`."""
        n, parts = self.name, []
        for classes, _ in self._groups():
            for c in classes:
                t = self.starts[c]
                if self.step == 1:
                    parts.append(f"{n} >= {t}")
                else:
                    k0 = (t - c) // self.step
                    parts.append(f"{self.step}*{self._k}{' + ' + str(c) if c else ''}, "
                                 f"{self._k} >= {k0}")
        if self.exceptions:
            parts.append(f"{n} in {{{', '.join(map(str, self.exceptions))}}}")
        return "; ".join(parts) if parts else "none"

    def as_dict(self, upto: int | None = None) -> dict:
        data = {"formula": self.formula(), "text": self.text(), "min": self.minimum,
                "period": self.period, "residues": self.residues,
                "starts": {str(c): t for c, t in self.starts.items()},
                "exceptions": self.exceptions}
        if upto is not None:
            data["values"] = self.values(upto)
        return data


def _none(name: str) -> Accepted:
    return Accepted(name, None, [], {}, [], lambda x: False)


def solve_symbol(name: str, conds: list) -> Accepted:
    solver = _solver(name, conds)
    return _accepted(name, solver.period, [solver.residue(r) for r in range(1, solver.period + 1)])


def _solver(name: str, conds: list) -> _Solver:
    """The solver of `conds`, or a SpecError for conditions it can't solve or work too large."""
    try:
        solver = _Solver(name, conds)
    except _NotSolvable as exc:
        raise SpecError(f"can't solve the sizes of {name}: {exc}",
                        hints=["cnncalc inputs solves conditions of the form "
                               "floor((a·x + b)/s) + c; try `cnncalc summary --input` with "
                               "numbers instead"]) from None
    P = solver.period
    work = P * max(1, solver.count())
    if P > MAX_PERIOD or work > MAX_WORK:
        raise SpecError(f"the accepted sizes of {name} repeat only every {P:,} sizes (the "
                        f"product of the strides and scale denominators along it): beyond "
                        f"cnncalc's limit of {MAX_PERIOD:,} (or {MAX_WORK:,} evaluations)",
                        hints=["try `cnncalc summary --input` with the sizes you need"])
    return solver


def _accepted(name: str, P: int, sets: list[Intervals]) -> Accepted:
    """The closed form of the sizes r + k·P with k in sets[r - 1], for r = 1 … P."""

    def member(x: int) -> bool:
        if x < 1:
            return False
        r = (x - 1) % P + 1
        k = (x - r) // P
        return any(lo <= k and (hi is None or k <= hi) for lo, hi in sets[r - 1])

    tails = {r: s[-1][0] for r, s in zip(range(1, P + 1), sets) if s and s[-1][1] is None}
    if not tails and not any(sets):
        return _none(name)
    for period in (d for d in range(1, P + 1) if P % d == 0):
        classes = {r % period for r in tails}
        if len(tails) == len(classes) * (P // period):
            answer = _closed_form(name, period, P, sets, tails, member)
            if len(answer.exceptions) <= MAX_EXCEPTIONS or period == P:
                return answer
    raise AssertionError("unreachable: the full period always fits")


def _closed_form(name, period, P, sets, tails, member) -> Accepted:
    starts = {}
    for c in sorted({r % period for r in tails}):
        t = max(r + k * P for r, k in tails.items() if r % period == c)
        while t - period >= 1 and member(t - period):
            t -= period
        starts[c] = t
    exceptions = []
    for r, intervals in zip(range(1, P + 1), sets):
        for lo, hi in intervals:
            k = lo
            while hi is None or k <= hi:
                x = r + k * P
                if r % period in starts and x >= starts[r % period]:
                    break
                exceptions.append(x)
                if len(exceptions) > MAX_EXCEPTIONS and period != P:
                    return Accepted(name, period, sorted(starts), starts, exceptions, member)
                k += 1
    residues = sorted(starts)
    return Accepted(name, period if residues else None, residues, starts, sorted(exceptions),
                    member)


# ---------------------------------------------------------------------------------------------
# The network

def symbolic_override(loaded) -> tuple[list, list[str]]:
    """The spec's input with every spatial size a name (its own, or H, W / L / D, H, W), in the
    spec's layout, and the names in order."""
    from cnncalc.analyze import in_layout, input_shape_of
    from cnncalc.dims import AXES

    spec = loaded.spec
    if len(spec.input) < 2:
        raise SpecError(f"`input` {list(spec.input)} has no spatial sizes: `cnncalc inputs` "
                        "needs [C, L], [C, H, W] or [C, D, H, W]", loaded.raw.at("input"),
                        file=loaded.file)
    try:
        # channels first, names as symbols; refuses a name for the channels as analysis does
        channels, *spatial = input_shape_of(spec)
    except SpecError as exc:
        exc.pos = exc.pos or loaded.raw.at("input")
        raise exc.located(loaded.file) from None
    names = [axis if isinstance(d, int) else str(d) for d, axis in zip(spatial, AXES[len(spatial)])]
    return list(in_layout([channels, *names], spec.layout)), list(dict.fromkeys(names))


def accepted_inputs(loaded) -> dict[str, Accepted]:
    """Every spatial symbol's accepted sizes. Sizes are independent: the network accepts an
    input exactly when each of its sizes is accepted (when no size of one symbol is, none of
    any symbol is)."""
    from cnncalc.analyze import MAX_SYMBOLIC_LAYERS
    from cnncalc.pipeline import analyze_loaded

    override, names = symbolic_override(loaded)
    try:
        return accepted_sizes(analyze_loaded(loaded, override), names)
    except SpecError as exc:
        if "symbolic sizes are analysed for at most" in exc.message:
            # the sizes may be numbers already: they are names here whatever the spec says
            exc.hints = [f"`cnncalc inputs` solves every size as a name, for networks of at "
                         f"most {MAX_SYMBOLIC_LAYERS:,} layers; `cnncalc summary SPEC --input "
                         "3x224x224` tries one size"]
        raise exc.located(loaded.file) from None


def accepted_sizes(analysis, names: list[str]) -> dict[str, Accepted]:
    """`accepted_inputs` for an analysis whose spatial sizes are the symbols `names`."""
    groups = _by_size(_conditions(analysis), names)
    solved = {name: solve_symbol(name, [c.cond for c in mine]) for name, mine in groups.items()}
    return _of_network(solved, names)


def _by_size(conditions: list, names: list[str]) -> dict[str, list]:
    """The conditions of each size; under "_" those left without a symbol (sympy couldn't fold
    them to a number: they hold or not)."""
    return {name: [c for c in conditions if c.cond.symbols() == ({name} if name != "_" else set())]
            for name in [*names, "_"]}


def _of_network(solved: dict[str, Accepted], names: list[str]) -> dict[str, Accepted]:
    """Each size's accepted sizes, or none for every size when one group accepts none."""
    if any(a.minimum is None for a in solved.values()):
        return {name: _none(name) for name in names}
    return {name: solved[name] for name in names}


def _conditions(analysis) -> list:
    """The analysis's conditions on sizes (not its assumptions); a SpecError for one that
    couples two sizes, which the solver treats each on its own."""
    conditions = [c for c in analysis.constraints if c.kind != "assumption"]
    for c in conditions:
        symbols = c.cond.symbols()
        if len(symbols) > 1:
            raise SpecError(f"{c.where} couples {' and '.join(sorted(symbols))}: {c.text}",
                            hints=["`cnncalc inputs` treats each size on its own; try "
                                   "`cnncalc summary --input` with numbers for the sizes you need"])
    return conditions


MAX_EXPLAINED = 20_000         # residues × conditions weighed for a summary's footer (~0.3 s at most)


def explain_constraints(analysis) -> tuple[dict[str, Accepted], list[bool]] | None:
    """For a symbolic summary: each spatial symbol's accepted sizes (as `accepted_inputs`), and
    per constraint of the analysis whether the others already imply it (an assumption never
    is). Where no size is accepted, one symbol's conditions that can't all hold are kept and
    the rest implied. None where that can't be worked out: sizes coupled, or more work than a
    footer is worth (MAX_EXPLAINED)."""
    names = list(dict.fromkeys(str(d) for d in analysis.input_shape[1:]
                               if getattr(d, "is_Symbol", False)))
    solved, flags = {}, {}      # per group of _by_size: its accepted sizes, its implied flags
    try:
        for name, mine in _by_size(_conditions(analysis), names).items():
            solver = _solver(name, [c.cond for c in mine])
            if solver.period * max(1, solver.count()) > MAX_EXPLAINED:
                return None
            sets, weighed = solver.weigh()
            solved[name] = _accepted(name, solver.period, sets)
            flags[name] = dict(zip(map(id, mine), weighed))
    except SpecError:
        return None
    unmet = next((name for name, a in solved.items() if a.minimum is None), None)
    # where a group accepts nothing, its conflict is the whole story: the rest is implied
    implied = (flags[unmet] if unmet is not None
               else {key: flag for group in flags.values() for key, flag in group.items()})
    return (_of_network(solved, names),
            [implied.get(id(c), c.kind != "assumption") for c in analysis.constraints])
