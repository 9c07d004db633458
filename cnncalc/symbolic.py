"""Symbolic input sizes (`input: [3, H, W]`): dimensions become sympy expressions, and the
conditions a size must meet become `Constraint`s instead of errors.

Only imported when the input has a symbol (dims.py, kinds.py and analyze.py import it lazily),
so the numeric path never loads sympy. Symbols are positive integers.

Shapes of strict layers are exact quotients (`(H - 1)/2` for a 3-wide stride-2 filter) with a
divisibility constraint; floor layers are `floor(...)`, and a floor of a floor is folded into
one (floor((floor(u) + c)/s) = floor((u + c)/s) for an integer c and a positive integer s), so
ResNet's sizes stay `floor((H - 1)/32) + 1` rather than five nested floors. Every condition is
kept as a small tree (`Cond`) that `cnncalc.inputs` evaluates with integers, never sympy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cnncalc.errors import SpecError

try:
    import sympy
    from sympy.printing.str import StrPrinter
except ImportError:  # the `symbolic` extra
    raise SpecError("symbolic sizes need sympy: python3 -m pip install 'cnncalc[symbolic]'") from None

_SYMBOLS: dict[str, sympy.Symbol] = {}


def symbol(name: str) -> sympy.Symbol:
    if name not in _SYMBOLS:
        _SYMBOLS[name] = sympy.Symbol(name, integer=True, positive=True)
    return _SYMBOLS[name]


def to_symbols(dims) -> list:
    """Channels-first dims with names (`[3, 'H', 'W']`) -> ints and positive-integer symbols."""
    if len(dims) < 2 or isinstance(dims[0], str):
        raise SpecError(f"`input` {list(dims)}: only spatial sizes can be names; the number of "
                        "channels (the first entry, channels first) must be a whole number",
                        hints=["write e.g. `input: [3, H, W]`"])
    return [symbol(d) if isinstance(d, str) else d for d in dims]


def as_dim(value):
    """A sympy result that is a plain number becomes an int again (the numeric path's type)."""
    if isinstance(value, sympy.Basic) and value.is_Integer:
        return int(value)
    return value


# ---------------------------------------------------------------------------------------------
# Printing: `floor((H - 1)/2) + 1` rather than sympy's `floor(H/2 - 1/2) + 1`

class _Printer(StrPrinter):
    # A report repeats a few floors many times: each is printed once.
    def _print_floor(self, expr):
        return _rounded("floor", expr.args[0])

    def _print_ceiling(self, expr):
        return _rounded("ceiling", expr.args[0])


@lru_cache(maxsize=4096)
def _rounded(name: str, arg) -> str:
    return f"{name}({_PRINTER.doprint(_tidy(arg))})"


_PRINTER = _Printer()


@lru_cache(maxsize=4096)
def show(value) -> str:
    """A dimension or figure as text: `224`, `floor((H - 1)/2) + 1`, `(H + 1)/2`,
    `64*(floor((H - 1)/4) + 1)` (common numeric factors pulled out; sympy's own form would
    be `64*floor(H/4 - 1/4) + 64`)."""
    if isinstance(value, int):
        return str(value)
    return _PRINTER.doprint(_tidy(value) if isinstance(value, sympy.Basic) else value)


def _tidy(expr):
    """The same value with each sum's numeric content pulled out, left unevaluated for printing
    (sympy's factor_terms does this too, but takes most of a ResNet report's time)."""
    if expr.is_Add:
        content, rest = expr.primitive()
        # like terms again (64*(x + 1)*y and (64*x + 64)*y are one term once tidied)
        collected: dict = {}
        for term in map(_tidy, rest.args):
            coeff, factors = sympy.Integer(1), [term]
            if term.is_Number:
                coeff, factors = term, []
            elif term.is_Mul:
                factors = list(term.args)
                if factors[0].is_Number:
                    coeff = factors.pop(0)
            key = tuple(sorted(factors, key=sympy.default_sort_key))
            collected[key] = collected.get(key, 0) + coeff
        collected = {k: c for k, c in collected.items() if c != 0}
        if not collected:
            return sympy.Integer(0)
        # collecting may leave a common factor again
        common = sympy.Rational(math.gcd(*(int(c.p) for c in collected.values())),
                                math.lcm(*(int(c.q) for c in collected.values())))
        content *= common
        terms = [sympy.Mul(*([c / common] if c != common else []), *key, evaluate=False)
                 if key else c / common for key, c in collected.items()]
        terms = terms[0] if len(terms) == 1 else sympy.Add(*terms, evaluate=False)
        return terms if content == 1 else sympy.Mul(content, terms, evaluate=False)
    if expr.is_Mul:
        coeff, factors = sympy.Integer(1), []
        for factor in expr.args:
            if factor.is_Number:
                coeff *= factor
                continue
            factor = _tidy(factor)
            if factor.is_Mul and factor.args[0].is_Number:   # a sum with its content out
                coeff *= factor.args[0]
                factor = sympy.Mul(*factor.args[1:], evaluate=False)
            factors.append(factor)
        return sympy.Mul(*([coeff] if coeff != 1 else []), *factors, evaluate=False)
    return expr


# ---------------------------------------------------------------------------------------------
# Bounded work: sympy's cost grows with an expression's size (every layer that can't fold its
# rounding into the one before nests another floor: an upsample by 3.3 after a stride-3 conv;
# a ceil_mode window whose last start may lie beyond the input doubles the size), so the rules
# below refuse a size past MAX_OPERATIONS where they create it (the zoo's largest is 30, ZFNet's;
# at the limit a spec that keeps growing is refused within about a second).

MAX_OPERATIONS = 100
_SIZES: dict = {}    # expression -> its size as a tree, each distinct subexpression sized once


def operations(expr) -> int:
    """The size of an expression as a tree (operations and atoms; a shared subexpression counts
    each time it appears, as printing and sympy's rewriting walk it): cheap, since each distinct
    subexpression is sized once."""
    if not isinstance(expr, sympy.Basic) or not expr.args:
        return 1
    size = _SIZES.get(expr)
    if size is None:
        if len(_SIZES) > 100_000:     # a long-lived process (tests) analyses many networks
            _SIZES.clear()
        size = _SIZES[expr] = 1 + sum(map(operations, expr.args))
    return size


def bounded(expr):
    """The expression, unless it is too large to work with (a SpecError at the layer)."""
    size = operations(expr)
    if size > MAX_OPERATIONS:
        raise SpecError(f"the symbolic sizes grow too complex here ({size:,} operations, more "
                        f"than cnncalc's limit of {MAX_OPERATIONS:,}); give the sizes as numbers",
                        hints=["give the input sizes as numbers: `input: [3, 224, 224]`, or "
                               "`cnncalc summary SPEC --input 3x224x224`"])
    return expr


# A size divided by more than this can't be a whole number (strict), or take more than two
# values (floor), for any input PyTorch can hold (sizes are int64), and sympy's work on each
# such layer is large: past it, the sizes must be numbers.
MAX_DIVISOR = 2 ** 63


def within_divisor(expr):
    """The expression, unless a size in it is divided by more than MAX_DIVISOR (a SpecError
    at the layer)."""
    for coeff in expr.as_coefficients_dict().values():
        if coeff.is_Rational and coeff.q > MAX_DIVISOR:
            raise SpecError(
                f"the symbolic sizes here are divided by {coeff.q:,}: more than 2^63, the "
                "largest size PyTorch can hold, so cnncalc stops working symbolically", hints=[
                    "give the input sizes as numbers: `input: [3, 224, 224]`, or "
                    "`cnncalc summary SPEC --input 3x224x224`"])
    return expr


# ---------------------------------------------------------------------------------------------
# Conditions and constraints

@dataclass(frozen=True, slots=True)
class Cond:
    """A condition on the input sizes: `op` is `ge` (expr ≥ 0), `eq` (expr = 0), `int` (expr is
    a whole number), `and` or `or` (of `parts`)."""

    op: str
    expr: Any = None
    parts: tuple = ()

    def symbols(self) -> set:
        if self.parts:
            return set().union(*(p.symbols() for p in self.parts))
        return {s.name for s in self.expr.free_symbols}


@dataclass(slots=True)
class Constraint:
    """What an accepted size must satisfy, in plain words (`text`), where (`where`, set by the
    analysis to the layer) and as a `Cond` for the solver. `kind` is `at_least`, `divisible`,
    `equal` or `either`; an `assumption` is no condition on sizes but says where the figures
    don't apply (`shortcut: auto` may be an identity at some sizes)."""

    kind: str
    text: str
    cond: Cond
    where: str | None = None

    def as_dict(self) -> dict:
        return {"where": self.where, "kind": self.kind, "text": self.text}

    def describe(self) -> str:
        return f"{self.where}: {self.text}" if self.where else self.text


def _record(constraints, constraint: Constraint) -> None:
    if constraints is None:
        raise SpecError(f"this layer needs {constraint.text} for a symbolic size, and can't "
                        "record it here", hints=["use numbers for the input sizes"])
    constraints.append(constraint)


def _split_constant(expr):
    """expr = rest + c with c a number: (rest, c)."""
    c, rest = expr.as_coeff_Add()
    return rest, c


def require_at_least(constraints, expr, bound: int, why: str) -> None:
    """Record `expr ≥ bound` unless sympy proves it for every positive size."""
    bounded(expr)     # before sympy's proof, whose cost grows with the expression
    diff = sympy.expand(expr - bound) if not expr.has(sympy.floor, sympy.ceiling) else expr - bound
    if diff.is_nonnegative:
        return
    if diff.is_number:     # a plain number below the bound: the numeric path's error
        raise SpecError(f"{why}: {show(expr)} must be at least {bound}")
    rest, c = _split_constant(diff)
    # `H ≥ 7` where the size is a plain symbol (plus a constant), else `floor(...) + 1 ≥ 3`
    text = f"{rest} ≥ {-c}" if rest.is_Symbol else f"{show(expr)} ≥ {bound}"
    _record(constraints, Constraint("at_least", f"{text} ({why})", Cond("ge", diff)))


def require_divisible(constraints, expr, divisor: int, why: str) -> None:
    """Record `divisor | expr` unless it always holds."""
    quotient = within_divisor(expr / divisor)
    if divisor == 1 or quotient.is_integer:    # 1: whole whenever the layers before are
        return
    _record(constraints, Constraint("divisible", f"{show(expr)} is a multiple of {divisor} ({why})",
                                    Cond("int", quotient)))


def floor_div(expr, divisor: int):
    """floor(expr / divisor), folding a floor inside: floor((floor(u) + c)/s) = floor((u + c)/s)."""
    rest, c = _split_constant(expr)
    if isinstance(rest, sympy.floor) and c.is_integer:
        return bounded(sympy.floor(within_divisor((rest.args[0] + c) / divisor)))
    return bounded(sympy.floor(within_divisor(bounded(expr) / divisor)))


def ceil_div(expr, divisor: int):
    """ceil(expr / divisor), folding a ceiling inside, as floor_div does."""
    rest, c = _split_constant(expr)
    if isinstance(rest, sympy.ceiling) and c.is_integer:
        return bounded(sympy.ceiling(within_divisor((rest.args[0] + c) / divisor)))
    return bounded(sympy.ceiling(within_divisor(bounded(expr) / divisor)))


# ---------------------------------------------------------------------------------------------
# The operations of dims.Fit (the rule context) and the analysis, for symbolic sizes

def floor_scale(size, scale: float):
    """floor(size × scale) (upsample) for a symbolic size."""
    return bounded(sympy.floor(bounded(size) * sympy.nsimplify(scale)))


def ceil_ratio(a, b):
    """ceil(a / b) of two dimensions: an int where it is one number for every size."""
    return as_dim(bounded(sympy.ceiling(sympy.sympify(a) / sympy.sympify(b))))


def compare(a, b):
    """True when a = b for every size, False when never (a nonzero constant apart), else None."""
    diff = a - b
    if diff == 0:
        return True
    if diff.is_number:
        return False
    return None


def dims_equal(a, b, constraints=None, what: str = "") -> bool:
    """Whether two dimensions agree. Equal for every size: True. A constant apart: False (the
    numeric error at every size). Otherwise they agree at some sizes only: with `constraints`,
    record the equality as a constraint and go on (True); without, False (not provably equal)."""
    a, b = sympy.sympify(a), sympy.sympify(b)
    same = compare(a, b)
    if same is not None:
        return same
    if constraints is None:
        return False
    constraints.append(Constraint("equal", f"{show(a)} = {show(b)}{' (' + what + ')' if what else ''}",
                                  Cond("eq", a - b)))
    return True


def broadcast_dims(a, b, constraints, what: str, error):
    """dims.broadcast_dim with a symbol on one side at least: equal for every size gives that
    size; otherwise "a = b, or one of them is 1" is recorded and the size is max(a, b)."""
    a, b = sympy.sympify(a), sympy.sympify(b)
    if compare(a, b):
        return as_dim(a)
    if constraints is None:
        raise error()
    constraints.append(Constraint(
        "either", f"{show(a)} = {show(b)}, or one of them is 1 ({what})",
        Cond("or", parts=(Cond("eq", a - b), Cond("eq", a - 1), Cond("eq", b - 1)))))
    return as_dim(bounded(sympy.Max(a, b)))


def maybe_equal_shapes(a, b) -> bool:
    """Whether two shapes that are not equal for every size may be equal at some sizes."""
    if len(a) != len(b):
        return False
    verdicts = [compare(sympy.sympify(x), sympy.sympify(y)) for x, y in zip(a, b)]
    return False not in verdicts and None in verdicts


def auto_identity_case(constraints, mark: int, main_out, shape, label: str) -> None:
    """`shortcut: auto` became a projection because the layers don't keep the size for every
    size; at the sizes where they do, PyTorch-like per-size analysis takes the identity. The
    add's conditions recorded since `mark` then read "the layers keep the size, or ...", and an
    assumption records that the figures (with the projection) don't apply there."""
    keeps = Cond("and", parts=tuple(Cond("eq", sympy.sympify(x) - sympy.sympify(y))
                                    for x, y in zip(main_out, shape)
                                    if compare(sympy.sympify(x), sympy.sympify(y)) is None))
    keeps_text = " and ".join(f"{show(x)} = {show(y)}" for x, y in zip(main_out, shape)
                              if compare(sympy.sympify(x), sympy.sympify(y)) is None)
    added = constraints[mark:]
    del constraints[mark:]
    if added:
        cond = Cond("or", parts=(keeps, Cond("and", parts=tuple(c.cond for c in added))))
        text = (f"{keeps_text} (then `shortcut: auto` is an identity), or "
                + " and ".join(c.text for c in added))
        constraints.append(Constraint("either", text, cond))
    constraints.append(Constraint(
        "assumption", f"these figures use a projection shortcut in {label}; where {keeps_text}, "
        "`shortcut: auto` is an identity instead (no projection parameters)", keeps))
