"""The one error type users see: what is wrong, where (file:line:col), and what would fit."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Pos:
    """A 1-based line and column in a spec file."""

    line: int
    col: int


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

    def located(self, file: str) -> "SpecError":
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
        return printable("\n".join(lines), keep="\n")

    def __str__(self) -> str:
        return self.format()


# C0 and C1 control characters (ESC included), DEL: a spec's names and keys are shown to a
# terminal, and an untrusted spec must not be able to drive it.
_CONTROL = {c: "\N{REPLACEMENT CHARACTER}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}


def printable(text: str, keep: str = "") -> str:
    """`text` with control characters (but those in `keep`) replaced by U+FFFD."""
    if text.isprintable():
        return text
    table = {c: r for c, r in _CONTROL.items() if chr(c) not in keep}
    return text.translate(table)
