"""The one error type users see: what is wrong, where (file:line:col), and what would fit."""

from __future__ import annotations

import re
from dataclasses import dataclass

LONGEST_WORD = 100     # characters of one word in a message (a path, a quoted value)


@dataclass(frozen=True, slots=True)
class Pos:
    """A 1-based line and column in a spec file."""

    line: int
    col: int


class Setting(str):
    """A hint that changes one layer setting, kept as data as well as text.

    As text it is the spec file's wording; `command_line()` words the same change as the one-line
    commands' options (`cnncalc conv`/`pool` build their spec in memory), so neither wording is
    derived from the other. `key` is the spec key; `options` the values that would fit, each
    with the output size it gives (`stride 1 (→ 5) or 2 (→ 3) would fit`), or one value to write
    (`or write `rounding: floor` on the layer …`) when `gives` is empty; `scope` where a spec
    writes it; `purpose` what it does; `context` what the fit assumes (" with stride 3")."""

    __slots__ = ("key", "options", "gives", "scope", "purpose", "context")
    key: str
    options: tuple
    gives: tuple
    scope: str
    purpose: str
    context: str

    def __new__(cls, key: str, options: tuple, gives: tuple = (), *, scope: str = "the layer",
                purpose: str = "", context: str = ""):
        self = super().__new__(cls, _setting_text(key, options, gives, scope, purpose, context,
                                                  command_line=False))
        self.key, self.options, self.gives = key, tuple(options), tuple(gives)
        self.scope, self.purpose, self.context = scope, purpose, context
        return self

    def command_line(self) -> str:
        """The hint as `cnncalc conv`/`pool` say it: `pass `--rounding floor``."""
        return _setting_text(self.key, self.options, self.gives, self.scope, self.purpose,
                             self.context, command_line=True)

    def __reduce__(self):
        return (_setting, (self.key, self.options, self.gives, self.scope, self.purpose,
                           self.context))


def _setting(key, options, gives, scope, purpose, context) -> Setting:
    return Setting(key, options, gives, scope=scope, purpose=purpose, context=context)


def _setting_text(key, options, gives, scope, purpose, context, *, command_line: bool) -> str:
    tail = f" {purpose}" if purpose else ""
    if gives:   # values that fit: the lecture's words, the same in a spec and on the command line
        fits = " or ".join(f"{v} (→ {g})" for v, g in zip(options, gives))
        return f"{key} {fits} would fit{context}{tail}"
    (value,) = options
    if command_line:
        flag = f"--{key.replace('_', '-')}"
        return f"or pass `{flag if value is True else f'{flag} {value}'}`{context}{tail}"
    written = "true" if value is True else "false" if value is False else value
    return f"or write `{key}: {written}` on {scope}{context}{tail}"


class SpecError(Exception):
    """A problem with a spec, in the user's terms.

    `pos` is where the entry at fault starts; `hints` are suggestions ("padding 1 would fit");
    `notes` add context such as the block use that led there.
    """

    def __init__(self, message: str, pos: Pos | None = None, hints: list[str] | None = None,
                 notes: list[str] | None = None, file: str | None = None):
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.hints = list(hints or [])
        self.notes = list(notes or [])
        self.file = file

    def located(self, file: str) -> SpecError:
        if self.file is None:
            self.file = file
        return self

    def where(self) -> str:
        file = self.file or "<spec>"
        return f"{file}:{self.pos.line}:{self.pos.col}" if self.pos else file

    def format(self) -> str:
        lines = [f"{self.where()}: error: {self.message}"]
        notes = self.notes
        if len(notes) > 8:     # blocks inside blocks: the innermost and outermost uses
            notes = [*notes[:3], f"… {len(notes) - 6} more", *notes[-3:]]
        lines += [f"  note: {n}" for n in notes]
        lines += [f"  hint: {h}" for h in self.hints]
        return printable(shortened("\n".join(lines)), keep="\n")

    def __str__(self) -> str:
        return self.format()


class SpecErrors(SpecError):
    """Several independent errors found at once (each with its own position), in file order.
    As a SpecError it is the first one (message, pos, hints, notes), so code that shows one
    error still works; `format()` shows them all, and `errors` lists them."""

    def __init__(self, errors: list[SpecError], more: int = 0):
        first = errors[0]
        super().__init__(first.message, first.pos, first.hints, first.notes, first.file)
        self.errors = list(errors)
        self.more = more        # errors found beyond the ones kept

    def located(self, file: str) -> SpecErrors:
        super().located(file)
        for error in self.errors:
            error.located(file)
        return self

    def format(self) -> str:
        text = "\n".join(error.format() for error in self.errors)
        if self.more:
            text += f"\n{self.file or '<spec>'}: … and {self.more} more error{'s' if self.more != 1 else ''}"
        return text


def every_error(error: SpecError) -> list[SpecError]:
    """The errors a SpecError stands for: itself, or each of a SpecErrors."""
    return list(getattr(error, "errors", [error]))


_LONG_WORD = re.compile(rf"\S{{{LONGEST_WORD + 1},}}")


def shortened(text: str) -> str:
    """`text` with every run of more than LONGEST_WORD non-space characters cut in its middle
    (`'xxxx…xxxx'`): a message quotes what the spec wrote, and a value can be 10,000
    characters long."""
    return _LONG_WORD.sub(lambda m: f"{m[0][:60]}…{m[0][-20:]}", text)


# C0 and C1 control characters (ESC included), DEL: a spec's names and keys are shown to a
# terminal, and an untrusted spec must not be able to drive it.
_CONTROL = {c: "\N{REPLACEMENT CHARACTER}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}


def printable(text: str, keep: str = "") -> str:
    """`text` with control characters (but those in `keep`) replaced by U+FFFD."""
    if text.isprintable():
        return text
    table = {c: r for c, r in _CONTROL.items() if chr(c) not in keep}
    return text.translate(table)
