"""What every benchmark script shares."""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a timed `cnncalc` process, as an installed package runs: with its
    bytecode cached. A `PYTHONDONTWRITEBYTECODE` set in the caller's shell would make every run
    compile the package's modules from source again (bench/README.md)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return env | extra


def timed(command: list[str], output=subprocess.DEVNULL) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh process, run in the repository root; exits with its
    error output if it fails."""
    env = child_env(NO_COLOR="1", PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(command[2:])} failed ({code}):\n{process.stderr.read().decode()}")
    process.stderr.close()
    return elapsed, usage.ru_utime + usage.ru_stime


def ratio_of_medians(results: dict[str, list], subject: str, base: str,
                     target: float = 1.5) -> float:
    """Print each command's median wall and CPU time and its runs, then `subject`'s time as a
    multiple of `base`'s; return that multiple (of the wall time)."""
    medians = {}
    width = max(map(len, results)) + 1
    for name, samples in results.items():
        wall, cpu = (statistics.median(sample[i] for sample in samples) for i in range(2))
        medians[name] = (wall, cpu)
        print(f"{name:<{width}} median {wall:6.2f} s wall, {cpu:6.2f} s CPU   wall runs: "
              f"{', '.join(f'{s[0]:.2f}' for s in samples)}")
    (wall, cpu), (base_wall, base_cpu) = medians[subject], medians[base]
    ratio = wall / base_wall
    print(f"{subject} / {base} = {ratio:.2f}× the wall time (target <= {target}×), "
          f"{cpu / base_cpu:.2f}× the CPU time")
    return ratio
