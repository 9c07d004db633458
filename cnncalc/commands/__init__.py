"""The subcommands, one module each; `cnncalc.cli.COMMANDS` lists them and imports one only
when it runs. Also here: what a command may ask of the process it runs in."""

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
