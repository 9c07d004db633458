import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=2000,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def cli_env() -> dict:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200", PYTHONPATH=str(ROOT))
    env.pop("FORCE_COLOR", None)
    return env


def run_cli(*args, input: str | None = None, cwd=None) -> subprocess.CompletedProcess:
    """`python -m cnncalc ARGS` in a fresh process, from this checkout."""
    return subprocess.run([sys.executable, "-m", "cnncalc", *map(str, args)], input=input,
                          capture_output=True, text=True, env=cli_env(), cwd=cwd or ROOT,
                          timeout=120)


@pytest.fixture
def cli():
    return run_cli


def run_here(*args) -> subprocess.CompletedProcess:
    """`cnncalc ARGS` in this process (cnncalc.cli.run, the console script's path without a
    process start), with its output and exit status, as run_cli gives them."""
    from cnncalc.cli import run

    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, {"NO_COLOR": "1", "COLUMNS": "200"}), \
            redirect_stdout(out), redirect_stderr(err):
        os.environ.pop("FORCE_COLOR", None)
        status = run([str(a) for a in args])
    return subprocess.CompletedProcess(args, status, out.getvalue(), err.getvalue())
