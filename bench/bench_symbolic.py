"""Time the symbolic paths on ResNet-50 (specs/resnet50.yaml), each run a fresh process as a
user runs it:

    cnncalc summary specs/resnet50.yaml --input 3xHxW      (table and JSON)
    cnncalc inputs specs/resnet50.yaml --upto 1024         (table and JSON)

Reports the median and the worst wall time of each and checks the targets: under 2 s each.
For comparison it also times the numeric summary (no sympy).

    python3 bench/bench_symbolic.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import child_env

ROOT = Path(__file__).resolve().parent.parent
SPEC = "specs/resnet50.yaml"
TARGET_S = 2.0

COMMANDS = {
    "summary --input 3xHxW": ["summary", SPEC, "--input", "3xHxW"],
    "summary --input 3xHxW --format json": ["summary", SPEC, "--input", "3xHxW", "--format", "json"],
    "inputs --upto 1024": ["inputs", SPEC, "--upto", "1024"],
    "inputs --upto 1024 --format json": ["inputs", SPEC, "--upto", "1024", "--format", "json"],
    "summary (numeric, for comparison)": ["summary", SPEC],
}


def wall(args: list[str]) -> float:
    env = child_env(NO_COLOR="1", COLUMNS="200")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cnncalc", *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    wall(COMMANDS["summary --input 3xHxW"])     # warm the file cache and .pyc files
    failed = False
    for label, args in COMMANDS.items():
        times = [wall(args) for _ in range(runs)]
        median, worst = statistics.median(times), max(times)
        verdict = ""
        if "numeric" not in label:
            ok = median < TARGET_S
            failed |= not ok
            verdict = f"  target < {TARGET_S:.0f} s: {'ok' if ok else 'MISSED'}"
        print(f"{label:<40} median {median:.3f} s  worst {worst:.3f} s  ({runs} runs){verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
