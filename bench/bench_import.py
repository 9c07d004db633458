"""Time `cnncalc import tests.torchvision_ref:resnet50 --input 3x224x224` against `cnncalc
validate` on the spec it writes (`--device cpu`), interleaved, every run a fresh process.

Reports the median wall time and CPU time (user + system, from os.wait4's rusage) of each and
checks the target: import <= 1.5x validate's wall time. On a busy machine the CPU-time ratio is
the steadier figure; both are printed.

    python3 bench/bench_import.py [--runs 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from common import ratio_of_medians, timed

IMPORT = [sys.executable, "-m", "cnncalc", "import", "tests.torchvision_ref:resnet50",
          "--input", "3x224x224"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "resnet50.yaml"
        with spec.open("w") as out:
            timed(IMPORT, out)        # the spec validate runs on; warms the file cache, untimed
        validate = [sys.executable, "-m", "cnncalc", "validate", str(spec), "--device", "cpu"]
        timed(validate)
        results: dict[str, list] = {"cnncalc import": [], "cnncalc validate": []}
        for _ in range(runs):
            results["cnncalc import"].append(timed(IMPORT))
            results["cnncalc validate"].append(timed(validate))
    ratio = ratio_of_medians(results, "cnncalc import", "cnncalc validate")
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
