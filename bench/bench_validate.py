"""Time `cnncalc validate specs/vgg16.yaml --device cpu` against torchinfo's summary of the same
VGG-16, built in plain PyTorch exactly like torchvision's (its module structure and its default
initialisation: kaiming_normal_ for convolutions, normal_(0, 0.01) for linears; see
tests/torchvision_ref.py), in the same run, interleaved.

Reports the median wall time, CPU time (user + system) and peak RSS of each (every run is a
fresh process; CPU time and peak RSS from os.wait4's rusage of that child), and checks the
targets: validate <= 60% of torchinfo's wall time and < 1.0 GB peak RSS. On a busy machine the
CPU-time ratio is the steadier figure; both are printed.

torchinfo is not a dependency of cnncalc; install it for this benchmark only:

    python3 -m pip install torchinfo==1.8.0
    python3 bench/bench_validate.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import child_env

ROOT = Path(__file__).resolve().parent.parent

VALIDATE = [sys.executable, "-m", "cnncalc", "validate", "specs/vgg16.yaml", "--device", "cpu"]
TORCHINFO = [sys.executable, "-c", (
    "import sys; sys.path.insert(0, 'tests')\n"
    "from torchinfo import summary\n"
    "from torchvision_ref import vgg16\n"
    "summary(vgg16(), input_size=(1, 3, 224, 224), device='cpu')\n")]


def run(command: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak RSS (bytes) of one fresh process."""
    env = child_env(NO_COLOR="1")
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"{' '.join(command[:4])}... failed ({process.returncode}):\n"
                 f"{process.stderr.read().decode()}")
    process.stderr.close()
    # ru_maxrss is in KiB on Linux
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    results = {"cnncalc validate": [], "torchinfo summary": []}
    run(VALIDATE)      # warm the file cache for both, untimed
    run(TORCHINFO)
    for _ in range(runs):
        results["cnncalc validate"].append(run(VALIDATE))
        results["torchinfo summary"].append(run(TORCHINFO))
    medians = {}
    for name, samples in results.items():
        wall, cpu, rss = (statistics.median(sample[i] for sample in samples) for i in range(3))
        medians[name] = (wall, cpu, rss)
        print(f"{name:<18} median {wall:6.2f} s wall, {cpu:6.2f} s CPU   peak RSS "
              f"{rss / 1e9:.2f} GB   wall runs: {', '.join(f'{s[0]:.2f}' for s in samples)}")
    (wall, cpu, rss), (their_wall, their_cpu, _) = (medians["cnncalc validate"],
                                                    medians["torchinfo summary"])
    ratio = wall / their_wall
    print(f"validate / torchinfo = {ratio:.0%} of the wall time (target <= 60%), "
          f"{cpu / their_cpu:.0%} of the CPU time; validate peak RSS {rss / 1e9:.2f} GB "
          f"(target < 1.0 GB)")
    return 0 if ratio <= 0.6 and rss < 1e9 else 1

if __name__ == "__main__":
    sys.exit(main())
