"""Where the output goes, whatever the terminal: a closed standard output, an encoding without
×, ✓ or box drawing, a spreadsheet that reads a cell as a formula."""

from __future__ import annotations

import codecs
import os
import sys

# What a report writes that an ASCII or Latin-1 terminal can't show, in words it can.
ASCII = {
    "×": "x", "✓": "ok", "✗": "FAIL", "→": "->", "←": "<-", "−": "-", "–": "-", "—": "-",
    "·": ".", "…": "...", "≤": "<=", "≥": ">=", "≠": "!=", "≡": "==", "⌊": "floor(", "⌋": ")",
    "⌈": "ceil(", "⌉": ")", "‘": "'", "’": "'", "“": '"', "”": '"', "²": "^2", "³": "^3",
    "\N{REPLACEMENT CHARACTER}": "?", "•": "*", "❱": ">",
}
_BOX = {**dict.fromkeys("─━═╌╍┄┅", "-"), **dict.fromkeys("│┃║╎╏┆┇", "|")}


def _fallback(error: UnicodeError) -> tuple[str, int]:
    """A codecs error handler: each character the encoding can't hold, as ASCII (the UTF-8
    encoder takes no other replacement); `?` for the rest, such as a lone surrogate (a file
    name's byte that isn't UTF-8, as Python decodes it)."""
    assert isinstance(error, UnicodeEncodeError)
    text = error.object[error.start:error.end]
    return "".join(ASCII.get(c) or _BOX.get(c) or ("+" if "\u2500" <= c <= "\u257f" else "?")
                   for c in text), error.end


codecs.register_error("cnncalc-ascii", _fallback)


MIN_COLUMNS = 40


def prepare_streams() -> int | None:
    """Make standard output and error safe to write; an exit status where nothing can be done.

    A stream closed when the process started is None in Python: standard error then goes
    nowhere, and a closed standard output is an error (exit 1, as a failed write). A stream whose
    encoding can't hold what the reports write gets ASCII for those characters instead of an
    exception, and so does a strict one (a file name that isn't UTF-8 holds surrogates); a
    width too narrow for any table is widened."""
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - for the process's life
    if sys.stdout is None:
        print("error: cannot write the output: standard output is closed", file=sys.stderr)
        return 1
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (stream.errors == "strict"
                                               or not _holds_unicode(stream)):
            stream.reconfigure(errors="cnncalc-ascii")
    # rich takes the width from COLUMNS: at 0 it prints nothing, at 1 a letter a line
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) < MIN_COLUMNS:
        os.environ["COLUMNS"] = str(MIN_COLUMNS)
    return None


def _holds_unicode(stream) -> bool:
    try:
        "×✓✗→─…".encode(stream.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


# OWASP's CSV injection advice: a text cell that starts with one of these is a formula to a
# spreadsheet (`=HYPERLINK(...)`); a quote in front makes it text. Figures are ints, not text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value):
    """A CSV cell that no spreadsheet runs as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
