"""The subcommands, one module each; `cnncalc.cli.COMMANDS` lists them and imports one only
when it runs. Also here: what a command may ask of the process it runs in."""

import os
import sys
import warnings

# Set by skip_teardown; cnncalc.cli.main reads it at exit.
teardown_skipped = False


def skip_teardown() -> None:
    """For a command that has loaded PyTorch and runs no one else's code: the process leaves
    without the interpreter's teardown once the output is out. That teardown (collecting and
    freeing PyTorch's objects, then its C++ static destructors) is a large part of a short
    `validate` run (bench/README.md), and PyTorch's exit handlers only flush its debug logs and
    statistics. Not for `validate --against`: the user's code may have exit work of its own."""
    global teardown_skipped
    teardown_skipped = True


def load_torch(command: str) -> bool:
    """Import PyTorch for `command` (`validate`, `import`), set up as those commands want it;
    False, with the error said, where it isn't installed."""
    # Large CPU tensors on transparent huge pages: the uninitialised weights are then read
    # through the huge zero page, one fault per 2 MiB instead of per 4 KiB (bench/README.md).
    # PyTorch reads this once, at import.
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")
    # PyTorch's CPU wheel runs without numpy, but warns at import when numpy is missing.
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy", category=UserWarning)
    try:
        import torch  # noqa: F401
    except ImportError:
        print(f"error: `cnncalc {command}` needs PyTorch: pip install 'cnncalc[torch]'",
              file=sys.stderr)
        return False
    return True
