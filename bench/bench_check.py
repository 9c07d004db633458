"""Time `cnncalc check specs/*.yaml` over the whole zoo, cold: every run a fresh process, as in
CI and pre-commit, with no `.pyc` files written by the runs themselves (`-B`) and each one's
imports measured too (`-X importtime`: torch, sympy and numpy must not appear).

Reports the median and the worst wall time, and checks the target: under 1 s.

    python3 bench/bench_check.py [--runs 10]
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
TARGET_S = 1.0
HEAVY = ("torch", "sympy", "numpy")


def run(specs: list[str], importtime: bool = False) -> tuple[float, str]:
    env = child_env(NO_COLOR="1", PYTHONPATH=str(ROOT))
    args = [sys.executable, *(["-X", "importtime"] if importtime else []),
            "-m", "cnncalc", "check", *specs]
    start = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"cnncalc check failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return elapsed, done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    options = parser.parse_args()
    specs = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "specs").glob("*.yaml"))
    run(specs)                                        # warm the file system cache once
    times = [run(specs)[0] for _ in range(options.runs)]
    _, imports = run(specs, importtime=True)
    loaded = {line.split("|")[-1].strip().split(".")[0] for line in imports.splitlines()
              if line.startswith("import time:")}
    heavy = [name for name in HEAVY if name in loaded]
    median, worst = statistics.median(times), max(times)
    print(f"cnncalc check: {len(specs)} zoo specs, {options.runs} cold runs")
    print(f"  median {median:.3f} s, worst {worst:.3f} s (target < {TARGET_S:.1f} s)")
    print(f"  heavy imports: {', '.join(heavy) or 'none'}")
    ok = median < TARGET_S and not heavy
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
