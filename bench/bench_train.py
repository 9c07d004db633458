"""Time `cnncalc summary resnet50 --train --batch 64` against one measured training step of the
same ResNet-50 at batch 64 on this CPU (torchvision's, built in plain PyTorch as
tests/torchvision_ref.py has it; random input and labels, cross-entropy, Adam), both whole,
fresh processes, run side by side (interleaved).

Reports the median wall time, CPU time (user + system) and peak RSS of each (from os.wait4's
rusage of that child), and checks the target: the summary at least 20× faster than the step.
The step's process also prints its own forward + backward + optimizer step time (without
the import and model construction), for the record.

    python3 bench/bench_train.py [--runs 3]
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

SUMMARY = [sys.executable, "-m", "cnncalc", "summary", "resnet50", "--train", "--batch", "64",
           "--format", "json"]
STEP = [sys.executable, "-c", (
    "import sys, time; sys.path.insert(0, 'tests')\n"
    "import torch\n"
    "from torchvision_ref import resnet50\n"
    "model = resnet50().train()\n"
    "opt = torch.optim.Adam(model.parameters())\n"
    "x, y = torch.randn(64, 3, 224, 224), torch.randint(0, 1000, (64,))\n"
    "start = time.perf_counter()\n"
    "loss = torch.nn.functional.cross_entropy(model(x), y)\n"
    "loss.backward()\n"
    "opt.step()\n"
    "print(f'step {time.perf_counter() - start:.2f} s', file=sys.stderr)\n")]


def run(command: list[str]) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds, peak RSS (bytes) and standard error of one fresh process."""
    env = dict(os.environ, NO_COLOR="1")
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    err = process.stderr.read().decode() if process.stderr else ""
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command[:4])}... failed:\n{err}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, err.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    results: dict[str, list] = {"cnncalc summary --train": [], "one training step": []}
    run(SUMMARY)        # warm the file cache, untimed
    for _ in range(runs):
        results["cnncalc summary --train"].append(run(SUMMARY))
        results["one training step"].append(run(STEP))
    medians = {}
    for name, samples in results.items():
        wall = statistics.median(s[0] for s in samples)
        cpu = statistics.median(s[1] for s in samples)
        rss = max(s[2] for s in samples)
        medians[name] = (wall, cpu)
        extra = f"  ({samples[-1][3]})" if samples[-1][3] else ""
        print(f"{name:<26} wall {wall:7.2f} s   cpu {cpu:7.2f} s   peak RSS "
              f"{rss / 2**30:5.2f} GiB{extra}")
    (summary_wall, summary_cpu), (step_wall, step_cpu) = medians.values()
    ratio = step_wall / summary_wall
    print(f"the step takes {ratio:.0f}× the summary's wall time "
          f"({step_cpu / summary_cpu:.0f}× its CPU time); target ≥ 20×")
    return 0 if ratio >= 20 else 1


if __name__ == "__main__":
    sys.exit(main())
