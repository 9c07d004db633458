"""Running cnncalc on hostile input, for tests/test_hostile.py and tests/test_fuzz.py: in
process through the public entry point (fast), or in a fresh process where the environment or
the terminal is the input."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass

from conftest import ROOT, cli_env


@dataclass
class Outcome:
    status: int | None
    stdout: str
    stderr: str
    seconds: float
    crash: str = ""        # a Python exception that escaped, with its traceback

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def invoke(*args: str, stdin: str | bytes | None = None) -> Outcome:
    """`cnncalc ARGS` in this process, through cnncalc.cli.main, with its standard streams
    captured (UTF-8, as a pipe)."""
    from cnncalc.cli import main

    data = stdin.encode("utf-8", "surrogatepass") if isinstance(stdin, str) else (stdin or b"")
    out, err = io.BytesIO(), io.BytesIO()
    streams = (sys.stdin, sys.stdout, sys.stderr, sys.argv)
    sys.stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    sys.stderr = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    sys.argv = ["cnncalc", *args]
    status, crash = None, ""
    started = time.perf_counter()
    try:
        main()
        status = 0
    except SystemExit as done:
        status = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:   # noqa: BLE001 - what escapes is what the tests look for
        crash = traceback.format_exc()
    finally:
        seconds = time.perf_counter() - started
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(ValueError):
                stream.flush()
        # read before the wrappers go: a wrapper closes its buffer when it is collected
        written = [b.getvalue().decode("utf-8", "replace") for b in (out, err)]
        sys.stdin, sys.stdout, sys.stderr, sys.argv = streams
    return Outcome(status, *written, seconds, crash)


def spawn(*args: str, stdin: str | None = None, env: dict | None = None,
          close_stdout: bool = False, timeout: float = 60, encoding: str = "utf-8") -> Outcome:
    """`python -m cnncalc ARGS` in a fresh process; `env` is added to the tests' environment
    (a value of None removes the variable); `close_stdout` starts it with descriptor 1 closed;
    its output is read in `encoding`."""
    environment = cli_env()
    for key, value in (env or {}).items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "cnncalc", *args],
                            input=(stdin or "").encode("utf-8", "surrogateescape"),
                            stdout=subprocess.DEVNULL if close_stdout else subprocess.PIPE,
                            stderr=subprocess.PIPE, env=environment, cwd=ROOT, timeout=timeout,
                            preexec_fn=(lambda: os.close(1)) if close_stdout else None)
    seconds = time.perf_counter() - started

    def decode(b):
        return (b or b"").decode(encoding, "replace")

    return Outcome(result.returncode, decode(result.stdout), decode(result.stderr), seconds,
                   crash=decode(result.stderr) if "Traceback (most recent call last)"
                   in decode(result.stderr) else "")


def own_failure(outcome: Outcome) -> str:
    """Why an outcome breaks the property (empty if it holds): success, or cnncalc's own
    error with exit status 1 or 2; never an exception, never another status."""
    if outcome.crash:
        return f"an exception escaped:\n{outcome.crash}"
    if "Traceback (most recent call last)" in outcome.output:
        return f"a traceback was printed:\n{outcome.output[-3000:]}"
    if outcome.status not in (0, 1, 2):
        return f"exit status {outcome.status}:\n{outcome.output[-2000:]}"
    if outcome.status == 2 and "error" not in outcome.output.lower():   # check: on stdout
        return f"exit status 2 without an error message:\n{outcome.output[-2000:]}"
    if outcome.status == 1 and not outcome.output.strip():
        return "exit status 1 without a word of why"
    return ""
