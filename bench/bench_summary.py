"""Benchmarks of `cnncalc summary` as whole, cold processes (what a user waits for).

    python3 bench/bench_summary.py               # both benchmarks, 11 runs of the first
    python3 bench/bench_summary.py --runs 21     # more runs for a steadier median
    python3 bench/bench_summary.py --only cold   # or: --only repeat

1. `cnncalc summary specs/resnet101.yaml` (≈480 nodes: blocks, residuals, projections) and
   `specs/yolov8n.yaml` (references, splits, several outputs), table and JSON: the median wall
   time of fresh processes. Target: under 0.35 s each.
2. A `repeat` of N layers (conv 3×3 + relu, N = 25,000 / 50,000 / 100,000), JSON and table:
   wall time and peak memory (RSS) of one process each. Targets: 100,000 layers under 5 s, and
   memory growing linearly (the cost per extra layer about the same from 25k to 50k as from
   50k to 100k).

Peak RSS comes from `/usr/bin/time -v` where it exists. Output goes to /dev/null (writing 60 MB
of JSON to a terminal is the terminal's time, not cnncalc's). Exit status 1 if a target is
missed, so the script can gate a change.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import child_env

ROOT = Path(__file__).resolve().parent.parent
COLD_SPECS = (ROOT / "specs" / "resnet101.yaml", ROOT / "specs" / "yolov8n.yaml")
TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None


def cnncalc() -> list[str]:
    """The installed console script if there is one (what users run), else `python -m`."""
    script = shutil.which("cnncalc")
    return [script] if script else [sys.executable, "-m", "cnncalc"]


def run(args: list[str]) -> tuple[float, float | None, float | None]:
    """One cold process: (wall seconds, peak RSS in MiB, user + system CPU seconds); the last
    two None without /usr/bin/time. CPU time is steadier than wall time on a busy machine."""
    command = [TIME, "-v", *args] if TIME else args
    env = child_env(NO_COLOR="1", COLUMNS="200")
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"failed ({result.returncode}): {' '.join(args)}\n{result.stderr}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    cpu = re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", result.stderr)
    return (wall, int(rss.group(1)) / 1024 if rss else None,
            sum(map(float, cpu)) if len(cpu) == 2 else None)


def bench_cold(spec: Path, runs: int) -> bool:
    ok = True
    print(f"cold `cnncalc summary {spec.relative_to(ROOT)}`, {runs} runs after 1 warm-up")
    for fmt in ("table", "json"):
        args = [*cnncalc(), "summary", str(spec), "--format", fmt]
        run(args)                                    # warm the disk cache, not the process
        samples = [run(args) for _ in range(runs)]
        walls = sorted(w for w, _, _ in samples)
        median = statistics.median(walls)
        verdict = "ok" if median < 0.35 else "MISSED (target 0.35 s)"
        ok &= median < 0.35
        extra = ""
        if TIME:
            extra = (f"  cpu median {statistics.median(c for _, _, c in samples):.3f} s"
                     f"  peak {max(m for _, m, _ in samples):.0f} MiB")
        print(f"  {fmt:<6} wall median {median:.3f} s (min {walls[0]:.3f}, max {walls[-1]:.3f})"
              f"{extra}  {verdict}")
    return ok


def repeat_spec(layers: int) -> str:
    return ("name: long-repeat\ninput: [16, 8, 8]\nlayers:\n  - repeat:\n"
            f"      times: {layers // 2}\n"
            "      layers: [conv: {out: 16, kernel: 3, padding: 1}, relu]\n")


def bench_repeat(sizes=(25_000, 50_000, 100_000)) -> bool:
    ok = True
    print("a `repeat` of N layers (conv 3×3 + relu), one cold process each")
    memory: dict[str, list[float]] = {"json": [], "table": []}
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            path = Path(folder) / f"repeat_{n}.yaml"
            path.write_text(repeat_spec(n))
            for fmt in ("json", "table"):
                wall, rss, cpu = run([*cnncalc(), "summary", str(path), "--format", fmt])
                memory[fmt].append(rss or 0.0)
                verdict = ""
                if n == max(sizes):
                    verdict = "ok" if wall < 5 else "MISSED (target 5 s)"
                    ok &= wall < 5
                more = (f"cpu {cpu:5.2f} s  peak {rss:.0f} MiB ({rss * 1024 / n:.1f} KiB a layer)"
                        if TIME else "")
                print(f"  {n:>7,} layers  {fmt:<6} wall {wall:5.2f} s  {more}  {verdict}")
    if TIME:
        for fmt, (a, b, c) in memory.items():
            first = (b - a) / (sizes[1] - sizes[0])      # MiB per extra layer, 25k → 50k
            second = (c - b) / (sizes[2] - sizes[1])     # 50k → 100k
            linear = 0.67 < second / first < 1.5
            ok &= linear
            print(f"  {fmt:<6} memory per extra layer: {first * 1024:.2f} KiB then "
                  f"{second * 1024:.2f} KiB  {'linear: ok' if linear else 'NOT LINEAR'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="runs of each cold benchmark")
    parser.add_argument("--only", choices=("cold", "repeat"))
    options = parser.parse_args()
    ok = True
    if options.only in (None, "cold"):
        for spec in COLD_SPECS:
            ok &= bench_cold(spec, options.runs)
    if options.only in (None, "repeat"):
        ok &= bench_repeat()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
