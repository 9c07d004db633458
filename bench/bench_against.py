"""Time `cnncalc validate specs/resnet50.yaml --against tests.torchvision_ref:resnet50` against
`cnncalc validate specs/resnet50.yaml` (the same spec, the model cnncalc builds), both on CPU,
in the same run, interleaved; every run is a fresh process.

`--against` calls the factory (a plain-PyTorch copy of torchvision's ResNet-50, with its
default initialisation: tests/torchvision_ref.py), runs the model once, measured and traced in
the same pass, and pairs every layer of the spec with an operation of the model. Target: no more
than 1.5× `validate`'s median wall time. Also prints, in process, what the trace adds to that
one forward pass (Tracing around measure vs measure alone, on the same model and input).

    python3 bench/bench_against.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

VALIDATE = [sys.executable, "-m", "cnncalc", "validate", "specs/resnet50.yaml", "--device", "cpu"]
AGAINST = [*VALIDATE, "--against", "tests.torchvision_ref:resnet50"]


def run(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh process."""
    env = dict(os.environ, NO_COLOR="1", PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(command[2:])} failed ({code}):\n{process.stderr.read().decode()}")
    process.stderr.close()
    return elapsed, usage.ru_utime + usage.ru_stime


def trace_cost(runs: int) -> tuple[float, float]:
    """Median seconds of measure alone and of measure inside Tracing, on ResNet-50 (CPU)."""
    import torch

    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT))
    from cnncalc.crosscheck.measure import measure
    from cnncalc.crosscheck.trace import Tracing
    from torchvision_ref import resnet50

    model, x = resnet50().eval(), torch.zeros(1, 3, 224, 224)
    measure(model, x)           # warm: the first run pays for one-time setup
    alone, traced = [], []
    for _ in range(runs):
        start = time.perf_counter()
        measure(model, x)
        alone.append(time.perf_counter() - start)
        start = time.perf_counter()
        with Tracing(model, x):
            measure(model, x)
        traced.append(time.perf_counter() - start)
    return statistics.median(alone), statistics.median(traced)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    results: dict[str, list] = {"validate": [], "validate --against": []}
    run(VALIDATE)           # warm the file cache, untimed
    run(AGAINST)
    for _ in range(runs):
        results["validate"].append(run(VALIDATE))
        results["validate --against"].append(run(AGAINST))
    medians = {}
    for name, samples in results.items():
        wall, cpu = (statistics.median(sample[i] for sample in samples) for i in range(2))
        medians[name] = (wall, cpu)
        print(f"{name:<20} median {wall:6.2f} s wall, {cpu:6.2f} s CPU   wall runs: "
              f"{', '.join(f'{s[0]:.2f}' for s in samples)}")
    (wall, cpu), (base_wall, base_cpu) = medians["validate --against"], medians["validate"]
    ratio = wall / base_wall
    print(f"--against / validate = {ratio:.2f}× the wall time (target <= 1.5×), "
          f"{cpu / base_cpu:.2f}× the CPU time")
    alone, traced = trace_cost(runs)
    print(f"one forward pass, in process: measured {alone:.3f} s, measured and traced "
          f"{traced:.3f} s (+{traced - alone:.3f} s)")
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
