"""Time `cnncalc import tests.torchvision_ref:resnet50 --input 3x224x224` against `cnncalc
validate` on the spec it writes (`--device cpu`), interleaved, every run a fresh process.

Reports the median wall time and CPU time (user + system, from os.wait4's rusage) of each and
checks the target: import <= 1.5x validate's wall time. On a busy machine the CPU-time ratio is
the steadier figure; both are printed.

    python3 bench/bench_import.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMPORT = [sys.executable, "-m", "cnncalc", "import", "tests.torchvision_ref:resnet50",
          "--input", "3x224x224"]


def run(command: list[str], output=subprocess.DEVNULL) -> tuple[float, float]:
    """Wall seconds and CPU seconds of one fresh process."""
    env = dict(os.environ, NO_COLOR="1", PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command[2:5])}... failed:\n{process.stderr.read().decode()}")
    process.stderr.close()
    return elapsed, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "resnet50.yaml"
        with spec.open("w") as out:
            run(IMPORT, out)        # the spec validate runs on; warms the file cache, untimed
        validate = [sys.executable, "-m", "cnncalc", "validate", str(spec), "--device", "cpu"]
        run(validate)
        results: dict[str, list] = {"cnncalc import": [], "cnncalc validate": []}
        for _ in range(runs):
            results["cnncalc import"].append(run(IMPORT))
            results["cnncalc validate"].append(run(validate))
    medians = {}
    for name, samples in results.items():
        wall, cpu = (statistics.median(sample[i] for sample in samples) for i in range(2))
        medians[name] = (wall, cpu)
        print(f"{name:<17} median {wall:6.2f} s wall, {cpu:6.2f} s CPU   wall runs: "
              f"{', '.join(f'{s[0]:.2f}' for s in samples)}")
    (wall, cpu), (their_wall, their_cpu) = medians["cnncalc import"], medians["cnncalc validate"]
    ratio = wall / their_wall
    print(f"import / validate = {ratio:.2f}x the wall time (target <= 1.5x), "
          f"{cpu / their_cpu:.2f}x the CPU time")
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
