"""What every benchmark script shares."""

import os


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a timed `cnncalc` process, as an installed package runs: with its
    bytecode cached. A `PYTHONDONTWRITEBYTECODE` set in the caller's shell would make every run
    compile the package's modules from source again (bench/README.md)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return env | extra
